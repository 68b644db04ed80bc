/**
 * The replay of a resource's operation history on one node, as a reducer: `replayOp(state, op)`
 * returns the state after one more operation, and `replayNode` folds a node's history in call
 * order and then settles what the history left (Pacemaker's unpack_lrm_resource, unpack_rsc_op
 * and process_rsc_state). What an exit code means is a table (outcome.ts), what a recorded
 * execution status leads to is a table (below), what a success or a failure of each action does is
 * a table (effects.ts), and the response to a failure is a table (on-fail.ts).
 */
import type { ExecStatus, OpRecord } from '@paceline/model';
import { INFINITY, OcfRc } from '@paceline/model';
import type { Resource } from '../resources.js';
import { roleRank } from '../roles.js';
import { failed, succeeded } from './effects.js';
import { readOutcome, type OpOutcome } from './outcome.js';
import { effectiveTargetRole, NO_FENCING, settleInto, type Settled } from './settle.js';
import {
  addAdjustment,
  atLeastStarted,
  banTarget,
  draftOf,
  NONE,
  setNextRole,
  startReplay,
  type Draft,
  type NodeReplay,
  type ReplayContext,
  type ResourceHistory,
} from './state.js';

type StatusRule = (d: Draft, ctx: ReplayContext, op: OpRecord, outcome: OpOutcome, key: string) => void;

/** A ban of the resource (an anonymous clone's: of the clone) on this node, or everywhere. */
const ban = (d: Draft, ctx: ReplayContext, reason: string, everywhere = false): void =>
  addAdjustment(d, { rsc: banTarget(ctx.resource).id, node: everywhere ? undefined : ctx.node, score: -INFINITY, reason });

/** A failed operation: ignored (on-fail=ignore: counted as the success it should have been), or failed. */
const failure: StatusRule = (d, ctx, op, { rc, target, status }, key) => {
  if (ctx.cluster.onFailFor(ctx.resource, op.action, op.interval).onFail === 'ignore') {
    succeeded(d, ctx, op.action, target, key);
    d.failureIgnored = true;
    return;
  }
  failed(d, ctx, op, rc, key);
  if (status === 'error-hard') ban(d, ctx, 'hard-error');
  else if (status === 'error-fatal') ban(d, ctx, 'fatal-error', true);
};

/** Execution status → what the operation does to the state; any status not listed is a failure. */
const BY_STATUS: ReadonlyMap<ExecStatus, StatusRule> = new Map<ExecStatus, StatusRule>([
  ['cancelled', () => undefined],
  // In flight: a start counts as started, a promote as promoted.
  [
    'pending',
    (d, _ctx, op) => {
      if (op.action === 'start') {
        d.startPending = true;
        atLeastStarted(d);
      } else if (op.action === 'promote') d.role = 'Promoted';
    },
  ],
  ['done', (d, ctx, op, { rc }, key) => succeeded(d, ctx, op.action, rc, key)],
  // The agent is not installed here: a failure that at least moves the resource away, and a ban.
  [
    'not-installed',
    (d, ctx, op, { rc }, key) => {
      if (ctx.cluster.onFailFor(ctx.resource, op.action, op.interval).onFail === 'ignore') d.onFail = 'migrate';
      ban(d, ctx, 'hard-error');
      failed(d, ctx, op, rc, key);
    },
  ],
]);

/** What the exit code says by itself, whatever happens to the operation next. */
function exitCodeEffects(d: Draft, ctx: ReplayContext, op: OpRecord, outcome: OpOutcome): void {
  if (outcome.notRunning) {
    d.role = 'Stopped';
    d.onFail = 'ignore';
    setNextRole(d, 'Unknown', 'not running');
  }
  if (outcome.role) d.role = outcome.role;
  // A stop that failed hard and cannot be answered by fencing leaves the resource blocked.
  if (outcome.hard && op.action === 'stop' && !ctx.cluster.canFence) {
    d.managed = false;
    d.blocked = true;
  }
}

/** Operations that say nothing about the resource's state. */
const ignored = (op: OpRecord): boolean => op.action === 'notify' || op.action === 'meta-data';

/** One step of the reducer, written into the step's working copy `d`. */
function step(d: Draft, op: OpRecord, ctx: ReplayContext): void {
  const key = `${op.action}_${op.interval}`;
  const outcome = readOutcome(op, d.managed);
  const expired = op.status !== 'not-installed' && ctx.cluster.expired(ctx.resource, ctx.node, op);
  exitCodeEffects(d, ctx, op, outcome);
  if (expired && outcome.masked && op.rc !== outcome.target) {
    if (roleRank(d.role) <= roleRank('Stopped')) d.role = 'Unknown';
    return;
  }
  // An expired failure is forgotten (a recurring one only where the node can tell us again).
  if (expired && outcome.rc !== outcome.target && (op.interval === 0 || (ctx.online && !ctx.unclean))) return;
  if (outcome.masked) {
    succeeded(d, ctx, op.action, outcome.target, key, true);
    ban(d, ctx, 'masked-probe-failure');
    return;
  }
  (BY_STATUS.get(outcome.status) ?? failure)(d, ctx, op, outcome, key);
}

/** The state after one more operation of the history: a new state; `s` is left as it was. */
export function replayOp(s: NodeReplay, op: OpRecord, ctx: ReplayContext): NodeReplay {
  if (ignored(op)) return s;
  const d = draftOf(s);
  step(d, op, ctx);
  return d;
}

/** Operations in the order they ran (records without a call id, still pending, last). */
export function callOrder(op: OpRecord): number {
  return op.callId < 0 ? Number.MAX_SAFE_INTEGER : op.callId;
}

/**
 * Replays `ctx.sorted` (one node's history of one resource, in call order) over what the earlier
 * nodes' histories said, and settles the result. This is `ctx.sorted.reduce(replayOp, start)` and
 * `settle`, written with one working copy for the whole node instead of one per operation (the
 * stage runs it per resource and node; test/history-replay.test.ts checks that both agree).
 */
export function replayNode(before: ResourceHistory, ctx: ReplayContext): Settled {
  if (isLoneStoppedProbe(ctx.sorted)) return settleStoppedProbe(before, ctx);
  const d = startReplay(before);
  for (const op of ctx.sorted) if (!ignored(op)) step(d, op, ctx);
  return settleInto(d, ctx);
}

/**
 * A history that is one probe that found the resource not running, as expected: most of a large
 * cluster's status (every resource is probed on every node, and runs on one or a few of them).
 */
export function isLoneStoppedProbe(ops: readonly OpRecord[]): boolean {
  if (ops.length !== 1) return false;
  const op = ops[0]!;
  return (
    op.action === 'monitor' &&
    op.interval === 0 &&
    op.rc === OcfRc.NOT_RUNNING &&
    op.status === 'done' &&
    (op.expectedRc === undefined || op.expectedRc === OcfRc.NOT_RUNNING)
  );
}

/**
 * What `replayNode` makes of a lone stopped probe (isLoneStoppedProbe), written out without the
 * replay's working copies: the exit code says stopped here and clears the failure response (a
 * success that forgets past failures: the next role is no longer forced), the node is neither
 * fenced nor put in standby, nothing is active here, and target-role limits the next role. The
 * rest is what the earlier nodes' histories said. test/history-replay.test.ts checks that it
 * agrees with the general replay over varied states, resources and nodes.
 */
function settleStoppedProbe(before: ResourceHistory, ctx: ReplayContext): Settled {
  return { resource: afterStoppedProbe(before, ctx.resource), adjustments: NONE, fence: NO_FENCING, standby: false, known: true };
}

/**
 * The resource's history after a lone stopped probe (settleStoppedProbe's `resource`): `before`
 * itself when the probe changes nothing in it, as after the first of a resource's probes on the
 * other nodes (unpack then has nothing to store: on a large cluster most histories are these).
 */
export function afterStoppedProbe(before: ResourceHistory, r: Resource): ResourceHistory {
  const targetRole = effectiveTargetRole(r);
  const role = roleRank(before.role) < roleRank('Stopped') ? 'Stopped' : before.role;
  const nextRole = targetRole ?? 'Unknown';
  const nextRoleReason = targetRole !== undefined ? 'target-role' : 'clear past failures';
  if (role === before.role && nextRole === before.nextRole && nextRoleReason === before.nextRoleReason) return before;
  return {
    role,
    nextRole,
    nextRoleReason,
    runningOn: before.runningOn,
    failed: before.failed,
    stopOnFailure: before.stopOnFailure,
    blocked: before.blocked,
    managed: before.managed,
    failureIgnored: before.failureIgnored,
    startPending: before.startPending,
    partial: before.partial,
    noMigrate: before.noMigrate,
    paramChanges: before.paramChanges,
  };
}
