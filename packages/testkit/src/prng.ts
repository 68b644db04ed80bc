/**
 * A small seeded pseudo-random generator (the mulberry32 construction: a 32-bit counter stepped by
 * a Weyl constant and mixed with multiply/xor-shift). Same seed, same sequence, on every platform.
 * Not for cryptography.
 */
import { TestkitError } from './errors.js';

export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (z ^ (z >>> 14)) >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new TestkitError('TESTKIT_USAGE', 'Prng.pick: no items');
    return items[this.int(items.length)] as T;
  }

  /** An independent generator derived from this one (for sub-components). */
  fork(): Prng {
    return new Prng(this.nextUint32());
  }
}

export function mulberry32(seed: number): () => number {
  const p = new Prng(seed);
  return () => p.next();
}
