/**
 * `paceline:radius`: FreeRADIUS in the foreground. Start checks the config directory with
 * `freeradius -C` and fails as misconfigured with its error lines, then runs `freeradius -f` under
 * `@paceline/agent-api/daemon` and returns when the server answers a RADIUS request on the
 * configured address. Monitor sends that request from this process (Status-Server, or an
 * Access-Request for a test user; a few UDP datagrams, no fork): not running (our server is gone,
 * or the port is unreachable), failed (rejected, or an answer that does not verify with the
 * secret) or hung (no answer in time). A probe finds a server started outside Paceline by who is
 * bound to the address and port, and takes it over. Stop is verified: the process is gone and
 * the port is closed.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineAgent, failed, ok, type ActionResult, type AgentContext } from '@paceline/agent-api';
import {
  checkTimeout,
  daemonStatus,
  findExecutable,
  monitorUnsupervised,
  requireFiles,
  runCheck,
  sbinEnv,
  startDaemon,
  stopService,
  verdictResult,
  type CheckVerdict,
  type DaemonHandle,
  type Service,
} from '@paceline/agent-api/daemon';
import { exchange, type Probe } from './client.js';
import { RadiusParams } from './params.js';

const SBIN = sbinEnv();
const PROGRAM = 'freeradius';

const handle = (p: RadiusParams): DaemonHandle => ({ name: PROGRAM, stopTimeoutMs: p.stopTimeoutMs });

/** The error lines of `freeradius -C` output, without their time stamps, on one line. */
export function configErrors(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const errors = lines.filter((l) => /:\s*Error:\s/.test(l)).map((l) => l.replace(/^.*?:\s*Error:\s*/, ''));
  return (errors.length > 0 ? errors : lines.slice(-3)).join(' | ') || 'freeradius -C failed without a message';
}

const firstLine = async (file: string): Promise<string> => ((await readFile(file, 'utf8')).split('\n')[0] ?? '').replace(/\r$/, '');

/** The secret and the probe, reading the files named in the parameters. */
async function credentials(p: RadiusParams): Promise<{ secret: string; probe: Probe }> {
  const secret = p.secret ?? (await firstLine(p.secretFile!));
  if (p.check === 'status-server') return { secret, probe: { kind: 'status-server' } };
  const password = p.testPassword ?? (await firstLine(p.testPasswordFile!));
  return { secret, probe: { kind: 'access-request', user: p.testUser!, password } };
}

/** One RADIUS check against address:port, with the verdict the monitor acts on. */
async function check(p: RadiusParams, ctx: AgentContext, signal: AbortSignal): Promise<CheckVerdict> {
  const what = `RADIUS ${p.address}:${p.port}`;
  let c: { secret: string; probe: Probe };
  try {
    c = await credentials(p);
  } catch (e) {
    return {
      verdict: 'failed',
      saw: `${what}: cannot read ${(e as NodeJS.ErrnoException).path ?? 'a credentials file'}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    };
  }
  const v = await runCheck(what, checkTimeout(ctx, p.checkTimeoutMs), signal, (s) =>
    exchange({ address: p.address, port: p.port, secret: c.secret, probe: c.probe, retryMs: p.retryMs }, s),
  );
  // FreeRADIUS answers nothing to a request it cannot authenticate: say so with the hang.
  return v.verdict === 'hung' ? { ...v, saw: `${v.saw} (FreeRADIUS also stays silent to an unknown client or a wrong secret)` } : v;
}

const service = (p: RadiusParams): Service => ({ name: PROGRAM, address: p.address, sockets: [{ transport: 'udp', port: p.port }] });

async function checkConfig(p: RadiusParams, ctx: AgentContext): Promise<ActionResult | undefined> {
  const r = await ctx.run.run(PROGRAM, ['-C', '-l', 'stdout', '-d', p.configDir], { env: SBIN, timeoutMs: 30_000, signal: ctx.signal });
  if (r.notFound) return failed('not-installed', 'freeradius is not installed');
  if (r.exitCode !== 0) return failed('misconfigured', `freeradius -C -d ${p.configDir}: ${configErrors(`${r.stdout}\n${r.stderr}`)}`);
  return undefined;
}

export const radiusAgent = defineAgent({
  meta: {
    name: 'radius',
    version: '1.0.0',
    description:
      'FreeRADIUS in the foreground: config checked with freeradius -C at start, Status-Server or Access-Request over UDP as monitor (not running / failed / hung), verified stop',
    defaultTimeouts: { start: 30_000, stop: 30_000, monitor: 10_000 },
    defaultMonitorInterval: 10_000,
  },
  params: RadiusParams,

  async validate(p): Promise<ActionResult> {
    if (!(await findExecutable(PROGRAM, SBIN))) return failed('not-installed', 'freeradius is not installed');
    const files = [join(p.configDir, 'radiusd.conf'), p.secretFile, p.testPasswordFile].filter((f): f is string => Boolean(f));
    return (await requireFiles(files)) ?? ok();
  },

  async start(p, ctx): Promise<ActionResult> {
    const d = handle(p);
    if ((await daemonStatus(ctx, d)).state !== 'same') {
      const bad = await checkConfig(p, ctx);
      if (bad) return bad;
    }
    return startDaemon(ctx, d, {
      command: PROGRAM,
      args: ['-f', '-l', 'stdout', '-d', p.configDir],
      env: SBIN,
      logFile: join(ctx.stateDir, 'freeradius.log'),
      readyIntervalMs: 100,
      ready: async (signal) => {
        const v = await check(p, ctx, signal);
        return v.verdict === 'ok' ? { ready: true } : { ready: false, reason: v.saw };
      },
    });
  },

  stop(p, ctx): Promise<ActionResult> {
    return stopService(ctx, handle(p), service(p));
  },

  async monitor(p, ctx): Promise<ActionResult> {
    const d = handle(p);
    const s = await daemonStatus(ctx, d);
    if (s.state !== 'same') return monitorUnsupervised(ctx, d, s, service(p), { check: (signal) => check(p, ctx, signal), leftovers: true });
    const v = await check(p, ctx, ctx.signal);
    // Our server is alive, so an unreachable port is a failure, not a clean stop.
    if (v.verdict === 'not-running') return failed('generic-error', `freeradius (pid ${s.record.pid}) runs, but ${v.saw}`);
    return verdictResult(v);
  },
});
