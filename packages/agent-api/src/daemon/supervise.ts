/**
 * Daemon supervision for agents: start a foreground program in its own process group (as another
 * user through `setpriv` when asked), record its pid and /proc start time, wait until it is ready;
 * tell whether the recorded daemon still runs (same process, gone, or pid reused); stop it with a
 * signal, a bounded wait and SIGKILL of its group, verified. The record lives in a JSON file in
 * the instance state directory, so every action (and a restarted Paceline) sees the same daemon.
 */
import { constants } from 'node:fs';
import { access, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import type { AgentContext } from '../context.js';
import { failed, isActionResult, notRunning, ok, type ActionResult } from '../result.js';
import { groupMembers, isSameProcess, procInfo, signalProcess, type Identity } from './proc.js';

/** What Paceline remembers about a daemon it started. */
export interface DaemonRecord {
  readonly pid: number;
  /** /proc/PID/stat start time: with the pid, the process's identity. */
  readonly startTime: string;
  readonly command: string;
  /** Signals go to the process group (pid = pgid), not only the process. */
  readonly processGroup: boolean;
}

/** Where a daemon's record lives and how it is stopped; the same for start, status and stop. */
export interface DaemonHandle {
  /** Names the daemon in messages ("nginx", "/usr/sbin/named"). */
  readonly name: string;
  /** The record file; default `<stateDir>/daemon.json`. */
  readonly recordFile?: string;
  /** Also write the pid here on start and remove it on stop (for other tools). */
  readonly pidFile?: string;
  /** Signal the whole process group (default true). */
  readonly processGroup?: boolean;
  /** Stop signal (default SIGTERM). */
  readonly stopSignal?: NodeJS.Signals;
  /** Wait this long after the stop signal before SIGKILL, in ms (default 10 s; bounded by the action's deadline). */
  readonly stopTimeoutMs?: number;
}

export type ReadyResult = { readonly ready: true } | { readonly ready: false; readonly reason: string };

/** How to start the daemon. It must stay in the foreground (no double fork). */
export interface DaemonLaunch {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Run as this user (its primary and supplementary groups) through setpriv; needs root. */
  readonly user?: string;
  /** Append the daemon's stdout and stderr here (the parent directory is created). */
  readonly logFile: string;
  /** Ready when this passes; called until it does, the daemon dies or the deadline nears. Default: ready at once. */
  readonly ready?: (signal: AbortSignal) => Promise<ReadyResult>;
  /** Pause between readiness checks, in ms (default 200). */
  readonly readyIntervalMs?: number;
  /** The daemon must stay up this long before it counts as started, in ms (default 0). */
  readonly settleMs?: number;
}

/** The state of the recorded daemon. */
export type DaemonStatus = { readonly state: 'none' } | { readonly state: Identity; readonly record: DaemonRecord };

export const recordFileOf = (ctx: Pick<AgentContext, 'stateDir'>, d: DaemonHandle): string => d.recordFile ?? join(ctx.stateDir, 'daemon.json');

async function readRecord(ctx: AgentContext, d: DaemonHandle): Promise<DaemonRecord | undefined> {
  const file = recordFileOf(ctx, d);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const r = JSON.parse(text) as DaemonRecord;
    return typeof r.pid === 'number' && typeof r.startTime === 'string' ? { ...r, processGroup: r.processGroup !== false } : undefined;
  } catch (e) {
    ctx.log.warn('ignoring an unreadable state file', { file, error: (e as Error).message });
    return undefined;
  }
}

/** Forgets the daemon (record and pid file). */
export async function forgetDaemon(ctx: AgentContext, d: DaemonHandle): Promise<void> {
  await rm(recordFileOf(ctx, d), { force: true });
  if (d.pidFile) await rm(d.pidFile, { force: true });
}

/** Is the recorded daemon still running: 'same' process, 'gone', or its pid 'reused' by another process? */
export async function daemonStatus(ctx: AgentContext, d: DaemonHandle): Promise<DaemonStatus> {
  const record = await readRecord(ctx, d);
  if (!record) return { state: 'none' };
  return { state: await isSameProcess(record.pid, record.startTime), record };
}

/** The monitor's answer when the recorded daemon is not running ('none', 'gone', 'reused'), else undefined. */
export function notRunningResult(s: DaemonStatus): ActionResult | undefined {
  switch (s.state) {
    case 'none':
      return notRunning();
    case 'gone':
      return notRunning(`process ${s.record.pid} (${s.record.command}) is gone`);
    case 'reused':
      return notRunning(`pid ${s.record.pid} now belongs to another process (${s.record.command} is gone)`);
    case 'same':
      return undefined;
  }
}

/** The last lines of a file, joined with " | " (for error messages); '' when unreadable. */
export async function tailFile(file: string, lines = 3): Promise<string> {
  try {
    const text = (await readFile(file, 'utf8')).trimEnd();
    return text.split('\n').slice(-lines).join(' | ');
  } catch (e) {
    void e;
    return '';
  }
}

/** The executable `command` names (a path, or a name found in PATH), or undefined. */
export async function findExecutable(command: string, env: Readonly<Record<string, string>> = {}): Promise<string | undefined> {
  const candidates = command.includes('/')
    ? [command]
    : (env.PATH ?? process.env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, command));
  for (const c of candidates) {
    try {
      await access(c, constants.X_OK);
      if ((await stat(c)).isFile()) return c;
    } catch (e) {
      void e;
    }
  }
  return undefined;
}

/**
 * The argv that runs `command` as `user` (setpriv with the user's primary and supplementary
 * groups), or the command itself when no user is given. A failed result when not root or the
 * user does not exist ('misconfigured').
 */
export async function argvAsUser(
  ctx: AgentContext,
  command: string,
  args: readonly string[],
  user: string | undefined,
): Promise<{ readonly file: string; readonly args: readonly string[] } | ActionResult> {
  if (!user) return { file: command, args };
  if (process.getuid?.() !== 0) return failed('insufficient-privileges', `running as user "${user}" needs root`);
  const gid = await ctx.run.run('id', ['-g', '--', user], { timeoutMs: 5000, signal: ctx.signal });
  if (gid.exitCode !== 0) return failed('misconfigured', `user "${user}" does not exist (${gid.stderr.trim() || 'id failed'})`);
  return { file: 'setpriv', args: [`--reuid=${user}`, `--regid=${gid.stdout.trim()}`, '--init-groups', '--', command, ...args] };
}

/** A sleep that ends early (returning false) when the action is cancelled. */
async function pause(ctx: AgentContext, ms: number): Promise<boolean> {
  try {
    await ctx.clock.sleep(ms, ctx.signal);
    return true;
  } catch (e) {
    void e;
    return false;
  }
}

/**
 * Starts the daemon unless the recorded one still runs, then waits until `launch.ready` passes.
 * 'ok' only when ready. When it exits during start, the result quotes the last lines of its log;
 * when it is not ready before the action's deadline (less a margin), it is stopped and forgotten.
 * The daemon gets its own process group (`ctx.run.spawn`), and outlives the call.
 */
export async function startDaemon(ctx: AgentContext, d: DaemonHandle, launch: DaemonLaunch): Promise<ActionResult> {
  const now = await daemonStatus(ctx, d);
  if (now.state === 'same') return waitReady(ctx, d, launch, now.record);
  if (now.state === 'gone') {
    // Workers that outlived their leader still hold its sockets: the new daemon could not bind.
    const left = await reapGroup(now.record);
    if (left.length > 0) ctx.log.warn(`${d.name} was gone; killed ${left.length} leftover process(es) of its group before starting`, { pids: left });
  }
  if (now.state !== 'none') await forgetDaemon(ctx, d);
  if (!ctx.run.spawn) return failed('not-installed', 'this command runner cannot start daemons (no spawn)');
  if (!(await findExecutable(launch.command, launch.env))) return failed('not-installed', `${launch.command} is not an executable program`);
  const argv = await argvAsUser(ctx, launch.command, launch.args, launch.user);
  if (isActionResult(argv)) return argv;
  await mkdir(dirname(recordFileOf(ctx, d)), { recursive: true });
  await mkdir(dirname(launch.logFile), { recursive: true });
  const spawned = await ctx.run.spawn(argv.file, argv.args, {
    ...(launch.env ? { env: launch.env } : {}),
    ...(launch.cwd ? { cwd: launch.cwd } : {}),
    logFile: launch.logFile,
  });
  if (!spawned.ok) return failed(spawned.notFound ? 'not-installed' : 'generic-error', spawned.message);
  const info = await procInfo(spawned.pid);
  if (!info || info.state === 'Z') {
    const out = await tailFile(launch.logFile);
    return failed('generic-error', `${d.name} exited at once${out ? `: ${out}` : ''}`);
  }
  const record: DaemonRecord = { pid: spawned.pid, startTime: info.startTime, command: d.name, processGroup: d.processGroup ?? true };
  await writeFile(recordFileOf(ctx, d), `${JSON.stringify(record)}\n`);
  if (d.pidFile) await writeFile(d.pidFile, `${spawned.pid}\n`);
  ctx.log.info(`started ${d.name}`, { pid: spawned.pid });
  return waitReady(ctx, d, launch, record);
}

/**
 * Takes over a daemon started outside Paceline (found by a probe, e.g. with `whoListens`): records
 * the leader of `pid`'s process group (or `pid` itself when the group has no live leader), so
 * status and stop work on it as on one Paceline started. Returns the record, or undefined when
 * the process is gone.
 */
export async function adoptDaemon(ctx: AgentContext, d: DaemonHandle, pid: number): Promise<DaemonRecord | undefined> {
  const info = await procInfo(pid);
  if (!info || info.state === 'Z') return undefined;
  const leader = info.pgid > 1 && info.pgid !== pid ? await procInfo(info.pgid) : undefined;
  const useLeader = leader !== undefined && leader.state !== 'Z' && leader.comm === info.comm;
  const record: DaemonRecord = useLeader
    ? { pid: info.pgid, startTime: leader.startTime, command: d.name, processGroup: true }
    : { pid, startTime: info.startTime, command: d.name, processGroup: info.pgid === pid && (d.processGroup ?? true) };
  await mkdir(dirname(recordFileOf(ctx, d)), { recursive: true });
  await writeFile(recordFileOf(ctx, d), `${JSON.stringify(record)}\n`);
  ctx.log.info(`adopted ${d.name} started outside Paceline`, { pid: record.pid });
  return record;
}

/** Waits until the readiness check passes, the daemon dies, or the deadline nears. */
async function waitReady(ctx: AgentContext, d: DaemonHandle, launch: DaemonLaunch, record: DaemonRecord): Promise<ActionResult> {
  const margin = Math.min(1000, Math.max(50, ctx.op.timeout / 10));
  const settleMs = launch.settleMs ?? 0;
  const interval = launch.readyIntervalMs ?? 200;
  const settleUntil = ctx.clock.now() + settleMs;
  let last = 'not checked yet';
  for (;;) {
    if ((await isSameProcess(record.pid, record.startTime)) !== 'same') {
      await forgetDaemon(ctx, d);
      await reapGroup(record);
      const out = await tailFile(launch.logFile);
      return failed('generic-error', `${d.name} exited during start${out ? `: ${out}` : ''}`);
    }
    if (ctx.clock.now() >= settleUntil) {
      const r = launch.ready ? await launch.ready(ctx.signal) : ({ ready: true } as const);
      if (r.ready) return ok();
      last = r.reason;
    }
    const wait = !launch.ready ? Math.max(1, Math.min(interval, settleUntil - ctx.clock.now())) : interval;
    if (ctx.clock.now() + wait >= ctx.deadline - margin || !(await pause(ctx, wait))) break;
  }
  // Half the margin for the stop: the last readiness check may already have eaten into it (a
  // forked probe under load), and the kill and the record's removal come after the stop's wait.
  await stopRecorded(ctx, d, record, Math.min(d.stopTimeoutMs ?? 10_000, margin / 2));
  await forgetDaemon(ctx, d);
  return failed('generic-error', `${d.name} did not become ready before the start timeout: ${last}`);
}

/** SIGKILLs what is left of a dead leader's process group (workers that outlived their master). */
async function reapGroup(record: DaemonRecord): Promise<number[]> {
  if (!record.processGroup) return [];
  const left = await groupMembers(record.pid, record.startTime);
  for (const pid of left) signalProcess(pid, 'SIGKILL', false);
  return left;
}

/** Sends the stop signal, waits up to `graceMs`, then SIGKILLs the group. True when the process is gone. */
async function stopRecorded(ctx: AgentContext, d: DaemonHandle, record: DaemonRecord, graceMs: number): Promise<boolean> {
  const group = record.processGroup;
  const sig = d.stopSignal ?? 'SIGTERM';
  if (sig !== 'SIGKILL') signalProcess(record.pid, sig, group);
  const until = ctx.clock.now() + graceMs;
  while (sig !== 'SIGKILL' && ctx.clock.now() < until) {
    if ((await isSameProcess(record.pid, record.startTime)) !== 'same') break;
    try {
      await ctx.clock.sleep(Math.min(50, Math.max(1, until - ctx.clock.now())));
    } catch (e) {
      void e;
      break;
    }
  }
  if ((await isSameProcess(record.pid, record.startTime)) === 'same') {
    ctx.log.warn(`${d.name} ignored ${sig}; sending SIGKILL`, { pid: record.pid });
    signalProcess(record.pid, 'SIGKILL', group);
  }
  for (let i = 0; i < 40; i++) {
    if ((await isSameProcess(record.pid, record.startTime)) !== 'same') {
      const left = await reapGroup(record);
      if (left.length > 0) ctx.log.warn(`${d.name}: killed ${left.length} leftover process(es) of its group`, { pids: left });
      return true;
    }
    await ctx.clock.sleep(25).catch(() => undefined);
  }
  return false;
}

/**
 * Stops the recorded daemon, verified: stop signal to its group, a wait bounded by
 * `stopTimeoutMs` and the action's deadline (less 1.5 s), SIGKILL of the group, and leftovers of
 * its group killed when the leader is already gone. Stopping a stopped daemon is 'ok'; a pid
 * reused by another process is left alone.
 */
export async function stopDaemon(ctx: AgentContext, d: DaemonHandle): Promise<ActionResult> {
  const now = await daemonStatus(ctx, d);
  if (now.state === 'none') return ok();
  if (now.state === 'same') {
    const grace = Math.max(0, Math.min(d.stopTimeoutMs ?? 10_000, ctx.deadline - ctx.clock.now() - 1500));
    if (!(await stopRecorded(ctx, d, now.record, grace))) return failed('generic-error', `process ${now.record.pid} (${now.record.command}) survived SIGKILL`);
  } else if (now.state === 'gone') {
    const left = await reapGroup(now.record);
    if (left.length > 0) ctx.log.warn(`${d.name} was gone; killed ${left.length} leftover process(es) of its group`, { pids: left });
  }
  await forgetDaemon(ctx, d);
  return ok();
}
