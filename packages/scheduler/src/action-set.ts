/**
 * The action set: what the actions stage (actions.ts) produces — every action with its flags,
 * indexed by key, resource and node — and what the orderings and propagation stages copy
 * (`copyActionSet`) before they change flags, so an earlier stage's set stays as it was.
 */
import type { ClusterConfig } from '@paceline/model';
import type { NodeView } from './nodes.js';
import type { ResourceTree, Resource } from './resources.js';
import type { UnpackResult } from './unpack.js';
import type { Assignment } from './assign/index.js';
import type { NodeCriteria } from './locations.js';
import { SchedulerInvariantError } from './errors.js';

export interface Action {
  readonly id: string;
  readonly task: string;
  readonly rsc: Resource | undefined;
  readonly node: string | undefined;
  readonly interval: number;
  optional: boolean;
  runnable: boolean;
  pseudo: boolean;
  reason: string | undefined;
  /** Part of a live migration that is still possible (Pacemaker: migrate_runnable). */
  migratable?: boolean;
  /** Why the action exists, for the graph and explanations (reason stays Pacemaker's "due to"). */
  why?: ActionWhy;
  /**
   * A one-or-more point (clone-min): how many of its firsts must be runnable for it to be
   * (Pacemaker's required_runnable_before). Absent: one.
   */
  readonly requiredFirsts?: number;
  /** Fencing actions: what the fence device is asked to do (the reason says why). */
  readonly fenceType?: 'reboot' | 'off' | 'on';
  /** Its position in its set's list, set by `appendAction` (how copyActionSet finds its copy). */
  seq?: number;
}

/** Adds an action at the end of a set's list, noting its position there. */
export function appendAction(list: Action[], a: Action): void {
  a.seq = list.length;
  list.push(a);
}

/**
 * Why an action exists: a plain restart (which an ordering that makes the action required
 * replaces with itself), an ordering that made it required, or a sentence of the stage that made
 * it. `formatWhy` is the one formatter.
 */
export type ActionWhy =
  { readonly kind: 'restart' } | { readonly kind: 'required-by'; readonly ordering: string } | { readonly kind: 'text'; readonly text: string };

export function formatWhy(why: ActionWhy): string {
  switch (why.kind) {
    case 'restart':
      return 'restart';
    case 'required-by':
      return `required by ${why.ordering}`;
    case 'text':
      return why.text;
  }
}

/**
 * The probes of one primitive, in node order: one record per primitive rather than one action per
 * node (at 32 nodes × 5,000 resources they are 160,000 of 176,000 actions, and no stage changes
 * them). A probe that cannot run (a pending node) is also an action in the list, at `at`, `at + 1`,
 * …, for the ordering that makes its resource's start wait (orderings/internal.ts); the graph
 * lists every probe where the block stands (schedule.ts, buildGraph).
 */
export interface ProbeBlock {
  readonly rsc: Resource;
  readonly nodes: readonly string[];
  /** Per node: false on a pending node. */
  readonly runnable: readonly boolean[];
  /** The list's length when the probes were made: where they stand among the actions. */
  readonly at: number;
}

export interface ActionSet {
  readonly list: Action[];
  readonly byKey: Map<string, Action>;
  /** Actions per primitive/group/clone id. */
  readonly byRsc: Map<string, Action[]>;
  readonly fencing: Map<string, Action>;
  /** Unfencing ("on") actions per node. */
  readonly unfencings: Map<string, Action>;
  /** Where each primitive is active now. */
  readonly running: ReadonlyMap<string, readonly string[]>;
  /** Primitives that are unmanaged because failure handling blocked them. */
  readonly blocked: ReadonlySet<string>;
  /** Each primitive's probes, in the order they were made (shared by copies: nothing changes them). */
  readonly probes: ReadonlyMap<string, ProbeBlock>;
}

/**
 * A copy of an action set with new action objects (and a map from the old ones to the new), so
 * that a stage that changes flags works on its own value and leaves the earlier stage's as it was.
 */
export function copyActionSet(input: ActionSet): { actions: ActionSet; copyOf: (a: Action) => Action } {
  // Copies keep their originals' positions: an action's copy is found by its position (a map from
  // every action to its copy cost more than the copies themselves at 180,000 actions).
  const list: Action[] = new Array<Action>(input.list.length);
  for (let i = 0; i < list.length; i++) list[i] = copyAction(input.list[i]!, i);
  // A set whose actions were not added by appendAction (built by hand) is searched through a map.
  let positions: Map<Action, number> | undefined;
  const copyOf = (a: Action): Action => {
    let i = a.seq;
    if (i === undefined || input.list[i] !== a) i = (positions ??= new Map(input.list.map((x, n) => [x, n]))).get(a);
    if (i === undefined) throw new SchedulerInvariantError('copyActionSet (action-set.ts)', `action ${a.id} is not in the action set it was copied from`);
    return list[i]!;
  };
  const mapValues = <K>(m: ReadonlyMap<K, Action>): Map<K, Action> => {
    const out = new Map<K, Action>();
    for (const [k, a] of m) out.set(k, copyOf(a));
    return out;
  };
  const byRsc = new Map<string, Action[]>();
  for (const [id, l] of input.byRsc) byRsc.set(id, l.map(copyOf));
  return {
    copyOf,
    actions: {
      list,
      byKey: mapValues(input.byKey),
      byRsc,
      fencing: mapValues(input.fencing),
      unfencings: mapValues(input.unfencings),
      running: input.running,
      blocked: input.blocked,
      probes: input.probes,
    },
  };
}

/**
 * A new action with the same fields, at position `seq`. Field by field: actions made by different
 * stages have different shapes, and an object spread over many shapes takes V8's slow path.
 */
function copyAction(a: Action, seq: number): Action {
  const c: { -readonly [K in keyof Action]: Action[K] } = {
    id: a.id,
    task: a.task,
    rsc: a.rsc,
    node: a.node,
    interval: a.interval,
    optional: a.optional,
    runnable: a.runnable,
    pseudo: a.pseudo,
    reason: a.reason,
    seq,
  };
  if ('migratable' in a) c.migratable = a.migratable;
  if ('why' in a) c.why = a.why;
  if ('requiredFirsts' in a) c.requiredFirsts = a.requiredFirsts;
  if ('fenceType' in a) c.fenceType = a.fenceType;
  return c;
}

export interface ActionContext {
  readonly config: ClusterConfig;
  readonly tree: ResourceTree;
  readonly nodes: readonly NodeView[];
  readonly unpacked: UnpackResult;
  readonly assignment: Assignment;
  readonly criteria: NodeCriteria;
  readonly quorum: boolean;
  readonly canFence: boolean;
  readonly quorumPolicy: ClusterConfig['properties']['noQuorumPolicy'];
}

export function actionKey(rscId: string, task: string, node: string | undefined, interval = 0): string {
  return `${rscId}_${task}_${interval}${node ? ` ${node}` : ''}`;
}
