/**
 * Protocol checks with a verdict a monitor can act on. A check (an HTTP GET, a DNS query, an IMAP
 * greeting ...) either answers as expected (`ok`), answers wrongly or errors (`failed`), finds
 * nobody there (`not-running`: connection refused, no socket), or gets no answer in time (`hung`:
 * a stopped or wedged daemon whose kernel still accepts connections). Each verdict carries what
 * the check saw, for the operator.
 */
import { failed, notRunning, ok, type ActionResult } from '../result.js';

export type Verdict = 'ok' | 'failed' | 'not-running' | 'hung';

export interface CheckVerdict {
  readonly verdict: Verdict;
  /** What the check saw: "GET http://10.0.0.5/ → 200", "connect ECONNREFUSED 10.0.0.5:80", ... */
  readonly saw: string;
}

/** What a check function returns when it got an answer: was it the expected one, and what was it. */
export interface CheckAnswer {
  readonly ok: boolean;
  readonly saw: string;
}

/** Error codes meaning "nobody serves there". */
const NOBODY = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'EADDRNOTAVAIL', 'ENETUNREACH', 'EHOSTUNREACH']);

/** Error codes meaning "asked, but no answer in time" (a client library's own timeout). */
const TIMEOUT = new Set(['ETIMEOUT', 'ETIMEDOUT']);

/** The errno-style code of an error or of its cause chain (fetch wraps the socket error). */
export function errorCode(e: unknown): string | undefined {
  for (let x: unknown = e, i = 0; x && i < 5; x = (x as { cause?: unknown }).cause, i++) {
    const code = (x as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function message(e: unknown): string {
  const parts: string[] = [];
  for (let x: unknown = e, i = 0; x && i < 5; x = (x as { cause?: unknown }).cause, i++) {
    const m = (x as { message?: unknown }).message;
    if (typeof m === 'string' && m && !parts.includes(m)) parts.push(m);
  }
  return parts.join(': ') || String(e);
}

/**
 * Runs `check` with its own timeout, linked to `signal` (the action's). The check gets a signal
 * that aborts at the timeout and must pass it to its I/O. A thrown error is classified: refused /
 * reset / no such socket → not-running; the timeout → hung; the caller's cancellation → failed
 * ("cancelled"); anything else → failed. `what` names the check in the verdict ("GET http://...").
 */
export async function runCheck(
  what: string,
  timeoutMs: number,
  signal: AbortSignal,
  check: (signal: AbortSignal) => Promise<CheckAnswer>,
): Promise<CheckVerdict> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  const both = AbortSignal.any([signal, timeout.signal]);
  // A check that ignores its signal must not hold the monitor past its timeout.
  const expired = new Promise<'expired'>((resolve) => both.addEventListener('abort', () => resolve('expired'), { once: true }));
  try {
    const r = await Promise.race([check(both), expired]);
    if (r === 'expired') throw both.reason;
    return { verdict: r.ok ? 'ok' : 'failed', saw: `${what}: ${r.saw}` };
  } catch (e) {
    if (timeout.signal.aborted) return { verdict: 'hung', saw: `${what}: no answer within ${timeoutMs} ms` };
    if (signal.aborted) return { verdict: 'failed', saw: `${what}: cancelled` };
    const code = errorCode(e);
    if (code && TIMEOUT.has(code)) return { verdict: 'hung', saw: `${what}: no answer (${code})` };
    if (code && NOBODY.has(code)) return { verdict: 'not-running', saw: `${what}: ${code === 'ENOENT' ? 'no such socket' : code}` };
    return { verdict: 'failed', saw: `${what}: ${code ? `${code} ` : ''}${message(e)}`.trim() };
  } finally {
    clearTimeout(timer);
  }
}

/** The monitor result for a verdict: hung and failed are errors ('generic-error') whose reason says which. */
export function verdictResult(v: CheckVerdict): ActionResult {
  switch (v.verdict) {
    case 'ok':
      return ok();
    case 'not-running':
      return notRunning(v.saw);
    case 'hung':
      return failed('generic-error', `hung: ${v.saw}`);
    case 'failed':
      return failed('generic-error', v.saw);
  }
}
