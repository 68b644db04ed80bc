/** The processes an instance owns (its rsync daemon and its replica worker): identity from /proc, stopping a group. */
import { readFile } from 'node:fs/promises';
import type { Clock } from '@paceline/agent-api';

export interface Owned {
  readonly pid: number;
  /** Field 22 of /proc/PID/stat: with the pid, a process identity that survives pid reuse. */
  readonly startTime: string;
}

export async function startTimeOf(pid: number): Promise<string | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    if (rest[0] === 'Z' || rest[0] === 'X') return undefined;
    return rest[19];
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    throw e;
  }
}

export async function alive(o: Owned | undefined): Promise<boolean> {
  return o !== undefined && (await startTimeOf(o.pid)) === o.startTime;
}

/** This boot's id: a recorded process from another boot is simply gone, not failed. */
export async function bootId(): Promise<string> {
  try {
    return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  } catch (e) {
    void e;
    return 'unknown';
  }
}

function kill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

/** SIGTERM to the process group, wait up to `graceMs`, then SIGKILL. True when it is gone. */
export async function stopOwned(o: Owned | undefined, clock: Clock, graceMs = 3000): Promise<boolean> {
  if (!(await alive(o))) return true;
  kill(o!.pid, 'SIGTERM');
  const until = clock.now() + graceMs;
  while (clock.now() < until) {
    if (!(await alive(o))) return true;
    await clock.sleep(20).catch(() => undefined);
  }
  kill(o!.pid, 'SIGKILL');
  for (let i = 0; i < 50; i++) {
    if (!(await alive(o))) return true;
    await clock.sleep(20).catch(() => undefined);
  }
  return false;
}
