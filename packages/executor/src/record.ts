/**
 * Recording action results into the status model the scheduler reads. Pure: every function
 * returns a new status. One record per (action, interval) per resource on a node, the newest
 * replacing the older (the scheduler replays records in call order); a successful stop, promote,
 * demote or migrate_to drops the instance's recurring-monitor records, since it cancels them (as
 * the scheduler's applyTransition does); failures raise fail counts (a failed start to INFINITY when
 * the cluster's `startFailureIsFatal`, as Pacemaker's controller does for start-failure-is-fatal).
 */
import {
  INFINITY,
  OcfRc,
  emptyNodeStatus,
  type ClusterStatus,
  type ExecStatus,
  type FailCount,
  type NodeStatus,
  type OpRecord,
  type RecordedReport,
  type ResourceHistory,
} from '@paceline/model';
import { outcomeToRc, type ActionResult, type Outcome } from '@paceline/agent-api';

/** The rc recorded when the outcome of an action is unknown (Pacemaker's PCMK_OCF_UNKNOWN). */
export const RC_UNKNOWN = 193;

/** Which operation a result belongs to. */
export interface RecordedOp {
  /** The OCF action name (a probe is `monitor` with interval 0). */
  readonly action: string;
  readonly interval: number;
  /** The outcome the scheduler expected, as an rc (probes 7, promoted monitors 8, otherwise 0). */
  readonly expectedRc?: number;
  /** The agent reference the instance ran with. */
  readonly agent?: string;
  /** The parameters it ran with (kept in the history: an orphan is stopped with them). */
  readonly params?: Readonly<Record<string, unknown>>;
  readonly digest?: string;
  readonly migrateSource?: string;
  readonly migrateTarget?: string;
}

/** A result waiting to be written into a status. */
export interface PendingRecord {
  readonly node: string;
  readonly instance: string;
  readonly op: RecordedOp;
  readonly result: ActionResult;
  readonly at: number;
}

/** The execution status recorded for a result; a cancelled action's outcome is unknown ('pending'). */
export function execStatusOf(result: ActionResult): ExecStatus {
  switch (result.execution) {
    case 'done':
      return 'done';
    case 'timeout':
      return 'timeout';
    case 'cancelled':
      return 'pending';
    case 'error':
      return 'error';
    case 'not-installed':
      return 'not-installed';
    case 'not-supported':
      return 'not-supported';
  }
}

/** The rc recorded for a result: the agent's outcome when it finished, an error or "unknown" otherwise. */
export function rcOf(result: ActionResult): number {
  if (result.execution === 'done') return outcomeToRc(result.outcome);
  if (result.execution === 'cancelled') return RC_UNKNOWN;
  if (result.execution === 'not-installed') return OcfRc.ERR_INSTALLED;
  if (result.execution === 'not-supported') return OcfRc.ERR_UNIMPLEMENTED;
  return OcfRc.ERR_GENERIC;
}

const SUCCESS_RCS_FOR_MONITOR = new Map<number, readonly number[]>([
  [OcfRc.SUCCESS, [OcfRc.SUCCESS, OcfRc.DEGRADED]],
  [OcfRc.RUNNING_PROMOTED, [OcfRc.RUNNING_PROMOTED, OcfRc.DEGRADED_PROMOTED]],
]);

/** The expected rc of an operation when none was given. */
export function defaultExpectedRc(op: Pick<RecordedOp, 'action' | 'interval' | 'expectedRc'>): number {
  if (op.expectedRc !== undefined) return op.expectedRc;
  return op.action === 'monitor' && op.interval === 0 ? OcfRc.NOT_RUNNING : OcfRc.SUCCESS;
}

/**
 * Is this result a failure that counts against the resource? Probes are discovery: any state they
 * find (running, stopped, promoted) is information, not a failure. A cancelled action's outcome
 * is unknown, not failed.
 */
export function isFailure(op: Pick<RecordedOp, 'action' | 'interval' | 'expectedRc'>, result: ActionResult): boolean {
  if (result.execution === 'cancelled') return false;
  if (result.execution !== 'done') return true;
  const rc = outcomeToRc(result.outcome);
  if (op.action === 'monitor' && op.interval === 0)
    return ![OcfRc.SUCCESS, OcfRc.NOT_RUNNING, OcfRc.RUNNING_PROMOTED, OcfRc.DEGRADED, OcfRc.DEGRADED_PROMOTED].includes(rc as never);
  const expected = defaultExpectedRc(op);
  if (op.action === 'monitor') return !(SUCCESS_RCS_FOR_MONITOR.get(expected) ?? [expected]).includes(rc);
  return rc !== expected;
}

/** Did the result match what was expected (the transition can go on)? */
export function metExpectation(op: Pick<RecordedOp, 'action' | 'interval' | 'expectedRc'>, result: ActionResult): boolean {
  if (result.execution !== 'done') return false;
  const rc = outcomeToRc(result.outcome);
  const expected = defaultExpectedRc(op);
  if (op.action === 'monitor') return (SUCCESS_RCS_FOR_MONITOR.get(expected) ?? [expected]).includes(rc);
  return rc === expected;
}

function emptyNode(name: string): NodeStatus {
  return emptyNodeStatus(name, 'online');
}

/**
 * The highest call id in a history, by history array (a history is replaced, never mutated): a node
 * records results one after another, each from the history the previous one made, so finding the
 * next call id is O(1) along that chain rather than a walk over every operation of every instance.
 */
const maxCallIds = new WeakMap<readonly ResourceHistory[], number>();

function nextCallId(node: NodeStatus): number {
  let max = maxCallIds.get(node.history);
  if (max === undefined) {
    max = 0;
    for (const h of node.history) for (const op of h.ops) max = Math.max(max, op.callId);
    maxCallIds.set(node.history, max);
  }
  return max + 1;
}

/** How failures are counted. */
export interface RecordOptions {
  /**
   * A failed start sets the fail count to INFINITY, which bans the node for the resource until the
   * failure is cleaned up or expires (the cluster property `startFailureIsFatal`). Otherwise it
   * counts 1, like any other failure.
   */
  readonly startFailureIsFatal?: boolean;
}

/**
 * Where each instance's entry is in a history array, kept per array (a history is replaced, never
 * mutated). Recording into a history hands its index on to the new array (one entry replaced in
 * place, or one appended), so a node recording result after result finds entries in O(1) rather than
 * by a search of every entry each time; an array whose index was handed on builds a new one if it
 * is read again.
 */
const positions = new WeakMap<readonly ResourceHistory[], Map<string, number>>();

function positionsOf(history: readonly ResourceHistory[]): Map<string, number> {
  let index = positions.get(history);
  if (index === undefined) {
    index = new Map();
    for (const [i, h] of history.entries()) if (!index.has(h.resource)) index.set(h.resource, i);
    positions.set(history, index);
  }
  return index;
}

/** The entry of `instance` in a history (the first, as a search would find it). */
export function findHistory(history: readonly ResourceHistory[], instance: string): ResourceHistory | undefined {
  const i = positionsOf(history).get(instance);
  return i === undefined ? undefined : history[i];
}

/** `history` with `entry` in the place of `instance`'s entry (or appended): a new array, which takes over the index. */
function withEntry(history: readonly ResourceHistory[], instance: string, entry: ResourceHistory): ResourceHistory[] {
  const index = positionsOf(history);
  const i = index.get(instance);
  const next = [...history];
  if (i === undefined) index.set(instance, next.push(entry) - 1);
  else next[i] = entry;
  positions.delete(history);
  positions.set(next, index);
  return next;
}

/** Writes one action result into `status` at time `now` (epoch ms). */
export function recordResult(
  status: ClusterStatus,
  node: string,
  instance: string,
  op: RecordedOp,
  result: ActionResult,
  now: number,
  options: RecordOptions = {},
): ClusterStatus {
  const existing = status.nodes.find((n) => n.name === node);
  const n = existing ?? emptyNode(node);
  const rc = rcOf(result);
  const history = findHistory(n.history, instance);
  const previous = history?.ops.find((o) => o.action === op.action && o.interval === op.interval);
  const expectedRc = defaultExpectedRc(op);
  const record: OpRecord = {
    action: op.action,
    interval: op.interval,
    callId: nextCallId(n),
    status: execStatusOf(result),
    rc,
    lastRcChange: previous && previous.rc === rc && previous.status === execStatusOf(result) ? (previous.lastRcChange ?? now) : now,
    lastRun: now,
    expectedRc,
    ...(op.digest !== undefined ? { digest: op.digest } : {}),
    ...(op.migrateSource !== undefined ? { migrateSource: op.migrateSource } : {}),
    ...(op.migrateTarget !== undefined ? { migrateTarget: op.migrateTarget } : {}),
    ...(result.reason !== undefined && rc !== OcfRc.SUCCESS && rc !== expectedRc ? { exitReason: result.reason } : {}),
    key: `${instance}_${op.action}_${op.interval}`,
  };
  // Stopping, promoting, demoting or migrating away cancels the instance's recurring monitors (the role they check changed).
  const cancelsMonitors = CANCELS_MONITORS.has(op.action) && result.execution === 'done' && result.outcome === 'ok';
  const keep = (o: OpRecord): boolean => !(o.action === op.action && o.interval === op.interval) && !(cancelsMonitors && o.interval > 0);
  const ops = [...(history?.ops ?? []).filter(keep), record];
  // The newest definition it ran with (agent and parameters), when this operation carried one.
  const agent = op.params !== undefined ? (op.agent ?? history?.agent) : (history?.agent ?? op.agent);
  const params = op.params ?? history?.params;
  // A recurring monitor's report replaces the last one (and a monitor without one keeps it); any other action changes the instance's state and drops it.
  const report: RecordedReport | undefined =
    op.action !== 'monitor' || op.interval <= 0
      ? undefined
      : result.report !== undefined
        ? { ...result.report, at: Math.round(now), interval: op.interval }
        : history?.report;
  const newHistory: ResourceHistory = {
    resource: instance,
    ...(agent ? { agent } : {}),
    ...(params !== undefined ? { params: { ...params } } : {}),
    ops,
    ...(report ? { report } : {}),
  };
  const histories = withEntry(n.history, instance, newHistory);
  maxCallIds.set(histories, record.callId);
  const fatal = options.startFailureIsFatal === true && op.action === 'start';
  const failures = isFailure(op, result) ? bumpFailure(n.failures, instance, op, now, fatal) : n.failures;
  const updated: NodeStatus = { ...n, history: histories, failures };
  const nodes = existing ? status.nodes.map((x) => (x === existing ? updated : x)) : [...status.nodes, updated];
  return { ...status, nodes };
}

const CANCELS_MONITORS = new Set(['stop', 'promote', 'demote', 'migrate_to']);

function bumpFailure(failures: readonly FailCount[], instance: string, op: RecordedOp, now: number, fatal: boolean): FailCount[] {
  const match = (f: FailCount): boolean => f.resource === instance && f.action === op.action && f.interval === op.interval;
  const prev = failures.find(match);
  const count = fatal ? INFINITY : (prev?.count ?? 0) + 1;
  return prev
    ? failures.map((f) => (f === prev ? { ...f, count, lastFailure: now } : f))
    : [...failures, { resource: instance, action: op.action, interval: op.interval, count, lastFailure: now }];
}

/**
 * Records the report of a recurring monitor that succeeded (successful monitors are not written
 * into the history: nothing the scheduler reads changed), replacing the instance's last one. An
 * instance the node has no history of is left alone (its report would describe nothing known).
 */
export function recordReport(status: ClusterStatus, node: string, instance: string, interval: number, result: ActionResult, now: number): ClusterStatus {
  if (result.report === undefined) return status;
  const n = status.nodes.find((x) => x.name === node);
  const history = n && findHistory(n.history, instance);
  if (!n || !history) return status;
  const updated: ResourceHistory = { ...history, report: { ...result.report, at: Math.round(now), interval } };
  const nodes = status.nodes.map((x) => (x === n ? { ...n, history: withEntry(n.history, instance, updated) } : x));
  return { ...status, nodes };
}

/** Applies many records in order. */
export function recordAll(status: ClusterStatus, records: readonly PendingRecord[], options: RecordOptions = {}): ClusterStatus {
  return records.reduce((s, r) => recordResult(s, r.node, r.instance, r.op, r.result, r.at, options), status);
}

/** The outcome an operation is expected to report, for messages. */
export function expectedOutcomeName(op: Pick<RecordedOp, 'action' | 'interval' | 'expectedRc'>): Outcome | 'anything but an error' {
  if (op.action === 'monitor' && op.interval === 0 && op.expectedRc === undefined) return 'not-running';
  const rc = defaultExpectedRc(op);
  return rc === OcfRc.RUNNING_PROMOTED ? 'running-promoted' : rc === OcfRc.NOT_RUNNING ? 'not-running' : 'ok';
}

/**
 * Forgets what a node recorded about an instance (like `crm_resource --refresh`), so the scheduler
 * sees its state there as unknown and probes it. Fail counts are kept.
 */
export function refreshInstance(status: ClusterStatus, node: string, instance: string): ClusterStatus {
  return {
    ...status,
    nodes: status.nodes.map((n) => (n.name !== node ? n : { ...n, history: n.history.filter((h) => h.resource !== instance) })),
  };
}

/** Instances whose newest record has an unknown outcome (exec status 'pending'), per node. */
export function unknownInstances(status: ClusterStatus): { node: string; instance: string }[] {
  const out: { node: string; instance: string }[] = [];
  for (const n of status.nodes) {
    for (const h of n.history) {
      const newest = h.ops.reduce<OpRecord | undefined>((a, o) => (a === undefined || o.callId > a.callId ? o : a), undefined);
      if (newest?.status === 'pending') out.push({ node: n.name, instance: h.resource });
    }
  }
  return out;
}

/** Refreshes every instance whose outcome is unknown, so each is probed by the next transition. */
export function refreshUnknown(status: ClusterStatus): ClusterStatus {
  return unknownInstances(status).reduce((s, u) => refreshInstance(s, u.node, u.instance), status);
}
