/**
 * Stage "create actions": for every primitive, the stops, starts, promotions and demotions that
 * take it from its current state to its assigned state (Pacemaker's create_actions: restart on
 * recovery or when multiply active, move when the node changes, role transitions), each marked
 * optional/required and runnable/unrunnable (offline node, no quorum, unmanaged); pseudo actions
 * for groups and clones; fencing of unclean nodes; probes where a resource's state is unknown;
 * recurring monitors for what will run. action-builder.ts holds the set under construction and
 * decides what can run; primitive-actions.ts makes a primitive's actions.
 */
import type { ClusterConfig } from '@paceline/model';
import type { NodeView } from './nodes.js';
import type { ResourceTree, Resource } from './resources.js';
import { unfencingEnabled } from './resources.js';
import type { UnpackResult } from './unpack.js';
import type { Assignment } from './assign/index.js';
import type { NodeCriteria } from './locations.js';
import { collectivePseudoTasks } from './clone/index.js';
import { ActionBuilder } from './action-builder.js';
import { primitiveActions } from './primitive-actions.js';
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
  why?: string;
  /**
   * A one-or-more point (clone-min): how many of its firsts must be runnable for it to be
   * (Pacemaker's required_runnable_before). Absent: one.
   */
  readonly requiredFirsts?: number;
  /** Fencing actions: what the fence device is asked to do (the reason says why). */
  readonly fenceType?: 'reboot' | 'off' | 'on';
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
    if (c === undefined) throw new SchedulerInvariantError('copyActionSet (actions.ts)', `action ${a.id} is not in the action set it was copied from`);
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

export function createActions(ctx: ActionContext): ActionSet {
  const b = new ActionBuilder(ctx);
  // Fencing first: stops on nodes being fenced become pseudo actions implied by the fencing.
  fencingActions(b);
  for (const r of ctx.tree.primitives) primitiveActions(b, r);
  for (const r of ctx.tree.byId.values()) {
    if (r.kind === 'primitive') continue;
    for (const task of collectivePseudoTasks(r.kind === 'clone' ? 'clone' : 'group', r.clone?.promotable ?? false))
      b.make(r, task, undefined, true, { pseudo: true });
  }
  unfencingActions(b);
  return b.result();
}

/** Fencing of unclean nodes (when fencing can run and something managed needs it). */
function fencingActions(b: ActionBuilder): void {
  const ctx = b.ctx;
  const fenceType = ctx.config.properties.stonithAction === 'reboot' ? 'reboot' : 'off';
  const anyManaged = ctx.tree.primitives.some((p) => b.managed(p));
  for (const n of ctx.nodes) {
    if (!n.unclean) continue;
    if (!(ctx.canFence && anyManaged)) continue;
    if (!ctx.quorum && ctx.quorumPolicy !== 'ignore' && !n.online) continue;
    const reason = ctx.unpacked.fenceReasons.get(n.name) ?? n.uncleanReason ?? 'node is unclean';
    const a: Action = {
      id: `fence ${n.name}`,
      task: 'fence',
      rsc: undefined,
      node: n.name,
      interval: 0,
      optional: false,
      runnable: true,
      pseudo: false,
      reason,
      fenceType,
    };
    b.addNodeAction(a);
    b.fencing.set(n.name, a);
  }
}

/**
 * Unfencing: nodes that have never been unfenced must be before a fencing device is probed there
 * or a resource requiring unfencing starts there (probes first, as Pacemaker schedules).
 */
function unfencingActions(b: ActionBuilder): void {
  const ctx = b.ctx;
  if (!ctx.canFence || !unfencingEnabled(ctx.config)) return;
  const wants = (r: Resource): boolean => r.isFencing || r.meta.requires === 'unfencing';
  const unfence = (node: string, why: string): void => {
    const n = b.nodeByName.get(node);
    if (!n || !n.online || n.unclean || n.shutdown || b.fencing.has(node)) return;
    const unfenced = n.attributes.get('#node-unfenced');
    if (unfenced !== undefined && unfenced !== '0') return;
    const id = `fence-on ${node}`;
    if (b.byKey.has(id)) return;
    const a: Action = { id, task: 'fence', rsc: undefined, node, interval: 0, optional: false, runnable: true, pseudo: false, reason: why, fenceType: 'on' };
    b.addNodeAction(a);
    b.unfencings.set(node, a);
  };
  for (const n of ctx.nodes)
    for (const r of ctx.tree.primitives)
      if (wants(r) && b.byRsc.get(r.id)?.some((a) => a.task === 'probe' && a.node === n.name)) unfence(n.name, `required by ${r.id} monitor`);
  for (const r of ctx.tree.primitives)
    if (wants(r)) for (const a of b.byRsc.get(r.id) ?? []) if (a.task === 'start' && a.node && !a.optional) unfence(a.node, `required by ${r.id} start`);
}
