import { memoryLogger, silentLogger } from '@paceline/agent-api';
import { ClusterConfig, ClusterStatus } from '@paceline/model';
import { executeTransition, ExecutorEvents, recordAll, refreshUnknown, RC_UNKNOWN, unknownInstances, type ExecutorDeps } from '@paceline/executor';
import { act, config, drive, graph, recordingAgent, registryWith, SimClock } from './helpers.js';

const runner = { run: async () => ({ exitCode: 0, stdout: '', stderr: '', timedOut: false, notFound: false }) };

function deps(clock: SimClock, cfg: ClusterConfig, agents: ReturnType<typeof registryWith>, extra: Partial<ExecutorDeps> = {}): ExecutorDeps {
  return { agents, config: cfg, runner, clock, logger: silentLogger, stateRoot: '/state', ...extra };
}

describe('executeTransition', () => {
  test("passes the daemon's key file and the nodes fencing powered off (asked when each action starts) to the agents", async () => {
    const clock = new SimClock();
    const seen: Array<[string, string | undefined, readonly string[] | undefined]> = [];
    let fenced: string[] = [];
    const fake = recordingAgent('fake', (_action, ctx) => {
      seen.push([ctx.instance, ctx.keyFile, ctx.fencedNodes]);
      fenced = ['n2']; // fenced while a's start runs: b's start, which begins later, is told
      return undefined;
    });
    const cfg = config([{ id: 'a' }, { id: 'b' }]);
    const g = graph([act('a_start', 'start', 'a', 'n1'), act('b_start', 'start', 'b', 'n1')], [['a_start', 'b_start']]);
    const report = await drive(
      clock,
      executeTransition(g, deps(clock, cfg, registryWith(fake.agent), { keyFile: '/etc/paceline/authkey', fencedNodes: () => fenced })),
    );
    expect(report.succeeded).toBe(true);
    expect(seen).toEqual([
      ['a', '/etc/paceline/authkey', []],
      ['b', '/etc/paceline/authkey', ['n2']],
    ]);
  });

  test('runs actions after their predecessors, independent ones in parallel', async () => {
    const clock = new SimClock();
    const fake = recordingAgent('fake', (action) => (action === 'start' ? { delay: 100 } : undefined));
    const cfg = config([{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }]);
    const g = graph(
      [
        act('a_start', 'start', 'a', 'n1'),
        act('b_start', 'start', 'b', 'n1'),
        act('c_start', 'start', 'c', 'n2'),
        act('d_start', 'start', 'd', 'n1'),
        act('all', 'pseudo', undefined, 'n1'),
      ],
      [
        ['a_start', 'b_start'],
        ['a_start', 'c_start'],
        ['b_start', 'd_start'],
        ['c_start', 'd_start'],
        ['d_start', 'all'],
      ],
    );
    const report = await drive(clock, executeTransition(g, deps(clock, cfg, registryWith(fake.agent))));
    expect(report.succeeded).toBe(true);
    expect(report.results.map((r) => r.state)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded']);
    const at = Object.fromEntries(fake.calls.map((c) => [c.instance, [c.at, c.end]]));
    expect(at.b![0]).toBeGreaterThanOrEqual(at.a![1]!);
    expect(at.c![0]).toBe(at.b![0]);
    expect(at.d![0]).toBeGreaterThanOrEqual(Math.max(at.b![1]!, at.c![1]!));
    expect(fake.maxInFlight()).toBe(2);
    expect(report.records.map((r) => `${r.instance}@${r.node}`)).toEqual(['a@n1', 'b@n1', 'c@n2', 'd@n1']);
    expect(clock.pending()).toBe(0); // no deadline timer left behind
  });

  test('concurrency bounds the actions in flight', async () => {
    const clock = new SimClock();
    const fake = recordingAgent('fake', () => ({ delay: 50 }));
    const cfg = config([{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
    const g = graph(['a', 'b', 'c'].map((r) => act(`${r}_start`, 'start', r, 'n1')));
    const report = await drive(clock, executeTransition(g, deps(clock, cfg, registryWith(fake.agent), { concurrency: 1 })));
    expect(report.succeeded).toBe(true);
    expect(fake.maxInFlight()).toBe(1);
  });

  test('a failed action stops its dependents; others go on; the failure is recorded with a fail count', async () => {
    const clock = new SimClock();
    const fake = recordingAgent('fake', (action, ctx) =>
      action === 'start' && ctx.instance === 'b' ? { execution: 'done', outcome: 'generic-error', reason: 'b is broken' } : undefined,
    );
    const cfg = config([{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }]);
    const g = graph(
      [
        act('b_start', 'start', 'b', 'n1'),
        act('c_start', 'start', 'c', 'n1'),
        act('d_start', 'start', 'd', 'n1'),
        act('d_mon', 'monitor', 'd', 'n1', { interval: 10_000 }),
      ],
      [
        ['b_start', 'd_start'],
        ['d_start', 'd_mon'],
      ],
    );
    const report = await drive(clock, executeTransition(g, deps(clock, cfg, registryWith(fake.agent))));
    expect(report.succeeded).toBe(false);
    expect(report.results.map((r) => [r.id, r.state, r.reason])).toEqual([
      ['b_start', 'failed', 'start generic-error: b is broken'],
      ['c_start', 'succeeded', undefined],
      ['d_start', 'not-run', 'b_start failed'],
      ['d_mon', 'not-run', 'b_start failed'],
    ]);
    const status = recordAll(ClusterStatus.parse({ nodes: [{ name: 'n1', state: 'online' }] }), report.records);
    const n1 = status.nodes[0]!;
    expect(n1.failures).toEqual([{ resource: 'b', action: 'start', interval: 0, count: 1, lastFailure: 1_000_000 }]);
    expect(n1.history.find((h) => h.resource === 'b')?.ops[0]).toMatchObject({ action: 'start', rc: 1, status: 'done', exitReason: 'b is broken' });
  });

  test('a hanging action times out after its configured timeout', async () => {
    const clock = new SimClock();
    const fake = recordingAgent('fake', (action) => (action === 'start' ? 'hang' : undefined));
    const cfg = config([{ id: 'a', ops: [{ name: 'start', timeout: '3s' }] }]);
    const t0 = clock.now();
    const report = await drive(clock, executeTransition(graph([act('a_start', 'start', 'a', 'n1')]), deps(clock, cfg, registryWith(fake.agent))), 100);
    const r = report.results[0]!;
    expect(r.state).toBe('failed');
    expect(r.result).toMatchObject({ execution: 'timeout' });
    expect(r.finishedAt! - t0).toBe(3000);
    const status = recordAll(ClusterStatus.parse({}), report.records);
    expect(status.nodes[0]!.history[0]!.ops[0]).toMatchObject({ status: 'timeout', rc: 1 });
    expect(status.nodes[0]!.failures[0]).toMatchObject({ resource: 'a', count: 1 });
  });

  test('timeouts fall back to op defaults, then the agent default', async () => {
    const clock = new SimClock();
    const fake = recordingAgent('fake', () => 'hang');
    const cfg = config([{ id: 'a' }]);
    const t0 = clock.now();
    const r1 = await drive(clock, executeTransition(graph([act('a_start', 'start', 'a', 'n1')]), deps(clock, cfg, registryWith(fake.agent))), 100);
    expect(r1.results[0]!.finishedAt! - t0).toBe(5000); // fake's defaultTimeouts.start
    const cfg2 = config([{ id: 'a' }], { defaults: { operation: { timeout: '7s' } } });
    const t1 = clock.now();
    const r2 = await drive(clock, executeTransition(graph([act('a_start', 'start', 'a', 'n1')]), deps(clock, cfg2, registryWith(fake.agent))), 100);
    expect(r2.results[0]!.finishedAt! - t1).toBe(7000);
  });

  test('aborting starts nothing new; in-flight actions finish; unstarted ones are cancelled and not recorded', async () => {
    const clock = new SimClock();
    const fake = recordingAgent('fake', () => ({ delay: 1000 }));
    const cfg = config([{ id: 'a' }, { id: 'b' }]);
    const ac = new AbortController();
    const events = new ExecutorEvents();
    const started: string[] = [];
    events.on('action-started', (e) => {
      started.push(e.id);
      ac.abort();
    });
    const g = graph([act('a_start', 'start', 'a', 'n1'), act('b_start', 'start', 'b', 'n1')], [['a_start', 'b_start']]);
    const report = await drive(clock, executeTransition(g, deps(clock, cfg, registryWith(fake.agent), { events }), ac.signal), 100);
    expect(report.aborted).toBe(true);
    expect(started).toEqual(['a_start']);
    expect(report.results.map((r) => r.state)).toEqual(['succeeded', 'cancelled']);
    expect(report.records.map((r) => r.instance)).toEqual(['a']);
  });

  test('a kill signal cancels in-flight agents; their outcome is recorded as unknown (pending)', async () => {
    const clock = new SimClock();
    const fake = recordingAgent('fake', () => ({ delay: 1000 }));
    const cfg = config([{ id: 'a' }]);
    const kill = new AbortController();
    const p = executeTransition(graph([act('a_start', 'start', 'a', 'n1')]), deps(clock, cfg, registryWith(fake.agent), { killSignal: kill.signal }));
    await clock.advance(10);
    kill.abort();
    const report = await drive(clock, p);
    expect(report.results[0]!.result).toMatchObject({ execution: 'cancelled' });
    const status = recordAll(ClusterStatus.parse({}), report.records);
    expect(status.nodes[0]!.history[0]!.ops[0]).toMatchObject({ status: 'pending', rc: RC_UNKNOWN });
    expect(status.nodes[0]!.failures).toEqual([]);
    // The daemon refreshes unknown instances so the scheduler probes them.
    expect(unknownInstances(status)).toEqual([{ node: 'n1', instance: 'a' }]);
    expect(refreshUnknown(status).nodes[0]!.history).toEqual([]);
  });

  test("only this node's actions run here; others go to the remote dispatcher or are not run", async () => {
    const clock = new SimClock();
    const fake = recordingAgent();
    const cfg = config([{ id: 'a' }, { id: 'b' }]);
    const g = graph(
      [act('a_start', 'start', 'a', 'n1'), act('b_start', 'start', 'b', 'n2'), act('a_mon', 'monitor', 'a', 'n1', { interval: 5000 })],
      [['b_start', 'a_mon']],
    );
    const r1 = await drive(clock, executeTransition(g, deps(clock, cfg, registryWith(fake.agent), { node: 'n1' })));
    expect(r1.results.map((r) => r.state)).toEqual(['succeeded', 'not-run', 'not-run']);
    const remote: string[] = [];
    const r2 = await drive(
      clock,
      executeTransition(
        g,
        deps(clock, cfg, registryWith(fake.agent), {
          node: 'n1',
          remote: async (a) => {
            remote.push(a.id);
            return { execution: 'done', outcome: 'ok' };
          },
        }),
      ),
    );
    expect(remote).toEqual(['b_start']);
    expect(r2.succeeded).toBe(true);
  });

  test('bad parameters, unknown agents, blocked and pseudo actions, fencing without a fencer', async () => {
    const clock = new SimClock();
    const fake = recordingAgent();
    const cfg = config([{ id: 'a', params: { value: 42 } }, { id: 'b', agent: 'paceline:missing' }, { id: 'c' }]);
    const g = graph([
      act('a_start', 'start', 'a', 'n1'),
      act('b_start', 'start', 'b', 'n1'),
      act('c_start', 'start', 'c', 'n1', { runnable: false, reason: 'no quorum' }),
      act('fence n2', 'fence', undefined, 'n2'),
    ]);
    const log = memoryLogger();
    const report = await drive(clock, executeTransition(g, deps(clock, cfg, registryWith(fake.agent), { logger: log, transition: 7 })));
    const [a, b, c, f] = report.results;
    expect(a!.result).toMatchObject({ execution: 'done', outcome: 'misconfigured' });
    expect(a!.reason).toContain('parameter "value"');
    expect(b!.result).toMatchObject({ execution: 'not-installed' });
    expect(c).toMatchObject({ state: 'not-run', reason: 'blocked: no quorum' });
    expect(f).toMatchObject({ state: 'not-run', reason: 'no fencing available to this executor' });
    expect(fake.calls).toEqual([]);
    expect(log.entries.some((e) => e.fields.transition === 7 && e.fields.resource === 'a' && e.level === 'warn')).toBe(true);
  });

  test('a probe that finds the resource running fails the transition without a fail count; ordering cycles are reported', async () => {
    const clock = new SimClock();
    const fake = recordingAgent();
    fake.state.set('n2/a', 'started');
    const cfg = config([{ id: 'a' }, { id: 'x' }, { id: 'y' }]);
    const g = graph(
      [act('a_probe', 'probe', 'a', 'n2'), act('a_start', 'start', 'a', 'n1'), act('x_start', 'start', 'x', 'n1'), act('y_start', 'start', 'y', 'n1')],
      [
        ['a_probe', 'a_start'],
        ['x_start', 'y_start'],
        ['y_start', 'x_start'],
      ],
    );
    const report = await drive(clock, executeTransition(g, deps(clock, cfg, registryWith(fake.agent))));
    expect(report.results.map((r) => r.state)).toEqual(['failed', 'not-run', 'not-run', 'not-run']);
    expect(report.results[0]!.reason).toContain('probe found ok');
    expect(report.results[2]!.reason).toContain('cycle');
    const status = recordAll(ClusterStatus.parse({}), report.records);
    expect(status.nodes[0]!.history[0]!.ops[0]).toMatchObject({ action: 'monitor', interval: 0, rc: 0, expectedRc: 7 });
    expect(status.nodes[0]!.failures).toEqual([]);
  });

  test('anonymous clone instances are known on their node by the primitive id; probes and starts there are ordered', async () => {
    const clock = new SimClock();
    const fake = recordingAgent('fake', (action) => (action === 'start' ? { delay: 10 } : undefined));
    const cfg = ClusterConfig.parse({
      nodes: [{ name: 'n1' }, { name: 'n2' }],
      resources: [
        { type: 'clone', id: 'web-clone', child: { type: 'primitive', id: 'web', agent: 'paceline:fake', ops: [{ name: 'monitor', interval: '10s' }] } },
      ],
    });
    const g = graph([
      act('web:0_monitor_10000 n1', 'monitor', 'web:0', 'n1', { interval: 10_000, primitive: 'web' }),
      act('web:1_start_0 n1', 'start', 'web:1', 'n1', { primitive: 'web' }),
      act('web:0_probe_0 n1', 'probe', 'web:0', 'n1', { primitive: 'web' }),
    ]);
    const report = await drive(clock, executeTransition(g, deps(clock, cfg, registryWith(fake.agent))));
    // The monitor waits for the start, the start for the probe, although the graph has no edges.
    expect(fake.calls.map((c) => `${c.action} ${c.instance}`)).toEqual(['monitor web', 'start web', 'monitor web']);
    expect(report.results.map((r) => r.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(report.records.map((r) => r.instance)).toEqual(['web', 'web', 'web']);
  });
});
