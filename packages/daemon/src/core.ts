/**
 * The coordinator's logic as a pure state machine: `coordinatorStep(state, event) → { state,
 * commands }`. It keeps the replicated document (configuration + epoch + quarantine), the
 * membership view, and every node's report (its resource history and fail counts, for which the
 * node itself is the authority); on every relevant event the elected coordinator builds the
 * cluster status and runs the scheduler, and returns commands for the shell (run or abort a
 * transition, publish or persist the document, answer a request, log). No clock, no I/O.
 */
import { schedule } from '@paceline/scheduler';
import {
  QUARANTINE_ATTRIBUTE,
  type ClusterConfig,
  type ClusterStatus,
  type FailCount,
  type NodeStatus,
  type ResourceHistory,
  type Transition,
} from '@paceline/model';
import type { ClusterDoc } from './messages.js';
import { applyUpdate, docKey, parseDocConfig, type UpdateRequest } from './updates.js';
import { statusKey, type PlacementView } from './view.js';
import { DaemonError } from './errors.js';

export { QUARANTINE_ATTRIBUTE };
/** The node attribute set on a lost peer that is not proven down (its resources are frozen in place). */
export const UNCLEAN_ATTRIBUTE = 'paceline-unclean';

export interface PeerView {
  readonly member: boolean;
  /** Proven to run nothing (left cleanly, fenced, or the partition policy allows taking over). */
  readonly safelyDown: boolean;
  readonly reason: string;
  /** A member whose view includes this (lost) peer: it is alive, whatever an earlier proof said. */
  readonly seenBy?: string;
  /** Two daemons run under this name: nothing proves it down, not even a fencing (one machine off, a copy may run). */
  readonly conflict?: boolean;
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
  /** The sender's membership view when it made the report (absent: unknown). */
  readonly members?: readonly string[];
  /** The membership settings in effect on the node (`clusterWideSettings`; absent: not known, not compared). */
  readonly membership?: Readonly<Record<string, string | number | boolean>>;
}

export interface TransitionInfo {
  readonly id: number;
  readonly at: number;
  readonly epoch: number;
  readonly summary: readonly string[];
  /** The scheduler's decisions: why each resource goes (or stays) where it does (absent when idle). */
  readonly decisions?: readonly string[];
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
  /** `docKey(doc)`. */
  readonly docKey: string;
  /**
   * The document is confirmed: every peer is a member that holds this exact document or is proven
   * down. Sticky for the current document (a peer that is lost later cannot un-confirm it).
   */
  readonly committed: boolean;
  /** peer → key of the last document it is known to hold (it sent it, or acknowledged it). */
  readonly peerDocs: Readonly<Record<string, string>>;
  /** Changes waiting until the current document is confirmed (one unconfirmed change at a time). */
  readonly queue: readonly QueuedUpdate[];
  /** Applied changes whose answer waits until their document is confirmed. */
  readonly pending: readonly PendingReply[];
  /** Counts events; orders reports against membership changes. */
  readonly seq: number;
  /** node → `seq` when its current report was stored. */
  readonly reportSeq: Readonly<Record<string, number>>;
  /**
   * peer → `seq` when it last stopped being a member. A report that says it fenced the peer counts
   * only if it came after that: a claim about an earlier loss is stale once the peer came back.
   */
  readonly lostSeq: Readonly<Record<string, number>>;
  /** peer → `seq` when it last became a member: a report from before that may be stale. */
  readonly joinSeq: Readonly<Record<string, number>>;
  /** Resources held (not started) in the last scheduler run while a peer is unaccounted for (see limboConfig). */
  readonly held: readonly string[];
  /** Peers that have shown this node their document (sent it, or acknowledged ours) since it started. */
  readonly docShown: Readonly<Record<string, true>>;
  /** The last MAX_ANSWERED answers to update requests, oldest first: a repeated request id gets the same answer, never a second change. */
  readonly answered: readonly AnsweredUpdate[];
  /**
   * Where every instance was as the last scheduler run here read the status (its transition's
   * `current`), with the key of that status: `status` shows it while nothing has changed since.
   */
  readonly placement?: PlacementView;
  /** The members' membership settings differ: why (`membershipConflict`), said in the log when it changes. */
  readonly settingsConflict: string | undefined;
}

export interface AnsweredUpdate {
  readonly reqId: string;
  readonly ok: boolean;
  readonly message: string;
  /** The epoch an ok answer is about (the shell repeats it only once that is saved). */
  readonly epoch?: number;
}

export interface QueuedUpdate {
  readonly request: UpdateRequest;
  /** Who gets the answer (absent: an internal change, e.g. a quarantine, which is only logged). */
  readonly reply?: { readonly to: string; readonly reqId: string };
}

export interface PendingReply {
  readonly to: string;
  readonly reqId: string;
  readonly epoch: number;
  readonly message: string;
}

/**
 * Document signals ride on `update-reply` messages (they are never answered, so no loops): an
 * acknowledgement `doc-ack/KEY` ("I hold this document") and a yield `doc-yield/KEY` ("my copy of
 * this epoch conflicts with yours and holds no acknowledged change: keep yours").
 */
export const DOC_ACK = 'doc-ack/';
export const DOC_YIELD = 'doc-yield/';
export const isDocSignal = (reqId: string): boolean => reqId.startsWith(DOC_ACK) || reqId.startsWith(DOC_YIELD);

export type CoreEvent =
  | { readonly type: 'membership'; readonly view: MembershipView; readonly now: number }
  | { readonly type: 'report'; readonly node: string; readonly report: NodeReportData; readonly now: number }
  | { readonly type: 'doc'; readonly from: string; readonly doc: ClusterDoc; readonly now: number }
  | { readonly type: 'update'; readonly request: UpdateRequest; readonly reqId: string; readonly replyTo: string; readonly now: number }
  | { readonly type: 'fenced'; readonly node: string; readonly reason: string; readonly now: number }
  /**
   * A document acknowledgement or yield from a peer (see DOC_ACK, DOC_YIELD). An acknowledgement with
   * `ok: false` says the peer holds the document but could not save it (`message` says why).
   */
  | { readonly type: 'doc-signal'; readonly from: string; readonly reqId: string; readonly ok?: boolean; readonly message?: string; readonly now: number }
  /** Operation failure, admin command, timer recheck: run the scheduler again. */
  | { readonly type: 'kick'; readonly reason: string; readonly now: number }
  | {
      readonly type: 'transition-done';
      readonly id: number;
      readonly ran: number;
      readonly succeeded: boolean;
      readonly aborted: boolean;
      readonly failed: readonly string[];
      readonly now: number;
    };

export type CoreCommand =
  | { readonly type: 'run'; readonly id: number; readonly transition: Transition; readonly config: ClusterConfig; readonly status: ClusterStatus }
  | { readonly type: 'abort'; readonly id: number }
  /** Send the document to `to` (a node), or to every peer. */
  | { readonly type: 'publish'; readonly doc: ClusterDoc; readonly to?: string }
  | { readonly type: 'persist'; readonly doc: ClusterDoc }
  /** Forward an update request to the coordinator. */
  | { readonly type: 'forward'; readonly to: string; readonly request: UpdateRequest; readonly reqId: string }
  /**
   * Answer an update request (or send a document signal). `epoch`: an ok answer about a change that
   * made this epoch; the shell sends it only once a document of that epoch is durable here, and
   * answers an error instead when it cannot be saved (a document acknowledgement likewise).
   */
  | { readonly type: 'reply'; readonly to: string; readonly reqId: string; readonly ok: boolean; readonly message: string; readonly epoch?: number }
  | { readonly type: 'config-changed'; readonly doc: ClusterDoc; readonly from: string }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly message: string; readonly fields?: Record<string, unknown> };

export interface CoreResult {
  readonly state: CoreState;
  readonly commands: readonly CoreCommand[];
}

/** The state of a node that has just started with document `doc` (already validated). */
export function initialCoreState(self: string, doc: ClusterDoc, view: MembershipView): CoreState {
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
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function coordinatorStep(state: CoreState, event: CoreEvent): CoreResult {
  const s: Mutable<CoreState> = { ...state };
  const out: CoreCommand[] = [];
  const isCoordinator = (): boolean => s.view.coordinator === s.self;
  s.seq = state.seq + 1;
  switch (event.type) {
    case 'membership': {
      const before = s.view;
      s.view = event.view;
      if (relevantChange(before, event.view)) s.dirty = s.urgent = true;
      for (const [name, p] of Object.entries(event.view.peers)) {
        if (!p.member && before.peers[name]?.member === true) s.lostSeq = { ...s.lostSeq, [name]: s.seq };
        if (p.member && before.peers[name]?.member !== true) s.joinSeq = { ...s.joinSeq, [name]: s.seq };
      }
      for (const [name, p] of Object.entries(event.view.peers))
        if (s.peerDocs[name] !== undefined && (!p.member || before.peers[name]?.boot !== p.boot)) {
          const { [name]: _gone, ...rest } = s.peerDocs;
          s.peerDocs = rest;
        }
      // A node that joins gets our document (if older it adopts it; if newer it sends us its own).
      for (const [name, p] of Object.entries(event.view.peers))
        if (p.member && (!before.peers[name]?.member || before.peers[name]?.boot !== p.boot)) out.push({ type: 'publish', doc: s.doc, to: name });
      break;
    }
    case 'report': {
      // The one rule: plan only from nodes that are members now (or proven down, whose last report
      // as a member stands). A lost peer that is not proven down is alive and acting: a report it
      // sends now (it reached this node before the heartbeat that would re-join it) may show what it
      // has just stopped on its own, and must not stand in for fencing. A report from another
      // incarnation than the member's (a restart not yet seen, a second daemon under its name) neither.
      if (event.node !== s.self) {
        const p = s.view.peers[event.node];
        if (p === undefined || !p.member || (p.boot !== undefined && p.boot !== event.report.boot)) break;
      }
      const prev = s.reports[event.node];
      if (prev !== undefined && prev.boot === event.report.boot && prev.rev > event.report.rev) break; // stale
      if (prev !== undefined && prev.boot > event.report.boot) break;
      s.reports = { ...s.reports, [event.node]: event.report };
      s.reportSeq = { ...s.reportSeq, [event.node]: s.seq };
      if (
        prev === undefined ||
        prev.boot !== event.report.boot ||
        prev.rev !== event.report.rev ||
        prev.unclean !== event.report.unclean ||
        prev.shutdown !== event.report.shutdown ||
        String(prev.fenced) !== String(event.report.fenced) ||
        String(prev.members) !== String(event.report.members) ||
        JSON.stringify(prev.membership) !== JSON.stringify(event.report.membership)
      )
        s.dirty = true;
      // Expected results of the running transition do not abort it; a new failure or a restart does.
      if (
        prev === undefined ||
        prev.boot !== event.report.boot ||
        failureTotal(event.report) > failureTotal(prev) ||
        prev.shutdown !== event.report.shutdown ||
        String(prev.fenced) !== String(event.report.fenced)
      )
        s.urgent = true;
      const unclean = event.report.unclean;
      // (While the configuration cannot change, the next report — every second — tries again.)
      if (
        unclean !== undefined &&
        isCoordinator() &&
        updateBlocker(s) === undefined &&
        s.quarantined[event.node] !== event.report.boot &&
        s.doc.quarantine[event.node] === undefined
      ) {
        s.quarantined = { ...s.quarantined, [event.node]: event.report.boot };
        update(s, out, { op: 'quarantine', node: event.node, reason: unclean }, undefined);
      }
      break;
    }
    case 'fenced': {
      // The confirmation proves the peer down now (the membership view follows in the same step).
      const p = s.view.peers[event.node];
      if (p !== undefined && !p.member && p.conflict !== true && (!p.safelyDown || p.seenBy !== undefined)) {
        const { seenBy: _stale, ...rest } = p; // a member's claim that it is alive predates the fencing
        s.view = { ...s.view, peers: { ...s.view.peers, [event.node]: { ...rest, safelyDown: true, reason: `${event.node} was fenced` } } };
      }
      if (isCoordinator() && s.doc.quarantine[event.node] === undefined)
        update(s, out, { op: 'quarantine', node: event.node, reason: event.reason }, undefined);
      break;
    }
    case 'doc':
      if (s.view.peers[event.from] !== undefined && s.docShown[event.from] !== true) s.docShown = { ...s.docShown, [event.from]: true };
      onDoc(s, out, event.from, event.doc);
      break;
    case 'doc-signal':
      if (s.view.peers[event.from] !== undefined && s.docShown[event.from] !== true && event.reqId.startsWith(DOC_ACK))
        s.docShown = { ...s.docShown, [event.from]: true };
      onDocSignal(s, out, event.from, event.reqId, event.ok ?? true, event.message ?? '');
      break;
    case 'update':
      if (!isCoordinator()) {
        out.push({ type: 'forward', to: s.view.coordinator, request: event.request, reqId: event.reqId });
        break;
      }
      if (!repeatedRequest(s, out, event.reqId, event.replyTo)) update(s, out, event.request, { to: event.replyTo, reqId: event.reqId });
      break;
    case 'kick':
      s.dirty = s.urgent = true;
      break;
    case 'transition-done': {
      if (event.id !== s.running) break;
      s.running = undefined;
      s.aborting = false;
      if (s.last && s.last.id === event.id)
        s.last = {
          ...s.last,
          state: event.aborted ? 'aborted' : event.succeeded ? 'succeeded' : 'failed',
          ...(event.failed.length ? { failed: event.failed } : {}),
        };
      // Anything that ran changed the world: check again (the scheduler returns nothing once converged).
      if (event.ran > 0 || event.aborted) s.dirty = true;
      break;
    }
  }
  // Whether a lost peer counts as proven down depends on the view, the reports and their order: any
  // change of it is a relevant change.
  if (downSignature(s) !== downSignature(state)) s.dirty = s.urgent = true;
  // (Only a membership change or a report with other settings can change it.)
  const conflict =
    event.type === 'membership' || (event.type === 'report' && s.reports[event.node] !== state.reports[event.node] && settingsChanged(state, event.node, s))
      ? membershipConflict(s)
      : s.settingsConflict;
  if (conflict !== s.settingsConflict) {
    out.push(
      conflict !== undefined
        ? { type: 'log', level: 'error', message: `${conflict}; the coordinator schedules nothing until they agree` }
        : { type: 'log', level: 'info', message: "the members' membership settings agree again" },
    );
    s.settingsConflict = conflict;
  }
  settleDoc(s, out);
  maybeSchedule(s, out, event.now);
  rememberAnswers(s, out);
  return { state: s, commands: out };
}

function settingsChanged(before: CoreState, node: string, after: CoreState): boolean {
  const a = before.reports[node]?.membership;
  const b = after.reports[node]?.membership;
  return a === undefined || b === undefined || JSON.stringify(a) !== JSON.stringify(b);
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

function adopt(s: Mutable<CoreState>, out: CoreCommand[], doc: ClusterDoc, from: string): boolean {
  const p = parseDocConfig(doc);
  if (!p.ok) {
    out.push({ type: 'log', level: 'error', message: `rejected configuration epoch ${doc.epoch} from ${from}: ${p.message}` });
    return false;
  }
  s.doc = doc;
  s.config = p.config;
  s.docKey = docKey(doc);
  s.committed = false;
  s.dirty = s.urgent = true;
  if (from !== s.self && s.pending.length > 0) {
    // Our unconfirmed changes may or may not be part of the document we take over.
    for (const x of s.pending)
      out.push(
        reply(
          x,
          false,
          `not confirmed: ${from} published configuration epoch ${doc.epoch} before this change (epoch ${x.epoch}) reached every node; it may or may not be in effect — check \`paceline config show\` and retry if needed`,
        ),
      );
    s.pending = [];
  }
  out.push({ type: 'persist', doc }, { type: 'config-changed', doc, from });
  return true;
}

function reply(to: { to: string; reqId: string }, ok: boolean, message: string): CoreCommand {
  return { type: 'reply', to: to.to, reqId: to.reqId, ok, message };
}

function onDoc(s: Mutable<CoreState>, out: CoreCommand[], from: string, doc: ClusterDoc): void {
  const key = docKey(doc);
  if (s.view.peers[from] !== undefined) s.peerDocs = { ...s.peerDocs, [from]: key };
  if (doc.epoch > s.doc.epoch) {
    if (adopt(s, out, doc, from)) {
      out.push({ type: 'log', level: 'info', message: `adopted configuration epoch ${doc.epoch} from ${from}`, fields: { epoch: doc.epoch } });
      out.push(ack(from, key));
    }
    return;
  }
  if (doc.epoch < s.doc.epoch) {
    out.push({ type: 'publish', doc: s.doc, to: from });
    return;
  }
  if (key === s.docKey) {
    out.push(ack(from, key));
    return;
  }
  // Same epoch, different content: two copies were changed independently (a race between two
  // nodes that both believed they coordinate). A copy that holds an acknowledged change is never
  // given up: its holder republishes it with a higher epoch. A copy without one yields; when
  // neither holds one, the coordinator's copy wins once the other side has yielded.
  if (s.committed) {
    out.push({
      type: 'log',
      level: 'warn',
      message: `conflicting configuration at epoch ${doc.epoch} from ${from}: keeping this node's confirmed copy and republishing it`,
      fields: { epoch: doc.epoch },
    });
    bump(s, out);
    return;
  }
  out.push({
    type: 'log',
    level: 'warn',
    message: `conflicting configuration at epoch ${doc.epoch} from ${from}: this node's copy is not confirmed; yielding to ${from}'s${s.view.coordinator === s.self ? ' unless it yields too' : ''}`,
    fields: { epoch: doc.epoch },
  });
  out.push({ type: 'reply', to: from, reqId: `${DOC_YIELD}${key}`, ok: true, message: `${s.self} yields its copy of epoch ${doc.epoch}` });
}

const ack = (to: string, key: string): CoreCommand => ({ type: 'reply', to, reqId: `${DOC_ACK}${key}`, ok: true, message: `holds configuration ${key}` });

function onDocSignal(s: Mutable<CoreState>, out: CoreCommand[], from: string, reqId: string, ok: boolean, message: string): void {
  if (s.view.peers[from] === undefined) return;
  if (reqId.startsWith(DOC_ACK) && !ok) {
    // The peer holds the document but could not save it: a power loss there would lose it. The
    // changes waiting for it are answered with that (they are in effect, not durable everywhere);
    // the document is not counted as held, so it keeps being sent until the peer can save it.
    if (reqId.slice(DOC_ACK.length) !== s.docKey) return;
    out.push({ type: 'log', level: 'error', message: `${from} could not save configuration epoch ${s.doc.epoch}: ${message}`, fields: { epoch: s.doc.epoch } });
    for (const x of s.pending)
      out.push(
        reply(
          x,
          false,
          `${x.message} is in effect, but ${from} could not save it (${message}): a power loss there would lose it; free the space there, then check \`paceline config show\``,
        ),
      );
    s.pending = [];
    return;
  }
  if (reqId.startsWith(DOC_ACK)) {
    s.peerDocs = { ...s.peerDocs, [from]: reqId.slice(DOC_ACK.length) };
    return;
  }
  // A yield to our copy: the peer's conflicting copy holds no acknowledged change.
  if (reqId.slice(DOC_YIELD.length) === s.docKey && (s.view.coordinator === s.self || s.committed)) {
    out.push({ type: 'log', level: 'warn', message: `${from} yielded its conflicting copy of epoch ${s.doc.epoch}: republishing this node's copy` });
    bump(s, out);
  }
}

/** Republishes this node's copy with a higher epoch (it wins a same-epoch conflict). */
function bump(s: Mutable<CoreState>, out: CoreCommand[]): void {
  const epoch = nextEpoch(s);
  const next: ClusterDoc = { ...s.doc, epoch, config: { ...s.doc.config, epoch } };
  if (adopt(s, out, next, s.self)) out.push({ type: 'publish', doc: next });
}

/** Is `name` proven to run nothing (left cleanly, fenced, released by the partition policy, or fenced by a member)? */
function provenDown(s: CoreState, name: string): boolean {
  const p = s.view.peers[name];
  if (p === undefined || p.member || p.seenBy !== undefined || p.conflict === true) return false;
  return p.safelyDown || fencedByMember(s, name);
}

/**
 * Fenced (confirmed) by this node or a current member, or by a node that has since left cleanly,
 * according to a report received after `name` was last lost (simulated seed 1711: a report from
 * before the peer came back still said it was fenced, and it counted as proven down again when it
 * was lost the next time).
 */
function fencedByMember(s: CoreState, name: string): boolean {
  const since = s.lostSeq[name] ?? 0;
  return Object.entries(s.reports).some(
    ([m, rep]) =>
      (m === s.self || s.view.peers[m]?.member === true || s.view.peers[m]?.safelyDown === true) &&
      rep.fenced?.includes(name) === true &&
      (s.reportSeq[m] ?? 0) > since,
  );
}

/** The first peer (by name) that is neither a member nor proven down, with membership's reason. */
export function unaccountedPeer(s: CoreState): { readonly node: string; readonly reason: string } | undefined {
  for (const name of Object.keys(s.view.peers).sort()) {
    const p = s.view.peers[name]!;
    if (!p.member && !provenDown(s, name)) return { node: name, reason: p.reason };
  }
  return undefined;
}

/**
 * The epoch of the next document this node makes. While a peer is proven down (not a member) one
 * epoch is skipped: that peer may hold one change of its own that never reached this node (at most
 * one, since a coordinator makes a new change only once the previous one is confirmed), and when it
 * comes back its copy must be older than everything made since, so that it adopts ours.
 */
export function nextEpoch(s: CoreState): number {
  return s.doc.epoch + (Object.values(s.view.peers).some((p) => !p.member) ? 2 : 1);
}

/** Every peer is a member holding this exact document, or proven down. */
function confirmedNow(s: CoreState): boolean {
  return Object.entries(s.view.peers).every(([name, p]) => (p.member ? s.peerDocs[name] === s.docKey : provenDown(s, name)));
}

/** Members that have not acknowledged this node's document while it is unconfirmed or changes wait (the shell resends it to them). */
export function docRetransmitTargets(s: CoreState): string[] {
  // Also once confirmed: a member that joined since may not have it yet (simulated replay seed 730:
  // both documents sent on a join over a lossy LAN were lost, and the next periodic one was 5 s away).
  return Object.keys(s.view.peers)
    .sort()
    .filter((name) => s.view.peers[name]!.member && s.peerDocs[name] !== s.docKey);
}

/** Why this node refuses to change the configuration now (undefined: it may). */
export function updateBlocker(s: CoreState): string | undefined {
  if (!s.view.quorate) return `cannot change the configuration now: this node has no quorum (${s.view.mayRunReason}); retry when the cluster is quorate`;
  const u = unaccountedPeer(s);
  if (u !== undefined)
    return `cannot change the configuration now: ${u.node} is lost and not proven down (${u.reason}), so a change made now could conflict with one made there; retry when ${u.node} is back, or once it is fenced or has left cleanly`;
  // A node that restarted holds its document from disk, which may be older than what the cluster
  // acknowledged meanwhile. Until nodes holding a majority have shown it theirs in this life, a
  // change made here (from an old epoch) could later override acknowledged ones (simulated replay
  // seed 730: a restarted node that never received its peer's document fenced it, then changed the
  // configuration from epoch 3 while the peer held an acknowledged epoch 7).
  const names = Object.keys(s.view.peers);
  const shown = names.filter((n) => s.docShown[n] === true);
  if ((shown.length + 1) * 2 <= names.length + 1) {
    const missing = names.filter((n) => s.docShown[n] !== true).sort();
    return `cannot change the configuration now: ${missing.join(', ')} ${missing.length === 1 ? 'has' : 'have'} not shown ${s.self} ${missing.length === 1 ? 'its' : 'their'} configuration since ${s.self} started (it may hold newer acknowledged changes); retry once ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} back`;
  }
  return undefined;
}

const MAX_QUEUE = 100;
/** Answers to update requests remembered (a request is answered within seconds; a repeat comes sooner or is refused by the channel). */
export const MAX_ANSWERED = 256;

/**
 * An update request whose id was seen already (a copy, or a replay that got past the channel) is not
 * applied twice: one that waits (queued, or applied and not yet confirmed) gets its answer when it
 * comes; an answered one gets the same answer again.
 */
function repeatedRequest(s: Mutable<CoreState>, out: CoreCommand[], reqId: string, replyTo: string): boolean {
  if (s.queue.some((q) => q.reply?.reqId === reqId) || s.pending.some((p) => p.reqId === reqId)) {
    out.push({ type: 'log', level: 'debug', message: `update request ${reqId} is already under way; not applied twice`, fields: { from: replyTo } });
    return true;
  }
  const a = s.answered.find((x) => x.reqId === reqId);
  if (a === undefined) return false;
  out.push({
    type: 'log',
    level: 'debug',
    message: `update request ${reqId} was already answered; answering again, not applying it twice`,
    fields: { from: replyTo },
  });
  out.push({ ...reply({ to: replyTo, reqId }, a.ok, a.message), ...(a.epoch !== undefined ? { epoch: a.epoch } : {}) });
  return true;
}

function rememberAnswers(s: Mutable<CoreState>, out: readonly CoreCommand[]): void {
  const answers = out.filter(
    (c): c is Extract<CoreCommand, { type: 'reply' }> => c.type === 'reply' && !isDocSignal(c.reqId) && !s.answered.some((a) => a.reqId === c.reqId),
  );
  if (answers.length > 0)
    s.answered = [
      ...s.answered,
      ...answers.map((c) => ({ reqId: c.reqId, ok: c.ok, message: c.message, ...(c.epoch !== undefined ? { epoch: c.epoch } : {}) })),
    ].slice(-MAX_ANSWERED);
}

function update(s: Mutable<CoreState>, out: CoreCommand[], request: UpdateRequest, to: { to: string; reqId: string } | undefined): void {
  if (s.queue.length >= MAX_QUEUE) {
    if (to) out.push(reply(to, false, `too many configuration changes are waiting (${MAX_QUEUE}); retry later`));
    else out.push({ type: 'log', level: 'warn', message: `update ${request.op} dropped: too many changes are waiting` });
    return;
  }
  s.queue = [...s.queue, { request, ...(to ? { reply: to } : {}) }];
}

/**
 * Confirms the current document when every peer holds it or is proven down, answers the changes
 * that waited for it, then applies the next queued change (one unconfirmed change at a time).
 */
function settleDoc(s: Mutable<CoreState>, out: CoreCommand[]): void {
  for (let guard = 0; guard < 10_000; guard++) {
    if (s.queue.length > 0 && s.view.coordinator !== s.self) {
      for (const q of s.queue) {
        const message = `the coordinator changed (now ${s.view.coordinator}) before this change could be applied; it was not applied — retry`;
        out.push(q.reply ? reply(q.reply, false, message) : { type: 'log', level: 'warn', message: `update ${q.request.op}: ${message}` });
      }
      s.queue = [];
    }
    if (!s.committed && confirmedNow(s)) s.committed = true;
    if (!s.committed) return;
    if (s.pending.length > 0) {
      for (const x of s.pending) out.push({ type: 'reply', to: x.to, reqId: x.reqId, ok: true, message: x.message, epoch: x.epoch });
      s.pending = [];
    }
    const [q, ...rest] = s.queue;
    if (q === undefined) return;
    const blocked = updateBlocker(s);
    if (blocked !== undefined) {
      s.queue = rest;
      out.push(q.reply ? reply(q.reply, false, blocked) : { type: 'log', level: 'warn', message: `update ${q.request.op} refused: ${blocked}` });
      continue;
    }
    // Every current member must hold this document now, not only when it was confirmed: a member
    // that rejoined may bring a newer one (simulated seed 7383: a node back from a power loss held an
    // acknowledged change; the other made a quarantine at the same epoch before hearing of it).
    if (!confirmedNow(s)) return;
    s.queue = rest;
    applyQueued(s, out, q);
  }
}

function applyQueued(s: Mutable<CoreState>, out: CoreCommand[], q: QueuedUpdate): void {
  const refuse = (message: string): void => {
    out.push(q.reply ? reply(q.reply, false, message) : { type: 'log', level: 'warn', message: `update ${q.request.op} refused: ${message}` });
  };
  const blocked = updateBlocker(s);
  if (blocked !== undefined) return refuse(blocked);
  const r = applyUpdate(s.doc, s.config, q.request, nextEpoch(s), s.view.members);
  if (r.error !== undefined) return refuse(r.error);
  if (!adopt(s, out, r.doc, s.self)) return refuse('the change makes the configuration invalid');
  out.push({ type: 'publish', doc: r.doc }, { type: 'log', level: 'info', message: r.message, fields: { epoch: r.doc.epoch } });
  if (q.reply) s.pending = [...s.pending, { ...q.reply, epoch: r.doc.epoch, message: r.message }];
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

/** Why the coordinator does not schedule now (undefined: it may). */
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
  const { config, held } = limboConfig(s, status);
  let transition: Transition;
  try {
    transition = schedule({ config, status, now });
  } catch (e) {
    out.push({ type: 'log', level: 'error', message: `the scheduler failed: ${(e as Error).message}` });
    return;
  }
  // The view `status` shows, read from this very status (not when resources are held: the run saw them unmanaged).
  if (held.length === 0) s.placement = { key: statusKey(s, status), resources: transition.current, warnings: transition.warnings };
  transition = pruneActiveMonitors(transition, status);
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

function failureTotal(r: NodeReportData): number {
  return r.failures.reduce((n, f) => n + (Number.isFinite(f.count) ? f.count : 1_000_000), 0);
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
  const where = l.from && l.to && l.from !== l.to ? `${l.from} -> ${l.to}` : (l.to ?? l.from ?? '');
  return `${l.action} ${what} ${where}${l.blocked ? ' (blocked)' : ''}`.trim();
}
