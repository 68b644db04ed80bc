/** Running programs: argument arrays only, never a shell string. */
import { execFile, spawnSync } from 'node:child_process';
import { CommandFailedError } from '@paceline/testkit/netns';
import { LabError } from './errors.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs a program and returns its output; throws CommandFailedError with its stderr when it fails. */
export function run(cmd: string, args: readonly string[], timeoutMs = 30_000, input?: string): string {
  const r = spawnSync(cmd, [...args], { encoding: 'utf8', timeout: timeoutMs, ...(input !== undefined ? { input } : {}) });
  if (r.error) throw new CommandFailedError([cmd, ...args], r.status, '', r.error);
  if (r.status !== 0) throw new CommandFailedError([cmd, ...args], r.status, (r.stderr || r.stdout).trim());
  return r.stdout;
}

/** Runs a program; never throws: the exit code (1 for a signal or a spawn error) and the output. */
export function tryRun(cmd: string, args: readonly string[], timeoutMs = 30_000): { code: number; out: string } {
  const r = spawnSync(cmd, [...args], { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.error ? 1 : (r.status ?? 1), out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}

export function runAsync(cmd: string, args: readonly string[], timeoutMs = 10_000, input?: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, [...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({
        code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
        out: stdout,
        err: `${stderr}${err && typeof err.code !== 'number' ? err.message : ''}`,
      });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

export function have(cmd: string, args: readonly string[] = ['--version']): boolean {
  const r = spawnSync(cmd, [...args], { stdio: 'ignore' });
  return !r.error;
}

/** Polls `check` until it returns a value (not undefined/false); its last error is in the timeout's message. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new LabError('TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last: ${(last as Error).message})` : ''}`);
    await sleep(everyMs);
  }
}
