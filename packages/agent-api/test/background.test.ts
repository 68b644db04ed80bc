/** Background tasks: work an action leaves running, cancelled when its instance is stopped. */
import { z } from 'zod';
import {
  BackgroundTaskSet,
  defineAgent,
  invokeAgent,
  memoryLogger,
  notRunning,
  ok,
  runInBackground,
  silentLogger,
  type ActionResult,
} from '@paceline/agent-api';
import { SimulatedClock } from '@paceline/testkit';

/** Resolves after `n` macrotask turns (lets promise chains settle). */
const turns = async (n = 3): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('BackgroundTaskSet', () => {
  test('runs a task after start returns; cancel aborts its signal and waits until it has ended', async () => {
    const set = new BackgroundTaskSet();
    const steps: string[] = [];
    set.scope('n1/a', silentLogger).start('ticker', async (signal) => {
      steps.push('began');
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      await turns(1);
      steps.push(`ended: ${(signal.reason as Error).message}`);
    });
    expect(steps).toEqual([]); // not run inside start's call
    await turns();
    expect(set.running('n1/a')).toEqual(['ticker']);
    await set.cancel('n1/a', 'stopping');
    expect(steps).toEqual(['began', 'ended: stopping']);
    expect(set.running('n1/a')).toEqual([]);
  });

  test('a task that fails is logged as a warning; a cancelled one that throws on abort is not', async () => {
    const set = new BackgroundTaskSet();
    const log = memoryLogger();
    set.scope('n1/a', log).start('broken', () => Promise.reject(new Error('no such device')));
    set.scope('n1/a', log).start('sleeper', (signal) => new SimulatedClock().sleep(1000, signal));
    await turns();
    expect(log.entries.map((e) => [e.level, e.message, e.fields?.['error']])).toEqual([['warn', 'background task "broken" failed', 'no such device']]);
    await set.cancel('n1/a');
    expect(log.entries).toHaveLength(1);
  });

  test('cancel and dispose touch only what they name', async () => {
    const set = new BackgroundTaskSet();
    const forever = (signal: AbortSignal): Promise<void> => new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    set.scope('n1/a', silentLogger).start('a', forever);
    set.scope('n1/b', silentLogger).start('b', forever);
    await turns();
    await set.cancel('n1/a');
    expect([set.running('n1/a'), set.running('n1/b')]).toEqual([[], ['b']]);
    await set.dispose();
    expect(set.running('n1/b')).toEqual([]);
  });

  test('runInBackground without a context handle runs the task detached and logs its failure', async () => {
    const log = memoryLogger();
    let aborted: boolean | undefined;
    runInBackground({ log }, 'detached', async (signal) => {
      aborted = signal.aborted;
      throw new Error('boom');
    });
    await turns();
    expect(aborted).toBe(false);
    expect(log.entries.map((e) => e.message)).toEqual(['background task "detached" failed']);
  });
});

describe('invokeAgent and background tasks', () => {
  const agent = (ignoreSignal = false) => {
    const sent: string[] = [];
    const a = defineAgent({
      meta: { name: 'beacon', version: '1', description: 'announces after start' },
      params: z.object({}),
      start: async (_p, ctx) => {
        runInBackground(ctx, 'announce', async (signal) => {
          for (let i = 0; i < (ignoreSignal ? 50 : 5) && (ignoreSignal || !signal.aborted); i++) {
            sent.push(`${ctx.instance} ${i}`);
            await ctx.clock.sleep(100, ignoreSignal ? undefined : signal);
          }
        });
        return ok();
      },
      stop: async () => ok(),
      monitor: async () => notRunning(),
    });
    return { a, sent };
  };
  const drive = async (clock: SimulatedClock, pending: Promise<ActionResult>): Promise<ActionResult> => {
    let done = false;
    void pending.then(() => (done = true));
    for (let i = 0; i < 200 && !done; i++) await clock.advanceAsync(10);
    return pending;
  };
  const req = (clock: SimulatedClock, background: BackgroundTaskSet, action: 'start' | 'stop', instance: string) =>
    ({
      action,
      params: {},
      node: 'n1',
      instance,
      stateDir: '/nonexistent',
      run: { run: () => Promise.reject(new Error('no commands')) },
      log: silentLogger,
      clock,
      timeoutMs: 20_000,
      background,
    }) as const;

  test("a stop ends the instance's background work before the agent's stop runs; another instance's goes on", async () => {
    const clock = new SimulatedClock(0);
    const background = new BackgroundTaskSet();
    const { a, sent } = agent();
    expect(await drive(clock, invokeAgent(a, req(clock, background, 'start', 'x')))).toMatchObject({ outcome: 'ok' });
    expect(await drive(clock, invokeAgent(a, req(clock, background, 'start', 'y')))).toMatchObject({ outcome: 'ok' });
    await clock.advanceAsync(150);
    expect(await drive(clock, invokeAgent(a, req(clock, background, 'stop', 'x')))).toMatchObject({ outcome: 'ok' });
    const xAtStop = sent.filter((s) => s.startsWith('x')).length;
    await clock.advanceAsync(1000);
    expect(sent.filter((s) => s.startsWith('x'))).toHaveLength(xAtStop);
    expect(sent.filter((s) => s.startsWith('y'))).toHaveLength(5);
    expect(background.running('n1/x')).toEqual([]);
  });

  test('a task that ignores its signal holds a stop for at most a tenth of its timeout (1 s at most)', async () => {
    const clock = new SimulatedClock(0);
    const background = new BackgroundTaskSet();
    const { a } = agent(true);
    await drive(clock, invokeAgent(a, req(clock, background, 'start', 'x')));
    const t0 = clock.now();
    const r = await drive(clock, invokeAgent(a, req(clock, background, 'stop', 'x')));
    expect(r.outcome).toBe('ok');
    expect(clock.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(clock.now() - t0).toBeLessThanOrEqual(1010);
    await clock.advanceAsync(5000);
    expect(background.running('n1/x')).toEqual([]);
  });
});
