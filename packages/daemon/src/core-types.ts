/**
 * The coordinator core's types: its state, the events it takes and the commands it returns
 * (core.ts has the step; core-doc.ts the replicated document; core-schedule.ts the scheduler runs).
 */
import { QUARANTINE_ATTRIBUTE, type ClusterConfig, type ClusterStatus, type FailCount, type ResourceHistory, type Transition } from '@paceline/model';
import type { ScheduleInput } from '@paceline/scheduler';
import type { ClusterDoc } from './messages.js';
import type { UpdateRequest } from './updates.js';
import type { PlacementView } from './view.js';

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
  /** Where the scheduler runs: see SchedulerMode. */
  readonly schedulerMode: SchedulerMode;
  /** Scheduler runs asked for so far (each run's id). */
  readonly scheduleRuns: number;
  /** The scheduler run asked for (a `schedule` command) and not answered yet. */
  readonly scheduling?: PendingSchedule;
  /** The last scheduler runs failed (no transition): how many in a row, the last error, and when to ask again. */
  readonly schedulerFailed?: SchedulerFailure;
}

/**
 * Scheduler runs that failed in a row (the thread died, or `schedule` threw). The run is asked
 * again after a delay that doubles with each failure (SCHEDULER_RETRY_FIRST_MS up to
 * SCHEDULER_RETRY_MAX_MS), or at once on an unexpected change; the first run that answers with a
 * transition clears it.
 */
export interface SchedulerFailure {
  readonly count: number;
  readonly error: string;
  readonly retryAt: number;
}
export const SCHEDULER_RETRY_FIRST_MS = 1_000;
export const SCHEDULER_RETRY_MAX_MS = 60_000;

/**
 * Where the scheduler runs. `inline`: inside `coordinatorStep` (a pure, synchronous call: the
 * simulated cluster and the core's tests replay exactly). `worker`: elsewhere — the step returns a
 * `schedule` command, the shell runs it off the event loop (a worker thread: a run for a thousand
 * resources takes most of a second, in which no heartbeat would be sent) and feeds the answer back
 * as a `scheduled` event. `auto`: `worker` from WORKER_FROM_PRIMITIVES primitives up, else `inline`
 * (a small run takes a few ms, less than passing it to a thread and back).
 */
export type SchedulerMode = 'inline' | 'worker' | 'auto';
export const WORKER_FROM_PRIMITIVES = 64;

/** A scheduler run asked for: what it was asked with, to finish the plan when the answer comes. */
export interface PendingSchedule {
  readonly id: number;
  readonly status: ClusterStatus;
  /** `statusKey` of that status (the view `status` shows is keyed by it). */
  readonly key: string;
  /** Resources held in that run (limboConfig). */
  readonly held: readonly string[];
  readonly now: number;
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
  /** A peer's periodic digest of its document (`docKey`: epoch and hash). */
  | { readonly type: 'doc-digest'; readonly from: string; readonly key: string; readonly now: number }
  | { readonly type: 'update'; readonly request: UpdateRequest; readonly reqId: string; readonly replyTo: string; readonly now: number }
  | { readonly type: 'fenced'; readonly node: string; readonly reason: string; readonly now: number }
  /**
   * A document acknowledgement or yield from a peer (see DOC_ACK, DOC_YIELD). An acknowledgement with
   * `ok: false` says the peer holds the document but could not save it (`message` says why).
   */
  | { readonly type: 'doc-signal'; readonly from: string; readonly reqId: string; readonly ok?: boolean; readonly message?: string; readonly now: number }
  /**
   * The answer to a `schedule` command: the transition, or why the scheduler failed. Dropped when
   * something unexpected changed since it was asked (`urgent`): the scheduler is asked again.
   */
  | { readonly type: 'scheduled'; readonly id: number; readonly transition?: Transition; readonly error?: string; readonly now: number }
  /** Operation failure, admin command, timer recheck: run the scheduler again. */
  | { readonly type: 'kick'; readonly reason: string; readonly now: number }
  /** The time to ask a failed scheduler run again has come (`schedulerFailed.retryAt`): changes nothing else. */
  | { readonly type: 'wake'; readonly now: number }
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
  /** Run the scheduler on `input` off the event loop and answer with a `scheduled` event (see SchedulerMode). */
  | { readonly type: 'schedule'; readonly id: number; readonly input: ScheduleInput }
  /** Scheduler run `id` (a `schedule` command) is no longer awaited: its answer would be dropped (the shell may stop it). */
  | { readonly type: 'abandon'; readonly id: number }
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

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };
