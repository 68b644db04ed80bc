import { silentLogger } from '@paceline/agent-api';
import { ClusterStatus } from '@paceline/model';
import { RecurringMonitors, recordResult, type MonitorFailedEvent } from '@paceline/executor';
import { HOLD_WAIT_MS, coalescedDelay } from '../src/monitors.js';
import { SystemClock } from '@paceline/runtime';
import { config, recordingAgent, registryWith, SimClock } from './helpers.js';

const runner = { run: async () => ({ exitCode: 0, stdout: '', stderr: '', timedOut: false, notFound: false }) };

describe('RecurringMonitors', () => {
  test('coalescedDelay aligns wake-ups to the grid, never earlier than the interval', () => {
    expect(coalescedDelay(1_000_000, 7000, 0)).toBe(7000);
    expect(coalescedDelay(1_000_000, 7000, 700)).toBe(7300);
    expect(coalescedDelay(1_000_000, 10_000, 1000)).toBe(10_000);
    expect(coalescedDelay(1_000_250, 10_000, 1000)).toBe(10_750);
  });

  test('monitors falling due within one grid step run in the same wake-up (default grid: interval/10, at most 1 s)', async () => {
    const clock = new SimClock();
    const fake = recordingAgent();
    const cfg = config(['a', 'b', 'c'].map((id) => ({ id, ops: [{ name: 'monitor', interval: '10s' }] })));
    for (const id of ['a', 'b', 'c']) fake.state.set(`n1/${id}`, 'started');
    const m = new RecurringMonitors({ agents: registryWith(fake.agent), config: cfg, node: 'n1', runner, clock, logger: silentLogger, stateRoot: '/s' });
    m.update([{ instance: 'a', role: 'Started' }]);
    await clock.advance(300);
    m.update([
      { instance: 'a', role: 'Started' },
      { instance: 'b', role: 'Started' },
    ]);
    await clock.advance(400);
    m.update([
      { instance: 'a', role: 'Started' },
      { instance: 'b', role: 'Started' },
      { instance: 'c', role: 'Started' },
    ]);
    await clock.advance(12_000);
    // Started at +0, +300 and +700 ms: a is first checked at +10 s, b and c together at +11 s (the first whole second at least 10 s after each start).
    const times = new Set(fake.calls.map((c) => c.at - 1_000_000));
    expect(fake.calls.map((c) => c.instance).sort()).toEqual(['a', 'b', 'c']);
    expect([...times]).toEqual([...times].filter((t) => t % 1000 === 0));
    expect([...times].sort((x, y) => x - y)).toEqual([10_000, 11_000]);
    await m.dispose();
  });

  test("runs each active instance's monitors at their intervals and reports a failure once", async () => {
    const clock = new SimClock();
    const fake = recordingAgent();
    fake.state.set('n1/a', 'started');
    fake.state.set('n1/b', 'promoted');
    const cfg = config([
      {
        id: 'a',
        ops: [
          { name: 'monitor', interval: '10s' },
          { name: 'monitor', interval: '60s', enabled: false },
        ],
      },
      {
        id: 'b',
        ops: [
          { name: 'monitor', interval: '7s', role: 'Promoted' },
          { name: 'monitor', interval: '11s' },
        ],
      },
    ]);
    // Exact intervals here; coalescing is tested below.
    const m = new RecurringMonitors({
      agents: registryWith(fake.agent),
      config: cfg,
      node: 'n1',
      runner,
      clock,
      logger: silentLogger,
      stateRoot: '/s',
      coalesceMs: 0,
    });
    const failures: MonitorFailedEvent[] = [];
    let finished = 0;
    m.on('monitor-failed', (e) => failures.push(e));
    m.on('action-finished', () => finished++);
    m.update([
      { instance: 'a', role: 'Started' },
      { instance: 'b', role: 'Promoted' },
      { instance: 'gone', role: 'Started' },
    ]);
    expect(m.list().map((x) => `${x.instance}@${x.interval}`)).toEqual(['a@10000', 'b@7000']);
    await clock.advance(21_000);
    expect(fake.calls.map((c) => `${c.instance}@${c.at - 1_000_000}`)).toEqual(['b@7000', 'a@10000', 'b@14000', 'a@20000', 'b@21000']);
    expect(finished).toBe(5);
    expect(failures).toEqual([]);

    fake.state.delete('n1/a'); // a dies
    await clock.advance(30_000);
    expect(failures).toHaveLength(1);
    const f = failures[0]!;
    expect(f).toMatchObject({ instance: 'a', primitive: 'a', interval: 10_000, succeeded: false, result: { outcome: 'not-running' } });
    const status = recordResult(ClusterStatus.parse({}), f.record!.node, f.record!.instance, f.record!.op, f.record!.result, f.record!.at);
    expect(status.nodes[0]!.failures[0]).toMatchObject({ resource: 'a', count: 1, interval: 10_000 });

    fake.state.set('n1/a', 'started'); // recovers, then fails again: reported again
    await clock.advance(10_000);
    fake.state.delete('n1/a');
    await clock.advance(10_000);
    expect(failures).toHaveLength(2);

    m.update([{ instance: 'b', role: 'Started' }]);
    expect(m.list().map((x) => `${x.instance}@${x.interval}`)).toEqual(['b@11000']);
    await m.dispose();
    expect(clock.pending()).toBe(0);
    expect(m.listenerCount('monitor-failed')).toBe(0);
  });

  test('hold(): an action on an instance cancels its in-flight monitor (result discarded) and no monitor of it runs until release', async () => {
    const clock = new SimClock();
    // The replica's monitor takes 3 s and would fail once the promote has begun (its worker stops).
    let promoting = false;
    const fake = recordingAgent('fake', (action) =>
      action === 'monitor'
        ? { delay: 3000, ...(promoting ? { result: { execution: 'done', outcome: 'generic-error', reason: 'the replica worker is gone' } } : {}) }
        : undefined,
    );
    fake.state.set('n1/a', 'started');
    const cfg = config([
      {
        id: 'a',
        ops: [
          { name: 'monitor', interval: '10s' },
          { name: 'monitor', interval: '5s', role: 'Promoted' },
        ],
      },
    ]);
    const m = new RecurringMonitors({
      agents: registryWith(fake.agent),
      config: cfg,
      node: 'n1',
      runner,
      clock,
      logger: silentLogger,
      stateRoot: '/s',
      coalesceMs: 0,
    });
    const failures: MonitorFailedEvent[] = [];
    const finished: unknown[] = [];
    m.on('monitor-failed', (e) => failures.push(e));
    m.on('action-finished', (e) => finished.push(e));
    m.update([{ instance: 'a', role: 'Started' }]);
    await clock.advance(11_000); // the first monitor is in flight (10 s + 3 s)
    expect(fake.calls.map((c) => c.action)).toEqual(['monitor']);
    promoting = true;
    const held = m.hold('a');
    await clock.advance(0);
    const release = await held;
    expect(m.list()).toEqual([]);
    // Other instances' records call update() while the action runs: a's loop stays stopped.
    m.update([{ instance: 'a', role: 'Started' }]);
    expect(m.list()).toEqual([]);
    await clock.advance(30_000);
    expect(fake.calls.map((c) => c.action)).toEqual(['monitor']);
    expect(finished).toEqual([]);
    expect(failures).toEqual([]);
    fake.state.set('n1/a', 'promoted');
    promoting = false;
    release();
    release(); // idempotent
    m.update([{ instance: 'a', role: 'Promoted' }]);
    expect(m.list().map((x) => `${x.instance}@${x.interval}@${x.role}`)).toEqual(['a@5000@Promoted']);
    await clock.advance(9_000);
    expect(failures).toEqual([]);
    expect(finished).toHaveLength(1);
    await m.dispose();
  });

  test('hold(): a hung in-flight monitor delays the action by at most HOLD_WAIT_MS', async () => {
    const clock = new SimClock();
    const fake = recordingAgent('fake', (action) => (action === 'monitor' ? 'hang' : undefined));
    fake.state.set('n1/a', 'started');
    const cfg = config([{ id: 'a', ops: [{ name: 'monitor', interval: '10s', timeout: '60s' }] }]);
    const m = new RecurringMonitors({
      agents: registryWith(fake.agent),
      config: cfg,
      node: 'n1',
      runner,
      clock,
      logger: silentLogger,
      stateRoot: '/s',
      coalesceMs: 0,
    });
    m.update([{ instance: 'a', role: 'Started' }]);
    await clock.advance(10_500);
    let got = false;
    const t0 = clock.now();
    void m.hold('a').then(() => {
      got = true;
    });
    await clock.advance(HOLD_WAIT_MS - 100);
    expect(got).toBe(false);
    await clock.advance(200);
    expect(got).toBe(true);
    expect(clock.now() - t0).toBeLessThanOrEqual(HOLD_WAIT_MS + 100);
    await m.dispose();
  });

  test('a monitor that hangs times out and counts as failed', async () => {
    const clock = new SimClock();
    const fake = recordingAgent('fake', (action) => (action === 'monitor' ? 'hang' : undefined));
    const cfg = config([{ id: 'a', ops: [{ name: 'monitor', interval: '10s', timeout: '2s' }] }]);
    const m = new RecurringMonitors({ agents: registryWith(fake.agent), config: cfg, node: 'n1', runner, clock, logger: silentLogger, stateRoot: '/s' });
    const failures: MonitorFailedEvent[] = [];
    m.on('monitor-failed', (e) => failures.push(e));
    m.updateFromPlacement([
      { resource: 'a', instance: 'a', node: 'n1', role: 'Started', managed: true, failed: false },
      { resource: 'a', instance: 'a', node: 'n2', role: 'Started', managed: true, failed: false },
    ]);
    await clock.advance(12_000);
    expect(failures[0]?.result.execution).toBe('timeout');
    await m.dispose();
    expect(clock.pending()).toBe(0);
  });

  test('real-clock mode: drives monitors with the system clock', async () => {
    const fake = recordingAgent();
    fake.state.set('n1/a', 'started');
    const cfg = config([{ id: 'a', ops: [{ name: 'monitor', interval: '40ms' }] }]);
    const m = new RecurringMonitors({
      agents: registryWith(fake.agent),
      config: cfg,
      node: 'n1',
      runner,
      clock: new SystemClock(),
      logger: silentLogger,
      stateRoot: '/s',
    });
    m.update([{ instance: 'a', role: 'Started' }]);
    await new Promise((r) => setTimeout(r, 230));
    await m.dispose();
    expect(fake.calls.length).toBeGreaterThanOrEqual(3);
    const after = fake.calls.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.calls.length).toBe(after);
  });
});
