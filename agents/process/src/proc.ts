/** Reading process identity from /proc: is a pid alive, and is it still the process we started? */
import { readFile } from 'node:fs/promises';

export interface ProcInfo {
  /** Single-letter state: R, S, D, Z (zombie), T ... */
  readonly state: string;
  /** Start time in clock ticks after boot (field 22 of /proc/PID/stat): with the pid, a process identity. */
  readonly startTime: string;
  readonly pgid: number;
}

/** The process's state, or undefined when there is no such process. */
export async function procInfo(pid: number): Promise<ProcInfo | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    throw e;
  }
  // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = rest[0];
  const pgid = Number(rest[2]);
  const startTime = rest[19];
  if (state === undefined || startTime === undefined) return undefined;
  return { state, startTime, pgid };
}

/** Alive (not a zombie) and started at `startTime`. */
export async function isSameProcess(pid: number, startTime: string): Promise<'same' | 'gone' | 'reused'> {
  const info = await procInfo(pid);
  if (!info || info.state === 'Z' || info.state === 'X') return 'gone';
  return info.startTime === startTime ? 'same' : 'reused';
}

/** Sends a signal to a process group (negative pid) or a process; false when nothing received it. */
export function signal(pid: number, sig: NodeJS.Signals, group: boolean): boolean {
  try {
    process.kill(group ? -pid : pid, sig);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}
