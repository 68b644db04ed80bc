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
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineAgent, failed, notRunning, ok, type ActionResult, type AgentContext } from '@paceline/agent-api';
import {
  adoptDaemon, daemonStatus, findExecutable, notRunningResult, runCheck, startDaemon, stopDaemon, verdictResult, waitPortClosed, whoListens,
  type CheckVerdict, type DaemonHandle, type ListeningProcess,
} from '@paceline/agent-api/daemon';
import { exchange, type Probe } from './client.js';
import { RadiusParams } from './params.js';

const SBIN = { PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` };
const PROGRAM = 'freeradius';

const handle = (p: RadiusParams): DaemonHandle => ({ name: PROGRAM, stopTimeoutMs: p.stopTimeoutMs });

/** The error lines of `freeradius -C` output, without their time stamps, on one line. */
export function configErrors(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
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

/** The check's timeout: checkTimeoutMs, but never past the action's deadline (a hang is reported, not timed out). */
const checkTimeout = (p: RadiusParams, ctx: AgentContext): number => Math.min(p.checkTimeoutMs, Math.max(100, ctx.deadline - ctx.clock.now() - 500));

/** One RADIUS check against address:port, with the verdict the monitor acts on. */
async function check(p: RadiusParams, ctx: AgentContext, signal: AbortSignal): Promise<CheckVerdict> {
  const what = `RADIUS ${p.address}:${p.port}`;
  let c: { secret: string; probe: Probe };
  try {
    c = await credentials(p);
  } catch (e) {
    return { verdict: 'failed', saw: `${what}: cannot read ${(e as NodeJS.ErrnoException).path ?? 'a credentials file'}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  const v = await runCheck(what, checkTimeout(p, ctx), signal, (s) =>
    exchange({ address: p.address, port: p.port, secret: c.secret, probe: c.probe, retryMs: p.retryMs }, s));
  // FreeRADIUS answers nothing to a request it cannot authenticate: say so with the hang.
  return v.verdict === 'hung' ? { ...v, saw: `${v.saw} (FreeRADIUS also stays silent to an unknown client or a wrong secret)` } : v;
}

const describeProcs = (ps: readonly ListeningProcess[]): string => ps.map((x) => `${x.pid} (${x.comm})`).join(', ');

async function bound(p: RadiusParams): Promise<{ ours: ListeningProcess[]; others: ListeningProcess[] }> {
  const all = await whoListens('udp', p.address, p.port);
  return { ours: all.filter((x) => x.comm === PROGRAM), others: all.filter((x) => x.comm !== PROGRAM) };
}

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
    description: 'FreeRADIUS in the foreground: config checked with freeradius -C at start, Status-Server or Access-Request over UDP as monitor (not running / failed / hung), verified stop',
    defaultTimeouts: { start: 30_000, stop: 30_000, monitor: 10_000 },
    defaultMonitorInterval: 10_000,
  },
  params: RadiusParams,

  async validate(p): Promise<ActionResult> {
    if (!(await findExecutable(PROGRAM, SBIN))) return failed('not-installed', 'freeradius is not installed');
    for (const f of [join(p.configDir, 'radiusd.conf'), p.secretFile, p.testPasswordFile]) {
      if (!f) continue;
      try {
        await access(f);
      } catch (e) {
        return failed('not-installed', `${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
    return ok();
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

  async stop(p, ctx): Promise<ActionResult> {
    const d = handle(p);
    if ((await daemonStatus(ctx, d)).state === 'none') {
      // A server started outside Paceline (found by a probe, or by hand since): stop it too.
      const { ours } = await bound(p);
      if (ours[0]) await adoptDaemon(ctx, d, ours[0].pid);
    }
    const r = await stopDaemon(ctx, d);
    if (r.outcome !== 'ok') return r;
    const wait = Math.max(100, Math.min(5000, ctx.deadline - ctx.clock.now() - 500));
    if (await waitPortClosed(ctx, 'udp', p.address, p.port, wait)) return ok();
    const { ours, others } = await bound(p);
    if (ours.length > 0) return failed('generic-error', `${p.address}:${p.port} is still served by ${describeProcs(ours)}`);
    ctx.log.warn(`${p.address}:${p.port} stays bound, by another program`, { holders: describeProcs(others) });
    return ok();
  },

  async monitor(p, ctx): Promise<ActionResult> {
    const d = handle(p);
    const s = await daemonStatus(ctx, d);
    if (s.state === 'gone' || s.state === 'reused') {
      const down = notRunningResult(s)!;
      const { ours } = await bound(p);
      return ours.length > 0 ? notRunning(`${down.reason}; another freeradius is bound there: ${describeProcs(ours)}`) : down;
    }
    if (s.state === 'none') {
      // A probe: is a server running here that Paceline did not start?
      const { ours, others } = await bound(p);
      if (ours.length === 0 && others.length === 0) return notRunning();
      if (ours.length === 0) return failed('generic-error', `${p.address}:${p.port} is bound by ${describeProcs(others)}, not freeradius`);
      const v = await check(p, ctx, ctx.signal);
      if (v.verdict !== 'ok') return verdictResult(v);
      const rec = await adoptDaemon(ctx, d, ours[0]!.pid);
      return ok(`found freeradius started outside Paceline (pid ${rec?.pid ?? ours[0]!.pid}), now supervised; ${v.saw}`);
    }
    const v = await check(p, ctx, ctx.signal);
    // Our server is alive, so an unreachable port is a failure, not a clean stop.
    if (v.verdict === 'not-running') return failed('generic-error', `freeradius (pid ${s.record.pid}) runs, but ${v.saw}`);
    return verdictResult(v);
  },
});
