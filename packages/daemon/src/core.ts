/**
 * The coordinator's logic as a pure state machine: `coordinatorStep(state, event) → { state,
 * commands }`. It keeps the replicated document (configuration + epoch + quarantine), the
 * membership view, and every node's report (its resource history and fail counts, for which the
 * node itself is the authority); on every relevant event the elected coordinator builds the
 * cluster status and runs the scheduler, and returns commands for the shell (run or abort a
 * transition, publish or persist the document, answer a request, log). No clock, no I/O.
 */
import { schedule } from '@paceline/scheduler';
import type { ClusterConfig, ClusterStatus, FailCount, NodeStatus, ResourceHistory, Transition } from '@paceline/model';
import type { ClusterDoc } from './messages.js';
import { applyUpdate, parseDocConfig, sameDoc, type UpdateRequest } from './updates.js';

/** The node attribute that shows why a node is quarantined. */
export const QUARANTINE_ATTRIBUTE = 'paceline-quarantine';
/** The node attribute set on a lost peer that is not proven down (its resources are frozen in place). */
export const UNCLEAN_ATTRIBUTE = 'paceline-unclean';

export interface PeerView {
  readonly member: boolean;
  /** Proven to run nothing (left cleanly, fenced, or the partition policy allows taking over). */
  readonly safelyDown: boolean;
  readonly reason: string;
  /** Incarnation last heard. */
  readonly boot?: number;
  /** link → up */
  readonly links: Readonly<Record<string, boolean>>;
}

/** What the core needs from the membership state. */
export interface MembershipView {
  readonly members: readonly string[];
  readonly coordinator: string;
  readonly term: number;
  readonly quorate: boolean;
  readonly mayRun: boolean;
  readonly mayRunReason: string;
  readonly peers: Readonly<Record<string, PeerView>>;
}

export interface NodeReportData {
  readonly boot: number;
  readonly rev: number;
  readonly history: readonly ResourceHistory[];
  readonly failures: readonly FailCount[];
  readonly unclean?: string;
  /** Shutting down cleanly: the scheduler moves everything off it. */
  readonly shutdown?: boolean;
  /** Peers this node fenced (confirmed) and has not heard from since. */
  readonly fenced?: readonly string[];
}

export interface TransitionInfo {
  readonly id: number;
  readonly at: number;
  readonly epoch: number;
  readonly summary: readonly string[];
  readonly actions: number;
  readonly state: 'running' | 'succeeded' | 'failed' | 'aborted' | 'idle';
  readonly failed?: readonly string[];
}

export interface CoreState {
  readonly self: string;
  readonly doc: ClusterDoc;
  readonly config: ClusterConfig;
  readonly view: MembershipView;
  readonly reports: Readonly<Record<string, NodeReportData>>;
  /** Something changed since the last scheduler run. */
  readonly dirty: boolean;
  /** The change is unexpected (membership, configuration, failure, admin): abort a running transition for it. */
  readonly urgent: boolean;
  readonly running: number | undefined;
  readonly aborting: boolean;
  readonly nextTransition: number;
  readonly last: TransitionInfo | undefined;
  /** Boots whose unclean report was already turned into a quarantine (node → boot). */
  readonly quarantined: Readonly<Record<string, number>>;
}

export type CoreEvent =
  | { readonly type: 'membership'; readonly view: MembershipView; readonly now: number }
  | { readonly type: 'report'; readonly node: string; readonly report: NodeReportData; readonly now: number }
  | { readonly type: 'doc'; readonly from: string; readonly doc: ClusterDoc; readonly now: number }
  | { readonly type: 'update'; readonly request: UpdateRequest; readonly reqId: string; readonly replyTo: string; readonly now: number }
  | { readonly type: 'fenced'; readonly node: string; readonly reason: string; readonly now: number }
  /** Operation failure, admin command, timer recheck: run the scheduler again. */
  | { readonly type: 'kick'; readonly reason: string; readonly now: number }
  | { readonly type: 'transition-done'; readonly id: number; readonly ran: number; readonly succeeded: boolean; readonly aborted: boolean; readonly failed: readonly string[]; readonly now: number };

export type CoreCommand =
  | { readonly type: 'run'; readonly id: number; readonly transition: Transition; readonly config: ClusterConfig; readonly status: ClusterStatus }
  | { readonly type: 'abort'; readonly id: number }
  /** Send the document to `to` (a node), or to every peer. */
  | { readonly type: 'publish'; readonly doc: ClusterDoc; readonly to?: string }
  | { readonly type: 'persist'; readonly doc: ClusterDoc }
  /** Forward an update request to the coordinator. */
  | { readonly type: 'forward'; readonly to: string; readonly request: UpdateRequest; readonly reqId: string }
  | { readonly type: 'reply'; readonly to: string; readonly reqId: string; readonly ok: boolean; readonly message: string }
  | { readonly type: 'config-changed'; readonly doc: ClusterDoc; readonly from: string }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly message: string; readonly fields?: Record<string, unknown> };

export interface CoreResult {
  readonly state: CoreState;
  readonly commands: readonly CoreCommand[];
}

/** The state of a node that has just started with document `doc` (already validated). */
export function initialCoreState(self: string, doc: ClusterDoc, view: MembershipView): CoreState {
  const p = parseDocConfig(doc);
  if (p.config === undefined) throw new Error(p.error);
  return { self, doc, config: p.config, view, reports: {}, dirty: true, urgent: false, running: undefined, aborting: false, nextTransition: 1, last: undefined, quarantined: {} };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function coordinatorStep(state: CoreState, event: CoreEvent): CoreResult {
  const s: Mutable<CoreState> = { ...state };
  const out: CoreCommand[] = [];
  const isCoordinator = (): boolean => s.view.coordinator === s.self;
  switch (event.type) {
    case 'membership': {
      const before = s.view;
      s.view = event.view;
      if (relevantChange(before, event.view)) s.dirty = s.urgent = true;
      // A node that joins gets our document (if older it adopts it; if newer it sends us its own).
      for (const [name, p] of Object.entries(event.view.peers))
        if (p.member && (!before.peers[name]?.member || before.peers[name]?.boot !== p.boot)) out.push({ type: 'publish', doc: s.doc, to: name });
      break;
    }
    case 'report': {
      const prev = s.reports[event.node];
      if (prev !== undefined && prev.boot === event.report.boot && prev.rev > event.report.rev) break; // stale
      if (prev !== undefined && prev.boot > event.report.boot) break;
      s.reports = { ...s.reports, [event.node]: event.report };
      if (prev === undefined || prev.boot !== event.report.boot || prev.rev !== event.report.rev || prev.unclean !== event.report.unclean || prev.shutdown !== event.report.shutdown || String(prev.fenced) !== String(event.report.fenced)) s.dirty = true;
      // Expected results of the running transition do not abort it; a new failure or a restart does.
      if (prev === undefined || prev.boot !== event.report.boot || failureTotal(event.report) > failureTotal(prev) || prev.shutdown !== event.report.shutdown || String(prev.fenced) !== String(event.report.fenced)) s.urgent = true;
      const unclean = event.report.unclean;
      if (unclean !== undefined && isCoordinator() && s.view.quorate && s.quarantined[event.node] !== event.report.boot && s.doc.quarantine[event.node] === undefined) {
        s.quarantined = { ...s.quarantined, [event.node]: event.report.boot };
        update(s, out, { op: 'quarantine', node: event.node, reason: unclean }, undefined);
      }
      break;
    }
    case 'fenced':
      if (isCoordinator() && s.doc.quarantine[event.node] === undefined) update(s, out, { op: 'quarantine', node: event.node, reason: event.reason }, undefined);
      break;
    case 'doc':
      onDoc(s, out, event.from, event.doc);
      break;
    case 'update':
      if (!isCoordinator()) {
        out.push({ type: 'forward', to: s.view.coordinator, request: event.request, reqId: event.reqId });
        break;
      }
      update(s, out, event.request, { to: event.replyTo, reqId: event.reqId });
      break;
    case 'kick':
      s.dirty = s.urgent = true;
      break;
    case 'transition-done': {
      if (event.id !== s.running) break;
      s.running = undefined;
      s.aborting = false;
      if (s.last && s.last.id === event.id)
        s.last = { ...s.last, state: event.aborted ? 'aborted' : event.succeeded ? 'succeeded' : 'failed', ...(event.failed.length ? { failed: event.failed } : {}) };
      // Anything that ran changed the world: check again (the scheduler returns nothing once converged).
      if (event.ran > 0 || event.aborted) s.dirty = true;
      break;
    }
  }
  maybeSchedule(s, out, event.now);
  return { state: s, commands: out };
}

function relevantChange(a: MembershipView, b: MembershipView): boolean {
  if (a.coordinator !== b.coordinator || a.quorate !== b.quorate || a.mayRun !== b.mayRun || a.members.join() !== b.members.join()) return true;
  for (const [name, p] of Object.entries(b.peers)) {
    const q = a.peers[name];
    if (q === undefined || q.member !== p.member || q.safelyDown !== p.safelyDown || q.boot !== p.boot) return true;
    for (const [l, up] of Object.entries(p.links)) if (q.links[l] !== up) return true;
  }
  return false;
}

function adopt(s: Mutable<CoreState>, out: CoreCommand[], doc: ClusterDoc, from: string): boolean {
  const p = parseDocConfig(doc);
  if (p.config === undefined) {
    out.push({ type: 'log', level: 'error', message: `rejected configuration epoch ${doc.epoch} from ${from}: ${p.error}` });
    return false;
  }
  s.doc = doc;
  s.config = p.config;
  s.dirty = s.urgent = true;
  out.push({ type: 'persist', doc }, { type: 'config-changed', doc, from });
  return true;
}

function onDoc(s: Mutable<CoreState>, out: CoreCommand[], from: string, doc: ClusterDoc): void {
  if (doc.epoch > s.doc.epoch) {
    if (adopt(s, out, doc, from)) out.push({ type: 'log', level: 'info', message: `adopted configuration epoch ${doc.epoch} from ${from}`, fields: { epoch: doc.epoch } });
    return;
  }
  if (doc.epoch < s.doc.epoch) {
    out.push({ type: 'publish', doc: s.doc, to: from });
    return;
  }
  if (sameDoc(doc, s.doc)) return;
  // Same epoch, different content: edits made on both sides of a partition. The coordinator's
  // copy wins and is republished with a higher epoch; the other side's edit is reported, not merged.
  out.push({ type: 'log', level: 'error', message: `conflicting configuration at epoch ${doc.epoch} from ${from}: both copies were changed independently; ${s.view.coordinator === s.self ? 'keeping this node\'s copy (coordinator) and republishing it' : `waiting for the coordinator ${s.view.coordinator} to decide`}`, fields: { epoch: doc.epoch } });
  if (s.view.coordinator === s.self) {
    const next: ClusterDoc = { ...s.doc, epoch: s.doc.epoch + 1, config: { ...s.doc.config, epoch: s.doc.epoch + 1 } };
    if (adopt(s, out, next, s.self)) out.push({ type: 'publish', doc: next });
  }
}

function update(s: Mutable<CoreState>, out: CoreCommand[], request: UpdateRequest, reply: { to: string; reqId: string } | undefined): void {
  const r = applyUpdate(s.doc, s.config, request);
  if (r.error !== undefined) {
    if (reply) out.push({ type: 'reply', ...reply, ok: false, message: r.error });
    else out.push({ type: 'log', level: 'warn', message: `update ${request.op} refused: ${r.error}` });
    return;
  }
  if (!adopt(s, out, r.doc, s.self)) {
    if (reply) out.push({ type: 'reply', ...reply, ok: false, message: 'the change makes the configuration invalid' });
    return;
  }
  out.push({ type: 'publish', doc: r.doc }, { type: 'log', level: 'info', message: r.message, fields: { epoch: r.doc.epoch } });
  if (reply) out.push({ type: 'reply', ...reply, ok: true, message: r.message });
}

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
    const fencedByMember = Object.entries(s.reports).some(([m, rep]) =>
      (m === s.self || s.view.peers[m]?.member === true || s.view.peers[m]?.safelyDown === true) && rep.fenced?.includes(n.name) === true);
    const frozen = !self && p !== undefined && !p.member && !p.safelyDown && !fencedByMember;
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

/** Why the coordinator does not schedule now (undefined: it may). */
export function scheduleBlocker(s: CoreState): string | undefined {
  if (s.view.coordinator !== s.self) return `${s.view.coordinator} coordinates`;
  if (!s.view.mayRun) return s.view.mayRunReason;
  for (const m of s.view.members) {
    const r = s.reports[m];
    if (r === undefined) return `waiting for ${m}'s report`;
    if (m !== s.self && s.view.peers[m]?.boot !== undefined && s.view.peers[m]?.boot !== r.boot) return `waiting for ${m}'s report after its restart`;
  }
  return undefined;
}

function maybeSchedule(s: Mutable<CoreState>, out: CoreCommand[], now: number): void {
  if (!s.dirty) return;
  if (s.running !== undefined) {
    if (s.urgent && !s.aborting) {
      s.aborting = true;
      out.push({ type: 'abort', id: s.running });
    }
    return;
  }
  if (scheduleBlocker(s) !== undefined) return;
  s.dirty = false;
  s.urgent = false;
  const status = buildStatus(s);
  let transition: Transition;
  try {
    transition = schedule({ config: s.config, status, now });
  } catch (e) {
    out.push({ type: 'log', level: 'error', message: `the scheduler failed: ${(e as Error).message}` });
    return;
  }
  transition = pruneActiveMonitors(transition, status);
  const real = transition.actions.filter((a) => a.kind !== 'pseudo' && a.runnable);
  const id = s.nextTransition;
  if (real.length === 0) {
    s.last ??= { id, at: now, epoch: s.doc.epoch, summary: [], actions: 0, state: 'idle' };
    return;
  }
  s.nextTransition = id + 1;
  s.running = id;
  s.last = { id, at: now, epoch: s.doc.epoch, summary: transition.summary.map(summaryText), actions: real.length, state: 'running' };
  out.push({ type: 'run', id, transition, config: s.config, status });
}

function failureTotal(r: NodeReportData): number {
  return r.failures.reduce((n, f) => n + (Number.isFinite(f.count) ? f.count : 1_000_000), 0);
}

/**
 * The scheduler lists every recurring monitor where a resource will run; the ones already running
 * (recorded on that node and not restarted by this transition) are dropped from the graph.
 */
export function pruneActiveMonitors(t: Transition, status: ClusterStatus): Transition {
  const changing = new Set(t.actions.filter((a) => a.kind !== 'monitor' && a.kind !== 'probe' && a.resource !== undefined).map((a) => `${a.node}\u0000${a.resource}`));
  const drop = new Set<string>();
  for (const a of t.actions) {
    if (a.kind !== 'monitor' || a.interval <= 0 || a.resource === undefined || a.node === undefined) continue;
    if (changing.has(`${a.node}\u0000${a.resource}`)) continue;
    const ids = new Set([a.resource, a.primitive ?? a.resource, a.resource.replace(/:\d+$/, '')]);
    const h = status.nodes.find((n) => n.name === a.node)?.history.find((x) => ids.has(x.resource));
    if (h?.ops.some((o) => o.action === 'monitor' && o.interval === a.interval && o.status === 'done')) drop.add(a.id);
  }
  if (drop.size === 0) return t;
  return { ...t, actions: t.actions.filter((a) => !drop.has(a.id)), edges: t.edges.filter((e) => !drop.has(e.before) && !drop.has(e.after)) };
}

export function summaryText(l: Transition['summary'][number]): string {
  if (l.action === 'fence') return `fence ${l.node ?? ''} (${l.fenceType ?? 'reboot'})`;
  const what = l.instance ?? l.resource ?? '';
  const where = l.from && l.to && l.from !== l.to ? `${l.from} -> ${l.to}` : l.to ?? l.from ?? '';
  return `${l.action} ${what} ${where}${l.blocked ? ' (blocked)' : ''}`.trim();
}
