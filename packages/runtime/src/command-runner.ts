/**
 * The CommandRunner adapter on execa: argument arrays only (never a shell), each command in its
 * own process group so a timeout or an abort kills everything it started, and `spawn` for
 * daemons that must outlive the call.
 */
import { spawn as spawnChild } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { execa } from 'execa';
import type { CommandResult, CommandRunner, RunOptions, SpawnOptions, SpawnResult } from '@paceline/agent-api';
import { setLongTimeout } from './long-timeout.js';

export interface ExecaRunnerOptions {
  /** Variables added to every command's environment (after the inherited one). */
  readonly env?: Readonly<Record<string, string>>;
  /** Cap on captured stdout/stderr, in bytes (default 16 MiB). */
  readonly maxBuffer?: number;
}

/** Sends `signal` to the whole process group led by `pid`; false when it is already gone. */
export function killProcessGroup(pid: number, signal: NodeJS.Signals = 'SIGKILL'): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}

const NOT_EXECUTABLE = new Set(['ENOENT', 'EACCES', 'ENOTDIR', 'EISDIR']);

export class ExecaCommandRunner implements CommandRunner {
  constructor(private readonly options: ExecaRunnerOptions = {}) {}

  async run(file: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    if (options.signal?.aborted) return { exitCode: null, stdout: '', stderr: 'aborted before it started', timedOut: false, notFound: false };
    const sub = execa(file, [...args], {
      env: { ...this.options.env, ...options.env },
      extendEnv: true,
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      ...(options.input !== undefined ? { input: options.input } : { stdin: 'ignore' as const }),
      // Always a process group of its own, so the whole tree can be killed at once.
      detached: true,
      reject: false,
      stripFinalNewline: false,
      maxBuffer: this.options.maxBuffer ?? 16 * 1024 * 1024,
      shell: false,
    });
    let timedOut = false;
    const killGroup = (): void => {
      if (sub.pid !== undefined) killProcessGroup(sub.pid, 'SIGKILL');
    };
    // Any length: a plain setTimeout fires after 1 ms when given more than 24.8 days.
    const cancelTimer =
      options.timeoutMs !== undefined
        ? setLongTimeout(() => {
            timedOut = true;
            killGroup();
          }, options.timeoutMs)
        : undefined;
    options.signal?.addEventListener('abort', killGroup, { once: true });
    try {
      const r = await sub;
      const code = (r.cause as NodeJS.ErrnoException | undefined)?.code;
      const notFound = r.exitCode === undefined && code !== undefined && NOT_EXECUTABLE.has(code);
      return {
        exitCode: r.exitCode ?? null,
        signal: r.signal ?? undefined,
        stdout: typeof r.stdout === 'string' ? r.stdout : '',
        stderr: notFound ? `${file}: ${code}` : typeof r.stderr === 'string' ? r.stderr : '',
        timedOut,
        notFound,
      };
    } finally {
      cancelTimer?.();
      options.signal?.removeEventListener('abort', killGroup);
    }
  }

  /** Starts a daemon in a new session/process group, detached from this process, output appended to logFile. */
  spawn(file: string, args: readonly string[], options: SpawnOptions = {}): Promise<SpawnResult> {
    return new Promise<SpawnResult>((resolve) => {
      let fd: number | undefined;
      try {
        fd = options.logFile !== undefined ? openSync(options.logFile, 'a') : undefined;
      } catch (e) {
        resolve({ ok: false, notFound: false, message: `cannot open log file ${options.logFile}: ${(e as Error).message}` });
        return;
      }
      const out = fd ?? 'ignore';
      const child = spawnChild(file, [...args], {
        detached: true,
        stdio: ['ignore', out, out],
        env: { ...process.env, ...this.options.env, ...options.env },
        ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
        shell: false,
      });
      const done = (r: SpawnResult): void => {
        if (fd !== undefined) closeSync(fd);
        fd = undefined;
        resolve(r);
      };
      child.once('error', (e: NodeJS.ErrnoException) => {
        done({ ok: false, notFound: e.code !== undefined && NOT_EXECUTABLE.has(e.code), message: `${file}: ${e.message}` });
      });
      child.once('spawn', () => {
        child.unref();
        done({ ok: true, pid: child.pid! });
      });
    });
  }
}
