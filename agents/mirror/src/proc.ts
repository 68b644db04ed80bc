/** The processes an instance owns (its rsync daemon and its replica worker): identity from /proc, stopping a group. */
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
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

/**
 * Is any process of `o`'s process group still running (zombies aside)? Only processes started no
 * earlier than `o` count (its children are younger), and none once `o`'s pid belongs to another
 * process: that process, not `o`, owns the group id now.
 */
export async function groupAlive(o: Owned): Promise<boolean> {
  const pgid = o.pid;
  const holder = await startTimeOf(pgid);
  if (holder !== undefined && holder !== o.startTime) return false;
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch (e) {
    void e;
    return false;
  }
  // Read synchronously: a /proc stat file is in memory, and one asynchronous read per process (a
  // thread-pool round trip each) made this 50 ms on a loaded machine — every promote pays it.
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${n}/stat`, 'utf8');
    } catch (e) {
      void e;
      continue;
    }
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    if (rest[0] !== 'Z' && rest[0] !== 'X' && Number(rest[2]) === pgid && BigInt(rest[19] ?? '0') >= BigInt(o.startTime)) return true;
  }
  return false;
}

/**
 * SIGTERM to the process group, wait up to `graceMs`, then SIGKILL. True when the whole group is
 * gone, not only its leader: the replica worker's rsync is in the group and, told to stop, removes
 * its temporary file from the data directory as it exits. A promote that returned while it still ran
 * would let the service see that file, or rsync write into a directory the service now owns.
 */
export async function stopOwned(o: Owned | undefined, clock: Clock, graceMs = 3000): Promise<boolean> {
  if (o === undefined) return true;
  const leader = await alive(o);
  if (!leader && !(await groupAlive(o))) return true;
  kill(o.pid, 'SIGTERM');
  const until = clock.now() + graceMs;
  while (clock.now() < until) {
    if (!(await alive(o)) && !(await groupAlive(o))) return true;
    await clock.sleep(20).catch(() => undefined);
  }
  kill(o.pid, 'SIGKILL');
  for (let i = 0; i < 50; i++) {
    if (!(await alive(o)) && !(await groupAlive(o))) return true;
    await clock.sleep(20).catch(() => undefined);
  }
  return false;
}
