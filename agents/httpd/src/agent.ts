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
import { join } from 'node:path';
import { defineAgent, failed, isActionResult, ok, type ActionResult, type AgentContext } from '@paceline/agent-api';
import {
  checkTimeout,
  daemonStatus,
  findExecutable,
  monitorUnsupervised,
  oneLine,
  requireFiles,
  sbinEnv,
  startDaemon,
  stopService,
  verdictResult,
  type DaemonHandle,
  type Service,
} from '@paceline/agent-api/daemon';
import { httpGet, urlOf } from './http.js';
import { HttpdParams } from './params.js';
import { apachePlan, configOf, nginxDirective, nginxPlan, PROCESS_NAMES, PROGRAM, type ServerPlan } from './servers.js';

const handle = (p: HttpdParams): DaemonHandle => ({ name: PROGRAM[p.server], stopTimeoutMs: p.stopTimeoutMs });

const target = (p: HttpdParams) => ({ address: p.address, port: p.port, path: p.path, expectStatus: p.expectStatus, hostHeader: p.hostHeader });

/** Where the server serves; its processes are the ones named as the server's program names. */
const service = (p: HttpdParams): Service => ({
  name: PROGRAM[p.server],
  address: p.address,
  sockets: [{ transport: 'tcp', port: p.port }],
  isDaemon: (x) => PROCESS_NAMES[p.server].includes(x.comm),
});

/** Builds the argv and environment for this server, creating its directories; a failed result on a bad config. */
async function plan(p: HttpdParams, ctx: AgentContext): Promise<ServerPlan | ActionResult> {
  let result: ServerPlan;
  if (p.server === 'nginx') {
    const dump = await ctx.run.run('nginx', ['-T', '-q', '-c', configOf(p)], { timeoutMs: 15_000, signal: ctx.signal });
    if (dump.notFound) return failed('not-installed', 'nginx is not installed');
    if (dump.exitCode !== 0) return failed('misconfigured', `nginx -t: ${oneLine(dump.stderr || dump.stdout)}`);
    const configured = nginxDirective(dump.stdout, 'user')?.split(/\s+/)[0];
    if (p.user && configured && configured !== p.user)
      return failed(
        'misconfigured',
        `user is "${p.user}" but ${configOf(p)} sets "user ${configured}" (nginx takes one user directive): make them agree or leave user out`,
      );
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

export const httpdAgent = defineAgent({
  meta: {
    name: 'httpd',
    version: '1.0.0',
    description:
      'nginx or Apache in the foreground: config checked with nginx -t / apache2 -t at start, HTTP GET with an expected status as monitor (not running / failed / hung), verified stop',
    uniqueParams: ['runDir'],
    defaultTimeouts: { start: 30_000, stop: 30_000, monitor: 10_000 },
    defaultMonitorInterval: 10_000,
  },
  params: HttpdParams,

  async validate(p): Promise<ActionResult> {
    if (!(await findExecutable(PROGRAM[p.server], sbinEnv()))) return failed('not-installed', `${PROGRAM[p.server]} is not installed`);
    return (await requireFiles([configOf(p)], 'config')) ?? ok();
  },

  async start(p, ctx): Promise<ActionResult> {
    const d = handle(p);
    const running = await daemonStatus(ctx, d);
    const launch = await plan(p, ctx);
    if (isActionResult(launch)) return launch;
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

  stop(p, ctx): Promise<ActionResult> {
    return stopService(ctx, handle(p), service(p));
  },

  async monitor(p, ctx): Promise<ActionResult> {
    const d = handle(p);
    const s = await daemonStatus(ctx, d);
    const check = (signal: AbortSignal) => httpGet(target(p), checkTimeout(ctx, p.checkTimeoutMs), signal);
    if (s.state !== 'same') return monitorUnsupervised(ctx, d, s, service(p), { check, leftovers: true });
    return verdictResult(await check(ctx.signal));
  },
});
