/**
 * Alert events and what an alert agent receives: Pacemaker's CRM_alert_* environment (and the
 * CRM_notify_* copies it keeps for ClusterMon scripts), so existing alert agents — alert_file.sh,
 * alert_smtp.sh, alert_snmp.sh — work unchanged. Pure functions: the daemon's events in, data out.
 */
import type { ActionFinishedEvent } from '@paceline/executor';
import { outcomeToRc } from '@paceline/agent-api';
import { formatTimestamp } from './strftime.js';

export type AlertEvent = { readonly at: number; readonly node: string } & (
  | { readonly kind: 'node'; readonly desc: 'member' | 'lost' }
  | { readonly kind: 'fencing'; readonly task: string; readonly rc: number; readonly desc: string }
  | {
      readonly kind: 'resource';
      readonly rsc: string;
      readonly task: string;
      readonly interval: number;
      readonly rc: number;
      readonly targetRc: number;
      readonly status: number;
      readonly desc: string;
      readonly execTimeMs?: number;
    }
  | { readonly kind: 'link'; readonly link: string; readonly task: 'down' | 'up'; readonly desc: string }
);

/** Pacemaker's execution status codes (enum pcmk_exec_status) for how an action ended. */
const EXEC_STATUS: Record<string, number> = {
  done: 0,
  cancelled: 1,
  timeout: 2,
  'not-supported': 3,
  error: 4,
  'not-installed': 7,
};
const EXEC_STATUS_TEXT: Record<string, string> = {
  cancelled: 'Cancelled',
  timeout: 'Timed Out',
  'not-supported': 'Not Supported',
  error: 'Error',
  'not-installed': 'Not installed',
};
/** Pacemaker's words for OCF exit codes (services_ocf_exitcode_str). */
const RC_TEXT: Record<number, string> = {
  0: 'ok',
  1: 'error',
  2: 'invalid parameter',
  3: 'unimplemented feature',
  4: 'insufficient privileges',
  5: 'not installed',
  6: 'not configured',
  7: 'not running',
  8: 'promoted',
  9: 'promoted (failed)',
  190: 'degraded',
  191: 'promoted (degraded)',
};

/**
 * The resource alert for a finished action, or undefined when Pacemaker would not send one: a
 * recurring monitor that found what it expected (it would alert every few seconds).
 */
export function resourceAlert(e: ActionFinishedEvent, at: number): AlertEvent | undefined {
  if (e.action === 'monitor' && e.interval > 0 && e.succeeded) return undefined;
  const done = e.result.execution === 'done';
  const rc = done ? outcomeToRc(e.result.outcome) : 1;
  // The code that was expected: what it returned when it did what was expected; else "running"
  // for a monitor of something that should run, and success for everything else.
  const targetRc = e.succeeded ? rc : 0;
  const desc = done ? (RC_TEXT[rc] ?? `rc ${rc}`) : (EXEC_STATUS_TEXT[e.result.execution] ?? e.result.execution);
  return {
    kind: 'resource',
    at,
    node: e.node,
    rsc: e.instance,
    task: e.action,
    interval: e.interval,
    rc,
    targetRc,
    status: EXEC_STATUS[e.result.execution] ?? 4,
    desc: e.result.reason && !done ? `${desc}: ${e.result.reason}` : desc,
    ...(e.result.durationMs !== undefined ? { execTimeMs: e.result.durationMs } : {}),
  };
}

export interface AlertContext {
  readonly sequence: number;
  readonly recipient?: string;
  readonly timestampFormat: string;
  readonly version: string;
  /** Extra variables of the alert (its `env`). */
  readonly env?: Readonly<Record<string, string>>;
}

/** The environment of one alert agent run. */
export function alertEnv(e: AlertEvent, c: AlertContext): Record<string, string> {
  const v: Record<string, string> = {
    kind: e.kind,
    version: c.version,
    recipient: c.recipient ?? '',
    node_sequence: String(c.sequence),
    timestamp: formatTimestamp(c.timestampFormat, e.at),
    timestamp_epoch: String(Math.floor(e.at / 1000)),
    timestamp_usec: String(Math.round((e.at % 1000) * 1000)),
    node: e.node,
    desc: e.desc,
  };
  switch (e.kind) {
    case 'node':
      break;
    case 'fencing':
      Object.assign(v, { task: e.task, rc: String(e.rc) });
      break;
    case 'resource':
      Object.assign(v, {
        rsc: e.rsc,
        task: e.task,
        interval: String(e.interval),
        rc: String(e.rc),
        target_rc: String(e.targetRc),
        status: String(e.status),
        ...(e.execTimeMs !== undefined ? { exec_time: String(Math.round(e.execTimeMs)) } : {}),
      });
      break;
    case 'link':
      Object.assign(v, { task: e.task, link: e.link });
      break;
  }
  const out: Record<string, string> = { ...c.env };
  for (const [k, x] of Object.entries(v)) {
    out[`CRM_alert_${k}`] = x;
    out[`CRM_notify_${k}`] = x;
  }
  return out;
}

/** The JSON body a webhook receives: the same fields, named as the variables are (without the prefix). */
export function alertJson(
  e: AlertEvent,
  c: AlertContext & { readonly alert: string; readonly from: string; readonly cluster?: string },
): Record<string, unknown> {
  const { at, ...rest } = e;
  return {
    alert: c.alert,
    from: c.from,
    ...(c.cluster !== undefined ? { cluster: c.cluster } : {}),
    sequence: c.sequence,
    ...(c.recipient !== undefined ? { recipient: c.recipient } : {}),
    timestamp: new Date(at).toISOString(),
    ...rest,
  };
}
