/**
 * Small process adapters used by the OCF shim (an exported agent runs as its own program, outside
 * the daemon) and by tests and benches. The daemon injects its own runner; these follow the same
 * contract: argument arrays only, the child in its own process group, the whole group killed on
 * timeout or abort.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { CommandResult, CommandRunner, RunOptions, SpawnOptions, SpawnResult } from '@paceline/agent-api';

/** Grace period between SIGTERM and SIGKILL to a timed-out process group. */
const KILL_GRACE_MS = 2000;

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch (err) {
    // ESRCH: the group is already gone, which is what we wanted.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Runs programs with node:child_process, each in its own process group. */
export function createProcessRunner(): CommandRunner {
  return { spawn: spawnDetached, run: runToEnd };
}

/** Starts a program in its own process group and leaves it running (its output to `logFile`, or nowhere). */
function spawnDetached(file: string, args: readonly string[], options: SpawnOptions = {}): Promise<SpawnResult> {
  return new Promise((resolve) => {
    const fd = options.logFile ? openSync(options.logFile, 'a') : undefined;
    const child = spawn(file, [...args], {
      env: { ...process.env, ...(options.env ?? {}) },
      ...(options.cwd ? { cwd: options.cwd } : {}),
      detached: true,
      stdio: ['ignore', fd ?? 'ignore', fd ?? 'ignore'],
    });
    const done = (r: SpawnResult): void => {
      if (fd !== undefined) closeSync(fd);
      resolve(r);
    };
    child.once('error', (err: NodeJS.ErrnoException) => done({ ok: false, notFound: err.code === 'ENOENT' || err.code === 'EACCES', message: err.message }));
    child.once('spawn', () => {
      child.unref();
      done({ ok: true, pid: child.pid! });
    });
  });
}

/**
 * Runs a program to its end in its own process group, collecting its output; on timeout or abort
 * the group gets SIGTERM, then SIGKILL after KILL_GRACE_MS. Never rejects.
 */
function runToEnd(file: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let grace: NodeJS.Timeout | undefined;
    // Declared before `finish` (which removes it) so that an abort before the start finds it; it
    // is only called once the child and `terminate` exist.
    function onAbort(): void {
      terminate();
    }
    const finish = (r: CommandResult): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (grace) clearTimeout(grace);
      options.signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    if (options.signal?.aborted) {
      finish({ exitCode: null, signal: 'SIGTERM', stdout, stderr: 'aborted before start', timedOut: false, notFound: false });
      return;
    }
    const child = spawn(file, [...args], {
      env: { ...process.env, ...(options.env ?? {}) },
      ...(options.cwd ? { cwd: options.cwd } : {}),
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const terminate = (): void => {
      killGroup(child.pid, 'SIGTERM');
      grace = setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
      grace.unref();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.timeoutMs !== undefined)
      timer = setTimeout(
        () => {
          timedOut = true;
          terminate();
        },
        Math.max(0, options.timeoutMs),
      );
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    child.on('error', (err: NodeJS.ErrnoException) => {
      const notFound = err.code === 'ENOENT' || err.code === 'EACCES';
      finish({ exitCode: null, stdout, stderr: stderr + err.message, timedOut: false, notFound });
    });
    // A background child the command left behind may hold stdout open: do not wait for it long.
    child.on('exit', (code, signal) => {
      const linger = setTimeout(() => {
        finish({ exitCode: code, ...(signal ? { signal } : {}), stdout, stderr, timedOut, notFound: false });
      }, 250);
      linger.unref();
    });
    child.on('close', (code, signal) => {
      // A daemon the command left behind in the group keeps running unless we timed out.
      if (timedOut) killGroup(child.pid, 'SIGKILL');
      finish({ exitCode: code, ...(signal ? { signal } : {}), stdout, stderr, timedOut, notFound: false });
    });
  });
}

/**
 * Wraps a runner so every command runs behind a fixed argument prefix, e.g.
 * `['ip', 'netns', 'exec', 'ns1']` to run an agent inside a network namespace.
 */
export function prefixRunner(inner: CommandRunner, prefix: readonly [string, ...string[]]): CommandRunner {
  const [head, ...rest] = prefix;
  return { run: (file, args, options) => inner.run(head, [...rest, file, ...args], options) };
}
