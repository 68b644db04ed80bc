/**
 * `paceline:process`: keeps one long-running program up. Start launches it in its own process
 * group (as another user when asked, through `setpriv`), records its pid and /proc start time,
 * and waits until the readiness probe passes. Monitor checks the pid is alive, is still the same
 * process (the start time matches, so a reused pid is not mistaken for ours) and is ready. Stop
 * sends the stop signal, waits, then SIGKILLs the group. The base of the service agents.
 */
import { constants } from 'node:fs';
import { access, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { defineAgent, failed, notRunning, ok, type ActionResult, type AgentContext } from '@paceline/agent-api';
import { ProcessParams } from './params.js';
import { probeOnce } from './probe.js';
import { isSameProcess, procInfo, signal } from './proc.js';

interface Recorded {
  readonly pid: number;
  readonly startTime: string;
  readonly command: string;
  readonly processGroup: boolean;
}

const stateFile = (ctx: AgentContext): string => join(ctx.stateDir, 'process.json');
const logFileOf = (p: ProcessParams, ctx: AgentContext): string => p.logFile ?? join(ctx.stateDir, 'output.log');

async function readRecorded(ctx: AgentContext): Promise<Recorded | undefined> {
  let text: string;
  try {
    text = await readFile(stateFile(ctx), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const r = JSON.parse(text) as Recorded;
    return typeof r.pid === 'number' && typeof r.startTime === 'string' ? r : undefined;
  } catch (e) {
    ctx.log.warn('ignoring an unreadable state file', { file: stateFile(ctx), error: (e as Error).message });
    return undefined;
  }
}

async function forget(p: ProcessParams, ctx: AgentContext): Promise<void> {
  await rm(stateFile(ctx), { force: true });
  if (p.pidFile) await rm(p.pidFile, { force: true });
}

/** Our process, if it is still running. */
async function running(ctx: AgentContext): Promise<{ rec: Recorded; state: 'same' | 'gone' | 'reused' } | undefined> {
  const rec = await readRecorded(ctx);
  if (!rec) return undefined;
  return { rec, state: await isSameProcess(rec.pid, rec.startTime) };
}

async function tail(file: string, lines = 3): Promise<string> {
  try {
    const text = (await readFile(file, 'utf8')).trimEnd();
    return text.split('\n').slice(-lines).join(' | ');
  } catch (e) {
    void e;
    return '';
  }
}

/** Is `command` an executable file (a path, or a name found in PATH)? */
async function findExecutable(command: string, env: Readonly<Record<string, string>>): Promise<string | undefined> {
  const candidates = command.includes('/')
    ? [command]
    : (env.PATH ?? process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, command));
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

async function argvFor(p: ProcessParams, ctx: AgentContext): Promise<{ file: string; args: string[] } | ActionResult> {
  if (!p.user) return { file: p.command, args: p.args };
  if (process.getuid?.() !== 0) return failed('insufficient-privileges', `running as user "${p.user}" needs root`);
  const gid = await ctx.run.run('id', ['-g', '--', p.user], { timeoutMs: 5000, signal: ctx.signal });
  if (gid.exitCode !== 0) return failed('misconfigured', `user "${p.user}" does not exist (${gid.stderr.trim() || 'id failed'})`);
  return {
    file: 'setpriv',
    args: [`--reuid=${p.user}`, `--regid=${gid.stdout.trim()}`, '--init-groups', '--', p.command, ...p.args],
  };
}

/** Waits until the probe passes, the process dies, or the deadline nears. */
async function waitReady(p: ProcessParams, ctx: AgentContext, rec: Recorded): Promise<ActionResult> {
  const margin = Math.min(1000, Math.max(50, ctx.op.timeout / 10));
  const settleUntil = ctx.clock.now() + (p.probe === 'none' ? p.settleMs : 0);
  let last = 'not probed yet';
  for (;;) {
    const same = await isSameProcess(rec.pid, rec.startTime);
    if (same !== 'same') {
      await forget(p, ctx);
      const out = await tail(logFileOf(p, ctx));
      return failed('generic-error', `${p.command} exited during start${out ? `: ${out}` : ''}`);
    }
    if (ctx.clock.now() >= settleUntil) {
      const r = await probeOnce(p, ctx);
      if (r.ready) return ok();
      last = r.reason;
    }
    const wait = p.probe === 'none' ? Math.max(1, Math.min(p.probeIntervalMs, settleUntil - ctx.clock.now())) : p.probeIntervalMs;
    if (ctx.clock.now() + wait >= ctx.deadline - margin || !(await pause(ctx, wait))) break;
  }
  await stopProcess(p, ctx, rec, Math.min(p.stopTimeoutMs, margin));
  await forget(p, ctx);
  return failed('generic-error', `${p.command} did not become ready before the start timeout: ${last}`);
}

/** Sends the stop signal, waits up to `graceMs`, then SIGKILL. True when the process is gone. */
async function stopProcess(p: ProcessParams, ctx: AgentContext, rec: Recorded, graceMs: number): Promise<boolean> {
  const group = rec.processGroup;
  if (p.stopSignal !== 'SIGKILL') signal(rec.pid, p.stopSignal, group);
  const until = ctx.clock.now() + graceMs;
  while (p.stopSignal !== 'SIGKILL' && ctx.clock.now() < until) {
    if ((await isSameProcess(rec.pid, rec.startTime)) !== 'same') return true;
    try {
      await ctx.clock.sleep(Math.min(50, Math.max(1, until - ctx.clock.now())));
    } catch (e) {
      void e;
      break;
    }
  }
  if ((await isSameProcess(rec.pid, rec.startTime)) !== 'same') return true;
  ctx.log.warn(`${p.command} ignored ${p.stopSignal}; sending SIGKILL`, { pid: rec.pid });
  signal(rec.pid, 'SIGKILL', group);
  for (let i = 0; i < 40; i++) {
    if ((await isSameProcess(rec.pid, rec.startTime)) !== 'same') return true;
    await ctx.clock.sleep(25).catch(() => undefined);
  }
  return false;
}

export const processAgent = defineAgent({
  meta: {
    name: 'process',
    version: '1.0.0',
    description: 'Keeps a long-running program up: start in its own process group, readiness probe (tcp/http/command), identity-checked monitor, signal then SIGKILL on stop',
    uniqueParams: ['pidFile'],
    defaultTimeouts: { start: 30_000, stop: 30_000, monitor: 10_000 },
    defaultMonitorInterval: 10_000,
  },
  params: ProcessParams,

  async validate(p, ctx): Promise<ActionResult> {
    if (!(await findExecutable(p.command, p.env))) return failed('not-installed', `${p.command} is not an executable program`);
    if (p.cwd !== undefined) {
      if (!isAbsolute(p.cwd)) return failed('misconfigured', `cwd must be an absolute path, not "${p.cwd}"`);
      const s = await stat(p.cwd).catch(() => undefined);
      if (!s?.isDirectory()) return failed('misconfigured', `cwd ${p.cwd} is not a directory`);
    }
    if (p.user !== undefined) {
      const r = await ctx.run.run('id', ['-u', '--', p.user], { timeoutMs: 5000, signal: ctx.signal });
      if (r.exitCode !== 0) return failed('misconfigured', `user "${p.user}" does not exist`);
    }
    return ok();
  },

  async start(p, ctx): Promise<ActionResult> {
    const now = await running(ctx);
    if (now?.state === 'same') return waitReady(p, ctx, now.rec);
    if (now) await forget(p, ctx);
    if (!ctx.run.spawn) return failed('not-installed', 'this command runner cannot start daemons (no spawn)');
    if (!(await findExecutable(p.command, p.env))) return failed('not-installed', `${p.command} is not an executable program`);
    const argv = await argvFor(p, ctx);
    if ('execution' in argv) return argv;
    await mkdir(ctx.stateDir, { recursive: true });
    const spawned = await ctx.run.spawn(argv.file, argv.args, { env: p.env, ...(p.cwd ? { cwd: p.cwd } : {}), logFile: logFileOf(p, ctx) });
    if (!spawned.ok) return failed(spawned.notFound ? 'not-installed' : 'generic-error', spawned.message);
    const info = await procInfo(spawned.pid);
    if (!info || info.state === 'Z') {
      const out = await tail(logFileOf(p, ctx));
      return failed('generic-error', `${p.command} exited at once${out ? `: ${out}` : ''}`);
    }
    const rec: Recorded = { pid: spawned.pid, startTime: info.startTime, command: p.command, processGroup: p.processGroup };
    await writeFile(stateFile(ctx), `${JSON.stringify(rec)}\n`);
    if (p.pidFile) await writeFile(p.pidFile, `${spawned.pid}\n`);
    ctx.log.info(`started ${p.command}`, { pid: spawned.pid });
    return waitReady(p, ctx, rec);
  },

  async stop(p, ctx): Promise<ActionResult> {
    const now = await running(ctx);
    if (!now) return ok();
    if (now.state === 'same') {
      const grace = Math.max(0, Math.min(p.stopTimeoutMs, ctx.deadline - ctx.clock.now() - 1500));
      if (!(await stopProcess(p, ctx, now.rec, grace)))
        return failed('generic-error', `process ${now.rec.pid} (${now.rec.command}) survived SIGKILL`);
    }
    await forget(p, ctx);
    return ok();
  },

  async monitor(p, ctx): Promise<ActionResult> {
    const now = await running(ctx);
    if (!now) return notRunning();
    if (now.state === 'gone') return notRunning(`process ${now.rec.pid} (${now.rec.command}) is gone`);
    if (now.state === 'reused') return notRunning(`pid ${now.rec.pid} now belongs to another process (${now.rec.command} is gone)`);
    const r = await probeOnce(p, ctx);
    return r.ready ? ok() : failed('generic-error', `readiness probe failed: ${r.reason}`);
  },
});
