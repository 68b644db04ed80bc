/** Timers for any delay (issue 16, item 5): Node's setTimeout fires after 1 ms past 2^31 - 1 ms. */
import { ExecaCommandRunner, MAX_TIMER_MS, SystemClock, setLongTimeout } from '@paceline/runtime';

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('setLongTimeout and the system clock past the timer limit', () => {
  test('SystemClock.sleep of more than 2^31 - 1 ms, and of Infinity, waits (until aborted)', async () => {
    const clock = new SystemClock();
    for (const ms of [MAX_TIMER_MS + 1, 25 * 86_400_000, Infinity]) {
      const abort = new AbortController();
      let settled = '';
      clock.sleep(ms, abort.signal).then(
        () => (settled = 'resolved'),
        (e: Error) => (settled = `rejected: ${e.message}`),
      );
      await wait(120);
      const early = settled;
      abort.abort(new Error('stop'));
      expect({ ms, settled: early }).toEqual({ ms, settled: '' });
      await wait(0);
      expect(settled).toBe('rejected: stop');
    }
  });

  test('a long delay is waited in steps against the deadline; NaN and negative delays fire at once; cancel works', async () => {
    const fired: string[] = [];
    const t0 = Date.now();
    setLongTimeout(() => fired.push(`stepped after ${Date.now() - t0}`), 100, Date.now, 15);
    setLongTimeout(() => fired.push('nan'), Number.NaN);
    setLongTimeout(() => fired.push('negative'), -5);
    const cancel = setLongTimeout(() => fired.push('cancelled one'), 30, Date.now, 10);
    await wait(15);
    cancel();
    await wait(200);
    expect(fired.slice(0, 2).sort()).toEqual(['nan', 'negative']);
    expect(fired).toHaveLength(3);
    expect(Number(fired[2]!.split(' ')[2])).toBeGreaterThanOrEqual(99);
  });

  test('a command with a 25-day timeout is not killed at once', async () => {
    const r = await new ExecaCommandRunner().run('sleep', ['0.2'], { timeoutMs: 25 * 86_400_000 });
    expect({ exitCode: r.exitCode, timedOut: r.timedOut }).toEqual({ exitCode: 0, timedOut: false });
  });
});
