/**
 * Declares one jest test per simulated schedule. The 1000 default seeds are split over
 * simulated.test.ts and simulated-2..4.test.ts (`part` 0..3 of 4) so that jest's workers run them
 * in parallel. SIM_SEED=N (or a list/range: 3,7-9) runs only those seeds, each in the file whose
 * default range holds it (seeds beyond 1000 in part 0); SIM_SEEDS=A-B (scripts/sim-faults.mjs)
 * replaces the default seeds and deals them round-robin to the four parts. SIM_FAULTS=LIST (e.g.
 * isolate,flap or all) mixes the optional fault classes of schedule.ts into every schedule, on top
 * of the classes the suites enable (ENABLED_FAULTS); SIM_FAULTS=none runs the base schedules alone. With SIM_STATS=FILE every result is appended
 * to FILE as one JSON line (SIM_TRACE=1 adds what happened).
 */
import { appendFileSync } from 'node:fs';
import { FAULT_CLASSES, makeSchedule, parseFaultClasses, parseSeeds, type FaultClass } from './schedule.js';
import { explainFailure, runSchedule } from './harness.js';

export const PARTS = 4;
export const DEFAULT_SEEDS = 1000;
/**
 * The optional fault classes `npm test` runs with, each enabled once the daemon passed it (the
 * others: SIM_FAULTS or `sim:faults --faults`). SIM_FAULTS=none runs the base schedules alone.
 */
export const ENABLED_FAULTS: readonly FaultClass[] = ['isolate', 'flap', 'skew', 'replay', 'arbiter', 'slow', 'drop'];

export function faultsFor(env: NodeJS.ProcessEnv = process.env): FaultClass[] {
  if (env['SIM_FAULTS']?.trim() === 'none') return [];
  const extra = parseFaultClasses(env['SIM_FAULTS']);
  return FAULT_CLASSES.filter((c) => ENABLED_FAULTS.includes(c) || extra.includes(c));
}

export function seedsFor(part: number, env: NodeJS.ProcessEnv = process.env): number[] {
  const per = DEFAULT_SEEDS / PARTS;
  const from = part * per + 1;
  const to = (part + 1) * per;
  const one = env['SIM_SEED'];
  if (one !== undefined && one !== '') return parseSeeds(one).filter((s) => (s >= from && s <= to) || (part === 0 && (s < 1 || s > DEFAULT_SEEDS)));
  const many = env['SIM_SEEDS'];
  if (many !== undefined && many !== '') return parseSeeds(many).filter((_s, i) => i % PARTS === part);
  return Array.from({ length: per }, (_x, i) => from + i);
}

export function simSuite(part: number): void {
  const seeds = seedsFor(part);
  if (seeds.length === 0) {
    test.skip(`simulated schedules of part ${part + 1} (none selected)`, () => undefined);
    return;
  }
  const stats = process.env['SIM_STATS'];
  const classes = faultsFor();
  test.each(seeds)(
    'simulated fault schedule %i',
    async (seed) => {
      const t0 = performance.now();
      const debug = process.env['SIM_DEBUG'];
      const r = await runSchedule(makeSchedule(seed, classes), debug ? { debug: (l) => appendFileSync(debug, `${l}\n`) } : {});
      const ms = performance.now() - t0;
      if (stats) {
        appendFileSync(
          stats,
          JSON.stringify({
            seed,
            ms: Math.round(ms),
            faults: r.faults,
            updates: r.updates,
            refusals: r.refusals,
            ticks: r.ticks,
            epoch: r.finalEpoch,
            nodes: r.schedule.nodes.length,
            policy: r.schedule.policy,
            classes,
            violations: r.violations,
            ...(r.violations.length > 0 ? { report: explainFailure(r) } : {}),
            ...(process.env['SIM_TRACE'] ? { log: r.log } : {}),
          }) + '\n',
        );
      }
      if (r.violations.length > 0) throw new Error(explainFailure(r));
    },
    120_000,
  );
}
