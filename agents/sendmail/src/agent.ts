/**
 * `paceline:sendmail`: Sendmail kept up as a foreground daemon (`sendmail -bD -qINTERVAL`) that
 * accepts mail for the served domains and hands it to Cyrus over LMTP. Start builds sendmail.cf
 * from the parameters with sendmail-cf's m4 macros (unless one is given), checks that the host
 * name is qualified (else sendmail sleeps 60 s before reading its configuration), checks the .cf
 * with sendmail itself (`-bv postmaster@DOMAIN`: it parses the file, enters the queue directory
 * and routes the address; misconfigured with its message), then runs the daemon under
 * `@paceline/agent-api/daemon` and returns when SMTP answers EHLO on the configured address.
 * Mail Cyrus cannot take (it is stopped, or moving to the other node) stays in the queue
 * directory and is retried every `queueInterval`. Monitor is the SMTP exchange: not running (our
 * process is gone, or refused), failed (a 4xx/5xx greeting), hung (no greeting in time). A probe
 * adopts a sendmail listening on the address. Stop is verified: process group gone, port closed.
 */
import { hostname } from 'node:os';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { defineAgent, failed, ok, type ActionResult, type AgentContext } from '@paceline/agent-api';
import {
  adoptListener,
  daemonStatus,
  findExecutable,
  monitorUnsupervised,
  oneLine,
  sbinEnv,
  startDaemon,
  stopService,
  verdictResult,
  type DaemonHandle,
  type Service,
} from '@paceline/agent-api/daemon';
import { instanceOptions, layoutOf, mcText, type SendmailLayout } from './config.js';
import { SendmailParams } from './params.js';
import { smtpCheck } from './smtp.js';

export const SENDMAIL = '/usr/sbin/sendmail';
const SBIN = sbinEnv();
const handle = (p: SendmailParams): DaemonHandle => ({ name: 'sendmail', stopTimeoutMs: p.stopTimeoutMs });
const service = (p: SendmailParams): Service => ({ name: 'sendmail', address: p.address, sockets: [{ transport: 'tcp', port: p.port }] });

/** The arguments that run the queue once now (`sendmail -C CF -O ... -q`), for operators and tests. */
export function queueRunArgs(p: SendmailParams, l: SendmailLayout): string[] {
  return ['-C', l.cf, ...instanceOptions(p, l), '-q'];
}

/** Messages waiting in the queue directory (one qf file each); undefined when it cannot be read. */
export async function queuedMessages(queueDir: string): Promise<number | undefined> {
  try {
    return (await readdir(queueDir)).filter((f) => f.startsWith('qf')).length;
  } catch (e) {
    void e;
    return undefined;
  }
}

/** Sendmail, before it reads its configuration, sleeps 60 s when the host name has no qualified form. */
async function hostnameQualified(ctx: AgentContext, p: SendmailParams): Promise<ActionResult | undefined> {
  const h = hostname();
  if (h.includes('.')) return undefined;
  const r = await ctx.run.run('getent', ['hosts', h], { timeoutMs: 10_000, signal: ctx.signal });
  const names = r.stdout.split('\n').flatMap((l) => l.trim().split(/\s+/).slice(1));
  if (names.some((n) => n.includes('.'))) return undefined;
  const found = r.exitCode === 0 ? `/etc/hosts gives no qualified name for it (getent hosts ${h}: ${oneLine(r.stdout)})` : `getent hosts ${h} finds nothing`;
  return failed(
    'misconfigured',
    `sendmail would wait 60 s at every start: the host name "${h}" is not qualified and ${found}; ` +
      `add a line such as "127.0.1.1 ${p.hostname ?? `${h}.${p.domains[0] ?? 'example.org'}`} ${h}" to /etc/hosts`,
  );
}

/** Builds sendmail.cf (unless given), makes the queue and pid directories, and checks with sendmail -bv. */
async function prepare(p: SendmailParams, ctx: AgentContext, l: SendmailLayout): Promise<ActionResult | undefined> {
  const host = await hostnameQualified(ctx, p);
  if (host) return host;
  await mkdir(ctx.stateDir, { recursive: true });
  await mkdir(p.queueDir, { recursive: true, mode: 0o750 });
  await mkdir(dirname(l.pidFile), { recursive: true, mode: 0o755 });
  if (l.mc) {
    const owner = (await stat(p.queueDir)).uid;
    let trustedUser: string | undefined;
    if (owner !== 0) {
      const id = await ctx.run.run('id', ['-nu', String(owner)], { timeoutMs: 5000, signal: ctx.signal });
      if (id.exitCode !== 0) return failed('misconfigured', `the queue directory ${p.queueDir} belongs to uid ${owner}, which has no user name`);
      trustedUser = id.stdout.trim();
    }
    await writeFile(l.mc, mcText(p, l, { trustedUser }));
    const m4 = await ctx.run.run('m4', [l.mc], { timeoutMs: 30_000, signal: ctx.signal, env: SBIN });
    if (m4.notFound) return failed('not-installed', 'm4 is not installed (sendmail-cf needs it)');
    if (m4.exitCode !== 0 || m4.stderr.trim()) return failed('misconfigured', `m4 ${l.mc}: ${oneLine(m4.stderr) || `exit ${m4.exitCode}`}`);
    await writeFile(l.cf, m4.stdout);
  }
  const address = p.domains[0] ? `postmaster@${p.domains[0]}` : 'postmaster';
  const bv = await ctx.run.run(SENDMAIL, ['-C', l.cf, ...instanceOptions(p, l), '-bv', address], { timeoutMs: 30_000, signal: ctx.signal, env: SBIN });
  if (bv.notFound) return failed('not-installed', `${SENDMAIL} is not installed (sendmail-bin)`);
  const said = oneLine(`${bv.stdout}\n${bv.stderr}`);
  if (bv.exitCode !== 0) return failed('misconfigured', `sendmail -bv ${address}: ${said || `exit ${bv.exitCode ?? bv.signal}`}`);
  if (l.mc && !/deliverable: mailer cyrusv2\b/.test(said))
    return failed('misconfigured', `sendmail -bv ${address}: ${said} (expected the cyrusv2 LMTP mailer)`);
  return undefined;
}

export const sendmailAgent = defineAgent({
  meta: {
    name: 'sendmail',
    version: '1.0.0',
    description:
      'Sendmail in the foreground relaying the served domains to Cyrus over LMTP (queued while Cyrus is away): sendmail -bv at start, SMTP EHLO as monitor (not running / failed / hung), verified stop',
    uniqueParams: ['runDir', 'queueDir'],
    defaultTimeouts: { start: 60_000, stop: 30_000, monitor: 10_000 },
    defaultMonitorInterval: 10_000,
  },
  params: SendmailParams,

  async validate(p): Promise<ActionResult> {
    if (!(await findExecutable(SENDMAIL))) return failed('not-installed', `${SENDMAIL} is not installed (sendmail-bin)`);
    if (!p.config && !(await findExecutable('m4', SBIN))) return failed('not-installed', 'm4 is not installed (sendmail-cf needs it)');
    return ok();
  },

  async start(p, ctx): Promise<ActionResult> {
    const l = layoutOf(p, ctx);
    const d = handle(p);
    // A sendmail already listening there (started outside Paceline) is taken over, not started twice.
    if ((await daemonStatus(ctx, d)).state !== 'same' && !(await adoptListener(ctx, d, service(p)))) {
      const bad = await prepare(p, ctx, l);
      if (bad) return bad;
    }
    return startDaemon(ctx, d, {
      command: SENDMAIL,
      args: ['-C', l.cf, '-bD', `-q${p.queueInterval}`, ...instanceOptions(p, l)],
      env: SBIN,
      logFile: l.logFile,
      readyIntervalMs: 100,
      ready: async (signal) => {
        const v = await smtpCheck(p.address, p.port, p.checkTimeoutMs, signal);
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
    const queued = async (): Promise<string> => {
      const n = await queuedMessages(p.queueDir);
      return n === undefined ? '' : `; ${n} message(s) queued`;
    };
    const check = (signal: AbortSignal) => smtpCheck(p.address, p.port, p.checkTimeoutMs, signal);
    if (s.state !== 'same') {
      const r = await monitorUnsupervised(ctx, d, s, service(p), { check });
      return r.outcome === 'ok' ? ok(`${r.reason ?? ''}${await queued()}`) : r;
    }
    const v = await check(ctx.signal);
    return v.verdict === 'ok' ? ok(`${v.saw}${await queued()}`) : verdictResult(v);
  },
});
