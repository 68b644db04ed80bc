/**
 * Cluster status: what the scheduler knows about the world. All times are epoch milliseconds.
 */
import { z } from 'zod';
import { ScoreSchema } from './config.js';

/** How an operation's execution ended (OCF/LRM execution status), independent of what the agent reported. */
export const ExecStatus = z.enum([
  'done', 'pending', 'cancelled', 'timeout', 'not-supported', 'error', 'error-hard', 'error-fatal', 'not-installed',
  'not-connected', 'invalid',
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
