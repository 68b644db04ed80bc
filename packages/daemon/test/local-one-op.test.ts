/**
 * One operation of an instance at a time on its node (as Pacemaker's executor runs them): a
 * recurring monitor of the instance does not run while a start, stop, promote or demote of it is
 * under way, and the result of one that was already running is discarded. Found in the live lab:
 * the replica's monitor ran during its promote, saw the replica worker stopped for the promote,
 * reported a failure, and the mirror was banned from its only surviving node.
 */
import { silentLogger } from '@paceline/agent-api';
import { ExecutorEvents } from '@paceline/executor';
import { LocalNode, toStop } from '../src/local.js';
import { act, config, drive, recordingAgent, registryWith, SimClock } from '../../executor/test/helpers.js';

const runner = { run: async () => ({ exitCode: 0, stdout: '', stderr: '', timedOut: false, notFound: false }) };

function localNode(behaviour: Parameters<typeof recordingAgent>[1]) {
  const clock = new SimClock();
  const fake = recordingAgent('fake', behaviour);
  const failures: string[] = [];
  const cfg = config([
    {
      id: 'a',
      ops: [
        { name: 'monitor', interval: '1s' },
        { name: 'monitor', interval: '2s', role: 'Promoted' },
      ],
    },
  ]);
  const node = new LocalNode(
    {
      node: 'n1',
      agents: registryWith(fake.agent),
      runner,
      clock,
      logger: silentLogger,
      stateRoot: '/nonexistent',
      events: new ExecutorEvents(),
      onChange: () => undefined,
      onMonitorFailure: (instance, reason) => failures.push(`${instance}: ${reason}`),
    },
    cfg,
    [],
  );
  return { clock, fake, failures, node };
}

describe('LocalNode runs one operation of an instance at a time', () => {
  test('a stop that takes 5 s is not reported as a failed monitor (the old monitor would see the resource half-stopped)', async () => {
    // The stop empties the resource at once and then takes 5 s to finish: a monitor meanwhile says "not running".
    let stopping = false;
    const t = localNode((action, ctx) => {
      if (action === 'stop') {
        stopping = true;
        t.fake.state.delete(`${ctx.node}/${ctx.instance}`);
        return { delay: 5000 };
      }
      return undefined;
    });
    const { clock, fake, failures, node } = t;
    const started = await drive(clock, node.run('k1', act('a_start_0 n1', 'start', 'a', 'n1'), true));
    expect(started.outcome).toBe('ok');
    await drive(clock, clock.sleep(3500)); // three monitors ran, all healthy
    expect(fake.calls.filter((c) => c.action === 'monitor')).toHaveLength(3);
    const stopped = await drive(clock, node.run('k2', act('a_stop_0 n1', 'stop', 'a', 'n1'), true));
    expect(stopping).toBe(true);
    expect(stopped.outcome).toBe('ok');
    await drive(clock, clock.sleep(5000));
    expect(failures).toEqual([]);
    expect(node.failures).toEqual([]);
    // No monitor ran during the stop, and none after it (the resource is stopped).
    const stop = fake.calls.find((c) => c.action === 'stop')!;
    expect(fake.calls.filter((c) => c.action === 'monitor' && c.at >= stop.at)).toEqual([]);
    await node.dispose();
  });

  test('a stop sent while a slow start runs waits for it (never two actions of an instance at once); the start was pending meanwhile', async () => {
    const t = localNode((action) => (action === 'start' ? { delay: 3000 } : undefined));
    const { clock, fake, node } = t;
    const start = node.run('k1', act('a_start_0 n1', 'start', 'a', 'n1'), true);
    await drive(clock, clock.sleep(1000));
    // The start is under way: recorded as pending, and a node that must stop everything stops it too.
    expect(toStop(node.history)).toEqual([{ instance: 'a', role: 'Started' }]);
    const stop = node.run('k2', act('a_stop_0 n1', 'stop', 'a', 'n1'), true);
    const [started, stopped] = await drive(clock, Promise.all([start, stop]));
    expect([started.outcome, stopped.outcome]).toEqual(['ok', 'ok']);
    const s = fake.calls.find((c) => c.action === 'start')!;
    const p = fake.calls.find((c) => c.action === 'stop')!;
    expect(p.at).toBeGreaterThanOrEqual(s.end!);
    expect(fake.maxInFlight()).toBe(1);
    expect(toStop(node.history)).toEqual([]);
    await node.dispose();
  });

  test('a node that must stop everything gives up a slow start: the start ends at once, is not a failure, and the stop behind it runs', async () => {
    const t = localNode((action) => (action === 'start' ? { delay: 60_000, result: { execution: 'done', outcome: 'ok' } } : undefined));
    const { clock, fake, node } = t;
    const start = node.run('k1', act('a_start_0 n1', 'start', 'a', 'n1'), true);
    // Until the agent's start is running (the action reaches it after real I/O: its state directory).
    for (let i = 0; i < 100 && !fake.calls.some((c) => c.action === 'start'); i++) await drive(clock, clock.sleep(100));
    expect(fake.calls.filter((c) => c.action === 'start')).toHaveLength(1);
    const targets = toStop(node.history);
    expect(targets).toEqual([{ instance: 'a', role: 'Started' }]);
    expect(node.abortStarts('this node may not run resources')).toEqual(['a']);
    const stop = node.run('k2', act('a_stop_0 n1', 'stop', 'a', 'n1'), true);
    const [started, stopped] = await drive(clock, Promise.all([start, stop]));
    // Given up: an unknown outcome (pending until the stop), no fail count; the stop ran right after.
    // The agent's own answer to its aborted signal ('cancelled'), not the 5 s timeout's.
    expect(started).toMatchObject({ execution: 'cancelled', reason: 'given up: this node may not run resources; cancelled' });
    expect(stopped.outcome).toBe('ok');
    expect(node.failures).toEqual([]);
    const start1 = fake.calls.find((c) => c.action === 'start')!;
    const p = fake.calls.find((c) => c.action === 'stop')!;
    expect(p.at).toBeGreaterThanOrEqual(start1.end!);
    expect(fake.maxInFlight()).toBe(1);
    expect(toStop(node.history)).toEqual([]);
    // Nothing left to give up.
    expect(node.abortStarts('again')).toEqual([]);
    await node.dispose();
  });

  test('a monitor in flight when a promote begins is cancelled and its result discarded; the Promoted monitor follows', async () => {
    let promoting = false;
    const t = localNode((action) => {
      if (action === 'promote') {
        promoting = true;
        return { delay: 4000 };
      }
      // A slow monitor: in flight when the promote arrives; it would fail once the promote has begun.
      if (action === 'monitor' && !promoting) return { delay: 600 };
      if (action === 'monitor' && promoting && t.fake.state.get('n1/a') !== 'promoted')
        return { execution: 'done', outcome: 'generic-error', reason: 'the replica worker is gone' };
      return undefined;
    });
    const { clock, fake, failures, node } = t;
    await drive(clock, node.run('k1', act('a_start_0 n1', 'start', 'a', 'n1'), true));
    await drive(clock, clock.sleep(1200)); // the first monitor (at +1 s) is in flight until +1.6 s
    const promoted = await drive(clock, node.run('k2', act('a_promote_0 n1', 'promote', 'a', 'n1'), true));
    expect(promoted.outcome).toBe('ok');
    await drive(clock, clock.sleep(5000));
    expect(failures).toEqual([]);
    expect(node.failures).toEqual([]);
    const promote = fake.calls.find((c) => c.action === 'promote')!;
    const during = fake.calls.filter((c) => c.action === 'monitor' && c.at > promote.at && c.at < promote.end!);
    expect(during).toEqual([]);
    expect(fake.calls.filter((c) => c.action === 'monitor' && c.at >= promote.end!).length).toBeGreaterThanOrEqual(2);
    await node.dispose();
  });
});
