/** The real clock: wall time and timers. The only Clock that touches Date and setTimeout. */
import type { Clock } from '@paceline/agent-api';
import { setLongTimeout } from './long-timeout.js';

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
