/**
 * How one recorded operation ended, read as a table (Pacemaker's remap of an operation's result in
 * unpack.c): the agent's exit code against the code the scheduler expected gives an execution
 * status (done, error, a hard or fatal error, not supported), and a few exit codes say something
 * about the role by themselves (running promoted, not running). A probe that finds the agent not
 * installed or not configured is masked: it bans the node but is not a failure.
 */
import type { ExecStatus, OpRecord } from '@paceline/model';
import { OcfRc } from '@paceline/model';

/** What an operation's result means, before failure handling. */
export interface OpOutcome {
  readonly isProbe: boolean;
  /** The exit code after remapping (degraded counts as running; a masked probe as not running). */
  readonly rc: number;
  /** The exit code the scheduler expected. */
  readonly target: number;
  readonly status: ExecStatus;
  /** A probe that found the agent not installed or not configured. */
  readonly masked: boolean;
  /** The role the exit code proves by itself (a promoted instance). */
  readonly role?: 'Promoted';
  /** Not running where that is fine (a probe, or expected): stopped here, past failures forgotten. */
  readonly notRunning?: boolean;
  /** A hard error: if it was a stop that fencing cannot answer, the resource is blocked. */
  readonly hard?: boolean;
}

type RcEffect = Pick<OpOutcome, 'status' | 'role' | 'notRunning' | 'hard'>;
/**
 * `expected` is done when the exit code is the one expected, error otherwise; `managed`: the
 * resource is managed.
 */
type RcRule = (expected: 'done' | 'error', rc: number, target: number, isProbe: boolean, interval: number, managed: boolean) => RcEffect;

const DONE: RcEffect = { status: 'done' };
const ERROR: RcEffect = { status: 'error' };
const STOPPED: RcEffect = { status: 'done', notRunning: true };
const HARD_ERROR: RcEffect = { status: 'error-hard', hard: true };
const hardError: RcRule = () => HARD_ERROR;

/** Exit code → execution status and what it says about the role. */
const BY_RC: ReadonlyMap<number, RcRule> = new Map<number, RcRule>([
  [OcfRc.SUCCESS, (expected, _rc, target, isProbe) => (isProbe && target === OcfRc.NOT_RUNNING ? DONE : { status: expected })],
  [OcfRc.NOT_RUNNING, (expected, rc, target, isProbe, _interval, managed) => (isProbe || target === rc || !managed ? STOPPED : { status: expected })],
  [OcfRc.RUNNING_PROMOTED, (expected, rc, target, isProbe) => ({ status: isProbe && rc !== target ? 'done' : expected, role: 'Promoted' })],
  [OcfRc.FAILED_PROMOTED, () => ({ status: 'error', role: 'Promoted' })],
  [OcfRc.ERR_CONFIGURED, () => ({ status: 'error-fatal' })],
  [OcfRc.ERR_UNIMPLEMENTED, (_expected, _rc, _target, _isProbe, interval) => (interval === 0 ? HARD_ERROR : { status: 'not-supported' })],
  [OcfRc.ERR_INSTALLED, hardError],
  [OcfRc.ERR_ARGS, hardError],
  [OcfRc.ERR_PERM, hardError],
]);
/** Any other exit code is an error. */
const OTHER_RC: RcRule = () => ERROR;

/** Monitor results that mean "running, but degraded" count as running. */
const DEGRADED: ReadonlyMap<number, number> = new Map([
  [OcfRc.DEGRADED, OcfRc.SUCCESS],
  [OcfRc.DEGRADED_PROMOTED, OcfRc.RUNNING_PROMOTED],
]);

/** The exit code a probe expects (not running) and every other operation (success). */
export function expectedRc(op: OpRecord): number {
  if (op.action === 'monitor' && op.interval === 0) return OcfRc.NOT_RUNNING;
  return OcfRc.SUCCESS;
}

/** What `op` means for a resource that is (`managed`) or is not managed. */
export function readOutcome(op: OpRecord, managed: boolean): OpOutcome {
  const isProbe = op.action === 'monitor' && op.interval === 0;
  const target = op.expectedRc ?? expectedRc(op);
  let rc = op.action === 'monitor' ? (DEGRADED.get(op.rc) ?? op.rc) : op.rc;
  let status = op.status;
  const masked = isProbe && (rc === OcfRc.ERR_INSTALLED || rc === OcfRc.ERR_CONFIGURED || status === 'not-installed');
  if (masked) {
    status = 'done';
    rc = OcfRc.NOT_RUNNING;
  }
  // Only an operation that ran to the end has an exit code worth reading.
  if (status !== 'done' && status !== 'error') return { isProbe, rc, target, masked, status, role: undefined, notRunning: undefined, hard: undefined };
  const rule = BY_RC.get(rc) ?? OTHER_RC;
  const effect = rule(target === rc ? 'done' : 'error', rc, target, isProbe, op.interval, managed);
  return { isProbe, rc, target, masked, status: effect.status, role: effect.role, notRunning: effect.notRunning, hard: effect.hard };
}
