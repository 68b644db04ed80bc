/**
 * Durations past Node's timer limit (2^31 - 1 ms, ~24.8 days) on the real clock (issue 16, item 5):
 * a `timeout: 25d` timed out after ~1 ms while the start still happened, and a 25-day monitor ran
 * hundreds of times a second. The model now refuses such durations; the timers are safe anyway
 * (a configuration built in code, or an older document, may still carry one).
 */
import { silentLogger } from '@paceline/agent-api';
import type { ClusterConfig } from '@paceline/model';
import { RecurringMonitors, executeTransition } from '@paceline/executor';
import { SystemClock } from '@paceline/runtime';
import { act, config, graph, recordingAgent, registryWith } from './helpers.js';

const runner = { run: async () => ({ exitCode: 0, stdout: '', stderr: '', timedOut: false, notFound: false }) };
const DAYS_25 = 25 * 86_400_000;

/** A configuration whose operation carries `field: ms` past what the schema accepts. */
function withOp(op: Record<string, unknown>): ClusterConfig {
  const cfg = config([{ id: 'a', ops: [{ name: 'monitor', interval: '1s' }] }]);
  const p = cfg.resources[0]!;
  if (p.type !== 'primitive') throw new Error('not a primitive');
  return { ...cfg, resources: [{ ...p, ops: [{ ...p.ops[0]!, ...op }] }] } as ClusterConfig;
}

describe('durations past the timer limit, on the system clock', () => {
  test('a 25-day recurring monitor does not run at once (it ran ~600 times a second)', async () => {
    const fake = recordingAgent();
    fake.state.set('n1/a', 'started');
    const m = new RecurringMonitors({
      agents: registryWith(fake.agent),
      config: withOp({ interval: DAYS_25 }),
      node: 'n1',
      runner,
      clock: new SystemClock(),
      logger: silentLogger,
      stateRoot: '/s',
    });
    try {
      m.update([{ instance: 'a', role: 'Started' }]);
      await new Promise((r) => setTimeout(r, 300));
      expect(m.list()).toEqual([expect.objectContaining({ instance: 'a', interval: DAYS_25, runs: 0 })]);
    } finally {
      await m.dispose(); // also when it failed: a spinning loop would keep jest from ending
    }
    expect(fake.calls).toHaveLength(0);
  });

  test('an action with a 25-day timeout runs to its end instead of timing out at once', async () => {
    const fake = recordingAgent('fake', (action) => (action === 'start' ? { delay: 150 } : undefined));
    const cfg = withOp({ name: 'start', interval: 0, timeout: DAYS_25 });
    const report = await executeTransition(graph([act('a_start', 'start', 'a', 'n1')]), {
      agents: registryWith(fake.agent),
      config: cfg,
      runner,
      clock: new SystemClock(),
      logger: silentLogger,
      stateRoot: '/s',
    });
    expect(report.results.map((r) => [r.state, r.result?.execution, r.result?.outcome])).toEqual([['succeeded', 'done', 'ok']]);
    expect(report.results[0]!.result!.durationMs).toBeGreaterThanOrEqual(140);
  });
});
