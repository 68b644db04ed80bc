/**
 * `paceline:bind`: named kept up in the foreground (`named -f -c CONFIG -u USER -X LOCK`). Start
 * checks the configuration with `named-checkconf` (`-z`: its primary zones too) and the given
 * zones with `named-checkzone`, failing as misconfigured with the tool's message; then runs named
 * under `@paceline/agent-api/daemon` and returns when a DNS query on the configured address gets
 * the expected answer. Monitor is that query: not running (our process is gone, or refused),
 * failed (NXDOMAIN, SERVFAIL, a wrong answer) or hung (no answer in time). A probe finds a named
 * started outside Paceline by who listens on the address and port, and takes it over. Stop is
 * verified: the process group is gone and the port is closed (TCP and UDP).
 */
import { chown, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { defineAgent, failed, ok, type ActionResult, type AgentContext } from '@paceline/agent-api';
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
import { dnsQuery } from './dns.js';
import { BindParams } from './params.js';

const handle = (p: BindParams): DaemonHandle => ({ name: 'named', stopTimeoutMs: p.stopTimeoutMs });
const target = (p: BindParams) => ({ address: p.address, port: p.port, name: p.queryName, type: p.queryType, expect: p.expectAnswer });
const runDirOf = (p: BindParams, ctx: AgentContext): string => p.runDir ?? join(ctx.stateDir, 'run');
const SBIN = sbinEnv();
/** named answers on UDP and TCP. */
const service = (p: BindParams): Service => ({
  name: 'named',
  address: p.address,
  sockets: [
    { transport: 'udp', port: p.port },
    { transport: 'tcp', port: p.port },
  ],
});

/** A config option's value from `named-checkconf -p` output ("pid-file", "session-keyfile"), if set. */
export function namedOption(printed: string, name: string): string | undefined {
  const m = new RegExp(`^\\s*${name}\\s+"([^"]+)";`, 'm').exec(printed);
  return m?.[1];
}

/**
 * The configuration and zone checks; on success, the folders named writes to (pid file, session
 * key, lock file) exist and belong to the user, as Debian's init script arranges for /run/named.
 */
async function check(p: BindParams, ctx: AgentContext): Promise<ActionResult> {
  const conf = await ctx.run.run('named-checkconf', [...(p.checkConfigZones ? ['-z'] : []), p.config], { timeoutMs: 30_000, signal: ctx.signal, env: SBIN });
  if (conf.notFound) return failed('not-installed', 'named-checkconf is not installed (bind9-utils)');
  if (conf.exitCode !== 0) {
    // -z prints "zone X/IN: loaded serial N" for good zones: keep the lines that say what is wrong.
    const lines = `${conf.stdout}\n${conf.stderr}`.split('\n').filter((l) => l.trim() && !/: loaded serial \d+$/.test(l));
    return failed('misconfigured', `named-checkconf: ${oneLine(lines.join('\n'))}`);
  }
  for (const z of p.zones) {
    const eq = z.indexOf('=');
    const [zone, file] = [z.slice(0, eq), z.slice(eq + 1)];
    const r = await ctx.run.run('named-checkzone', ['-q', zone, file], { timeoutMs: 30_000, signal: ctx.signal, env: SBIN });
    if (r.exitCode !== 0) {
      const why = await ctx.run.run('named-checkzone', [zone, file], { timeoutMs: 30_000, signal: ctx.signal, env: SBIN });
      return failed('misconfigured', `named-checkzone ${zone} ${file}: ${oneLine(`${why.stdout}\n${why.stderr}`)}`);
    }
  }
  const printed = await ctx.run.run('named-checkconf', ['-p', p.config], { timeoutMs: 30_000, signal: ctx.signal, env: SBIN });
  const files = [
    namedOption(printed.stdout, 'pid-file') ?? '/run/named/named.pid',
    namedOption(printed.stdout, 'session-keyfile') ?? '/run/named/session.key',
    join(runDirOf(p, ctx), 'named.lock'),
  ];
  const uid = await ctx.run.run('id', ['-u', '--', p.user], { timeoutMs: 5000, signal: ctx.signal });
  const gid = await ctx.run.run('id', ['-g', '--', p.user], { timeoutMs: 5000, signal: ctx.signal });
  if (uid.exitCode !== 0) return failed('misconfigured', `user "${p.user}" does not exist`);
  for (const dir of new Set(files.map((f) => dirname(f)))) {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    if (process.getuid?.() === 0) await chown(dir, Number(uid.stdout.trim()), Number(gid.stdout.trim()));
  }
  return ok();
}

export const bindAgent = defineAgent({
  meta: {
    name: 'bind',
    version: '1.0.0',
    description:
      'BIND named in the foreground: named-checkconf/named-checkzone at start, a DNS query with an expected answer as monitor (not running / failed / hung), verified stop',
    uniqueParams: ['runDir'],
    defaultTimeouts: { start: 60_000, stop: 30_000, monitor: 10_000 },
    defaultMonitorInterval: 10_000,
  },
  params: BindParams,

  async validate(p): Promise<ActionResult> {
    for (const prog of ['named', 'named-checkconf']) if (!(await findExecutable(prog, SBIN))) return failed('not-installed', `${prog} is not installed`);
    return (await requireFiles([p.config], 'config')) ?? ok();
  },

  async start(p, ctx): Promise<ActionResult> {
    const d = handle(p);
    if ((await daemonStatus(ctx, d)).state !== 'same') {
      const c = await check(p, ctx);
      if (c.outcome !== 'ok') return c;
    }
    return startDaemon(ctx, d, {
      command: 'named',
      args: ['-f', '-c', p.config, '-u', p.user, '-X', join(runDirOf(p, ctx), 'named.lock')],
      env: SBIN,
      logFile: join(ctx.stateDir, 'output.log'),
      readyIntervalMs: 100,
      ready: async (signal) => {
        const v = await dnsQuery(target(p), p.checkTimeoutMs, signal);
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
    const check = (signal: AbortSignal) => dnsQuery(target(p), checkTimeout(ctx, p.checkTimeoutMs), signal);
    if (s.state !== 'same') return monitorUnsupervised(ctx, d, s, service(p), { check });
    return verdictResult(await check(ctx.signal));
  },
});
