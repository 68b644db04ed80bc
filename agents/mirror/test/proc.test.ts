import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '@paceline/agent-api';
import { groupAlive, startTimeOf, stopOwned } from '../src/proc.js';

const clock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

// The replica worker's rsync runs in the worker's process group. Told to stop, the worker exits at
// once while rsync still removes its temporary file from the data directory; a promote that went on
// as soon as the worker was gone let the service see that file (the crash-in-burst test of
// netns.test.ts saw `.m249.XXXXXX` on the promoted replica, gone a moment later).
describe('stopOwned', () => {
  let dir: string;
  let group: number | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'paceline-mirror-proc-'));
  });
  afterEach(() => {
    if (group !== undefined)
      try {
        process.kill(-group, 'SIGKILL');
      } catch (e) {
        void e;
      }
    group = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  test('returns only when every process of the group is gone, not just its leader', async () => {
    const done = join(dir, 'child-finished');
    // The leader exits on SIGTERM at once; its child needs 400 ms to finish (as rsync cleaning up).
    const script = `(trap 'sleep 0.4; : > "$1"; exit 0' TERM; while :; do sleep 0.05; done) & trap 'exit 0' TERM; while :; do sleep 0.05; done`;
    const leader = spawn('bash', ['-c', script, 'leader', done], { detached: true, stdio: 'ignore' });
    const pid = leader.pid!;
    group = pid;
    leader.unref();
    let startTime: string | undefined;
    for (let i = 0; i < 100 && !startTime; i++) {
      startTime = await startTimeOf(pid);
      await clock.sleep(10);
    }
    await clock.sleep(200); // the child has set its trap
    const o = { pid, startTime: startTime! };
    expect(await groupAlive(o)).toBe(true);
    expect(await stopOwned(o, clock, 5000)).toBe(true);
    expect(existsSync(done)).toBe(true);
    expect(await groupAlive(o)).toBe(false);
  });

  test('a group id now held by another process is not ours', async () => {
    const other = spawn('sleep', ['5'], { detached: true, stdio: 'ignore' });
    other.unref();
    try {
      const real = (await startTimeOf(other.pid!))!;
      const stale = { pid: other.pid!, startTime: String(BigInt(real) - 1n) };
      expect(await groupAlive(stale)).toBe(false);
      expect(await stopOwned(stale, clock, 100)).toBe(true);
      expect(await startTimeOf(other.pid!)).toBe(real);
    } finally {
      other.kill('SIGKILL');
    }
  });
});
