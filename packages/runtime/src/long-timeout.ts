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
    timer = setTimeout(() => {
      if (cancelled) return;
      const rest = deadline - now();
      if (rest > 0) arm(rest);
      else fn();
    }, Math.min(left, step));
  };
  arm(delay);
  return () => {
    cancelled = true;
    if (timer !== undefined) clearTimeout(timer);
  };
}
