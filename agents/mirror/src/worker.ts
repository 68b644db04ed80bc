/**
 * The replica worker: a small process each Unpromoted instance runs (started by the agent, stopped
 * at promote and stop). It pulls from the Promoted peer every `intervalMs` and writes what happened
 * to worker-status.json, which `monitor` reads. It is the imperative shell around `syncFromPeer`:
 * the wall clock, timers and execa live here.
 *
 *   node worker.js STATE_DIR/worker.json
 */
import { createSocket, type Socket } from 'node:dgram';
import { watch } from 'node:fs';
import { isIPv6 } from 'node:net';
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import type { CommandResult, CommandRunner, RunOptions } from '@paceline/agent-api';
import { writeJsonAtomic } from './manifest.js';
import { layoutFor, MirrorParams } from './params.js';
import { decodeRing, ringKey, type Ring } from './bell.js';
import { summarize, syncFromPeer } from './sync.js';
import { workerStatusFile, type WorkerStatus } from './instance.js';

/**
 * The deadline of one rsync run. A full sync of a large tree takes minutes on a busy machine (100,000
 * files: over a minute under load); rsync's own --timeout=60 ends a run that stops moving data.
 */
const FULL_SYNC_DEADLINE_MS = 6 * 3600_000;
/** Rounds begin at least this far apart, however often the primary rings. */
const MIN_GAP_MS = 20;
/**
 * A burst of writes arrives as many batches (one every FLUSH_MS): a round rung by the first waits
 * until the rings pause this long (at most SETTLE_MAX_MS after the first), so that it takes the
 * burst whole instead of part of it — the rest would wait for that round and then its own.
 */
const SETTLE_MS = 15;
const SETTLE_MAX_MS = 100;

export interface WorkerConfig {
  readonly params: unknown;
  readonly node: string;
  readonly stateDir: string;
}

/** The rsync runs of the current round: how many, and their total time (WorkerStatus.round). */
const spent = { runs: 0, ms: 0 };

/** Argument arrays only, each command in its own process group (killed with us). */
const runner: CommandRunner = {
  async run(file: string, args: readonly string[], o: RunOptions = {}): Promise<CommandResult> {
    const began = Date.now();
    try {
      return await execute(file, args, o);
    } finally {
      spent.runs++;
      spent.ms += Date.now() - began;
    }
  },
};

async function execute(file: string, args: readonly string[], o: RunOptions): Promise<CommandResult> {
  const r = await execa(file, [...args], {
    reject: false,
    stdin: 'ignore',
    shell: false,
    ...(o.timeoutMs !== undefined ? { timeout: o.timeoutMs } : {}),
    ...(o.signal ? { cancelSignal: o.signal } : {}),
  });
  const code = (r.cause as NodeJS.ErrnoException | undefined)?.code;
  return {
    exitCode: r.exitCode ?? null,
    signal: r.signal ?? undefined,
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    timedOut: r.timedOut,
    notFound: r.exitCode === undefined && code === 'ENOENT',
  };
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: worker.js WORKER_CONFIG.json');
  const cfg = JSON.parse(await readFile(file, 'utf8')) as WorkerConfig;
  const p = MirrorParams.parse(cfg.params);
  const l = layoutFor(p, cfg.node, cfg.stateDir);
  if (typeof l === 'string') throw new Error(l);
  const stop = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => stop.abort());
  const startedAt = Date.now();
  // The doorbell (tracker.ts): our rsync daemon logs every connection, the primary's ring among them.
  let rung = false;
  /** When the first ring since the last round came (the round's wait, WorkerStatus.round). */
  let rungAt: number | undefined;
  /** The last ring (the settling before a rung round). */
  let lastRingAt = 0;
  let wake: (() => void) | undefined;
  const watcher = watch(l.stateDir, (_event, name) => {
    if (name !== 'rsyncd.log') return;
    rung = true;
    rungAt ??= Date.now();
    wake?.();
  });
  stop.signal.addEventListener('abort', () => watcher.close(), { once: true });
  // The doorbell's rings (bell.ts): signed datagrams from the peer's address with its journal's new lines.
  let rings: Ring[] = [];
  const key = ringKey(l);
  let socket: Socket | undefined;
  const listen = (): void => {
    if (socket || stop.signal.aborted) return;
    const s = createSocket(isIPv6(l.self.address) ? 'udp6' : 'udp4');
    s.on('message', (msg, from) => {
      if (from.address !== l.remote.address) return;
      const ring = decodeRing(msg, key, l.peer);
      if (!ring) return;
      rings.push(ring);
      if (rings.length > 1000) rings = rings.slice(-1000); // a gap: the round fetches the journal
      rung = true;
      rungAt ??= Date.now();
      lastRingAt = Date.now();
      wake?.();
    });
    s.on('error', (e) => {
      process.stderr.write(`${new Date().toISOString()} doorbell: ${e.message} (rings wait for the next round)\n`);
      s.close();
      if (socket === s) socket = undefined;
    });
    s.bind(l.self.port, l.self.address);
    socket = s;
  };
  listen();
  stop.signal.addEventListener('abort', () => socket?.close(), { once: true });
  const takeRings = (): readonly Ring[] => {
    const r = rings;
    rings = [];
    return r;
  };
  let lastSyncAt: number | undefined;
  let lastSyncStartedAt: number | undefined;
  let lastFull: WorkerStatus['lastFull'];
  while (!stop.signal.aborted) {
    const attemptAt = Date.now();
    const round = { rung: rungAt !== undefined, ...(rungAt !== undefined ? { waitMs: attemptAt - rungAt } : {}) };
    rungAt = undefined;
    spent.runs = 0;
    spent.ms = 0;
    listen();
    const o = await syncFromPeer(p, l, { run: runner, now: Date.now, signal: stop.signal, timeoutMs: FULL_SYNC_DEADLINE_MS, rings: takeRings }, 'replica');
    if (stop.signal.aborted) break;
    if (o.kind === 'synced') {
      lastSyncAt = Date.now();
      lastSyncStartedAt = Math.min(attemptAt, o.ringAt ?? attemptAt);
    }
    if (o.kind === 'synced' && o.scope === 'full') lastFull = { at: Date.now(), reason: summarize(o, l) };
    const s: WorkerStatus = {
      at: Date.now(),
      kind: o.kind,
      reason: summarize(o, l),
      startedAt,
      round: { ...round, rsyncRuns: spent.runs, rsyncMs: spent.ms, totalMs: Date.now() - attemptAt },
      ...(lastSyncAt !== undefined ? { lastSyncAt, lastSyncStartedAt } : {}),
      ...(lastFull ? { lastFull } : {}),
      ...(o.kind === 'synced' ? { files: o.files, keptLocal: o.merge.keptLocal, conflicts: o.merge.conflicts.length, scope: o.scope } : {}),
      ...((o.kind === 'unreachable' || o.kind === 'error') && o.behind ? { behind: o.behind } : {}),
      ...(o.kind === 'synced' && o.lag && o.lag.changes > 0
        ? {
            applied: {
              changes: o.lag.changes,
              bytes: o.lag.bytes,
              ...(o.lag.oldestAt !== undefined ? { delayMs: Math.max(0, Date.now() - o.lag.oldestAt) } : {}),
            },
          }
        : {}),
    };
    await writeJsonAtomic(workerStatusFile(l), s);
    if (o.kind === 'synced' && o.merge.conflicts.length > 0) process.stderr.write(`${new Date().toISOString()} ${s.reason}\n`);
    // Until the next round: intervalMs, or sooner when the primary rings (a connection to our daemon,
    // which logs it), but never sooner than MIN_GAP_MS after this round began.
    const gap = Math.max(0, MIN_GAP_MS - (Date.now() - attemptAt));
    if (gap > 0) await new Promise((r) => setTimeout(r, gap));
    if (!rung)
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, p.intervalMs);
        // Each wait removes its abort listener: one left per round piled up (a MaxListenersExceeded
        // warning after ten rounds, and a leak for as long as the replica runs).
        function done(): void {
          clearTimeout(t);
          wake = undefined;
          stop.signal.removeEventListener('abort', done);
          resolve();
        }
        wake = done;
        stop.signal.addEventListener('abort', done, { once: true });
      });
    // Rung by a burst: let it settle (see SETTLE_MS) so this round takes it whole.
    while (rungAt !== undefined && !stop.signal.aborted && Date.now() - lastRingAt < SETTLE_MS && Date.now() - rungAt < SETTLE_MAX_MS)
      await new Promise((r) => setTimeout(r, 5));
    rung = false;
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`paceline:mirror worker: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
