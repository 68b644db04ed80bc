/**
 * `paceline:process`: keeps one long-running program up. Start launches it in its own process
 * group (as another user when asked, through `setpriv`), records its pid and /proc start time,
 * and waits until the readiness probe passes. Monitor checks the pid is alive, is still the same
 * process (the start time matches, so a reused pid is not mistaken for ours) and is ready. Stop
 * sends the stop signal, waits, then SIGKILLs the group. The supervision itself is
 * `@paceline/agent-api/daemon`, shared with the service agents.
 */
import { stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { defineAgent, failed, ok, type ActionResult, type AgentContext } from '@paceline/agent-api';
import { daemonStatus, findExecutable, notRunningResult, startDaemon, stopDaemon, type DaemonHandle } from '@paceline/agent-api/daemon';
import { ProcessParams } from './params.js';
import { probeOnce } from './probe.js';

const handle = (p: ProcessParams, ctx: AgentContext): DaemonHandle => ({
  name: p.command,
  recordFile: join(ctx.stateDir, 'process.json'),
  ...(p.pidFile ? { pidFile: p.pidFile } : {}),
  processGroup: p.processGroup,
  stopSignal: p.stopSignal,
  stopTimeoutMs: p.stopTimeoutMs,
});

export const processAgent = defineAgent({
  meta: {
    name: 'process',
    version: '1.0.0',
    description:
      'Keeps a long-running program up: start in its own process group, readiness probe (tcp/http/command), identity-checked monitor, signal then SIGKILL on stop',
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

  start(p, ctx): Promise<ActionResult> {
    return startDaemon(ctx, handle(p, ctx), {
      command: p.command,
      args: p.args,
      env: p.env,
      ...(p.cwd ? { cwd: p.cwd } : {}),
      ...(p.user ? { user: p.user } : {}),
      logFile: p.logFile ?? join(ctx.stateDir, 'output.log'),
      ...(p.probe === 'none' ? {} : { ready: () => probeOnce(p, ctx) }),
      readyIntervalMs: p.probeIntervalMs,
      settleMs: p.probe === 'none' ? p.settleMs : 0,
    });
  },

  stop(p, ctx): Promise<ActionResult> {
    return stopDaemon(ctx, handle(p, ctx));
  },

  async monitor(p, ctx): Promise<ActionResult> {
    const now = await daemonStatus(ctx, handle(p, ctx));
    const down = notRunningResult(now);
    if (down) return down;
    const r = await probeOnce(p, ctx);
    return r.ready ? ok() : failed('generic-error', `readiness probe failed: ${r.reason}`);
  },
});
