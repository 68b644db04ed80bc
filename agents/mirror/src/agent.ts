/**
 * `paceline:mirror`: a directory mirrored between the two nodes over rsync, as a promotable clone.
 *
 *   Promoted    the authoritative copy: the service writes here; its rsync daemon serves it read-only
 *   Unpromoted  the replica: a worker pulls the Promoted copy every intervalMs (three-way merge when
 *               needed, so changes the replica made itself are never overwritten)
 *   promote     stop following; if the peer is reachable and no longer Promoted, pull back what changed
 *               there (the survivor's changes after a failover) and merge, keeping local changes that
 *               were never mirrored; refuse while the peer is still Promoted; at once, with the local
 *               copy, when the daemon says the peer was fenced (AgentContext.fencedNodes)
 *   demote      start following again
 *
 * See README.md for the merge rules and the metadata layout.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineAgent, failed, notRunning, ok, runningPromoted, type ActionResult, type AgentContext, type ReplicaLag } from '@paceline/agent-api';
import {
  countConflicts,
  instanceFile,
  readInstance,
  readWorkerStatus,
  trimLog,
  workerConfigFile,
  writeInstance,
  type InstanceRecord,
  type WorkerStatus,
} from './instance.js';
import { writeJsonAtomic } from './manifest.js';
import { layoutFor, MirrorParams, type Layout } from './params.js';
import { alive, bootId, startTimeOf, stopOwned, type Owned } from './proc.js';
import { daemonArgs, writeDaemonConfig } from './rsync.js';
import { resolveSecret, SecretError } from './secret.js';
import { announcePromotion, journalBarrier, promotionNotes } from './handover.js';
import { keepPrevJournal } from './resume.js';
import { forgetPosition, publishStatus, readSynced, summarize, syncFromPeer } from './sync.js';

/** The compiled worker: next to this module in dist/, or dist/ beside src/ when running from sources (tests). */
export function workerScript(): string {
  return compiled('worker.js');
}
export function trackerScript(): string {
  return compiled('tracker.js');
}
function compiled(name: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, name), join(here, '..', 'dist', name)];
  return candidates.find((c) => existsSync(c)) ?? candidates[0]!;
}

function layout(p: MirrorParams, ctx: AgentContext): Layout | ActionResult {
  const l = layoutFor(p, ctx.node, ctx.stateDir);
  return typeof l === 'string' ? failed('misconfigured', `peers: ${l}`) : l;
}
const isResult = (x: Layout | ActionResult): x is ActionResult => 'outcome' in x;

async function tail(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim().split('\n').slice(-2).join(' | ');
  } catch (e) {
    void e;
    return '';
  }
}

/** Merges rename files from metaDir/staging into path: both must be on one filesystem. */
async function sameFilesystem(l: Layout): Promise<ActionResult | undefined> {
  const [d, m] = await Promise.all([stat(l.data), stat(l.metaDir)]);
  return d.dev === m.dev
    ? undefined
    : failed('misconfigured', `metaDir ${l.metaDir} must be on the same filesystem as path ${l.data} (merges move files from its staging area into place)`);
}

/**
 * Does our own daemon answer (through the runner, so it works wherever the runner runs commands)?
 * A module listing: the daemon admits only the peer's address to its modules, not its own node.
 */
async function servesItself(p: MirrorParams, l: Layout, ctx: AgentContext): Promise<boolean> {
  const r = await ctx.run.run(p.rsync, ['--contimeout=2', '--list-only', `rsync://${l.self.authority}/`], { timeoutMs: 3000, signal: ctx.signal });
  return r.exitCode === 0;
}

/** Said in start's and monitor's results while the daemons run without a shared secret (auth: none). */
const UNAUTHENTICATED =
  '; WARNING unauthenticated (auth: none): any user on the peer node can read this copy through its rsync daemon (remove auth: none to require the cluster key)';

async function spawnOwned(ctx: AgentContext, file: string, args: string[], logFile: string): Promise<Owned | ActionResult> {
  if (!ctx.run.spawn) return failed('not-installed', 'this command runner cannot start daemons (no spawn)');
  const r = await ctx.run.spawn(file, args, { logFile });
  if (!r.ok) return failed(r.notFound ? 'not-installed' : 'generic-error', `cannot start ${file}: ${r.message}`);
  const startTime = await startTimeOf(r.pid);
  if (startTime === undefined) return failed('generic-error', `${file} exited at once: ${await tail(logFile)}`);
  return { pid: r.pid, startTime };
}

async function startWorker(p: MirrorParams, l: Layout, ctx: AgentContext): Promise<Owned | ActionResult> {
  await writeJsonAtomic(workerConfigFile(l), { params: p, node: ctx.node, stateDir: ctx.stateDir });
  return spawnOwned(ctx, process.execPath, [workerScript(), workerConfigFile(l)], `${l.stateDir}/worker.log`);
}

/** The change tracker (tracker.ts): runs while the instance is started, in both roles. */
async function startTracker(p: MirrorParams, l: Layout, ctx: AgentContext): Promise<Owned | ActionResult> {
  await writeJsonAtomic(workerConfigFile(l), { params: p, node: ctx.node, stateDir: ctx.stateDir });
  return spawnOwned(ctx, process.execPath, [trackerScript(), workerConfigFile(l)], `${l.stateDir}/tracker.log`);
}

/** A tracker that died is restarted (its journal is then a new one: the peer rescans once). */
async function ensureTracker(p: MirrorParams, l: Layout, ctx: AgentContext, rec: InstanceRecord): Promise<string> {
  if (await alive(rec.tracker)) return '';
  const t = await startTracker(p, l, ctx);
  if ('outcome' in t) return `; WARNING change tracking is off (${t.reason}): the peer pulls the whole tree`;
  await writeInstance(l, { ...rec, tracker: t });
  return rec.tracker ? `; the change tracker (pid ${rec.tracker.pid}) was gone and was restarted: ${await tail(`${l.stateDir}/tracker.log`)}` : '';
}

/** Lets a running merge finish (up to the action's deadline), then kills the worker. */
async function stopWorker(rec: InstanceRecord, ctx: AgentContext): Promise<boolean> {
  const grace = Math.max(1000, Math.min(30_000, ctx.deadline - ctx.clock.now() - 2000));
  return stopOwned(rec.worker, ctx.clock, grace);
}

async function conflictNote(l: Layout): Promise<string> {
  const n = await countConflicts(l.conflictsDir);
  return n > 0 ? `; WARNING ${n} conflicting version(s) saved under ${l.conflictsDir} (see CONFLICTS.log; remove them once reviewed)` : '';
}

/**
 * The replica's lag as the monitor's typed report (MonitorReport.replica), from the worker's last
 * round: `in-sync` once this worker completed a round (every change the peer made before that round
 * began is here), `behind` when a round found changes it could not pull or no round has completed
 * since the instance started (a copy from before, which cannot vouch for what it missed),
 * `never-synced` without any complete copy. A peer that stops answering keeps the last known state.
 */
export function replicaLag(ws: WorkerStatus | undefined, synced: { readonly syncedAt: number } | undefined, peer: string, now: number): ReplicaLag {
  const reachable = ws === undefined ? false : ws.kind !== 'unreachable';
  const base = { source: peer, reachable };
  const seconds = (asOf: number): number => Math.round(Math.max(0, now - asOf)) / 1000;
  const missing =
    ws?.behind && ws.kind !== 'synced'
      ? { bytes: ws.behind.bytes, changes: ws.behind.changes, ...(ws.behind.oldestAt !== undefined ? { oldestMissingAt: Math.round(ws.behind.oldestAt) } : {}) }
      : undefined;
  if (ws?.lastSyncStartedAt !== undefined) {
    const asOf = Math.round(ws.lastSyncStartedAt);
    if (ws.kind === 'synced' || ws.kind === 'peer-not-promoted') return { ...base, state: 'in-sync', asOf, seconds: seconds(asOf), bytes: 0, changes: 0 };
    if (missing) return { ...base, state: 'behind', asOf, seconds: seconds(asOf), ...missing };
    // The peer does not answer (or its journal could not be read): as in sync as it was, missing what it wrote since.
    return ws.kind === 'unreachable' ? { ...base, state: 'in-sync', asOf, seconds: seconds(asOf) } : { ...base, state: 'behind', asOf, seconds: seconds(asOf) };
  }
  if (synced) {
    const asOf = Math.round(synced.syncedAt);
    return { ...base, state: 'behind', asOf, seconds: seconds(asOf), ...(missing ?? {}) };
  }
  return { ...base, state: 'never-synced', seconds: 0, ...(missing ?? {}) };
}

const ago = (ms: number): string => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`);

export const mirrorAgent = defineAgent({
  meta: {
    name: 'mirror',
    version: '1.0.0',
    description:
      'A directory mirrored to the peer node over rsync: Promoted = authoritative copy, Unpromoted = replica; loss-free resync with conflict detection',
    uniqueParams: ['path'],
    defaultTimeouts: { start: 30_000, stop: 40_000, monitor: 20_000, promote: 600_000, demote: 30_000 },
    defaultMonitorInterval: 10_000,
  },
  params: MirrorParams,

  async validate(p, ctx) {
    const l = layout(p, ctx);
    if (isResult(l)) return l;
    const v = await ctx.run.run(p.rsync, ['--version'], { timeoutMs: 5000, signal: ctx.signal });
    if (v.notFound || v.exitCode !== 0) return failed('not-installed', `${p.rsync} is not installed (Debian package rsync)`);
    try {
      await resolveSecret(p, ctx.keyFile);
    } catch (e) {
      if (e instanceof SecretError) return failed('misconfigured', e.message);
      throw e;
    }
    return ok();
  },

  async start(p, ctx) {
    const l = layout(p, ctx);
    if (isResult(l)) return l;
    const rec = await readInstance(l);
    if (rec && (await alive(rec.daemon))) {
      await ensureTracker(p, l, ctx, rec);
      if (rec.role === 'unpromoted' && !(await alive(rec.worker))) {
        const w = await startWorker(p, l, ctx);
        if ('outcome' in w) return w;
        await writeInstance(l, { ...rec, worker: w });
        return ok('already started (Unpromoted); the replica worker was restarted');
      }
      return ok(`already started (${rec.role === 'promoted' ? 'Promoted' : 'Unpromoted'})`);
    }
    if (rec) {
      await stopOwned(rec.worker, ctx.clock);
      await stopOwned(rec.tracker, ctx.clock);
    }
    await mkdir(l.data, { recursive: true });
    await mkdir(l.pubDir, { recursive: true });
    await mkdir(l.stateDir, { recursive: true });
    // What changed here while the instance was down: the last journal, kept before the new tracker
    // replaces it, tells the worker's first round (resume.ts); without one, that round is a full sync.
    if (!(await keepPrevJournal(l))) await forgetPosition(l);
    const split = await sameFilesystem(l);
    if (split) return split;
    // Published before the daemon serves it: a started instance is never taken for a primary.
    await publishStatus(l, 'unpromoted', ctx.clock.now());
    let authenticated: boolean;
    try {
      authenticated = (await writeDaemonConfig(p, l, ctx.keyFile)) !== undefined;
    } catch (e) {
      return failed('misconfigured', e instanceof SecretError ? e.message : `cannot write the rsync daemon configuration: ${(e as Error).message}`);
    }
    const logFile = `${l.stateDir}/rsyncd.out`;
    const daemon = await spawnOwned(ctx, p.rsync, daemonArgs(l), logFile);
    if ('outcome' in daemon) return daemon;
    for (;;) {
      if (await servesItself(p, l, ctx)) break;
      if (!(await alive(daemon)) || ctx.clock.now() > ctx.deadline - 1500) {
        await stopOwned(daemon, ctx.clock);
        return failed(
          'generic-error',
          `the rsync daemon did not listen on ${l.self.authority}: ${(await tail(logFile)) || (await tail(`${l.stateDir}/rsyncd.log`)) || 'no output'}`,
        );
      }
      await ctx.clock.sleep(50, ctx.signal).catch(() => undefined);
    }
    const tracker = await startTracker(p, l, ctx);
    const tracking = 'outcome' in tracker ? `; WARNING change tracking is off (${tracker.reason}): the peer pulls the whole tree` : '';
    const worker = await startWorker(p, l, ctx);
    if ('outcome' in worker) {
      await stopOwned(daemon, ctx.clock);
      if (!('outcome' in tracker)) await stopOwned(tracker, ctx.clock);
      return worker;
    }
    await writeInstance(l, {
      role: 'unpromoted',
      since: ctx.clock.now(),
      bootId: await bootId(),
      daemon,
      worker,
      authenticated,
      ...('outcome' in tracker ? {} : { tracker }),
    });
    ctx.log.info('mirror started (Unpromoted)', { serving: l.self.authority, peer: l.peer });
    return ok(
      `Unpromoted: serving ${l.data} on ${l.self.authority}, following ${l.peer} every ${p.intervalMs} ms${tracking}${authenticated ? '' : UNAUTHENTICATED}`,
    );
  },

  async stop(p, ctx) {
    const l = layout(p, ctx);
    if (isResult(l)) return ok('nothing to stop: this node is not in peers');
    const rec = await readInstance(l);
    if (rec) {
      if (!(await stopWorker(rec, ctx))) return failed('generic-error', `the replica worker (pid ${rec.worker?.pid}) did not exit`);
      if (!(await stopOwned(rec.daemon, ctx.clock))) return failed('generic-error', `the rsync daemon (pid ${rec.daemon.pid}) did not exit`);
      if (!(await stopOwned(rec.tracker, ctx.clock))) return failed('generic-error', `the change tracker (pid ${rec.tracker?.pid}) did not exit`);
    }
    if (existsSync(l.pubDir)) await publishStatus(l, 'stopped', ctx.clock.now());
    await rm(instanceFile(l), { force: true });
    return ok();
  },

  async monitor(p, ctx) {
    const l = layout(p, ctx);
    if (isResult(l)) return l;
    const rec = await readInstance(l);
    if (!rec) return notRunning();
    if (!(await alive(rec.daemon))) {
      if (rec.bootId !== (await bootId())) return notRunning('the node restarted since this instance was started');
      return failed(
        rec.role === 'promoted' ? 'failed-promoted' : 'generic-error',
        `the rsync daemon (pid ${rec.daemon.pid}) is gone: ${await tail(`${l.stateDir}/rsyncd.out`)}`,
      );
    }
    await trimLog(`${l.stateDir}/rsyncd.log`);
    await trimLog(`${l.stateDir}/worker.log`);
    const conflicts = `${await conflictNote(l)}${await ensureTracker(p, l, ctx, rec)}${rec.authenticated === false ? UNAUTHENTICATED : ''}`;
    if (rec.role === 'promoted') return runningPromoted(`Promoted: ${l.data} is authoritative, served to ${l.peer} on ${l.self.authority}${conflicts}`);
    if (!(await alive(rec.worker)))
      return failed('generic-error', `the replica worker (pid ${rec.worker?.pid}) is gone: ${await tail(`${l.stateDir}/worker.log`)}`);
    const ws = await readWorkerStatus(l);
    const now = ctx.clock.now();
    const synced = ws?.lastSyncAt;
    const manifest = await readSynced(l);
    const report = { replica: replicaLag(ws, manifest, l.peer, now) };
    if (ws?.kind === 'synced' && synced !== undefined) {
      const local = ws.keptLocal ? `; ${ws.keptLocal} local change(s) never mirrored, kept until this node is promoted` : '';
      // Lag: every change made on the peer before the last sync began is here; what came after is at most that old.
      const behind = ws.lastSyncStartedAt !== undefined ? now - ws.lastSyncStartedAt : now - synced;
      const applied = ws.applied
        ? `; last pull: ${ws.applied.changes} change(s), ${ws.applied.bytes} B${ws.applied.delayMs !== undefined ? `, in place ${ago(ws.applied.delayMs)} after the oldest was written` : ''}${ws.applied.at !== undefined ? `, ${ago(Math.max(0, now - ws.applied.at))} ago` : ''}`
        : '';
      const tracking = ws.scope === 'full' ? "; full scans (the peer's journal is not usable yet)" : '';
      return {
        ...ok(
          `Unpromoted: in sync with ${l.peer} (${ws.files ?? 0} files, synced ${ago(now - synced)} ago; lag ≤ ${ago(behind)}, 0 B behind at the last check${applied}${tracking})${local}${conflicts}`,
        ),
        report,
      };
    }
    if (ws?.kind === 'peer-not-promoted') return { ...ok(`Unpromoted: ${ws.reason}${conflicts}`), report };
    const since = synced ?? ws?.startedAt ?? rec.since;
    const copyAge = manifest ? `copy as of ${new Date(manifest.syncedAt).toISOString()}` : 'never synced';
    const pending = ws?.behind
      ? `; ${ws.behind.changes} change(s), ${ws.behind.bytes} B behind${ws.behind.oldestAt !== undefined ? `, the oldest written ${ago(Math.max(0, now - ws.behind.oldestAt))} ago` : ''}`
      : ws?.kind === 'unreachable'
        ? `; bytes behind unknown (${l.peer} unreachable)`
        : '';
    const behind = `Unpromoted: not synced for ${ago(now - since)} (${copyAge})${pending}${ws ? `: ${ws.reason}` : ''}${conflicts}`;
    return now - since > p.maxLagMs ? { execution: 'done', outcome: 'degraded', reason: behind, report } : { ...ok(behind), report };
  },

  async promote(p, ctx) {
    const l = layout(p, ctx);
    if (isResult(l)) return l;
    const rec = await readInstance(l);
    if (!rec || !(await alive(rec.daemon))) return failed('generic-error', 'cannot promote: the mirror is not started on this node');
    if (rec.role === 'promoted') return ok('already Promoted');
    if (!(await stopWorker(rec, ctx))) return failed('generic-error', `cannot promote: the replica worker (pid ${rec.worker?.pid}) did not exit`);
    const resume = async (): Promise<void> => {
      const w = await startWorker(p, l, ctx);
      if (!('outcome' in w)) await writeInstance(l, { ...rec, worker: w });
    };
    const margin = Math.min(5000, Math.max(500, (ctx.deadline - ctx.clock.now()) / 10));
    // A peer the daemon has fenced is powered off: its copy cannot be read, and asking would only
    // wait for the connection to fail (seconds of ARP and SYN timeouts on the crossover). Its
    // unmirrored changes stay on its disk and come back when it returns (it follows this node and
    // keeps them; failback merges them).
    const fenced = ctx.fencedNodes?.includes(l.peer) === true;
    const o = fenced
      ? { kind: 'fenced' as const }
      : await syncFromPeer(
          p,
          l,
          { run: ctx.run, now: () => ctx.clock.now(), signal: ctx.signal, timeoutMs: Math.max(1000, ctx.deadline - ctx.clock.now() - margin) },
          'promote',
        );
    let reason: string;
    if (o.kind === 'fenced') {
      const m = await readSynced(l);
      reason = `Promoted with the local copy (${m ? `last synced with ${m.syncedWith} at ${new Date(m.syncedAt).toISOString()}` : 'never synced'}) without asking ${l.peer}: it was fenced (powered off)`;
      ctx.log.warn(reason);
    } else if (o.kind === 'synced') {
      reason = `Promoted after resynchronising from ${l.peer}: ${summarize(o, l)}`;
      if (o.merge.conflicts.length > 0)
        ctx.log.warn(`mirror conflicts: ${o.merge.conflicts.map((c) => c.message).join('; ')}`, { conflicts: o.merge.conflicts.length });
    } else if (o.kind === 'unreachable') {
      const m = await readSynced(l);
      reason = `Promoted with the local copy (${m ? `last synced with ${m.syncedWith} at ${new Date(m.syncedAt).toISOString()}` : 'never synced'}): ${l.peer} is unreachable (${o.reason})`;
      ctx.log.warn(reason);
    } else {
      await resume();
      return failed('generic-error', `cannot promote: ${o.reason}`);
    }
    // After a resynchronisation: the peer's journal as merged and this node's own since it followed,
    // so that the peer's first round once demoted reads journals (sync.ts followFrom); after a
    // failover: where this copy stood, so that the peer's return does (resume.ts).
    const notes = await promotionNotes(l, ctx, o.kind === 'synced' ? o.through : undefined);
    await forgetPosition(l); // a Promoted node follows nobody
    const { worker: _stopped, ...rest } = rec;
    void _stopped;
    await writeInstance(l, { ...rest, role: 'promoted', since: ctx.clock.now() });
    await publishStatus(l, 'promoted', ctx.clock.now(), notes);
    await announcePromotion(p, l);
    reason += await conflictNote(l);
    ctx.log.info(reason);
    return ok(reason);
  },

  async demote(p, ctx) {
    const l = layout(p, ctx);
    if (isResult(l)) return l;
    const rec = await readInstance(l);
    if (!rec || !(await alive(rec.daemon))) return failed('generic-error', 'cannot demote: the mirror is not started on this node');
    if (rec.role === 'unpromoted' && (await alive(rec.worker))) return ok('already Unpromoted');
    // The service has stopped: let the tracker journal its last writes before the peer may read the journal.
    await journalBarrier(l, ctx);
    // Published first: from now on the peer may promote and pull from this copy; nothing writes here any more.
    await publishStatus(l, 'unpromoted', ctx.clock.now());
    await forgetPosition(l);
    const worker = await startWorker(p, l, ctx);
    if ('outcome' in worker) return worker;
    await writeInstance(l, { ...rec, role: 'unpromoted', since: ctx.clock.now(), worker });
    return ok(`Unpromoted: following ${l.peer}`);
  },
});
