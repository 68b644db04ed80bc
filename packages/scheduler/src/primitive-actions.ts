/**
 * A primitive's actions (Pacemaker's create_actions for a primitive): first the plan — where it is,
 * where it goes, whether it must stop (moving, recovering, multiply active, blocked, a changed
 * definition) or can migrate — then the role changes that carry it out, why each action exists,
 * probes where its state is unknown, and recurring monitors where it will run.
 */
import type { Role } from '@paceline/model';
import type { Resource } from './resources.js';
import { needsFencing } from './resources.js';
import { roleRank } from './roles.js';
import type { ParamChange, RscStatus } from './unpack.js';
import type { ActionBuilder } from './action-builder.js';
import { actionKey, type ActionWhy } from './action-set.js';

/** What a primitive's actions must achieve, decided before any is made. */
interface PrimitivePlan {
  readonly st: RscStatus;
  /** The node it is assigned to (null: stopped). */
  readonly allocated: string | null;
  readonly nextRole: Role;
  /** Moving to another node in a started role. */
  readonly moving: boolean;
  /** Its current instances must stop (not only change role). */
  readonly needStop: boolean;
  readonly canMigrate: boolean;
  /** A half-done live migration that goes on to the same target. */
  readonly continuing: boolean;
  readonly multiply: boolean;
  /** A changed definition where it stays. */
  readonly redefined: ParamChange | undefined;
  /** Why its stops happen, as Pacemaker words it ("due to …"), if it says. */
  readonly stopReason: string | undefined;
}

function planPrimitive(b: ActionBuilder, r: Resource): PrimitivePlan {
  const st = b.ctx.unpacked.resources.get(r.id)!;
  const allocated = b.ctx.assignment.node.get(r.id) ?? null;
  let nextRole: Role = b.ctx.assignment.nextRole.get(r.id) ?? (allocated ? 'Started' : 'Stopped');
  if (allocated === null && roleRank(nextRole) > roleRank('Stopped')) nextRole = 'Stopped';
  const { runningOn: running, current } = st;
  const unclean = (n: string): boolean => b.nodeByName.get(n)?.unclean ?? false;
  const moving = current !== undefined && allocated !== null && current !== allocated && roleRank(nextRole) >= roleRank('Started');
  let needStop = moving;
  // A half-done live migration continues when it still goes to the same target; otherwise
  // the resource is recovered (stopped everywhere, started where assigned).
  const partial = st.partialMigration;
  const canMigrate =
    r.meta.allowMigrate &&
    b.managed(r) &&
    !st.failed &&
    !st.noMigrate &&
    !st.startPending &&
    current !== undefined &&
    allocated !== null &&
    !unclean(current) &&
    !unclean(allocated);
  const continuing = partial !== undefined && canMigrate && moving && running.length === 2 && current === partial.source && allocated === partial.target;
  if (partial) needStop = true;
  const multiply = partial ? false : needsFencing(r) ? running.length > 1 : running.filter((n) => !unclean(n)).length > 1;
  if (multiply && (r.meta.multipleActive === 'stop_start' || r.meta.multipleActive === 'stop_unexpected')) needStop = true;
  if (!moving && ((st.failed && st.stopOnFailure) || st.blocked)) needStop = true;
  // A changed definition where it stays: restart (or reload) it there; rescheduled monitors.
  const change = st.paramChanges?.find((c) => c.node === allocated);
  const stays = allocated !== null && running.includes(allocated) && roleRank(nextRole) >= roleRank('Started');
  const redefined = change !== undefined && !moving && !needStop && !st.blocked && b.managed(r) && stays ? change : undefined;
  if (redefined?.action === 'restart') needStop = true;
  const stopReason =
    allocated === null ? 'node availability' : multiply ? 'being multiply active' : redefined?.action === 'restart' ? 'resource definition change' : undefined;
  return { st, allocated, nextRole, moving, needStop, canMigrate, continuing, multiply, redefined, stopReason };
}

/** A stop on `node`: a pseudo action when the node is being fenced (the fencing stops it). */
function stopOn(b: ActionBuilder, r: Resource, plan: PrimitivePlan, node: string, optional: boolean): void {
  const stop = b.make(r, 'stop', node, optional);
  if (plan.stopReason && !stop.reason) stop.reason = plan.stopReason;
  if (!b.managed(r)) stop.runnable = false;
  if (b.fencing.get(node)) {
    stop.pseudo = true;
    stop.runnable = true;
  }
}

/** Down to stopped where it runs, back up on its node, then on to the next role. */
function roleChanges(b: ActionBuilder, r: Resource, plan: PrimitivePlan): void {
  const { st, allocated, nextRole, needStop, continuing } = plan;
  const role = st.role;
  const running = st.runningOn;
  // Down to stopped on the current node(s).
  if (role !== 'Stopped') {
    if (role === 'Promoted') for (const n of running) b.make(r, 'demote', n, !needStop);
    for (const n of running) if (!(continuing && n === st.partialMigration?.target)) stopOn(b, r, plan, n, !needStop);
  }
  // Back up to the current role on the assigned node.
  if (roleRank(role) <= roleRank(nextRole) && role !== 'Stopped' && !st.blocked && allocated !== null) {
    b.make(r, 'start', allocated, !needStop);
    if (role === 'Promoted') b.make(r, 'promote', allocated, !needStop);
  } else if (needStop && role === 'Promoted' && roleRank(nextRole) >= roleRank('Started') && !st.blocked && allocated !== null) {
    // A promoted instance that moves and comes back lower (Unpromoted) still starts on its new node.
    b.make(r, 'start', allocated, false);
  }
  // Then from the current role to the next role.
  if (roleRank(nextRole) > roleRank(role) || (role === 'Stopped' && nextRole !== 'Stopped')) {
    if (allocated !== null) {
      if (role === 'Stopped') b.make(r, 'start', allocated, false);
      if (nextRole === 'Promoted' && role !== 'Promoted') b.make(r, 'promote', allocated, false);
    }
  } else if (roleRank(nextRole) < roleRank(role)) {
    if (role === 'Promoted' && nextRole !== 'Promoted') for (const n of running) b.make(r, 'demote', n, false);
    if (nextRole === 'Stopped') for (const n of running) stopOn(b, r, plan, n, false);
  }
  if (st.startPending && allocated) b.make(r, 'start', allocated, true);
  const { redefined } = plan;
  if (redefined && allocated !== null) {
    if (redefined.action === 'restart') {
      const start = b.byKey.get(actionKey(r.id, 'start', allocated));
      if (start && !start.reason) start.reason = 'resource definition change';
    }
    if (redefined.action === 'reload') b.make(r, 'reload', allocated, false).why = { kind: 'text', text: redefined.detail };
    for (const interval of redefined.monitors) b.make(r, 'monitor', allocated, false, { interval });
  }
}

const RESTART: ActionWhy = { kind: 'restart' };
const text = (sentence: string): ActionWhy => ({ kind: 'text', text: sentence });

/** Why each action exists (kept when an earlier stage already said), and which may be a migration. */
function explainAndMigrate(b: ActionBuilder, r: Resource, plan: PrimitivePlan): void {
  const { st, allocated, nextRole, moving, multiply, redefined } = plan;
  const current = st.current;
  const reason = moving
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
  const why = reason === undefined ? undefined : text(reason);
  for (const a of b.byRsc.get(r.id) ?? []) {
    if (a.task === 'stop') a.why = why ?? (nextRole === 'Stopped' ? text(b.ctx.assignment.nextRoleReason.get(r.id) ?? 'to be stopped') : RESTART);
    else if (a.task === 'start') a.why = why ?? (st.role === 'Stopped' ? text(`placed on ${allocated}`) : RESTART);
    else if (a.task === 'promote') a.why = text(`chosen to be promoted on ${a.node}`);
    else if (a.task === 'demote') a.why = text(nextRole === 'Stopped' ? 'stopping' : 'no longer chosen to be promoted');
  }
  // Live migration: the stop and start of a moving resource may become migrate_to/migrate_from.
  if (moving && plan.canMigrate && (st.runningOn.length === 1 || plan.continuing) && allocated !== null) {
    const stop = b.byKey.get(actionKey(r.id, 'stop', current));
    const start = b.byKey.get(actionKey(r.id, 'start', allocated));
    if (stop && start) {
      stop.migratable = true;
      start.migratable = true;
    }
  }
}

/**
 * An anonymous clone is probed through a single instance per node (Pacemaker's
 * probe_anonymous_clone): the instance already known there, else the one assigned there, else the
 * first. True when `r` belongs to that instance (or to no anonymous clone).
 */
function probesAnonymousInstance(b: ActionBuilder, r: Resource, node: string): boolean {
  let instance = r;
  while (instance.parent && instance.parent.kind !== 'clone') instance = instance.parent;
  const clone = instance.parent;
  if (!clone || clone.clone?.meta.globallyUnique) return true;
  // The choice depends on the clone and the node only: made once per pair, not once per leaf.
  let byNode = b.probedInstances.get(clone);
  if (byNode === undefined) b.probedInstances.set(clone, (byNode = new Map()));
  let chosen = byNode.get(node);
  if (chosen === undefined) byNode.set(node, (chosen = probedInstance(b, clone, node)));
  return chosen === instance;
}

/** The instance of anonymous clone `clone` that is probed on `node` (see probesAnonymousInstance). */
function probedInstance(b: ActionBuilder, clone: Resource, node: string): Resource | undefined {
  const leavesOf = (x: Resource): Resource[] => (x.kind === 'primitive' ? [x] : x.children.flatMap(leavesOf));
  const known = (x: Resource): boolean =>
    leavesOf(x).some((l) => {
      const s = b.ctx.unpacked.resources.get(l.id);
      return (s?.knownOn.has(node) ?? false) || (s?.runningOn.includes(node) ?? false);
    });
  return clone.children.find(known) ?? clone.children.find((c) => leavesOf(c).some((l) => b.ctx.assignment.node.get(l.id) === node)) ?? clone.children[0];
}

/** Probes where the state on an online node is unknown (one record for the primitive: ProbeBlock). */
function probes(b: ActionBuilder, r: Resource, st: RscStatus): void {
  const running = st.runningOn;
  if (r.orphan || (!b.managed(r) && !running.length)) return;
  const discovery = b.ctx.criteria.discovery.get(r.id);
  const nodes: string[] = [];
  const runnable: boolean[] = [];
  for (const n of b.ctx.nodes) {
    if (!n.online || n.unclean || n.maintenance) continue;
    if (st.knownOn.has(n.name) || running.includes(n.name)) continue;
    if (!probesAnonymousInstance(b, r, n.name)) continue;
    if (discovery?.get(n.name) === 'never') continue;
    nodes.push(n.name);
    runnable.push(!n.pending);
  }
  b.addProbes(r, nodes, runnable);
}

/** Recurring monitors where it will run (required when its start is). */
function monitors(b: ActionBuilder, r: Resource, { allocated, nextRole }: PrimitivePlan): void {
  if (allocated === null || roleRank(nextRole) < roleRank('Started')) return;
  for (const op of r.ops) {
    if (op.name !== 'monitor' || op.interval <= 0 || op.enabled === false) continue;
    if (op.role !== undefined && op.role !== 'Started' && op.role !== nextRole) continue;
    const start = b.byKey.get(actionKey(r.id, 'start', allocated));
    b.make(r, 'monitor', allocated, !(start && !start.optional), { interval: op.interval });
  }
}

/** Every action of primitive `r`. */
export function primitiveActions(b: ActionBuilder, r: Resource): void {
  const plan = planPrimitive(b, r);
  roleChanges(b, r, plan);
  explainAndMigrate(b, r, plan);
  probes(b, r, plan.st);
  monitors(b, r, plan);
}
