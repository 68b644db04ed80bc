/**
 * createProcessRunner's run(): a signal aborted before the start resolves at once without running
 * anything (it used to reject with a ReferenceError: the timers were read before they were
 * declared), and an abort while running ends the process group.
 */
import { describe, expect, it } from '@jest/globals';
import { createProcessRunner } from '@paceline/ocf';

describe('createProcessRunner().run', () => {
  const runner = createProcessRunner();

  it('resolves "aborted before start" for a signal already aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(runner.run('/bin/sh', ['-c', 'exit 0'], { signal: ac.signal })).resolves.toMatchObject({
      exitCode: null,
      signal: 'SIGTERM',
      stderr: 'aborted before start',
      timedOut: false,
      notFound: false,
    });
  });

  it('an abort while running ends the process group', async () => {
    const ac = new AbortController();
    const pending = runner.run('/bin/sh', ['-c', 'sleep 30'], { signal: ac.signal, timeoutMs: 60_000 });
    setTimeout(() => ac.abort(), 100);
    const r = await pending;
    expect(r.exitCode).toBeNull();
    expect(r.signal).toBe('SIGTERM');
    expect(r.timedOut).toBe(false);
  }, 30_000);
});
