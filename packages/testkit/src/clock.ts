/**
 * A simulated clock: time moves only when the test calls `advance`. Timers fire in order of due
 * time, then of creation, so runs are reproducible. Implements the agent-api `Clock` port plus
 * timer functions shaped like the global ones.
 */
import type { Clock } from '@paceline/agent-api';

export interface TimerHandle {
  readonly id: number;
}

interface Timer {
  readonly id: number;
  due: number;
  readonly interval: number | undefined;
  readonly fn: () => void;
}

export class SimulatedClock implements Clock {
  private time: number;
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();

  constructor(startMs = 0) {
    this.time = startMs;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, undefined);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    if (!(ms > 0)) throw new RangeError(`SimulatedClock.setInterval: interval must be positive, got ${ms}`);
    return this.add(fn, ms, ms);
  }

  clearTimeout(h: TimerHandle | undefined): void {
    if (h !== undefined) this.timers.delete(h.id);
  }

  clearInterval(h: TimerHandle | undefined): void {
    this.clearTimeout(h);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
      const onAbort = (): void => {
        this.clearTimeout(h);
        reject(signal?.reason ?? new Error('aborted'));
      };
      const h = this.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Number of timers waiting to fire (tests use it to detect leaks). */
  pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`SimulatedClock.advance: ms must be ≥ 0, got ${ms}`);
    const target = this.time + ms;
    for (let t = this.nextDue(target); t !== undefined; t = this.nextDue(target)) this.fire(t);
    this.time = target;
  }

  /** Like `advance`, but lets promise continuations (e.g. code awaiting `sleep`) run after each timer. */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.time + ms;
    await flushMicrotasks();
    for (let t = this.nextDue(target); t !== undefined; t = this.nextDue(target)) {
      this.fire(t);
      await flushMicrotasks();
    }
    this.time = target;
  }

  /** Drops every timer. */
  dispose(): void {
    this.timers.clear();
  }

  private add(fn: () => void, ms: number, interval: number | undefined): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, due: this.time + Math.max(0, ms), interval, fn });
    return { id };
  }

  private nextDue(target: number): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers.values()) if (t.due <= target && (best === undefined || t.due < best.due || (t.due === best.due && t.id < best.id))) best = t;
    return best;
  }

  private fire(t: Timer): void {
    this.time = Math.max(this.time, t.due);
    if (t.interval === undefined) this.timers.delete(t.id);
    else t.due += t.interval;
    t.fn();
  }
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
