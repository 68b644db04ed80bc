/**
 * The coordinator's logic as a pure state machine: `coordinatorStep(state, event) → { state,
 * commands }`. It keeps the replicated document (configuration + epoch + quarantine), the
 * membership view, and every node's report (its resource history and fail counts, for which the
 * node itself is the authority); on every relevant event the elected coordinator builds the
 * cluster status and runs the scheduler (or asks the shell to run it off the event loop), and
 * returns commands for the shell (run or abort a transition, publish or persist the document,
 * answer a request, log). No clock, no I/O.
 *
 * The parts: core-types.ts (state, events, commands), core-doc.ts (the replicated document and
 * configuration changes), core-schedule.ts (the status the scheduler sees and its runs),
 * core-peers.ts (which lost peers are proven down). This module re-exports what the shell uses.
 */
import type { MembershipView, NodeReportData, CoreCommand, CoreEvent, CoreResult, CoreState, Mutable, SchedulerMode } from './core-types.js';
import { DOC_ACK } from './core-types.js';
import type { ClusterDoc } from './messages.js';
import { docKey, parseDocConfig } from './updates.js';
import { DaemonError } from './errors.js';
import { onDigest, onDoc, onDocSignal, rememberAnswers, repeatedRequest, settleDoc, update, updateBlocker } from './core-doc.js';
import { maybeSchedule, membershipConflict, onScheduled } from './core-schedule.js';
import { provenDown } from './core-peers.js';

export * from './core-types.js';
export { docRetransmitTargets, nextEpoch, updateBlocker, MAX_ANSWERED } from './core-doc.js';
export { buildStatus, inline, limboConfig, membershipConflict, pruneActiveMonitors, scheduleBlocker, schedulerRetryDue, summaryText } from './core-schedule.js';
export { unaccountedPeer } from './core-peers.js';

/** The state of a node that has just started with document `doc` (already validated). */
export function initialCoreState(self: string, doc: ClusterDoc, view: MembershipView, options: { readonly scheduler?: SchedulerMode } = {}): CoreState {
  const p = parseDocConfig(doc);
  if (!p.ok) throw new DaemonError('CONFIG_INVALID', p.message);
  return {
    self,
    doc,
    config: p.config,
    view,
    reports: {},
    dirty: true,
    urgent: false,
    running: undefined,
    aborting: false,
    nextTransition: 1,
    last: undefined,
    quarantined: {},
    docKey: docKey(doc),
    committed: false,
    peerDocs: {},
    queue: [],
    pending: [],
    seq: 0,
    reportSeq: {},
    lostSeq: {},
    joinSeq: {},
    held: [],
    docShown: {},
    answered: [],
    settingsConflict: undefined,
    schedulerMode: options.scheduler ?? 'inline',
    scheduleRuns: 0,
  };
}

export function coordinatorStep(state: CoreState, event: CoreEvent): CoreResult {
  const s: Mutable<CoreState> = { ...state };
  const out: CoreCommand[] = [];
  s.seq = state.seq + 1;
  switch (event.type) {
    case 'membership':
      onMembership(s, out, event.view);
      break;
    case 'report':
      onReport(s, out, event.node, event.report);
      break;
    case 'fenced':
      onFenced(s, out, event.node, event.reason);
      break;
    case 'doc':
      if (s.view.peers[event.from] !== undefined && s.docShown[event.from] !== true) s.docShown = { ...s.docShown, [event.from]: true };
      onDoc(s, out, event.from, event.doc);
      break;
    case 'doc-digest':
      onDigest(s, out, event.from, event.key);
      break;
    case 'doc-signal':
      if (s.view.peers[event.from] !== undefined && s.docShown[event.from] !== true && event.reqId.startsWith(DOC_ACK))
        s.docShown = { ...s.docShown, [event.from]: true };
      onDocSignal(s, out, event.from, event.reqId, event.ok ?? true, event.message ?? '');
      break;
    case 'update':
      if (s.view.coordinator !== s.self) out.push({ type: 'forward', to: s.view.coordinator, request: event.request, reqId: event.reqId });
      else if (!repeatedRequest(s, out, event.reqId, event.replyTo)) update(s, out, event.request, { to: event.replyTo, reqId: event.reqId });
      break;
    case 'kick':
      s.dirty = s.urgent = true;
      break;
    case 'wake':
      break;
    case 'scheduled':
      onScheduled(s, out, event);
      break;
    case 'transition-done':
      onTransitionDone(s, event);
      break;
  }
  // Whether a lost peer counts as proven down depends on the view, the reports and their order: any
  // change of it is a relevant change.
  if (downSignature(s) !== downSignature(state)) s.dirty = s.urgent = true;
  checkSettings(s, out, state, event);
  settleDoc(s, out);
  maybeSchedule(s, out, event.now);
  rememberAnswers(s, out);
  return { state: s, commands: out };
}

function onMembership(s: Mutable<CoreState>, out: CoreCommand[], view: MembershipView): void {
  const before = s.view;
  s.view = view;
  if (relevantChange(before, view)) s.dirty = s.urgent = true;
  for (const [name, p] of Object.entries(view.peers)) {
    if (!p.member && before.peers[name]?.member === true) s.lostSeq = { ...s.lostSeq, [name]: s.seq };
    if (p.member && before.peers[name]?.member !== true) s.joinSeq = { ...s.joinSeq, [name]: s.seq };
  }
  for (const [name, p] of Object.entries(view.peers))
    if (s.peerDocs[name] !== undefined && (!p.member || before.peers[name]?.boot !== p.boot)) {
      const { [name]: _gone, ...rest } = s.peerDocs;
      s.peerDocs = rest;
    }
  // A node that joins gets our document (if older it adopts it; if newer it sends us its own).
  for (const [name, p] of Object.entries(view.peers))
    if (p.member && (!before.peers[name]?.member || before.peers[name]?.boot !== p.boot)) out.push({ type: 'publish', doc: s.doc, to: name });
}

function onReport(s: Mutable<CoreState>, out: CoreCommand[], node: string, report: NodeReportData): void {
  // The one rule: plan only from nodes that are members now (or proven down, whose last report
  // as a member stands). A lost peer that is not proven down is alive and acting: a report it
  // sends now (it reached this node before the heartbeat that would re-join it) may show what it
  // has just stopped on its own, and must not stand in for fencing. A report from another
  // incarnation than the member's (a restart not yet seen, a second daemon under its name) neither.
  if (node !== s.self) {
    const p = s.view.peers[node];
    if (p === undefined || !p.member || (p.boot !== undefined && p.boot !== report.boot)) return;
  }
  const prev = s.reports[node];
  if (prev !== undefined && prev.boot === report.boot && prev.rev > report.rev) return; // stale
  if (prev !== undefined && prev.boot > report.boot) return;
  s.reports = { ...s.reports, [node]: report };
  s.reportSeq = { ...s.reportSeq, [node]: s.seq };
  if (
    prev === undefined ||
    prev.boot !== report.boot ||
    prev.rev !== report.rev ||
    prev.unclean !== report.unclean ||
    prev.shutdown !== report.shutdown ||
    String(prev.fenced) !== String(report.fenced) ||
    String(prev.members) !== String(report.members) ||
    !sameSettings(prev.membership, report.membership)
  )
    s.dirty = true;
  // Expected results of the running transition do not abort it; a new failure or a restart does.
  // (A report's fenced nodes matter only through which peers are proven down, which the step
  // compares after every event (downSignature): a node's own report saying what the step that
  // confirmed the fencing already knew changes nothing the scheduler sees, and must not abandon
  // the failover's run.)
  if (prev === undefined || prev.boot !== report.boot || failureTotal(report) > failureTotal(prev) || prev.shutdown !== report.shutdown) s.urgent = true;
  const unclean = report.unclean;
  // (While the configuration cannot change, the next report — every second — tries again.)
  if (
    unclean !== undefined &&
    s.view.coordinator === s.self &&
    updateBlocker(s) === undefined &&
    s.quarantined[node] !== report.boot &&
    s.doc.quarantine[node] === undefined
  ) {
    s.quarantined = { ...s.quarantined, [node]: report.boot };
    update(s, out, { op: 'quarantine', node, reason: unclean }, undefined);
  }
}

function onFenced(s: Mutable<CoreState>, out: CoreCommand[], node: string, reason: string): void {
  // The confirmation proves the peer down now (the membership view follows in the same step).
  const p = s.view.peers[node];
  if (p !== undefined && !p.member && p.conflict !== true && (!p.safelyDown || p.seenBy !== undefined)) {
    const { seenBy: _stale, ...rest } = p; // a member's claim that it is alive predates the fencing
    s.view = { ...s.view, peers: { ...s.view.peers, [node]: { ...rest, safelyDown: true, reason: `${node} was fenced` } } };
  }
  if (s.view.coordinator === s.self && s.doc.quarantine[node] === undefined) update(s, out, { op: 'quarantine', node, reason }, undefined);
}

function onTransitionDone(s: Mutable<CoreState>, e: Extract<CoreEvent, { type: 'transition-done' }>): void {
  if (e.id !== s.running) return;
  s.running = undefined;
  s.aborting = false;
  if (s.last && s.last.id === e.id)
    s.last = {
      ...s.last,
      state: e.aborted ? 'aborted' : e.succeeded ? 'succeeded' : 'failed',
      ...(e.failed.length ? { failed: e.failed } : {}),
    };
  // Anything that ran changed the world: check again (the scheduler returns nothing once converged).
  if (e.ran > 0 || e.aborted) s.dirty = true;
}

/** Logs when the members' membership settings start or stop differing (only a membership change or a report with other settings can change that). */
function checkSettings(s: Mutable<CoreState>, out: CoreCommand[], before: CoreState, event: CoreEvent): void {
  const changed =
    event.type === 'membership' || (event.type === 'report' && s.reports[event.node] !== before.reports[event.node] && settingsChanged(before, event.node, s));
  const conflict = changed ? membershipConflict(s) : s.settingsConflict;
  if (conflict === s.settingsConflict) return;
  out.push(
    conflict !== undefined
      ? { type: 'log', level: 'error', message: `${conflict}; the coordinator schedules nothing until they agree` }
      : { type: 'log', level: 'info', message: "the members' membership settings agree again" },
  );
  s.settingsConflict = conflict;
}

function settingsChanged(before: CoreState, node: string, after: CoreState): boolean {
  const a = before.reports[node]?.membership;
  const b = after.reports[node]?.membership;
  return a === undefined || b === undefined || !sameSettings(a, b);
}

/** (This node's reports carry one settings object until the settings change: most comparisons are that.) */
function sameSettings(a: NodeReportData['membership'], b: NodeReportData['membership']): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function downSignature(s: CoreState): string {
  return Object.keys(s.view.peers)
    .sort()
    .map((n) => (provenDown(s, n) ? '1' : '0'))
    .join('');
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

function failureTotal(r: NodeReportData): number {
  return r.failures.reduce((n, f) => n + (Number.isFinite(f.count) ? f.count : 1_000_000), 0);
}
