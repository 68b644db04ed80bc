import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { DEFAULT_FUZZ_SEED, FuzzTally, describeInput, fuzzSettings } from '@paceline/testkit';

describe('fuzz settings and tally', () => {
  test("npm test: a fixed seed and the given runs; the fuzz script's environment overrides both", () => {
    expect(fuzzSettings({ runs: 100 }, {})).toEqual({ numRuns: 100, seed: DEFAULT_FUZZ_SEED, timeoutMs: 60_000 });
    const s = fuzzSettings({ runs: 100 }, { PACELINE_FUZZ_RUNS: '50000', PACELINE_FUZZ_SEED: '987', PACELINE_FUZZ_REPORT: '/r.jsonl' });
    expect(s).toEqual({ numRuns: 50_000, seed: 987, timeoutMs: 2_500_000, report: '/r.jsonl' });
    expect(() => fuzzSettings({ runs: 1 }, { PACELINE_FUZZ_RUNS: 'many' })).toThrow('PACELINE_FUZZ_RUNS="many": write a whole number');
  });

  test('counts outcomes, keeps each distinct failure once with its first input, and reports them all', () => {
    const dir = mkdtempSync(join(tmpdir(), 'paceline-fuzz-test-'));
    try {
      const report = join(dir, 'r.jsonl');
      const tally = new FuzzTally('numbers', { seed: 3, report });
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 99 }), (n) =>
          tally.check(n, () => {
            if (n % 10 === 7) throw new RangeError(`bad number ${n}`);
            if (n % 10 === 3) throw new Error('three\nsecond line');
            return n % 2 === 0 ? 'even' : 'odd';
          }),
        ),
        { numRuns: 500, seed: 3 },
      );
      const s = tally.summary();
      expect(s.runs).toBe(500);
      expect(Object.keys(s.outcomes)).toEqual(['even', 'odd']);
      expect(s.failures.map((f) => f.key).sort()).toEqual(['Error: three', 'RangeError: bad number N']);
      const bad = s.failures.find((f) => f.key.startsWith('RangeError'))!;
      expect(bad.message).toBe(`RangeError: bad number ${bad.sample}`);
      expect(() => tally.finish()).toThrow(/fuzz target "numbers" \(seed 3, 500 runs\): 2 distinct failure\(s\)\n {2}- /);
      const line = JSON.parse(readFileSync(report, 'utf8').trim()) as { target: string; runs: number; failures: unknown[] };
      expect(line).toMatchObject({ target: 'numbers', runs: 500 });
      expect(line.failures).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a clean run finishes quietly; inputs are shown bounded, control characters visible', () => {
    const tally = new FuzzTally('clean', { seed: 1 });
    tally.check('x', () => 'ok');
    expect(tally.finish()).toMatchObject({ runs: 1, outcomes: { ok: 1 }, failures: [] });
    expect(describeInput('a\u0000b')).toBe('"a\\u0000b"');
    expect(describeInput('y'.repeat(1000))).toMatch(/… \(1002 chars\)$/);
    expect(describeInput(10n)).toBe('"10n"');
  });
});
