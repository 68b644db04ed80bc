/** Process identity from /proc: is a pid alive, is it still the process we started, who is in its group. */
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

export interface ProcInfo {
  /** Single-letter state: R, S, D, Z (zombie), T (stopped) ... */
  readonly state: string;
  /** Start time in clock ticks after boot (field 22 of /proc/PID/stat): with the pid, a process identity. */
  readonly startTime: string;
  readonly pgid: number;
  /** The command name (field 2, at most 15 characters). */
  readonly comm: string;
}

/** The process's state, or undefined when there is no such process. */
export async function procInfo(pid: number): Promise<ProcInfo | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    throw e;
  }
  // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const rest = text.slice(close + 2).split(' ');
  const state = rest[0];
  const pgid = Number(rest[2]);
  const startTime = rest[19];
  if (state === undefined || startTime === undefined) return undefined;
  return { state, startTime, pgid, comm };
}

export type Identity = 'same' | 'gone' | 'reused';

/** Alive (not a zombie) and started at `startTime`. */
export async function isSameProcess(pid: number, startTime: string): Promise<Identity> {
  const info = await procInfo(pid);
  if (!info || info.state === 'Z' || info.state === 'X') return 'gone';
  return info.startTime === startTime ? 'same' : 'reused';
}

/** Sends a signal to a process group (negative pid) or a process; false when nothing received it. */
export function signalProcess(pid: number, sig: NodeJS.Signals, group: boolean): boolean {
  try {
    process.kill(group ? -pid : pid, sig);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}

/** The pids in /proc, ascending. */
export async function allPids(): Promise<number[]> {
  return (await readdir('/proc'))
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
}

/**
 * Live processes of process group `pgid` that started no earlier than `notBefore` (clock ticks):
 * what is left of a daemon's group after its leader died. The start-time bound keeps an unrelated
 * group that later got the same id out (Linux does not reuse a pid still in use as a group id, but
 * an empty group's id can be reused).
 */
export async function groupMembers(pgid: number, notBefore: string): Promise<number[]> {
  // Nothing in the group (the common case after a clean stop): no /proc scan.
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return [];
  }
  // Synchronous reads: a few hundred tiny files, faster than as many thread-pool round trips on a
  // loaded machine, where this runs against a deadline.
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch (e) {
      void e; // exited meanwhile
      continue;
    }
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    if (Number(rest[2]) !== pgid || rest[0] === 'Z' || rest[0] === 'X' || rest[19] === undefined) continue;
    if (BigInt(rest[19]) >= BigInt(notBefore)) out.push(Number(name));
  }
  return out.sort((a, b) => a - b);
}
