/**
 * Shared wake-ups: waits for points in time with one timer per point, not one per waiter. The
 * recurring monitors of a node fall due together (their coalescing grid): a timer and an abort
 * listener each per run was measurable work on a node at rest running a hundred monitors a second.
 */
import type { Clock } from '@paceline/agent-api';

interface Slot<K> {
  readonly waiters: Set<K>;
  readonly timer: AbortController;
}

/** Why a slot's timer is cleared: every waiter in it was cancelled (one shared reason, no stack each). */
const EMPTIED = new Error('no one waits for this time any more');

export class WakeUps<K> {
  private readonly slots = new Map<number, Slot<K>>();
  private readonly waiting = new Map<K, { readonly at: number; readonly wake: (due: boolean) => void }>();

  constructor(private readonly clock: Clock) {}

  /** Resolves true when clock time `at` has come, or false when `cancel(key)` is called first. */
  wait(key: K, at: number): Promise<boolean> {
    this.cancel(key);
    return new Promise<boolean>((wake) => {
      let slot = this.slots.get(at);
      if (slot === undefined) slot = this.arm(at);
      slot.waiters.add(key);
      this.waiting.set(key, { at, wake });
    });
  }

  /** Ends `key`'s wait (its promise resolves false); nothing when it waits for nothing. */
  cancel(key: K): void {
    const w = this.waiting.get(key);
    if (w === undefined) return;
    this.waiting.delete(key);
    const slot = this.slots.get(w.at);
    if (slot?.waiters.delete(key) && slot.waiters.size === 0) {
      this.slots.delete(w.at);
      slot.timer.abort(EMPTIED);
    }
    w.wake(false);
  }

  private arm(at: number): Slot<K> {
    const slot: Slot<K> = { waiters: new Set(), timer: new AbortController() };
    this.slots.set(at, slot);
    this.clock.sleep(at - this.clock.now(), slot.timer.signal).then(
      () => {
        if (this.slots.get(at) === slot) this.slots.delete(at);
        for (const key of slot.waiters) {
          const w = this.waiting.get(key);
          this.waiting.delete(key);
          w?.wake(true);
        }
      },
      () => undefined, // emptied: every waiter was cancelled
    );
    return slot;
  }
}
