import { z } from 'zod';
import {
  defineAgent,
  failed,
  formatReport,
  invokeAgent,
  lint,
  memoryLogger,
  notRunning,
  ok,
  runningPromoted,
  silentLogger,
  systemClock,
  testAgent,
  type ActionResult,
  type Clock,
} from '@paceline/agent-api';

/** A well-behaved in-memory promotable agent. */
function memoryAgent() {
  const state = new Map<string, 'started' | 'promoted'>();
  return defineAgent({
    meta: { name: 'memory', version: '1', description: 'in memory', defaultTimeouts: { start: 1000 } },
    params: z.object({ name: z.string().describe('a name') }),
    start: async (_p, ctx) => {
      if (!state.has(ctx.instance)) state.set(ctx.instance, 'started');
      return ok();
    },
    stop: async (_p, ctx) => {
      state.delete(ctx.instance);
      return ok();
    },
    monitor: async (_p, ctx) => {
      const s = state.get(ctx.instance);
      return s === 'promoted' ? runningPromoted() : s ? ok() : notRunning();
    },
    promote: async (_p, ctx) => (state.has(ctx.instance) ? (state.set(ctx.instance, 'promoted'), ok()) : failed('generic-error', 'not started')),
    demote: async (_p, ctx) => (state.has(ctx.instance) ? (state.set(ctx.instance, 'started'), ok()) : failed('generic-error', 'not started')),
    reload: async () => ok(),
  });
}

describe('testAgent', () => {
  test('a well-behaved promotable, reloadable agent passes every check', async () => {
    const report = await testAgent(memoryAgent(), { name: 'x' }, { badParams: [{ name: 3 }] });
    expect(formatReport(report)).toContain('all checks passed');
    expect(report.passed).toBe(true);
    const names = report.checks.map((c) => c.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'probe: monitor on a clean node is not-running',
        'start again is ok (idempotent)',
        'promote (cycle 2)',
        'monitor after promote is running-promoted (cycle 1)',
        'reload',
        'stop again is ok (idempotent)',
        'monitor after stop is not-running',
        'params: rejects {}',
        'params: rejects {"name":3}',
      ]),
    );
  });

  test('catches a stop that is not idempotent, a throwing monitor and a lint violation', async () => {
    let running = false;
    const bad = defineAgent({
      meta: { name: 'bad', version: '1', description: 'bad' },
      params: z.object({}),
      start: async () => {
        running = true;
        return ok();
      },
      stop: async () => {
        if (!running) return { execution: 'done', outcome: 'not-running' } as ActionResult;
        running = false;
        return ok();
      },
      monitor: async () => {
        if (running) throw new Error('boom');
        return notRunning();
      },
    });
    const report = await testAgent(bad, {});
    expect(report.passed).toBe(false);
    const failedNames = report.checks.filter((c) => c.status === 'fail').map((c) => c.name);
    expect(failedNames).toEqual(
      expect.arrayContaining(['monitor after start is ok', 'stop again is ok (idempotent)', 'lint: outcomes allowed for each action, errors give a reason']),
    );
    expect(report.checks.find((c) => c.name === 'monitor after start is ok')?.reason).toContain('threw: boom');
    expect(report.checks.find((c) => c.name.startsWith('params: bad'))?.status).toBe('skip');
    expect(report.checks.find((c) => c.name.startsWith('lint'))?.reason).toContain('stop may not report not-running');
  });

  test('a start that hangs past its timeout fails the timeout check and is stopped afterwards', async () => {
    let stopped = 0;
    const slow = defineAgent({
      meta: { name: 'slow', version: '1', description: 'slow', defaultTimeouts: { start: 50 } },
      params: z.object({}),
      start: (_p, ctx) => new Promise<ActionResult>((resolve) => ctx.signal.addEventListener('abort', () => resolve(ok()))),
      stop: async () => {
        stopped++;
        return ok();
      },
      monitor: async () => notRunning(),
    });
    const report = await testAgent(slow, {});
    expect(report.passed).toBe(false);
    expect(report.checks.find((c) => c.name === 'start')?.reason).toMatch(/timeout .*did not finish within 50 ms/);
    expect(report.checks.find((c) => c.name.startsWith('timeouts'))?.status).toBe('fail');
    expect(stopped).toBe(1);
  });
});

describe('invokeAgent', () => {
  const clock: Clock = {
    now: () => Date.now(),
    sleep: (ms, signal) =>
      new Promise((res, rej) => {
        const t = setTimeout(res, ms);
        signal?.addEventListener('abort', () => {
          clearTimeout(t);
          rej(new Error('aborted'));
        });
      }),
  };
  const base = {
    params: {},
    node: 'n1',
    instance: 'r',
    stateDir: '/nonexistent',
    run: { run: async () => ({ exitCode: 0, stdout: '', stderr: '', timedOut: false, notFound: false }) },
    log: silentLogger,
    clock,
    timeoutMs: 1000,
  };
  const agent = memoryAgent();
  test('reports unsupported actions and cancelled-before-start', async () => {
    expect(await invokeAgent(agent, { ...base, action: 'migrate_to' })).toMatchObject({ execution: 'not-supported', outcome: 'unimplemented' });
    const ac = new AbortController();
    ac.abort();
    expect(await invokeAgent(agent, { ...base, action: 'start', signal: ac.signal })).toMatchObject({ execution: 'cancelled' });
  });
  test('passes the context and fills in durationMs', async () => {
    const log = memoryLogger();
    const seen: unknown[] = [];
    const a = defineAgent({
      ...agent,
      monitor: async (_p, ctx) => {
        seen.push(ctx.op, ctx.instance, ctx.meta);
        ctx.log.info('hi');
        return ok();
      },
    });
    const r = await invokeAgent(a, { ...base, log, action: 'monitor', interval: 10_000, meta: { clone_max: '2' } });
    expect(r.execution).toBe('done');
    expect(typeof r.durationMs).toBe('number');
    expect(seen).toEqual([{ name: 'monitor', interval: 10_000, timeout: 1000 }, 'r', { clone_max: '2' }]);
    expect(log.entries).toHaveLength(1);
  });
  test("the agent's signal: aborted by a cancellation whether read before or after it, and by the deadline; with or without the clock's `after`", async () => {
    for (const c of [clock, { ...clock, after: (ms: number, fn: () => void) => systemClock.after!(ms, fn) }]) {
      // Read before the cancellation: it aborts, and the agent's own answer (given on abort) wins.
      const ac = new AbortController();
      const early = defineAgent({
        ...agent,
        start: (_p, ctx) => new Promise<ActionResult>((resolve) => ctx.signal.addEventListener('abort', () => resolve(failed('generic-error', 'wound down')))),
      });
      const r1 = invokeAgent(early, { ...base, clock: c, action: 'start', signal: ac.signal });
      setTimeout(() => ac.abort(new Error('stop it')), 5);
      expect(await r1).toMatchObject({ execution: 'done', reason: 'wound down' });
      // Read only after the cancellation: already aborted, with its reason.
      const ac2 = new AbortController();
      let seen: unknown;
      const late = defineAgent({
        ...agent,
        start: async (_p, ctx) => {
          await new Promise((r) => setTimeout(r, 20));
          seen = ctx.signal.aborted && (ctx.signal.reason as Error).message;
          return ok();
        },
      });
      const r2 = invokeAgent(late, { ...base, clock: c, action: 'start', signal: ac2.signal });
      ac2.abort(new Error('stop it'));
      expect((await r2).execution).toBe('done');
      expect(seen).toBe('stop it');
      // The deadline: a timeout result, and the signal aborted for an agent that reads it afterwards.
      let after: AbortSignal | undefined;
      const hangs = defineAgent({
        ...agent,
        start: async (_p, ctx) => {
          await new Promise((r) => setTimeout(r, 60));
          after = ctx.signal;
          return ok();
        },
      });
      expect(await invokeAgent(hangs, { ...base, clock: c, action: 'start', timeoutMs: 20 })).toMatchObject({ execution: 'timeout' });
      await new Promise((r) => setTimeout(r, 80));
      expect(after?.aborted).toBe(true);
    }
  });
  test('lint flags an error outcome without a reason', () => {
    expect(lint('start', { execution: 'done', outcome: 'generic-error' })).toEqual(['start: generic-error without a reason']);
    expect(lint('monitor', { execution: 'done', outcome: 'running-promoted' })).toEqual([]);
  });
});
