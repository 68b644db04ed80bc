/**
 * Cluster status: what the scheduler knows about the world. All times are epoch milliseconds.
 */
import { z } from 'zod';
import { ScoreSchema } from './config.js';

/** How an operation's execution ended (OCF/LRM execution status), independent of what the agent reported. */
export const ExecStatus = z.enum([
  'done',
  'pending',
  'cancelled',
  'timeout',
  'not-supported',
  'error',
  'error-hard',
  'error-fatal',
  'not-installed',
  'not-connected',
  'invalid',
]);
export type ExecStatus = z.infer<typeof ExecStatus>;

/** One operation result in a resource's history on a node. */
export const OpRecord = z.strictObject({
  /** start, stop, monitor, promote, demote, migrate_to, migrate_from, reload, notify ... */
  action: z.string(),
  /** Milliseconds; 0 for one-shot actions and probes. */
  interval: z.number().nonnegative().default(0),
  /** Order of execution on that node; higher is newer. */
  callId: z.number().int().default(0),
  status: ExecStatus.default('done'),
  /** OCF exit code reported by the agent (0 ok, 7 not running, 8 running promoted, ...). */
  rc: z.number().int().default(0),
  /** When the result last changed (ms). */
  lastRcChange: z.number().optional(),
  lastRun: z.number().optional(),
  /** The rc the scheduler expected when it scheduled the action (Pacemaker's transition-key target rc). */
  expectedRc: z.number().int().optional(),
  /** Hash of the parameters the action ran with, to detect changed definitions. */
  digest: z.string().optional(),
  /** Digest of only the parameters whose change requires a restart (Pacemaker: op-restart-digest). */
  restartDigest: z.string().optional(),
  /** Parameter names whose change forces a restart rather than a reload (Pacemaker: op-force-restart). */
  restartParams: z.array(z.string()).optional(),
  /** Digest without the secure (hidden) parameters (Pacemaker: op-secure-digest), and their names. */
  secureDigest: z.string().optional(),
  secureParams: z.array(z.string()).optional(),
  /**
   * How the parameters this operation ran with compare with the current definition, when the
   * source could tell (a Pacemaker CIB import compares digests): `same`; `changed` (a one-shot
   * action can be reloaded if the agent supports it — `restartDigest` present — and a monitor is
   * rescheduled); `restart` (a parameter that needs a restart changed).
   */
  paramsChange: z.enum(['same', 'changed', 'restart']).optional(),
  migrateSource: z.string().optional(),
  migrateTarget: z.string().optional(),
  exitReason: z.string().optional(),
  /** Original operation key, kept for display (e.g. "rsc_monitor_10000"). */
  key: z.string().optional(),
});
export type OpRecord = z.infer<typeof OpRecord>;

/**
 * How far a replica (the Unpromoted copy of mirrored data) is behind the copy it follows, as its
 * monitor measured it. The states follow DRBD's disk states: `in-sync` (UpToDate: every change its
 * source made before `asOf` is here and none was known missing), `behind` (Outdated: its source's
 * changes are known to be missing, e.g. a pull failed), `never-synced` (Inconsistent: no complete
 * copy yet). A source that stops answering leaves the state as it was last known (DRBD keeps
 * UpToDate on a lost connection): `reachable` says so, and the lag keeps growing with `asOf`.
 */
export const ReplicaLag = z.strictObject({
  /** The node whose copy it follows. */
  source: z.string().min(1).max(255),
  state: z.enum(['in-sync', 'behind', 'never-synced']),
  /** Whether the source answered the monitor's check. */
  reachable: z.boolean(),
  /** Every change the source made before this time (epoch ms) is in this copy (absent: never synced). */
  asOf: z.number().int().nonnegative().optional(),
  /** At most this many seconds of the source's changes are missing (at the monitor's time: its time minus `asOf`). */
  seconds: z.number().nonnegative().max(1e10),
  /** Bytes of the changes known to be missing (0 in sync; absent when unknown: the source cannot be asked). */
  bytes: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
  /** How many changes are known to be missing (absent when unknown). */
  changes: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
  /** When the oldest missing change was written (epoch ms), when known. */
  oldestMissingAt: z.number().int().nonnegative().optional(),
});
export type ReplicaLag = z.infer<typeof ReplicaLag>;

/**
 * What a monitor reports besides its outcome: typed facts the status, the metrics and the scheduler
 * read (never free text). Strict and bounded: an agent cannot put anything else into the status.
 */
export const MonitorReport = z.strictObject({
  replica: ReplicaLag.optional(),
});
export type MonitorReport = z.infer<typeof MonitorReport>;

/** The last monitor report of an instance on a node: when it ran (epoch ms) and which monitor (interval ms). */
export const RecordedReport = MonitorReport.extend({
  at: z.number().int().nonnegative(),
  interval: z.number().int().nonnegative(),
});
export type RecordedReport = z.infer<typeof RecordedReport>;

/** Everything one node has recorded about one resource instance. */
export const ResourceHistory = z.strictObject({
  /** The resource id as the node knows it: a primitive id, or "clone-child:N" for clone instances. */
  resource: z.string(),
  /** Agent reference the node ran it with (lets orphans be described). */
  agent: z.string().optional(),
  /**
   * The parameters it last ran with on this node (Pacemaker keeps them in the status for the same
   * reason): a resource removed from the configuration while running (an orphan) is stopped with
   * this last known definition, its agent and parameters.
   */
  params: z.record(z.string(), z.unknown()).optional(),
  /** When the node shut down with shutdown-lock enabled: the time (ms) the resource was locked to this node. */
  shutdownLock: z.number().optional(),
  ops: z.array(OpRecord).default([]),
  /**
   * The last report of its recurring monitor on this node (a replica's lag): replaced by every
   * monitor that reports, dropped when the instance starts, stops, is promoted or demoted.
   */
  report: RecordedReport.optional(),
});
export type ResourceHistory = z.infer<typeof ResourceHistory>;

/** Failures counted for a resource on a node. */
export const FailCount = z.strictObject({
  resource: z.string(),
  /** The operation that failed and its interval, when known (Pacemaker: fail-count-RSC#OP_INTERVAL). */
  action: z.string().optional(),
  interval: z.number().optional(),
  count: ScoreSchema,
  lastFailure: z.number().optional(),
});
export type FailCount = z.infer<typeof FailCount>;

export const NodeState = z.enum(['online', 'offline', 'unclean', 'pending']);
export type NodeState = z.infer<typeof NodeState>;

export const NodeStatus = z.strictObject({
  name: z.string(),
  /** online: member and running Paceline; offline: cleanly gone; unclean: lost without a clean shutdown (must be fenced); pending: joining. */
  state: NodeState,
  /** Transient standby (e.g. set by an admin command or on-fail=standby). */
  standby: z.boolean().default(false),
  maintenance: z.boolean().default(false),
  /** The node is shutting down: move everything off it. */
  shutdown: z.boolean().default(false),
  /** Why the node is unclean, when it is. */
  uncleanReason: z.string().optional(),
  /** Transient node attributes (used by rules, promotion scores, health). */
  attributes: z.record(z.string(), z.string()).default({}),
  history: z.array(ResourceHistory).default([]),
  failures: z.array(FailCount).default([]),
});
export type NodeStatus = z.infer<typeof NodeStatus>;

/**
 * The node attribute that says why a node is quarantined: held in standby after it was lost
 * (fenced, or its link lost) until an administrator clears it (`paceline node clear`).
 */
export const QUARANTINE_ATTRIBUTE = 'paceline-quarantine';

/** A node's status with nothing known about it yet: no flags, attributes, history or failures. */
export function emptyNodeStatus(name: string, state: NodeState): NodeStatus {
  return { name, state, standby: false, maintenance: false, shutdown: false, attributes: {}, history: [], failures: [] };
}

export const ClusterStatus = z.strictObject({
  /** Whether this partition has quorum. */
  quorum: z.boolean().default(true),
  /**
   * Whether the partition has had quorum before (Pacemaker: the CIB's no-quorum-panic). With
   * no-quorum-policy=suicide, a partition that never had quorum only stops resources. Unset = true.
   */
  quorumPanic: z.boolean().optional(),
  /** The coordinator node (Pacemaker's DC), if known. */
  dc: z.string().optional(),
  nodes: z.array(NodeStatus).default([]),
});
export type ClusterStatus = z.infer<typeof ClusterStatus>;
export type ClusterStatusInput = z.input<typeof ClusterStatus>;
