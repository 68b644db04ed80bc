/**
 * Stage "assign": chooses a node (or none) for every primitive, in Pacemaker's order and with
 * Pacemaker's rules:
 *  - top-level resources in priority order (stable), each assigned with its dependencies first:
 *    a resource first assigns the primaries it is colocated with ("this with"), applies their
 *    placement to its own scores, then folds in the attenuated preferences of resources that
 *    are colocated with it ("with this", scaled by score/INFINITY, recursively);
 *  - groups assign their members in order (member N is colocated with member N-1);
 *  - the best node comes from a chain of rankers (node-choice.ts); a score below 0 or an
 *    unavailable node means "stopped".
 *
 * The files of this folder, in the order a resource meets them:
 *   state.ts              the explicit working state (tables, provisional set, colocation lists)
 *   primitive.ts, group.ts, clone.ts   the assignment methods per variant (ASSIGNMENT_METHODS)
 *   apply-colocation.ts   one colocation applied to the dependent once its primary is placed
 *   colocation-scores.ts  colocated preferences folded along colocation chains (iterative)
 *   node-choice.ts        the ranker chain, the node choice and its record, capacity bans
 *
 * The node-criteria stage's score book is read, never written: this stage works on copies and
 * returns its own contributions beside the final tables.
 */
import type { Role } from '@paceline/model';
import type { Contribution } from '../reasons.js';
import { INFINITY } from '@paceline/model';
import type { NodeView } from '../nodes.js';
import { nodeAvailable } from '../nodes.js';
import type { ResourceTree, Resource } from '../resources.js';
import type { UnpackResult } from '../unpack.js';
import type { Coloc, ColocationIndex } from '../colocations.js';
import { copyTable, type ScoreBook, type ScoreTable } from '../scores.js';
import { newCapacityLedger } from '../capacity.js';
import { assign, currentNode, currentRole, type AssignOptions, type AssignState, type AssignmentMethods } from './state.js';
import { FLAG_THIS_WITH, addColocatedNodeScores } from './colocation-scores.js';
import { sortedNodes, type NodeChoice } from './node-choice.js';
import { assignPrimitive } from './primitive.js';
import { assignGroup } from './group.js';
import { assignClone, cloneOwnWeights } from './clone.js';

export type { AssignOptions } from './state.js';
export type { NodeChoice, RankerName } from './node-choice.js';
export { NODE_RANKERS } from './node-choice.js';

export interface Assignment {
  /** Node per primitive id (null = stopped). */
  readonly node: ReadonlyMap<string, string | null>;
  /** Next role per primitive id. */
  readonly nextRole: ReadonlyMap<string, Role>;
  readonly nextRoleReason: ReadonlyMap<string, string>;
  /** Final score tables (after colocations) per primitive. */
  readonly scores: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** What this stage added to each primitive's scores, per node (after the node criteria's contributions). */
  readonly contributions: ReadonlyMap<string, ReadonlyMap<string, readonly Contribution[]>>;
  /** Why each placed primitive is on its node rather than the runner-up. */
  readonly choices: ReadonlyMap<string, NodeChoice>;
  /** Primitives made unmanaged during assignment. */
  readonly unmanaged: ReadonlySet<string>;
}

/** Pacemaker's pcmk__assignment_methods: the assign step of each variant. */
export const ASSIGNMENT_METHODS: AssignmentMethods = {
  primitive: assignPrimitive,
  group: assignGroup,
  clone: (s, r) => assignClone(s, r),
};

export function assignResources(
  tree: ResourceTree,
  nodes: readonly NodeView[],
  unpacked: UnpackResult,
  criteria: ScoreBook,
  colocations: ColocationIndex,
  opts: AssignOptions,
): Assignment {
  const s = newAssignState(tree, nodes, unpacked, criteria, colocations, opts);
  let order = [...tree.top].sort((a, b) => b.meta.priority - a.meta.priority || a.index - b.index);
  if (opts.placementStrategy !== 'default') order = sortForUtilization(s, order);
  for (const r of order) assign(s, r);
  return assignmentOf(s);
}

/** The stage's starting state (exported for tests that run one step of the stage). */
export function newAssignState(
  tree: ResourceTree,
  nodes: readonly NodeView[],
  unpacked: UnpackResult,
  criteria: ScoreBook,
  colocations: ColocationIndex,
  opts: AssignOptions,
): AssignState {
  const copyLists = (m: ReadonlyMap<Resource, readonly Coloc[]>): Map<Resource, Coloc[]> => new Map([...m].map(([r, l]) => [r, [...l]]));
  const s: AssignState = {
    tree,
    nodes,
    unpacked,
    criteria,
    opts,
    methods: ASSIGNMENT_METHODS,
    nodeByName: new Map(nodes.map((n) => [n.name, n])),
    availableNodes: new Set(nodes.filter(nodeAvailable).map((n) => n.name)),
    tables: copyTables(criteria.tables),
    contributions: new Map(),
    provisional: new Set(tree.byId.values()),
    allocating: new Set(),
    merging: new Set(),
    assigned: new Map(),
    nextRole: new Map(),
    nextRoleReason: new Map(),
    unmanaged: new Set(),
    assignedCount: new Map(),
    thisWith: copyLists(colocations.thisWith),
    withThis: copyLists(colocations.withThis),
    expandedGroups: new Set(),
    ledger: newCapacityLedger(nodes, opts.placementStrategy !== 'default'),
    choices: new Map(),
    colocationCauses: new Map(),
    preferenceCauses: new Map(),
  };
  for (const r of tree.byId.values()) {
    if (r.kind !== 'clone' || s.tables.has(r.id)) continue;
    const own = cloneOwnWeights(s, r);
    if (own) s.tables.set(r.id, own);
  }
  for (const p of tree.primitives) {
    const st = unpacked.resources.get(p.id);
    if (st?.nextRole) {
      s.nextRole.set(p.id, st.nextRole);
      if (st.nextRoleReason) s.nextRoleReason.set(p.id, st.nextRoleReason);
    }
  }
  return s;
}

/** Every table copied (copyTable: entry by entry). */
function copyTables(tables: ReadonlyMap<string, ScoreTable>): Map<string, ScoreTable> {
  const out = new Map<string, ScoreTable>();
  tables.forEach((table, id) => out.set(id, copyTable(table)));
  return out;
}

/** Pacemaker's cmp_resources (placement strategies): priority, then score on the current node, then scores node by node. */
function sortForUtilization(s: AssignState, list: Resource[]): Resource[] {
  const nodeOrder = sortedNodes(s, new Map(s.nodes.map((n) => [n.name, 0])), undefined).map(([n]) => n);
  const weights = new Map<Resource, ScoreTable>();
  for (const r of list) weights.set(r, addColocatedNodeScores(s, r, undefined, '#uname', 1, FLAG_THIS_WITH) ?? new Map());
  const weight = (r: Resource, n: string | undefined): number => (n === undefined ? -INFINITY : (weights.get(r)!.get(n) ?? -INFINITY));
  return [...list].sort((a, b) => {
    if (a.meta.priority !== b.meta.priority) return a.meta.priority > b.meta.priority ? -1 : 1;
    const wa = weight(a, currentNode(s, a));
    const wb = weight(b, currentNode(s, b));
    if (wa !== wb) return wa > wb ? -1 : 1;
    for (const n of nodeOrder) {
      const x = weight(a, n);
      const y = weight(b, n);
      if (x !== y) return x > y ? -1 : 1;
    }
    return 0;
  });
}

/** The stage's read-only output. */
function assignmentOf(s: AssignState): Assignment {
  const node = new Map<string, string | null>();
  const nextRole = new Map<string, Role>();
  for (const p of s.tree.primitives) {
    const n = s.assigned.get(p) ?? null;
    node.set(p.id, n);
    let next = s.nextRole.get(p.id) ?? (n === null ? 'Stopped' : 'Started');
    // no-quorum-policy=demote: active promotable instances may stay, but not promoted.
    const role = currentRole(s, p);
    if (!s.opts.quorum && s.opts.noQuorumPolicy === 'demote' && next === 'Promoted' && (role === 'Promoted' || role === 'Unpromoted')) next = 'Unpromoted';
    nextRole.set(p.id, next);
  }
  const scores = new Map<string, ReadonlyMap<string, number>>();
  for (const p of s.tree.primitives) scores.set(p.id, s.tables.get(p.id) ?? new Map());
  return { node, nextRole, nextRoleReason: s.nextRoleReason, scores, contributions: s.contributions, choices: s.choices, unmanaged: s.unmanaged };
}
