/**
 * `paceline:httpd`: nginx or Apache kept up in the foreground. Start checks the configuration
 * with the server's own tool (`nginx -t`, `apache2 -t`) and fails as misconfigured with its
 * message, then runs the server under `@paceline/agent-api/daemon` and returns when a GET on the
 * configured address answers the expected status. Monitor is that GET: not running (our process
 * is gone, or nothing listens), failed (wrong status or error) or hung (no answer in time). A
 * probe finds a server started outside Paceline by who listens on the address and port, and takes
 * it over. Stop is verified: the process group is gone and the port is closed.
 */
import { chown, mkdir } from 'node:fs/promises';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { defineAgent, failed, notRunning, ok, type ActionResult, type AgentContext } from '@paceline/agent-api';
import {
  adoptDaemon, daemonStatus, findExecutable, notRunningResult, startDaemon, stopDaemon, verdictResult, waitPortClosed, whoListens,
  type DaemonHandle, type ListeningProcess,
} from '@paceline/agent-api/daemon';
import { httpGet, urlOf } from './http.js';
import { HttpdParams } from './params.js';
import { apachePlan, configOf, nginxDirective, nginxPlan, PROCESS_NAMES, PROGRAM, type ServerPlan } from './servers.js';

const handle = (p: HttpdParams): DaemonHandle => ({ name: PROGRAM[p.server], stopTimeoutMs: p.stopTimeoutMs });

const target = (p: HttpdParams) => ({ address: p.address, port: p.port, path: p.path, expectStatus: p.expectStatus, hostHeader: p.hostHeader });

/** The tool's message, without blank lines, on one line. */
const oneLine = (text: string): string => text.split('\n').map((l) => l.trim()).filter(Boolean).join(' | ');

const describeProcs = (ps: readonly ListeningProcess[]): string => ps.map((x) => `${x.pid} (${x.comm})`).join(', ');

/** The servers of our kind listening on the address and port. */
async function serversListening(p: HttpdParams): Promise<{ ours: ListeningProcess[]; others: ListeningProcess[] }> {
  const all = await whoListens('tcp', p.address, p.port);
  const names = PROCESS_NAMES[p.server];
  return { ours: all.filter((x) => names.includes(x.comm)), others: all.filter((x) => !names.includes(x.comm)) };
}

/** Builds the argv and environment for this server, creating its directories; a failed result on a bad config. */
async function plan(p: HttpdParams, ctx: AgentContext): Promise<ServerPlan | ActionResult> {
  let result: ServerPlan;
  if (p.server === 'nginx') {
    const dump = await ctx.run.run('nginx', ['-T', '-q', '-c', configOf(p)], { timeoutMs: 15_000, signal: ctx.signal });
    if (dump.notFound) return failed('not-installed', 'nginx is not installed');
    if (dump.exitCode !== 0) return failed('misconfigured', `nginx -t: ${oneLine(dump.stderr || dump.stdout)}`);
    const configured = nginxDirective(dump.stdout, 'user')?.split(/\s+/)[0];
    if (p.user && configured && configured !== p.user)
      return failed('misconfigured', `user is "${p.user}" but ${configOf(p)} sets "user ${configured}" (nginx takes one user directive): make them agree or leave user out`);
    result = nginxPlan(p, ctx, dump.stdout);
  } else {
    const user = p.user ?? 'www-data';
    const g = await ctx.run.run('id', ['-gn', '--', user], { timeoutMs: 5000, signal: ctx.signal });
    if (g.exitCode !== 0) return failed('misconfigured', `user "${user}" does not exist`);
    result = apachePlan(p, ctx, g.stdout.trim());
  }
  for (const dir of result.dirs) {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    if (result.owner) {
      const id = await ctx.run.run('id', ['-u', '--', result.owner], { timeoutMs: 5000, signal: ctx.signal });
      const gid = await ctx.run.run('id', ['-g', '--', result.owner], { timeoutMs: 5000, signal: ctx.signal });
      if (process.getuid?.() === 0 && id.exitCode === 0) await chown(dir, Number(id.stdout.trim()), Number(gid.stdout.trim()));
    }
  }
  return result;
}

const isResult = (x: object): x is ActionResult => 'execution' in x;

/** The check's timeout: checkTimeoutMs, but never past the action's deadline (a hang is reported, not timed out). */
const checkTimeout = (p: HttpdParams, ctx: AgentContext): number => Math.min(p.checkTimeoutMs, Math.max(100, ctx.deadline - ctx.clock.now() - 500));

export const httpdAgent = defineAgent({
  meta: {
    name: 'httpd',
    version: '1.0.0',
    description: 'nginx or Apache in the foreground: config checked with nginx -t / apache2 -t at start, HTTP GET with an expected status as monitor (not running / failed / hung), verified stop',
    uniqueParams: ['runDir'],
    defaultTimeouts: { start: 30_000, stop: 30_000, monitor: 10_000 },
    defaultMonitorInterval: 10_000,
  },
  params: HttpdParams,

  async validate(p): Promise<ActionResult> {
    if (!(await findExecutable(PROGRAM[p.server], { PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` })))
      return failed('not-installed', `${PROGRAM[p.server]} is not installed`);
    try {
      await access(configOf(p));
    } catch (e) {
      return failed('not-installed', `config ${configOf(p)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return ok();
  },

  async start(p, ctx): Promise<ActionResult> {
    const d = handle(p);
    const running = await daemonStatus(ctx, d);
    const launch = await plan(p, ctx);
    if (isResult(launch)) return launch;
    if (running.state !== 'same') {
      const check = await ctx.run.run(launch.program, launch.checkArgs, { env: launch.env, timeoutMs: 15_000, signal: ctx.signal });
      if (check.notFound) return failed('not-installed', `${launch.program} is not installed`);
      if (check.exitCode !== 0) return failed('misconfigured', `${launch.program} -t: ${oneLine(`${check.stderr}\n${check.stdout}`)}`);
    }
    const url = urlOf(target(p));
    return startDaemon(ctx, d, {
      command: launch.program,
      args: launch.args,
      env: launch.env,
      logFile: join(ctx.stateDir, 'output.log'),
      readyIntervalMs: 100,
      ready: async (signal) => {
        const v = await httpGet(target(p), p.checkTimeoutMs, signal);
        return v.verdict === 'ok' ? { ready: true } : { ready: false, reason: v.saw.startsWith('GET') ? v.saw : `${url}: ${v.saw}` };
      },
    });
  },

  async stop(p, ctx): Promise<ActionResult> {
    const d = handle(p);
    if ((await daemonStatus(ctx, d)).state === 'none') {
      // A server started outside Paceline (found by a probe, or by hand since): stop it too.
      const { ours } = await serversListening(p);
      if (ours[0]) await adoptDaemon(ctx, d, ours[0].pid);
    }
    const r = await stopDaemon(ctx, d);
    if (r.outcome !== 'ok') return r;
    const wait = Math.max(100, Math.min(5000, ctx.deadline - ctx.clock.now() - 500));
    if (await waitPortClosed(ctx, 'tcp', p.address, p.port, wait)) return ok();
    const { ours, others } = await serversListening(p);
    if (ours.length > 0) return failed('generic-error', `${p.address}:${p.port} is still served by ${describeProcs(ours)}`);
    ctx.log.warn(`${p.address}:${p.port} stays open, held by another program`, { holders: describeProcs(others) });
    return ok();
  },

  async monitor(p, ctx): Promise<ActionResult> {
    const d = handle(p);
    const s = await daemonStatus(ctx, d);
    if (s.state === 'gone' || s.state === 'reused') {
      const down = notRunningResult(s)!;
      const { ours } = await serversListening(p);
      return ours.length > 0 ? notRunning(`${down.reason}; left over and still listening: ${describeProcs(ours)}`) : down;
    }
    if (s.state === 'none') {
      // A probe: is a server running here that Paceline did not start?
      const { ours, others } = await serversListening(p);
      if (ours.length === 0 && others.length === 0) return notRunning();
      if (ours.length === 0) return failed('generic-error', `${p.address}:${p.port} is served by ${describeProcs(others)}, not ${PROGRAM[p.server]}`);
      const v = await httpGet(target(p), checkTimeout(p, ctx), ctx.signal);
      if (v.verdict !== 'ok') return verdictResult(v);
      const rec = await adoptDaemon(ctx, d, ours[0]!.pid);
      return ok(`found ${PROGRAM[p.server]} started outside Paceline (pid ${rec?.pid ?? ours[0]!.pid}), now supervised; ${v.saw}`);
    }
    return verdictResult(await httpGet(target(p), checkTimeout(p, ctx), ctx.signal));
  },
});
