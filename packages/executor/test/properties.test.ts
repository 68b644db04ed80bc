/** Property tests: for random graphs, failures and concurrency limits, ordering and bookkeeping hold. */
import fc from 'fast-check';
import { silentLogger } from '@paceline/agent-api';
import { executeTransition } from '@paceline/executor';
import { act, config, drive, graph, recordingAgent, registryWith, SimClock } from './helpers.js';

const runner = { run: async () => ({ exitCode: 0, stdout: '', stderr: '', timedOut: false, notFound: false }) };

const scenario = fc.record({
  n: fc.integer({ min: 1, max: 9 }),
  edges: fc.array(fc.tuple(fc.nat(8), fc.nat(8)), { maxLength: 16 }),
  failing: fc.array(fc.nat(8), { maxLength: 3 }),
  delays: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 9, maxLength: 9 }),
  concurrency: fc.integer({ min: 1, max: 4 }),
});

describe('executeTransition properties', () => {
  test('predecessors finish first, dependents of failures never run, the limit holds, every action is reported once', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ n, edges, failing, delays, concurrency }) => {
        const ids = Array.from({ length: n }, (_, i) => `r${i}`);
        // Edges only from lower to higher index: a DAG.
        const dag = edges.filter(([a, b]) => a < b && b < n).map(([a, b]): [string, string] => [`r${a}_start`, `r${b}_start`]);
        const fail = new Set(failing.filter((i) => i < n).map((i) => `r${i}`));
        const clock = new SimClock();
        const fake = recordingAgent('fake', (_action, ctx) => {
          const i = Number(ctx.instance.slice(1));
          return { delay: delays[i] ?? 0, ...(fail.has(ctx.instance) ? { result: { execution: 'done', outcome: 'generic-error', reason: 'injected' } } : {}) };
        });
        const cfg = config(ids.map((id) => ({ id })));
        const g = graph(
          ids.map((id, i) => act(`${id}_start`, 'start', id, i % 2 ? 'n2' : 'n1')),
          dag,
        );
        const report = await drive(
          clock,
          executeTransition(g, { agents: registryWith(fake.agent), config: cfg, runner, clock, logger: silentLogger, stateRoot: '/s', concurrency }),
          5,
        );

        expect(report.results.map((r) => r.id)).toEqual(g.actions.map((a) => a.id));
        expect(fake.maxInFlight()).toBeLessThanOrEqual(concurrency);
        const byId = new Map(report.results.map((r) => [r.id, r]));
        const callOf = new Map(fake.calls.map((c) => [`${c.instance}_start`, c]));
        expect(fake.calls.length).toBe(new Set(fake.calls.map((c) => c.instance)).size); // each ran at most once
        for (const [before, after] of dag) {
          const a = byId.get(after)!;
          const b = byId.get(before)!;
          if (a.state === 'succeeded' || a.state === 'failed') {
            expect(b.state).toBe('succeeded');
            expect(callOf.get(after)!.at).toBeGreaterThanOrEqual(callOf.get(before)!.end!);
          }
          if (b.state !== 'succeeded') expect(a.state).toBe('not-run');
        }
        for (const r of report.results) {
          const id = r.id.replace(/_start$/, '');
          expect(r.state === 'failed').toBe(fail.has(id) && r.result !== undefined);
          if (r.state === 'not-run') expect(callOf.has(r.id)).toBe(false);
        }
        expect(report.records.length).toBe(fake.calls.length);
        expect(clock.pending()).toBe(0);
      }),
      { numRuns: 60, seed: 20261122 },
    );
  });
});
