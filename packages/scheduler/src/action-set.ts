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
}

/**
 * A copy of an action set with new action objects (and a map from the old ones to the new), so
 * that a stage that changes flags works on its own value and leaves the earlier stage's as it was.
 */
export function copyActionSet(input: ActionSet): { actions: ActionSet; copyOf: (a: Action) => Action } {
  const copies = new Map<Action, Action>(input.list.map((a) => [a, { ...a }]));
  const copyOf = (a: Action): Action => {
    const c = copies.get(a);
    if (c === undefined) throw new SchedulerInvariantError('copyActionSet (action-set.ts)', `action ${a.id} is not in the action set it was copied from`);
    return c;
  };
  const mapValues = <K>(m: ReadonlyMap<K, Action>): Map<K, Action> => new Map([...m].map(([k, a]) => [k, copyOf(a)]));
  return {
    copyOf,
    actions: {
      list: input.list.map(copyOf),
      byKey: mapValues(input.byKey),
      byRsc: new Map([...input.byRsc].map(([id, l]) => [id, l.map(copyOf)])),
      fencing: mapValues(input.fencing),
      unfencings: mapValues(input.unfencings),
      running: input.running,
      blocked: input.blocked,
    },
  };
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
