/**
 * Stage "create actions": for every primitive, the stops, starts, promotions and demotions that
 * take it from its current state to its assigned state (Pacemaker's create_actions: restart on
 * recovery or when multiply active, move when the node changes, role transitions), each marked
 * optional/required and runnable/unrunnable (offline node, no quorum, unmanaged); pseudo actions
 * for groups and clones; fencing of unclean nodes; probes where a resource's state is unknown;
 * recurring monitors for what will run.
 */
import type { ClusterConfig, Role } from '@paceline/model';
import type { NodeView } from './nodes.js';
import type { ResourceTree, Resource } from './resources.js';
import { needsFencing, unfencingEnabled } from './resources.js';
import type { UnpackResult } from './unpack.js';
import type { Assignment } from './assign/index.js';
import type { NodeCriteria } from './locations.js';
import { roleRank } from './roles.js';
import { collectivePseudoTasks } from './clone/index.js';
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
  const list: Action[] = [];
  const byKey = new Map<string, Action>();
  const byRsc = new Map<string, Action[]>();
  const fencing = new Map<string, Action>();
  const unfencings = new Map<string, Action>();
  const nodeByName = new Map(ctx.nodes.map((n) => [n.name, n]));
  const policy = ctx.quorumPolicy;

  const make = (rsc: Resource | undefined, task: string, node: string | undefined, optional: boolean, extra: Partial<Action> = {}): Action => {
    const key = rsc ? actionKey(rsc.id, task, node, extra.interval ?? 0) : `${task} ${node}`;
    let a = byKey.get(key);
    if (!a) {
      a = { id: key, task, rsc, node, interval: extra.interval ?? 0, optional: true, runnable: true, pseudo: extra.pseudo ?? false, reason: undefined };
      byKey.set(key, a);
      list.push(a);
      if (rsc) {
        const l = byRsc.get(rsc.id) ?? [];
        l.push(a);
        byRsc.set(rsc.id, l);
      }
    }
    if (!optional) a.optional = false;
    if (rsc && rsc.kind === 'primitive') updateRunnable(a, rsc);
    return a;
  };

  const managed = (r: Resource): boolean => !ctx.assignment.unmanaged.has(r.id) && (ctx.unpacked.resources.get(r.id)?.managed ?? r.meta.managed);

  const updateRunnable = (a: Action, r: Resource): void => {
    if (!managed(r) && a.interval === 0 && !a.pseudo) a.optional = true;
    if (a.pseudo) return;
    const n = a.node ? nodeByName.get(a.node) : undefined;
    if (!n) {
      a.runnable = false;
      return;
    }
    if (!n.online) {
      a.runnable = false;
      return;
    }
    if (n.pending) {
      a.runnable = false;
      return;
    }
    const needs = a.task === 'start' || a.task === 'promote' ? r.meta.requires : 'nothing';
    if (needs === 'nothing' || ctx.quorum || policy === 'ignore') return;
    const st = ctx.unpacked.resources.get(r.id);
    const active = (st?.runningOn.length ?? 0) > 0;
    if (policy === 'freeze') {
      const next = ctx.assignment.nextRole.get(r.id) ?? 'Stopped';
      if (!active || roleRank(next) > roleRank(st?.role ?? 'Stopped')) {
        a.runnable = false;
        a.reason = 'quorum freeze';
      }
      return;
    }
    if (policy === 'demote' && (st?.role === 'Promoted' || st?.role === 'Unpromoted')) return;
    a.runnable = false;
    a.reason = 'no quorum';
  };

  // Fencing first: stops on nodes being fenced become pseudo actions implied by the fencing.
  const fenceType = ctx.config.properties.stonithAction === 'reboot' ? 'reboot' : 'off';
  const anyManaged = ctx.tree.primitives.some((p) => managed(p));
  for (const n of ctx.nodes) {
    if (!n.unclean) continue;
    if (!(ctx.canFence && anyManaged)) continue;
    if (!ctx.quorum && policy !== 'ignore' && !n.online) continue;
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
    list.push(a);
    byKey.set(a.id, a);
    fencing.set(n.name, a);
  }

  for (const r of ctx.tree.primitives) createPrimitiveActions(r);
  for (const r of ctx.tree.byId.values()) {
    if (r.kind === 'primitive') continue;
    for (const task of collectivePseudoTasks(r.kind === 'clone' ? 'clone' : 'group', r.clone?.promotable ?? false))
      make(r, task, undefined, true, { pseudo: true });
  }

  /**
   * An anonymous clone is probed through a single instance per node (Pacemaker's
   * probe_anonymous_clone): the instance already known there, else the one assigned there, else the
   * first. True when `r` belongs to that instance (or to no anonymous clone).
   */
  function probesAnonymousInstance(r: Resource, node: string): boolean {
    let instance = r;
    while (instance.parent && instance.parent.kind !== 'clone') instance = instance.parent;
    const clone = instance.parent;
    if (!clone || clone.clone?.meta.globallyUnique) return true;
    const leavesOf = (x: Resource): Resource[] => (x.kind === 'primitive' ? [x] : x.children.flatMap(leavesOf));
    const known = (x: Resource): boolean =>
      leavesOf(x).some((l) => {
        const s = ctx.unpacked.resources.get(l.id);
        return (s?.knownOn.has(node) ?? false) || (s?.runningOn.includes(node) ?? false);
      });
    const chosen =
      clone.children.find(known) ?? clone.children.find((c) => leavesOf(c).some((l) => ctx.assignment.node.get(l.id) === node)) ?? clone.children[0];
    return chosen === instance;
  }

  function createPrimitiveActions(r: Resource): void {
    const st = ctx.unpacked.resources.get(r.id)!;
    const allocated = ctx.assignment.node.get(r.id) ?? null;
    let nextRole: Role = ctx.assignment.nextRole.get(r.id) ?? (allocated ? 'Started' : 'Stopped');
    if (allocated === null && roleRank(nextRole) > roleRank('Stopped')) nextRole = 'Stopped';
    const role = st.role;
    const running = st.runningOn;
    const current = st.current;
    let needStop = false;
    const moving = current !== undefined && allocated !== null && current !== allocated && roleRank(nextRole) >= roleRank('Started');
    if (moving) needStop = true;
    const cleanActive = running.filter((n) => !nodeByName.get(n)?.unclean).length;
    // A half-done live migration continues when it still goes to the same target; otherwise
    // the resource is recovered (stopped everywhere, started where assigned).
    const partial = st.partialMigration;
    const canMigrate =
      r.meta.allowMigrate &&
      managed(r) &&
      !st.failed &&
      !st.noMigrate &&
      !st.startPending &&
      current !== undefined &&
      allocated !== null &&
      !nodeByName.get(current)?.unclean &&
      !nodeByName.get(allocated)?.unclean;
    const continuing = partial !== undefined && canMigrate && moving && running.length === 2 && current === partial.source && allocated === partial.target;
    if (partial) needStop = true;
    const multiply = partial ? false : needsFencing(r) ? running.length > 1 : cleanActive > 1;
    if (multiply && (r.meta.multipleActive === 'stop_start' || r.meta.multipleActive === 'stop_unexpected')) needStop = true;
    if (!moving) {
      if (st.failed && st.stopOnFailure) needStop = true;
      else if (st.blocked) needStop = true;
    }
    // A changed definition where it stays: restart (or reload) it there; rescheduled monitors.
    const pc = st.paramChanges?.find((c) => c.node === allocated);
    const redefined =
      pc !== undefined && !moving && !needStop && !st.blocked && managed(r) && running.includes(allocated!) && roleRank(nextRole) >= roleRank('Started')
        ? pc
        : undefined;
    if (redefined?.action === 'restart') needStop = true;
    const stopReason =
      allocated === null
        ? 'node availability'
        : multiply
          ? 'being multiply active'
          : redefined?.action === 'restart'
            ? 'resource definition change'
            : undefined;
    // Down to stopped on the current node(s)
    if (role !== 'Stopped') {
      if (role === 'Promoted') for (const n of running) make(r, 'demote', n, !needStop);
      for (const n of running) {
        if (continuing && n === partial.target) continue;
        const s = make(r, 'stop', n, !needStop);
        if (stopReason && !s.reason) s.reason = stopReason;
        if (!managed(r)) s.runnable = false;
        const f = fencing.get(n);
        if (f) {
          s.pseudo = true;
          s.runnable = true;
        }
      }
    }
    // Back up to the current role on the assigned node
    if (roleRank(role) <= roleRank(nextRole) && role !== 'Stopped' && !st.blocked && allocated !== null) {
      make(r, 'start', allocated, !needStop);
      if (role === 'Promoted') make(r, 'promote', allocated, !needStop);
    } else if (needStop && role === 'Promoted' && roleRank(nextRole) >= roleRank('Started') && !st.blocked && allocated !== null) {
      // A promoted instance that moves and comes back lower (Unpromoted) still starts on its new node.
      make(r, 'start', allocated, false);
    }
    // Then from the current role to the next role
    if (roleRank(nextRole) > roleRank(role) || (role === 'Stopped' && nextRole !== 'Stopped')) {
      if (allocated !== null) {
        if (role === 'Stopped') make(r, 'start', allocated, false);
        if (nextRole === 'Promoted' && role !== 'Promoted') make(r, 'promote', allocated, false);
      }
    } else if (roleRank(nextRole) < roleRank(role)) {
      if (role === 'Promoted' && nextRole !== 'Promoted') for (const n of running) make(r, 'demote', n, false);
      if (nextRole === 'Stopped')
        for (const n of running) {
          const s = make(r, 'stop', n, false);
          if (stopReason && !s.reason) s.reason = stopReason;
          if (!managed(r)) s.runnable = false;
          if (fencing.get(n)) {
            s.pseudo = true;
            s.runnable = true;
          }
        }
    }
    if (st.startPending && allocated) make(r, 'start', allocated, true);
    if (redefined?.action === 'restart') {
      const start = byKey.get(actionKey(r.id, 'start', allocated!));
      if (start && !start.reason) start.reason = 'resource definition change';
    }
    if (redefined?.action === 'reload') make(r, 'reload', allocated!, false).why = redefined.detail;
    for (const interval of redefined?.monitors ?? []) make(r, 'monitor', allocated!, false, { interval });
    // Why each action exists (kept when an earlier stage already said).
    const why = moving
      ? `moving from ${current} to ${allocated}`
      : st.failed && st.stopOnFailure
        ? `recovering ${r.id} after a failure`
        : multiply
          ? 'being multiply active'
          : st.blocked
            ? 'blocked by failure handling'
            : redefined?.action === 'restart'
              ? redefined.detail
              : undefined;
    for (const a of byRsc.get(r.id) ?? []) {
      if (a.task === 'stop') a.why = why ?? (nextRole === 'Stopped' ? (ctx.assignment.nextRoleReason.get(r.id) ?? 'to be stopped') : 'restart');
      else if (a.task === 'start') a.why = why ?? (role === 'Stopped' ? `placed on ${allocated}` : 'restart');
      else if (a.task === 'promote') a.why = `chosen to be promoted on ${a.node}`;
      else if (a.task === 'demote') a.why = nextRole === 'Stopped' ? 'stopping' : 'no longer chosen to be promoted';
    }
    // Live migration: the stop and start of a moving resource may become migrate_to/migrate_from.
    if (moving && canMigrate && (running.length === 1 || continuing)) {
      const stop = byKey.get(actionKey(r.id, 'stop', current));
      const start = byKey.get(actionKey(r.id, 'start', allocated!));
      if (stop && start) {
        stop.migratable = true;
        start.migratable = true;
      }
    }
    // Probes where the state on an online node is unknown.
    for (const n of ctx.nodes) {
      if (!n.online || n.unclean || n.maintenance) continue;
      if (st.knownOn.has(n.name) || running.includes(n.name)) continue;
      if (!probesAnonymousInstance(r, n.name)) continue;
      if (ctx.criteria.discovery.get(r.id)?.get(n.name) === 'never') continue;
      if (!managed(r) && !running.length) continue;
      if (r.orphan) continue;
      // Probes are unique per resource and node: no need to look for an existing one.
      const probe: Action = {
        id: actionKey(r.id, 'probe', n.name),
        task: 'probe',
        rsc: r,
        node: n.name,
        interval: 0,
        optional: false,
        runnable: !n.pending,
        pseudo: false,
        reason: undefined,
      };
      list.push(probe);
      byRsc.get(r.id)?.push(probe) ?? byRsc.set(r.id, [probe]);
    }
    // Recurring monitors where it will run.
    if (allocated !== null && roleRank(nextRole) >= roleRank('Started')) {
      for (const op of r.ops) {
        if (op.name !== 'monitor' || op.interval <= 0 || op.enabled === false) continue;
        if (op.role !== undefined && op.role !== 'Started' && op.role !== nextRole) continue;
        const start = byKey.get(actionKey(r.id, 'start', allocated));
        make(r, 'monitor', allocated, !(start && !start.optional), { interval: op.interval });
      }
    }
  }

  // Unfencing: nodes that have never been unfenced must be before a fencing device is probed
  // there or a resource requiring unfencing starts there (probes first, as Pacemaker schedules).
  if (ctx.canFence && unfencingEnabled(ctx.config)) {
    const wants = (r: Resource): boolean => r.isFencing || r.meta.requires === 'unfencing';
    const unfence = (node: string, why: string): void => {
      const n = nodeByName.get(node);
      if (!n || !n.online || n.unclean || n.shutdown || fencing.has(node)) return;
      const unfenced = n.attributes.get('#node-unfenced');
      if (unfenced !== undefined && unfenced !== '0') return;
      const id = `fence-on ${node}`;
      if (byKey.has(id)) return;
      const a: Action = { id, task: 'fence', rsc: undefined, node, interval: 0, optional: false, runnable: true, pseudo: false, reason: why, fenceType: 'on' };
      list.push(a);
      byKey.set(id, a);
      unfencings.set(node, a);
    };
    for (const n of ctx.nodes)
      for (const r of ctx.tree.primitives)
        if (wants(r) && byRsc.get(r.id)?.some((a) => a.task === 'probe' && a.node === n.name)) unfence(n.name, `required by ${r.id} monitor`);
    for (const r of ctx.tree.primitives)
      if (wants(r)) for (const a of byRsc.get(r.id) ?? []) if (a.task === 'start' && a.node && !a.optional) unfence(a.node, `required by ${r.id} start`);
  }
  const running = new Map([...ctx.unpacked.resources].map(([id, st]) => [id, st.runningOn]));
  const blocked = new Set([...ctx.unpacked.resources].filter(([id, st]) => st.blocked && !managed(ctx.tree.byId.get(id)!)).map(([id]) => id));
  return { list, byKey, byRsc, fencing, unfencings, running, blocked };
}
