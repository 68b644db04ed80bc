/**
 * The assign stage's working state, in one explicit object instead of a closure: the score tables
 * it edits (copies of the node-criteria stage's tables), the colocation lists it expands, which
 * resources are still provisional, where each one went, next roles, the capacity ledger and the
 * node choices it recorded. Only the assign stage's modules touch it; `assignResources` turns it
 * into the read-only `Assignment` at the end. Nothing here writes into an earlier stage's output.
 */
import type { ResourceMeta, Role } from '@paceline/model';
import { isBan, type Cause, type Contribution } from '../reasons.js';
import type { NodeView } from '../nodes.js';
import type { ResourceTree, Resource } from '../resources.js';
import { leaves } from '../resources.js';
import type { UnpackResult } from '../unpack.js';
import type { Coloc } from '../colocations.js';
import type { ScoreBook, ScoreTable } from '../scores.js';
import type { CapacityLedger } from '../capacity.js';
import type { NodeChoice } from './node-choice.js';
import { runOnStack } from './stack.js';

export interface AssignOptions {
  readonly quorum: boolean;
  readonly noQuorumPolicy: 'stop' | 'freeze' | 'ignore' | 'demote' | 'suicide';
  readonly stopAll: boolean;
  /** Fencing is enabled but no fencing device exists: nothing is managed. */
  readonly unmanageAll: boolean;
  readonly defaults: ResourceMeta;
  readonly promotedLocations: readonly { readonly rsc: Resource; readonly node: string; readonly score: number }[];
  readonly placementStrategy: 'default' | 'utilization' | 'minimal' | 'balanced';
}

/** A request to assign a resource first (what a method would otherwise do by calling `assign`). */
export interface AssignRequest {
  readonly r: Resource;
  readonly prefer?: string | undefined;
}

/**
 * A running assignment method: it yields each resource it needs assigned first (the primaries it
 * is colocated with, a group's members) and receives that resource's node back, then returns its
 * own node. Written this way, a colocation chain of any length is walked on an explicit stack
 * (see `assign`) instead of the JavaScript call stack.
 */
export type AssignStep = Generator<AssignRequest, string | null, string | null>;

/**
 * Pacemaker's assignment methods (`pcmk__assignment_methods`), one entry per variant: assign the
 * resource (and what it depends on) and return its node, or null when it stays stopped.
 */
export type AssignmentMethods = Readonly<Record<Resource['kind'], (s: AssignState, r: Resource, prefer?: string) => AssignStep>>;

export interface AssignState {
  readonly tree: ResourceTree;
  readonly nodes: readonly NodeView[];
  readonly unpacked: UnpackResult;
  /** The node-criteria stage's output: read, never written. */
  readonly criteria: ScoreBook;
  readonly opts: AssignOptions;
  readonly methods: AssignmentMethods;
  readonly nodeByName: ReadonlyMap<string, NodeView>;
  /** Nodes that can run resources at all (online, not standby, ...). */
  readonly availableNodes: ReadonlySet<string>;
  /** Working score tables per resource id (primitives, and clones' own weights). */
  readonly tables: Map<string, ScoreTable>;
  /** Contributions this stage adds (colocations, capacity, role bans), per resource and node. */
  readonly contributions: Map<string, Map<string, Contribution[]>>;
  /** Resources not yet assigned. */
  readonly provisional: Set<Resource>;
  /** Resources being assigned now (a colocation loop back to one of them is cut). */
  readonly allocating: Set<Resource>;
  /** Resources whose colocated scores are being merged now (the same loop guard for scores). */
  readonly merging: Set<Resource>;
  readonly assigned: Map<Resource, string | null>;
  readonly nextRole: Map<string, Role>;
  readonly nextRoleReason: Map<string, string>;
  readonly unmanaged: Set<string>;
  /** Resources assigned to each node so far (the "fewest assigned" ranker). */
  readonly assignedCount: Map<string, number>;
  /** Colocation lists, copied from the colocation stage and rewritten as groups expand. */
  readonly thisWith: Map<Resource, Coloc[]>;
  readonly withThis: Map<Resource, Coloc[]>;
  readonly expandedGroups: Set<Resource>;
  readonly ledger: CapacityLedger;
  /** Why each primitive got its node (which ranker decided, against which runner-up). */
  readonly choices: Map<string, NodeChoice>;
  /** Contribution causes, built once per colocation (not once per node). */
  readonly colocationCauses: Map<Coloc, Map<Resource, Cause>>;
  readonly preferenceCauses: Map<Coloc, Cause>;
}

/** The resource's working score table (created empty on first use). */
export function tableOf(s: AssignState, r: Resource): ScoreTable {
  let table = s.tables.get(r.id);
  if (!table) {
    table = new Map();
    s.tables.set(r.id, table);
  }
  return table;
}

/** Records a contribution to a resource's score on a node (zero ones only when they are bans). */
export function noteScore(s: AssignState, rsc: string, node: string, cause: Cause, score: number): void {
  if (score === 0 && !isBan(cause)) return;
  let per = s.contributions.get(rsc);
  if (!per) {
    per = new Map();
    s.contributions.set(rsc, per);
  }
  const list = per.get(node);
  if (list) list.push({ cause, score });
  else per.set(node, [{ cause, score }]);
}

export function statusOf(s: AssignState, r: Resource) {
  return s.unpacked.resources.get(r.id);
}

/** Nodes a resource is active on now (any member, for a group or clone). */
export function runningOn(s: AssignState, r: Resource): string[] {
  if (r.kind === 'primitive') return [...(statusOf(s, r)?.runningOn ?? [])];
  const out: string[] = [];
  for (const l of leaves(r)) for (const n of statusOf(s, l)?.runningOn ?? []) if (!out.includes(n)) out.push(n);
  return out;
}

export function currentNode(s: AssignState, r: Resource): string | undefined {
  return r.kind === 'primitive' ? statusOf(s, r)?.current : runningOn(s, r)[0];
}

export function currentRole(s: AssignState, r: Resource): Role {
  if (r.kind === 'primitive') return statusOf(s, r)?.role ?? 'Stopped';
  const first = leaves(r)[0];
  return first ? currentRole(s, first) : 'Stopped';
}

export function nextRoleOf(s: AssignState, r: Resource): Role | undefined {
  if (r.kind === 'primitive') return s.nextRole.get(r.id);
  const first = leaves(r)[0];
  return first ? nextRoleOf(s, first) : undefined;
}

export function isManaged(s: AssignState, r: Resource): boolean {
  return !s.unmanaged.has(r.id) && (statusOf(s, r)?.managed ?? r.meta.managed);
}

/** The node can run resources, and (given a score) the score is not negative. */
export function available(s: AssignState, node: string, score?: number): boolean {
  return s.availableNodes.has(node) && (score === undefined || score >= 0);
}

export function anyAvailable(s: AssignState, table: ScoreTable): boolean {
  for (const [n, score] of table) if (available(s, n, score)) return true;
  return false;
}

export function nodeAttribute(s: AssignState, node: string, attribute: string): string | undefined {
  return s.nodeByName.get(node)?.attributes.get(attribute);
}

/** Attribute values match case-insensitively (Pacemaker compares node attributes that way for colocations). */
export function sameAttribute(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}

/**
 * Assigns any resource through its variant's method, running the methods it calls for on an
 * explicit stack: each request a method yields starts that resource's method on top of it.
 */
export function assign(s: AssignState, r: Resource, prefer?: string): string | null {
  return runOnStack(s.methods[r.kind](s, r, prefer), (call) => s.methods[call.r.kind](s, call.r, call.prefer));
}
