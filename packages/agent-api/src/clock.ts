/**
 * The real clock (wall time and timers) and setLongTimeout: the one implementation, here so that
 * everything that runs agents has it — the daemon (through @paceline/runtime, which re-exports
 * it), the test kit, and an exported OCF shim, which runs without the runtime. Everything else
 * takes a Clock and can be given a simulated one.
 */
import type { Clock } from './context.js';

/**
 * setTimeout for any delay. Node's timers hold at most 2^31 - 1 ms (about 24.8 days); a longer
 * delay — or Infinity or NaN — fires after 1 ms. A long delay is waited in steps instead, each
 * measured against the wall clock's deadline; Infinity never fires; a delay that is not a number,
 * or negative, fires at once (the next turn).
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** Calls `fn` once `ms` have passed; returns a function that cancels it. (`step`: the longest single timer, for tests.) */
export function setLongTimeout(fn: () => void, ms: number, now: () => number = Date.now, step = MAX_TIMER_MS): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let cancelled = false;
  if (ms === Infinity) return () => undefined;
  const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
  const deadline = now() + delay;
  const arm = (left: number): void => {
    timer = setTimeout(
      () => {
        if (cancelled) return;
        const rest = deadline - now();
        if (rest > 0) arm(rest);
        else fn();
      },
      Math.min(left, step),
    );
  };
  arm(delay);
  return () => {
    cancelled = true;
    if (timer !== undefined) clearTimeout(timer);
  };
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  /**
   * Resolves after `ms` (any length: a delay past Node's 24.8-day timer limit is waited in steps;
   * Infinity waits for the signal); rejects when `signal` aborts first (and clears its timer,
   * leaving nothing behind).
   */
  /** Calls `fn` after `ms` (any length, as `sleep`); returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void {
    return setLongTimeout(fn, ms);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      const onAbort = (): void => {
        cancel();
        reject(abortError(signal!));
      };
      const cancel = setLongTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** A shared instance for callers that need no configuration. */
export const systemClock: Clock = new SystemClock();
