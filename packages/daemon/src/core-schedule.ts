/**
 * The coordinator core's scheduler runs: the cluster status the scheduler sees (buildStatus), what
 * blocks a run (scheduleBlocker), resources held while a peer is unaccounted for (limboConfig), and
 * a run's transition becoming the running one — at once (`inline`), or when its answer comes back
 * (`schedule` command, `scheduled` event; see SchedulerMode).
 */
import { schedule } from '@paceline/scheduler';
import {
  listPrimitives,
  QUARANTINE_ATTRIBUTE,
  type ClusterConfig,
  type ClusterStatus,
  type NodeStatus,
  type ResourceHistory,
  type Transition,
} from '@paceline/model';
import { statusKey } from './view.js';
import {
  SCHEDULER_RETRY_FIRST_MS,
  SCHEDULER_RETRY_MAX_MS,
  UNCLEAN_ATTRIBUTE,
  WORKER_FROM_PRIMITIVES,
  type CoreCommand,
  type CoreEvent,
  type CoreState,
  type Mutable,
  type PendingSchedule,
} from './core-types.js';
import { provenDown, unaccountedPeer } from './core-peers.js';

/**
 * The status the scheduler sees, from the membership view, the reports and the document. A peer
 * that is lost but not proven down (not fenced, not left cleanly, not released by the partition
 * policy) is shown as online in maintenance and standby: what it ran stays where it was, frozen,
 * and nothing new goes there — so nothing it may still run is started elsewhere. Once proven down
 * it is offline and its resources are recovered on the survivors.
 */
export function buildStatus(s: CoreState): ClusterStatus {
  const nodes: NodeStatus[] = s.config.nodes.map((n) => {
    const r = s.reports[n.name];
    const p = s.view.peers[n.name];
    const self = n.name === s.self;
    const q = s.doc.quarantine[n.name];
    // Fenced by a current member (e.g. the coordinator), or by a node that has since left cleanly,
    // counts as proven down here too.
    const frozen = !self && p !== undefined && !p.member && !provenDown(s, n.name);
    const state: NodeStatus['state'] = self || p?.member || frozen ? 'online' : 'offline';
    // A member's history counts once it reported in its current incarnation; a frozen node keeps its last report.
    const current = r !== undefined && (self || frozen || (p?.member === true && p.boot === r.boot));
    const attributes: Record<string, string> = {};
    if (q !== undefined) attributes[QUARANTINE_ATTRIBUTE] = q;
    if (frozen) attributes[UNCLEAN_ATTRIBUTE] = p.reason;
    return {
      name: n.name,
      state,
      standby: q !== undefined || frozen,
      maintenance: frozen,
      shutdown: r?.shutdown === true && !frozen,
      attributes,
      history: current && state !== 'offline' ? [...r.history] : [],
      failures: r !== undefined ? [...r.failures] : [],
    };
  });
  return { quorum: s.view.quorate, dc: s.view.coordinator, nodes };
}

/**
 * Where the members' membership settings in effect differ (a setting of the configuration's
 * `membership` section overridden on one node, a daemon of another version), as a sentence that
 * names each setting and the nodes; undefined when they agree. Nodes that do not report their
 * settings (older versions) are not compared.
 */
export function membershipConflict(s: CoreState): string | undefined {
  const nodes = s.view.members.filter((n) => s.reports[n]?.membership !== undefined).sort();
  if (nodes.length < 2) return undefined;
  const settings = (n: string): Readonly<Record<string, string | number | boolean>> => s.reports[n]?.membership ?? {};
  const keys = [...new Set(nodes.flatMap((n) => Object.keys(settings(n))))].sort();
  const diffs: string[] = [];
  for (const k of keys) {
    const byValue = new Map<string, string[]>();
    for (const n of nodes) {
      const v = settings(n)[k];
      const shown = v === undefined ? 'unset' : String(v);
      byValue.set(shown, [...(byValue.get(shown) ?? []), n]);
    }
    if (byValue.size > 1) diffs.push(`${k} is ${[...byValue].map(([v, on]) => `${v} on ${on.join(', ')}`).join(' but ')}`);
  }
  if (diffs.length === 0) return undefined;
  const shown = diffs.length > 4 ? [...diffs.slice(0, 4), `and ${diffs.length - 4} more`] : diffs;
  return `the members run with different membership settings (${shown.join('; ')}): set them in the configuration's membership section, and give every node the same overrides or none (paceline daemon --membership, --profile, --partition-policy, --arbiter)`;
}

/** Why the coordinator does not schedule now (undefined: it may). */
export function scheduleBlocker(s: CoreState): string | undefined {
  if (s.view.coordinator !== s.self) return `${s.view.coordinator} coordinates`;
  if (!s.view.mayRun) return s.view.mayRunReason;
  if (s.settingsConflict !== undefined) return s.settingsConflict;
  for (const m of s.view.members) {
    const r = s.reports[m];
    if (r === undefined) return `waiting for ${m}'s report`;
    if (m !== s.self && s.view.peers[m]?.boot !== undefined && s.view.peers[m]?.boot !== r.boot) return `waiting for ${m}'s report after its restart`;
    // A member that was away (e.g. across a partition) may have changed what it runs meanwhile
    // (simulated seed 7000: a report from before a partition showed a resource where it no longer ran).
    if (m !== s.self && ((s.reportSeq[m] ?? 0) <= (s.joinSeq[m] ?? 0) || r.members?.includes(s.self) === false))
      return `waiting for ${m}'s report since it rejoined`;
  }
  // A lost peer that is not proven down keeps what it ran, frozen — which is known only from its
  // report. Without one from its last incarnation, anything may run there: start nothing anywhere
  // until it reports or is proven down (simulated seed 4060: a node back from fencing, which had
  // not yet heard its peer's report, lost the peer again and started the peer's resources).
  for (const [name, p] of Object.entries(s.view.peers)) {
    if (p.member || provenDown(s, name)) continue;
    const r = s.reports[name];
    if (r === undefined || (p.boot !== undefined && r.boot !== p.boot))
      return `${name} is lost and not proven down, and what it runs is unknown (no report from it): waiting for its report, its return or its fencing`;
  }
  return undefined;
}

/**
 * Runs the scheduler when something changed and nothing blocks it: here (`inline`), or by asking
 * the shell to (`schedule`, answered by a `scheduled` event; see SchedulerMode). While a transition
 * runs, an unexpected change aborts it instead (the next run starts once it has ended). While a run
 * is asked for and not answered, nothing more is asked — unless an unexpected change came: that
 * run's answer would be dropped, so it is abandoned (`abandon`) and the scheduler asked again at
 * once (a peer lost, then its fencing confirmed: the failover's run no longer waits for the first).
 */
export function maybeSchedule(s: Mutable<CoreState>, out: CoreCommand[], now: number): void {
  if (!s.dirty) return;
  if (s.running !== undefined) {
    if (s.urgent && !s.aborting) {
      s.aborting = true;
      out.push({ type: 'abort', id: s.running });
    }
    return;
  }
  if (s.scheduling !== undefined) {
    if (!s.urgent) return;
    // Its answer is certain to be dropped (onScheduled drops every answer that comes after an
    // unexpected change): abandon it now rather than wait for it, and ask from the new picture.
    out.push({ type: 'abandon', id: s.scheduling.id });
    out.push({ type: 'log', level: 'debug', message: `scheduler run ${s.scheduling.id} abandoned: the cluster changed while it ran` });
    s.scheduling = undefined;
  }
  if (scheduleBlocker(s) !== undefined) return;
  // After a failed run, the next waits for its time unless something unexpected changed the input.
  if (s.schedulerFailed !== undefined && !s.urgent && now < s.schedulerFailed.retryAt) return;
  s.dirty = false;
  s.urgent = false;
  const status = buildStatus(s);
  const { config, held } = limboConfig(s, status);
  s.scheduleRuns += 1;
  const run: PendingSchedule = { id: s.scheduleRuns, status, key: statusKey(s, status), held, now };
  if (!inline(s)) {
    s.scheduling = run;
    out.push({ type: 'schedule', id: run.id, input: { config, status, now } });
    return;
  }
  let transition: Transition;
  try {
    transition = schedule({ config, status, now });
  } catch (e) {
    schedulerFailed(s, out, (e as Error).message, now);
    return;
  }
  schedulerWorks(s, out);
  plan(s, out, run, transition);
}

/** Whether the scheduler runs inside the step (see SchedulerMode), for this configuration. */
export function inline(s: CoreState): boolean {
  if (s.schedulerMode !== 'auto') return s.schedulerMode === 'inline';
  return listPrimitives(s.config).length < WORKER_FROM_PRIMITIVES;
}

/**
 * The answer to a `schedule` command. A plan made from a status that has since changed in an
 * unexpected way (a node lost, a failure, a new configuration: `urgent`), or that may no longer be
 * carried out here (`scheduleBlocker`), is dropped and the scheduler asked again: it never starts
 * anything the change may have made wrong. An expected change (a report with no new failure) does
 * not drop it: the next run, once its transition has ended, plans from that too.
 */
export function onScheduled(s: Mutable<CoreState>, out: CoreCommand[], e: Extract<CoreEvent, { type: 'scheduled' }>): void {
  const run = s.scheduling;
  if (run === undefined || run.id !== e.id) return;
  s.scheduling = undefined;
  if (e.transition === undefined) {
    schedulerFailed(s, out, e.error ?? 'no answer', e.now);
    return;
  }
  schedulerWorks(s, out);
  if (s.urgent || scheduleBlocker(s) !== undefined) {
    s.dirty = true;
    out.push({ type: 'log', level: 'debug', message: `scheduler run ${run.id} dropped: the cluster changed while it ran` });
    return;
  }
  plan(s, out, run, e.transition);
}

/**
 * A run failed: it is asked again later (never left until the next change: a quiet cluster would
 * wait for the recheck interval), after a delay that doubles with each failure in a row so that a
 * scheduler that fails on every input does not spin.
 */
function schedulerFailed(s: Mutable<CoreState>, out: CoreCommand[], error: string, now: number): void {
  const count = (s.schedulerFailed?.count ?? 0) + 1;
  const delay = Math.min(SCHEDULER_RETRY_FIRST_MS * 2 ** Math.min(count - 1, 16), SCHEDULER_RETRY_MAX_MS);
  s.schedulerFailed = { count, error, retryAt: now + delay };
  s.dirty = true;
  const times = count > 1 ? ` (${count} times in a row)` : '';
  out.push({ type: 'log', level: 'error', message: `the scheduler failed${times}: ${error}; asking it again in ${delay / 1000} s` });
}

/** A run answered with a transition: failures in a row, if any, are over. */
function schedulerWorks(s: Mutable<CoreState>, out: CoreCommand[]): void {
  if (s.schedulerFailed === undefined) return;
  out.push({ type: 'log', level: 'info', message: `the scheduler answers again after ${s.schedulerFailed.count} failed run(s)` });
  s.schedulerFailed = undefined;
}

/** Whether a failed scheduler run is due to be asked again (the shell then feeds the core a `wake`). */
export function schedulerRetryDue(s: CoreState, now: number): boolean {
  return s.schedulerFailed !== undefined && s.dirty && s.scheduling === undefined && s.running === undefined && now >= s.schedulerFailed.retryAt;
}

/** A scheduler run's transition becomes the running one (or, with nothing to do, the cluster is idle). */
function plan(s: Mutable<CoreState>, out: CoreCommand[], run: PendingSchedule, planned: Transition): void {
  const { status, held, now } = run;
  // The view `status` shows, read from this very status (not when resources are held: the run saw them unmanaged).
  if (held.length === 0) s.placement = { key: run.key, resources: planned.current, warnings: planned.warnings };
  const transition = pruneActiveMonitors(planned, status);
  if (held.length > 0 && held.join() !== s.held.join())
    out.push({
      type: 'log',
      level: 'warn',
      message: `not starting ${held.join(', ')} while ${unaccountedPeer(s)?.node ?? 'a peer'} is lost and not proven down: it may be starting them itself`,
    });
  s.held = held;
  const real = transition.actions.filter((a) => a.kind !== 'pseudo' && a.runnable);
  const id = s.nextTransition;
  if (real.length === 0) {
    s.last ??= { id, at: now, epoch: s.doc.epoch, summary: [], actions: 0, state: 'idle' };
    return;
  }
  s.nextTransition = id + 1;
  s.running = id;
  s.last = {
    id,
    at: now,
    epoch: s.doc.epoch,
    summary: transition.summary.map(summaryText),
    decisions: transition.explanation.decisions.map((d) => d.text),
    actions: real.length,
    state: 'running',
  };
  out.push({ type: 'run', id, transition, config: s.config, status });
}

/**
 * While a peer is lost and not proven down, it is alive as far as anyone knows and may be
 * coordinating its own side of a split: it may start anything that runs nowhere (a resource that
 * failed, one that was stopped). So may this side — and then it runs twice until someone is
 * fenced. Until the peer is accounted for, a resource (primitive or group) that is active on no
 * node is therefore held where it is: left unmanaged for this run, not started. Resources active on
 * a member may still be recovered or moved among members; the lost peer's stay frozen. Clones are
 * meant to run on several nodes and are left alone — except a promotable clone with no promoted
 * instance anywhere: both sides could promote one (two primaries of a mirror), so it is held too.
 */
export function limboConfig(s: CoreState, status: ClusterStatus): { readonly config: ClusterConfig; readonly held: readonly string[] } {
  if (unaccountedPeer(s) === undefined) return { config: s.config, held: [] };
  const active = new Set<string>();
  const promoted = new Set<string>();
  for (const n of status.nodes)
    for (const h of n.history) {
      const id = h.resource.replace(/:\d+$/, '');
      const role = roleOf(h);
      if (role !== 'Stopped') active.add(id);
      if (role === 'Promoted') promoted.add(id);
    }
  const held: string[] = [];
  const resources = s.config.resources.map((r) => {
    if (r.meta.isManaged === false) return r;
    if (r.type === 'clone') {
      if (!r.promotable) return r;
      const kids = r.child.type === 'group' ? r.child.members.map((m) => m.id) : [r.child.id];
      if (kids.some((id) => promoted.has(id))) return r;
      held.push(r.id);
      return { ...r, meta: { ...r.meta, isManaged: false } };
    }
    const ids = r.type === 'group' ? r.members.map((m) => m.id) : [r.id];
    if (ids.some((id) => active.has(id))) return r;
    held.push(r.id);
    return { ...r, meta: { ...r.meta, isManaged: false } };
  });
  return held.length === 0 ? { config: s.config, held } : { config: { ...s.config, resources } as ClusterConfig, held };
}

/**
 * The role the last state-defining operations of a history record left the resource in; a failed
 * start counts as running (it may be half up: it needs this side's recovery, a stop, all the same).
 */
function roleOf(h: ResourceHistory): 'Stopped' | 'Started' | 'Promoted' {
  let role: 'Stopped' | 'Started' | 'Promoted' = 'Stopped';
  for (const op of [...h.ops].sort((a, b) => a.callId - b.callId)) {
    if (op.status !== 'done') continue;
    if (op.action === 'start') role = 'Started';
    else if (op.action === 'promote') role = op.rc === 0 ? 'Promoted' : role === 'Stopped' ? 'Started' : role;
    else if (op.action === 'demote') role = 'Started';
    else if (op.action === 'stop') role = op.rc === 0 ? 'Stopped' : role === 'Stopped' ? 'Started' : role;
    else if (op.action === 'monitor')
      role =
        op.rc === 8
          ? 'Promoted'
          : op.rc === 0
            ? op.interval === 0
              ? 'Started'
              : role === 'Stopped'
                ? 'Started'
                : role
            : op.rc === 7 && op.interval === 0
              ? 'Stopped'
              : role;
  }
  return role;
}

/**
 * The scheduler lists every recurring monitor where a resource will run; the ones already running
 * (recorded on that node and not restarted by this transition) are dropped from the graph.
 */
export function pruneActiveMonitors(t: Transition, status: ClusterStatus): Transition {
  const changing = new Set(
    t.actions.filter((a) => a.kind !== 'monitor' && a.kind !== 'probe' && a.resource !== undefined).map((a) => `${a.node}\u0000${a.resource}`),
  );
  const drop = new Set<string>();
  // node → resource → [position, entry] of its first history entry (a lookup per monitor, not a search).
  const histories = new Map(status.nodes.map((n) => [n.name, new Map([...n.history.entries()].reverse().map(([i, h]) => [h.resource, [i, h] as const]))]));
  for (const a of t.actions) {
    if (a.kind !== 'monitor' || a.interval <= 0 || a.resource === undefined || a.node === undefined) continue;
    if (changing.has(`${a.node}\u0000${a.resource}`)) continue;
    const byResource = histories.get(a.node);
    // The entry of the instance, its primitive or its clone: the first of them in history order.
    const found = [a.resource, a.primitive ?? a.resource, a.resource.replace(/:\d+$/, '')].map((id) => byResource?.get(id)).filter((x) => x !== undefined);
    const h = found.sort((x, y) => x[0] - y[0])[0]?.[1];
    if (h?.ops.some((o) => o.action === 'monitor' && o.interval === a.interval && o.status === 'done')) drop.add(a.id);
  }
  if (drop.size === 0) return t;
  return { ...t, actions: t.actions.filter((a) => !drop.has(a.id)), edges: t.edges.filter((e) => !drop.has(e.before) && !drop.has(e.after)) };
}

export function summaryText(l: Transition['summary'][number]): string {
  if (l.action === 'fence') return `fence ${l.node ?? ''} (${l.fenceType ?? 'reboot'})`;
  const what = l.instance ?? l.resource ?? '';
  const where = l.from && l.to && l.from !== l.to ? `${l.from} -> ${l.to}` : (l.to ?? l.from ?? '');
  return `${l.action} ${what} ${where}${l.blocked ? ' (blocked)' : ''}`.trim();
}
