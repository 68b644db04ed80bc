/**
 * `paceline:cyrus`: Cyrus IMAP's master kept up in the foreground (`master -D -C imapd.conf -M
 * cyrus.conf -p PIDFILE`). Start writes both configuration files from the parameters (unless
 * given), checks them with `cyr_info conf-lint` (misconfigured with its message), prepares the
 * directories for the Cyrus user, recovers the databases and reconciles them with the spool
 * (reconstruct, quota -f: see reconcile.ts), then runs master under `@paceline/agent-api/daemon`
 * and returns when IMAP answers CAPABILITY (and LOGIN, with a test account) and LMTP answers LHLO
 * on the service address. Monitor is that IMAP exchange: not running (master gone, or refused),
 * failed (a NO, a BYE, a login refused) or hung (no answer in time: a stopped master no longer
 * forks imapd). A probe finds a master started outside Paceline listening on the address and
 * takes it over. Stop is verified: the process group is gone and the IMAP and LMTP ports closed.
 */
import { chown, mkdir, readlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { defineAgent, failed, isActionResult, ok, type ActionResult, type AgentContext } from '@paceline/agent-api';
import {
  adoptListener,
  daemonStatus,
  findExecutable,
  monitorUnsupervised,
  oneLine,
  requireFiles,
  startDaemon,
  stopService,
  verdictResult,
  type DaemonHandle,
  type Service,
} from '@paceline/agent-api/daemon';
import { cyrusConfText, imapdConfText, layoutOf, parseConfAll, pathsOf, type CyrusLayout } from './config.js';
import { imapCheck, lmtpCheck } from './imap.js';
import { CyrusParams } from './params.js';
import { describeSummary, reconcileSpool, recoverDatabases } from './reconcile.js';

const handle = (p: CyrusParams): DaemonHandle => ({ name: 'cyrus master', stopTimeoutMs: p.stopTimeoutMs });
const imapTarget = (p: CyrusParams) => ({ address: p.address, port: p.imapPort, user: p.testUser, password: p.testPassword, mailbox: p.testMailbox });

/** Is `pid` Cyrus's master (not Postfix's, which has the same name)? */
async function isCyrusMaster(pid: number, toolsDir: string): Promise<boolean> {
  try {
    return (await readlink(`/proc/${pid}/exe`)) === join(toolsDir, 'master');
  } catch (e) {
    void e;
    return false;
  }
}

/** Master listens on the IMAP port (where a probe looks for it) and the LMTP port (closed by a stop too). */
const service = (p: CyrusParams): Service => ({
  name: 'Cyrus master',
  address: p.address,
  sockets: [{ transport: 'tcp', port: p.imapPort }],
  alsoClosedOnStop: p.lmtpPort > 0 ? [{ transport: 'tcp', port: p.lmtpPort }] : [],
  isDaemon: (x) => isCyrusMaster(x.pid, p.toolsDir),
});

/** The uid and gid of the Cyrus user, or why not. */
async function ids(ctx: AgentContext, user: string): Promise<{ uid: number; gid: number } | ActionResult> {
  const u = await ctx.run.run('id', ['-u', '--', user], { timeoutMs: 5000, signal: ctx.signal });
  const g = await ctx.run.run('id', ['-g', '--', user], { timeoutMs: 5000, signal: ctx.signal });
  if (u.exitCode !== 0 || g.exitCode !== 0) return failed('misconfigured', `user "${user}" does not exist`);
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** Writes the generated files, checks the configuration, prepares directories; the effective paths. */
async function prepare(p: CyrusParams, ctx: AgentContext, l: CyrusLayout): Promise<ActionResult | ReturnType<typeof pathsOf>> {
  await mkdir(ctx.stateDir, { recursive: true });
  if (l.generatedImapd) await writeFile(l.imapdConf, imapdConfText(p, l), { mode: 0o644 });
  if (l.generatedCyrus) await writeFile(l.cyrusConf, cyrusConfText(p, l), { mode: 0o644 });
  const cyrInfo = join(p.toolsDir, 'cyr_info');
  const lint = await ctx.run.run(cyrInfo, ['-C', l.imapdConf, '-M', l.cyrusConf, 'conf-lint'], { timeoutMs: 15_000, signal: ctx.signal });
  if (lint.notFound) return failed('not-installed', `${cyrInfo} is not installed (cyrus-imapd)`);
  if (lint.exitCode !== 0) return failed('misconfigured', `cyr_info conf-lint: ${oneLine(`${lint.stderr}\n${lint.stdout}`)}`);
  if (lint.stdout.trim()) return failed('misconfigured', `cyr_info conf-lint: options Cyrus does not know in ${l.imapdConf}: ${oneLine(lint.stdout)}`);
  const all = await ctx.run.run(cyrInfo, ['-C', l.imapdConf, 'conf-all'], { timeoutMs: 15_000, signal: ctx.signal });
  if (all.exitCode !== 0) return failed('misconfigured', `cyr_info conf-all: ${oneLine(all.stderr)}`);
  const paths = pathsOf(parseConfAll(all.stdout), l);
  const who = await ids(ctx, p.user);
  if (isActionResult(who)) return who;
  for (const dir of [paths.configDirectory, ...paths.partitions, ...paths.runtimeDirs]) {
    // Folders created above it must let the Cyrus user through (mode 0755, as /var/spool is).
    await mkdir(dirname(dir), { recursive: true, mode: 0o755 });
    await mkdir(dir, { recursive: true, mode: 0o750 });
    if (process.getuid?.() === 0) await chown(dir, who.uid, who.gid);
  }
  return paths;
}

/** Ready: IMAP answers (with LOGIN when a test account is given) and, when configured, LMTP. */
async function ready(p: CyrusParams, signal: AbortSignal): Promise<{ ready: true } | { ready: false; reason: string }> {
  const v = await imapCheck(imapTarget(p), p.checkTimeoutMs, signal);
  if (v.verdict !== 'ok') return { ready: false, reason: v.saw };
  if (p.lmtpPort > 0) {
    const m = await lmtpCheck(p.address, p.lmtpPort, p.checkTimeoutMs, signal);
    if (m.verdict !== 'ok') return { ready: false, reason: m.saw };
  }
  return { ready: true };
}

export const cyrusAgent = defineAgent({
  meta: {
    name: 'cyrus',
    version: '1.0.0',
    description:
      'Cyrus IMAP master in the foreground: cyr_info conf-lint at start, the spool reconciled with reconstruct and quota -f after a resync, IMAP CAPABILITY/LOGIN as monitor (not running / failed / hung), verified stop',
    uniqueParams: ['runDir', 'configDirectory', 'partition'],
    defaultTimeouts: { start: 120_000, stop: 30_000, monitor: 15_000 },
    defaultMonitorInterval: 10_000,
  },
  params: CyrusParams,

  async validate(p): Promise<ActionResult> {
    for (const prog of ['master', 'cyr_info', 'reconstruct', 'quota', 'ctl_cyrusdb'])
      if (!(await findExecutable(join(p.toolsDir, prog)))) return failed('not-installed', `${join(p.toolsDir, prog)} is not installed (cyrus-imapd)`);
    return (await requireFiles([p.config, p.cyrusConf].filter((x): x is string => x !== undefined))) ?? ok();
  },

  async start(p, ctx): Promise<ActionResult> {
    const l = layoutOf(p, ctx);
    const d = handle(p);
    let note: string | undefined;
    if ((await daemonStatus(ctx, d)).state !== 'same') {
      // Already running outside Paceline: take it over rather than start a second one.
      if (!(await adoptListener(ctx, d, service(p)))) {
        const paths = await prepare(p, ctx, l);
        if (isActionResult(paths)) return paths;
        const rec = await recoverDatabases(ctx, p.toolsDir, p.user, l.imapdConf);
        if (rec) return rec;
        if (p.reconstruct === 'always') {
          const who = p.mirrorPath ? await ids(ctx, p.user) : undefined;
          if (who && isActionResult(who)) return who;
          const conflicts =
            p.mirrorPath && who ? { conflictsDir: p.conflictsDir ?? `${p.mirrorPath}.mirror/conflicts`, mirrorPath: p.mirrorPath, ...who } : undefined;
          const s = await reconcileSpool(ctx, {
            toolsDir: p.toolsDir,
            user: p.user,
            imapdConf: l.imapdConf,
            partitions: paths.partitions,
            ...(conflicts ? { conflicts } : {}),
          });
          if (isActionResult(s)) return s;
          note = describeSummary(s);
          ctx.log.info(note, { mailboxes: s.mailboxes, added: s.added, missing: s.missing, registered: s.registered, refiled: s.refiled });
        }
      }
    }
    const r = await startDaemon(ctx, d, {
      command: join(p.toolsDir, 'master'),
      args: ['-D', '-C', l.imapdConf, '-M', l.cyrusConf, '-p', l.pidFile],
      logFile: l.logFile,
      readyIntervalMs: 100,
      ready: (signal) => ready(p, signal),
    });
    if (r.outcome === 'generic-error' && /exited (at once|during start)/.test(r.reason ?? ''))
      return { ...r, reason: `${r.reason} (master logs to syslog only; it exits at once on a cyrus.conf it cannot parse or a port it cannot bind)` };
    return r.outcome === 'ok' && note ? ok(note) : r;
  },

  stop(p, ctx): Promise<ActionResult> {
    // Any program still holding the IMAP or LMTP port fails the stop: a new master could not bind it.
    return stopService(ctx, handle(p), service(p), 'fail');
  },

  async monitor(p, ctx): Promise<ActionResult> {
    const d = handle(p);
    const s = await daemonStatus(ctx, d);
    const check = (signal: AbortSignal) => imapCheck(imapTarget(p), p.checkTimeoutMs, signal);
    if (s.state !== 'same') return monitorUnsupervised(ctx, d, s, service(p), { check });
    const v = await check(ctx.signal);
    return v.verdict === 'ok' ? ok(v.saw) : verdictResult(v);
  },
});
