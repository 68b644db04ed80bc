/**
 * What an operation that succeeded, or failed, says about its resource — as tables keyed by the
 * action, the way Pacemaker's rsc_action_matrix keys role changes by role: a success sets the role
 * the action leads to and may forget past failures (Pacemaker's update_resource_state); a failure
 * records the worst failure response, the role the resource is left in, and any ban
 * (unpack_rsc_op_failure). Migrations need both halves of the history: history/migration.ts.
 * Each function edits the working copy of one replay step (state.ts).
 */
import type { OpRecord, Role } from '@paceline/model';
import { INFINITY, OcfRc } from '@paceline/model';
import { roleRank } from '../roles.js';
import { FAIL_RESPONSES, worseResponse, type FailResponse } from '../on-fail.js';
import { migrateToSucceeded, migrationFailed } from './migration.js';
import { addAdjustment, atLeastStarted, banTarget, setNextRole, type Draft, type ReplayContext } from './state.js';

/** When a success forgets the failures recorded before it. */
type Forgets = 'always' | 'never' | 'if-demote-was-the-response' | 'if-it-failed-last';

interface SuccessRule {
  /** The role the success leads to; `at-least-started` raises a lower role to Started. */
  readonly role: Role | 'at-least-started';
  readonly forgets: Forgets;
}

/** A successful action → the role it leads to, and whether it forgets past failures. */
const ON_SUCCESS: ReadonlyMap<string, SuccessRule> = new Map<string, SuccessRule>([
  ['start', { role: 'Started', forgets: 'always' }],
  ['stop', { role: 'Stopped', forgets: 'always' }],
  ['promote', { role: 'Promoted', forgets: 'always' }],
  ['demote', { role: 'Unpromoted', forgets: 'if-demote-was-the-response' }],
  ['migrate_from', { role: 'Started', forgets: 'always' }],
  // A recurring monitor that passes again after failing clears its own failure only.
  ['monitor', { role: 'at-least-started', forgets: 'if-it-failed-last' }],
]);
/** Any other action that succeeded (reload, a custom action) proves the resource is active. */
const OTHER_SUCCESS: SuccessRule = { role: 'at-least-started', forgets: 'never' };

/** Forgets past failures, when their response allows it (on-fail.ts). */
export function forgetFailures(d: Draft): void {
  if (!FAIL_RESPONSES[d.onFail].clearedBySuccess) return;
  setNextRole(d, 'Unknown', 'clear past failures');
  d.onFail = 'ignore';
}

/**
 * A success of `action` with exit code `rc` (the expected one, or a masked probe's "not running").
 * `key` is the operation's `action_interval`.
 */
export function succeeded(d: Draft, ctx: ReplayContext, action: string, rc: number, key: string, masked = false): void {
  if (rc === OcfRc.ERR_INSTALLED || masked) {
    d.role = 'Stopped';
    return;
  }
  if (rc === OcfRc.NOT_RUNNING) return forgetFailures(d);
  if (action === 'migrate_to') return migrateToSucceeded(d, ctx, key);
  const rule = ON_SUCCESS.get(action) ?? OTHER_SUCCESS;
  const forgets =
    rule.forgets === 'always' ||
    (rule.forgets === 'if-demote-was-the-response' && d.onFail === 'demote') ||
    (rule.forgets === 'if-it-failed-last' && d.lastFailureKey === key);
  if (rule.role === 'at-least-started') atLeastStarted(d);
  else d.role = rule.role;
  if (forgets) forgetFailures(d);
}

type FailureRule = (d: Draft, ctx: ReplayContext, op: OpRecord, rc: number, response: FailResponse) => void;

/** A failed action → what it does besides recording the failure response. */
const ON_FAILURE: ReadonlyMap<string, FailureRule> = new Map<string, FailureRule>([
  ['stop', (d, ctx) => addAdjustment(d, { rsc: ctx.resource.id, node: ctx.node, score: -INFINITY, reason: 'stop failed here' })],
  ['migrate_to', migrationFailed],
  ['migrate_from', migrationFailed],
  ['promote', (d) => void (d.role = 'Promoted')],
  // A failed demote leaves it promoted when blocked (and then stops it), else as far as it got.
  [
    'demote',
    (d, _ctx, _op, rc, response) => {
      if (response !== 'block') d.role = rc === OcfRc.NOT_RUNNING ? 'Stopped' : 'Unpromoted';
      else {
        d.role = 'Promoted';
        setNextRole(d, 'Stopped', 'demote with on-fail=block');
      }
    },
  ],
]);

/** A failure of `op` (exit code `rc` after remapping) that its on-fail does not ignore. */
export function failed(d: Draft, ctx: ReplayContext, op: OpRecord, rc: number, key: string): void {
  const { onFail, failRole } = ctx.cluster.onFailFor(ctx.resource, op.action, op.interval);
  d.lastFailureKey = key;
  d.onFail = worseResponse(d.onFail, onFail);
  ON_FAILURE.get(op.action)?.(d, ctx, op, rc, onFail);
  // A probe that finds the agent missing leaves it stopped; any other failure leaves it active.
  if (op.action === 'monitor' && op.interval === 0 && rc === OcfRc.ERR_INSTALLED) d.role = 'Stopped';
  else atLeastStarted(d);
  if (failRole !== 'Started' && roleRank(d.nextRole) < roleRank(failRole)) setNextRole(d, failRole, 'failure');
  if (failRole === 'Stopped')
    addAdjustment(d, { rsc: banTarget(ctx.resource).id, node: undefined, score: -INFINITY, reason: `${op.action} failed with on-fail=stop` });
}
