/**
 * `paceline:samba`: smbd as a standalone file server, in the foreground. Start writes the
 * instance's overlay config (the user's smb.conf plus the address, port and directory overrides),
 * checks it, and that it has the share, with `testparm -s` (misconfigured with testparm's
 * message), then runs `smbd --foreground --no-process-group --debug-stdout` under
 * `@paceline/agent-api/daemon` and returns when a share listing on the address shows the share
 * (the first listing also waits for smbd to start its RPC helpers, samba-dcerpcd: 1-3 s; clients
 * are served before that). Monitor is that listing: not running (our smbd is gone, or nothing
 * listens), failed (an error, or the share is missing) or hung (no answer in time). A probe finds
 * an smbd started outside Paceline by who listens on the address and port, and takes it over.
 * Stop is verified: smbd's group is gone, so are the samba-dcerpcd helpers it started (they leave
 * its group), and the port is closed. A start after our smbd died stops those helpers first too.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { defineAgent, failed, ok, type ActionResult, type AgentContext } from '@paceline/agent-api';
import {
  adoptListener,
  checkTimeout,
  daemonStatus,
  findExecutable,
  monitorUnsupervised,
  requireFiles,
  sbinEnv,
  startDaemon,
  stopDaemon,
  verdictResult,
  verifyPortsClosed,
  type DaemonHandle,
  type Service,
} from '@paceline/agent-api/daemon';
import { configOfProcess, stopHelpers } from './helpers.js';
import { listShares, type ListingTarget } from './listing.js';
import { overlayPath, writeOverlay } from './overlay.js';
import { SambaParams } from './params.js';

const SBIN = sbinEnv();

const handle = (p: SambaParams): DaemonHandle => ({ name: 'smbd', stopTimeoutMs: p.stopTimeoutMs });

const target = (p: SambaParams, ctx: Pick<AgentContext, 'stateDir'>): ListingTarget => ({
  address: p.address,
  port: p.port,
  share: p.share,
  authFile: p.authFile,
  config: overlayPath(ctx),
});

/** The tool's message on one line, without testparm's chatter. */
function testparmMessage(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(Load smb config files from|Loaded services file OK|Weak crypto is allowed|Server role: )/.test(l))
    .map((l) => l.replace(/^Unknown section (.*)$/, 'no share [$1] in the config'));
  return lines.join(' | ') || 'testparm failed without a message';
}

const service = (p: SambaParams): Service => ({ name: 'smbd', address: p.address, sockets: [{ transport: 'tcp', port: p.port }] });

/** Creates the directories given as overrides (Samba makes only the pid and lock directories itself). */
async function makeDirs(p: SambaParams): Promise<void> {
  for (const d of [p.pidDirectory, p.lockDirectory, p.stateDirectory, p.cacheDirectory, p.ncalrpcDir]) if (d) await mkdir(d, { recursive: true, mode: 0o755 });
  if (p.privateDir) await mkdir(p.privateDir, { recursive: true, mode: 0o700 });
}

/** `testparm -s` on the overlay, asking for the share: undefined when the config loads and has it, else the failed result. */
async function checkConfig(p: SambaParams, ctx: AgentContext, overlay: string): Promise<ActionResult | undefined> {
  const t = await ctx.run.run('testparm', ['-s', `--section-name=${p.share}`, overlay], { timeoutMs: 15_000, signal: ctx.signal });
  if (t.notFound) return failed('not-installed', 'testparm is not installed (Debian package samba-common-bin)');
  if (t.exitCode !== 0) return failed('misconfigured', `testparm -s ${p.config}: ${testparmMessage(t.stderr)}`);
  return undefined;
}

export const sambaAgent = defineAgent({
  meta: {
    name: 'samba',
    version: '1.0.0',
    description:
      'smbd as a standalone file server in the foreground: config checked with testparm at start, bound to one address, share listing (smbclient) as monitor (not running / failed / hung), verified stop',
    uniqueParams: ['address'],
    defaultTimeouts: { start: 60_000, stop: 30_000, monitor: 20_000 },
    defaultMonitorInterval: 15_000,
  },
  params: SambaParams,

  async validate(p): Promise<ActionResult> {
    for (const prog of ['smbd', 'testparm', 'smbclient']) if (!(await findExecutable(prog, SBIN))) return failed('not-installed', `${prog} is not installed`);
    return (await requireFiles([p.config], 'config')) ?? ok();
  },

  async start(p, ctx): Promise<ActionResult> {
    const d = handle(p);
    const overlay = await writeOverlay(p, ctx);
    const now = await daemonStatus(ctx, d);
    if (now.state !== 'same') {
      // Our smbd is gone (kill -9, a crash) but the samba-dcerpcd it started left its group and
      // outlives it: the base reaps only the group. A new smbd would hand its RPC to that orphan
      // of the dead one; stop it first, as stop does.
      const left = await stopHelpers(ctx, overlay, Math.min(2000, Math.max(100, ctx.deadline - ctx.clock.now() - 5000)));
      if (left.length > 0) return failed('generic-error', `samba-dcerpcd helper(s) ${left.join(', ')} of the dead smbd survived SIGKILL`);
      await makeDirs(p);
      const bad = await checkConfig(p, ctx, overlay);
      if (bad) return bad;
    }
    return startDaemon(ctx, d, {
      command: 'smbd',
      args: ['--foreground', '--no-process-group', '--debug-stdout', '-s', overlay],
      env: SBIN,
      logFile: join(ctx.stateDir, 'smbd.log'),
      readyIntervalMs: 200,
      ready: async (signal) => {
        const v = await listShares(ctx, target(p, ctx), checkTimeout(ctx, p.checkTimeoutMs), signal);
        return v.verdict === 'ok' ? { ready: true } : { ready: false, reason: v.saw };
      },
    });
  },

  async stop(p, ctx): Promise<ActionResult> {
    const d = handle(p);
    const s = await daemonStatus(ctx, d);
    // An smbd started outside Paceline (found by a probe, or by hand since) is stopped too.
    const record = s.state === 'none' ? await adoptListener(ctx, d, service(p)) : s.state === 'same' ? s.record : undefined;
    const configs = new Set([overlayPath(ctx)]);
    const cfg = record && (await configOfProcess(record.pid));
    if (cfg) configs.add(cfg);
    const r = await stopDaemon(ctx, d);
    if (r.outcome !== 'ok') return r;
    const budget = (): number => Math.max(100, Math.min(5000, ctx.deadline - ctx.clock.now() - 500));
    for (const cfg of configs) {
      const left = await stopHelpers(ctx, cfg, Math.min(2000, budget()));
      if (left.length > 0) return failed('generic-error', `samba-dcerpcd helper(s) ${left.join(', ')} of ${cfg} survived SIGKILL`);
    }
    return verifyPortsClosed(ctx, service(p));
  },

  async monitor(p, ctx): Promise<ActionResult> {
    const d = handle(p);
    const s = await daemonStatus(ctx, d);
    const check = (signal: AbortSignal) => listShares(ctx, target(p, ctx), checkTimeout(ctx, p.checkTimeoutMs), signal);
    if (s.state === 'gone' || s.state === 'reused') return monitorUnsupervised(ctx, d, s, service(p), { check, leftovers: true });
    await writeOverlay(p, ctx); // the listing reads it
    if (s.state === 'none') return monitorUnsupervised(ctx, d, s, service(p), { check, leftovers: true });
    const v = await check(ctx.signal);
    // Our smbd is alive, so a refused connection is a failure, not a clean stop.
    if (v.verdict === 'not-running') return failed('generic-error', `smbd (pid ${s.record.pid}) runs, but ${v.saw}`);
    return verdictResult(v);
  },
});
