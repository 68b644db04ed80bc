/**
 * Two-axis action results. `execution` says whether the action ran to completion; `outcome` says
 * what the agent reported. Together they map one-to-one onto OCF exit codes, so OCF scripts and
 * TypeScript agents are indistinguishable to the executor. Expected outcomes are values: only bugs throw.
 */
import { OcfRc, type ActionResult, type Outcome } from '@paceline/model';

/**
 * The schemas are the model's (results cross the wire between nodes); the types are re-exported
 * here for agents, with the monitor report's schema and types (agents import only the agent API).
 */
export type { ActionResult, Execution, Outcome } from '@paceline/model';
export { MonitorReport, ReplicaLag } from '@paceline/model';

const OUTCOME_TO_RC: Record<Outcome, number> = {
  ok: OcfRc.SUCCESS,
  'generic-error': OcfRc.ERR_GENERIC,
  'invalid-args': OcfRc.ERR_ARGS,
  unimplemented: OcfRc.ERR_UNIMPLEMENTED,
  'insufficient-privileges': OcfRc.ERR_PERM,
  'not-installed': OcfRc.ERR_INSTALLED,
  misconfigured: OcfRc.ERR_CONFIGURED,
  'not-running': OcfRc.NOT_RUNNING,
  'running-promoted': OcfRc.RUNNING_PROMOTED,
  'failed-promoted': OcfRc.FAILED_PROMOTED,
  degraded: OcfRc.DEGRADED,
  'degraded-promoted': OcfRc.DEGRADED_PROMOTED,
};
const RC_TO_OUTCOME = new Map<number, Outcome>(Object.entries(OUTCOME_TO_RC).map(([o, rc]) => [rc, o as Outcome]));

/** The OCF exit code for an outcome. */
export function outcomeToRc(outcome: Outcome): number {
  return OUTCOME_TO_RC[outcome];
}

/** The outcome for an OCF exit code; unknown codes are generic errors. */
export function rcToOutcome(rc: number): Outcome {
  return RC_TO_OUTCOME.get(rc) ?? 'generic-error';
}

export const ok = (reason?: string): ActionResult => ({ execution: 'done', outcome: 'ok', ...(reason ? { reason } : {}) });
export const notRunning = (reason?: string): ActionResult => ({ execution: 'done', outcome: 'not-running', ...(reason ? { reason } : {}) });
export const runningPromoted = (reason?: string): ActionResult => ({ execution: 'done', outcome: 'running-promoted', ...(reason ? { reason } : {}) });
export const failed = (outcome: Exclude<Outcome, 'ok' | 'not-running' | 'running-promoted'>, reason: string): ActionResult => ({
  execution: 'done',
  outcome,
  reason,
});

/** Is `x` an ActionResult (for functions that return a value or the failed result that stopped them)? */
export function isActionResult(x: unknown): x is ActionResult {
  return typeof x === 'object' && x !== null && typeof (x as ActionResult).execution === 'string' && typeof (x as ActionResult).outcome === 'string';
}
