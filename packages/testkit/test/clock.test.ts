import { SimulatedClock } from '@paceline/testkit';

describe('SimulatedClock', () => {
  it('fires timers in due order, ties in creation order, only when advanced', () => {
    const c = new SimulatedClock(1000);
    const log: string[] = [];
    c.setTimeout(() => log.push(`b@${c.now()}`), 20);
    c.setTimeout(() => log.push(`a@${c.now()}`), 10);
    c.setTimeout(() => log.push(`c@${c.now()}`), 20);
    expect(log).toEqual([]);
    c.advance(15);
    expect(log).toEqual(['a@1010']);
    expect(c.now()).toBe(1015);
    c.advance(100);
    expect(log).toEqual(['a@1010', 'b@1020', 'c@1020']);
    expect(c.now()).toBe(1115);
    expect(c.pending()).toBe(0);
  });

  it('repeats intervals and runs timers created by timers', () => {
    const c = new SimulatedClock();
    const log: number[] = [];
    const h = c.setInterval(() => {
      log.push(c.now());
      if (c.now() === 20) c.setTimeout(() => log.push(-c.now()), 5);
    }, 10);
    c.advance(45);
    expect(log).toEqual([10, 20, -25, 30, 40]);
    c.clearInterval(h);
    c.advance(100);
    expect(log).toHaveLength(5);
    expect(c.pending()).toBe(0);
    expect(() => c.setInterval(() => undefined, 0)).toThrow(RangeError);
  });

  it('resolves sleep on advance and rejects it on abort', async () => {
    const c = new SimulatedClock();
    let done = false;
    const p = c.sleep(100).then(() => (done = true));
    await c.advanceAsync(99);
    expect(done).toBe(false);
    await c.advanceAsync(1);
    await p;
    expect(done).toBe(true);
    const ac = new AbortController();
    const q = c.sleep(50, ac.signal);
    ac.abort(new Error('stop'));
    await expect(q).rejects.toThrow('stop');
    expect(c.pending()).toBe(0);
  });

  it('lets sequential sleeps progress with advanceAsync', async () => {
    const c = new SimulatedClock();
    const seen: number[] = [];
    const task = (async () => {
      for (let i = 0; i < 3; i++) {
        await c.sleep(10);
        seen.push(c.now());
      }
    })();
    await c.advanceAsync(30);
    await task;
    expect(seen).toEqual([10, 20, 30]);
  });
});
