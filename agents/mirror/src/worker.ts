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
import { layoutFor, MirrorParams, type Layout } from './params.js';
import { decodeRing, ringKey, type Ring } from './bell.js';
import { STALE_MS } from './tracker.js';
import { ownJournal, summarize, syncFromPeer, type Lag, type SyncOutcome } from './sync.js';
import { workerStatusFile, type WorkerStatus } from './instance.js';
import { MirrorError } from './errors.js';

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

/** The rsync runs of the current round (not the find of a start's gap check): how many, and their total time (WorkerStatus.round). */
const spent = { runs: 0, ms: 0 };

/** Argument arrays only, each command in its own process group (killed with us). */
const runner: CommandRunner = {
  async run(file: string, args: readonly string[], o: RunOptions = {}): Promise<CommandResult> {
    const began = Date.now();
    try {
      return await execute(file, args, o);
    } finally {
      if (file.endsWith('rsync')) {
        spent.runs++;
        spent.ms += Date.now() - began;
      }
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

/**
 * The doorbell's inbox: signed rings from the peer's address (bell.ts), and the former ring (a
 * connection to our rsync daemon, which logs it). Each wakes the loop's wait; rings are kept for
 * the next round, which reads the peer's journal from them instead of fetching it.
 */
class Inbox {
  private rings: Ring[] = [];
  /** When the first ring since the last round came (the round's wait, WorkerStatus.round). */
  rungAt: number | undefined;
  /** The last ring (the settling before a rung round). */
  private lastRingAt = 0;
  private wake: (() => void) | undefined;
  private socket: Socket | undefined;
  private readonly key: string | undefined;

  constructor(
    private readonly l: Layout,
    private readonly signal: AbortSignal,
  ) {
    this.key = ringKey(l);
    const watcher = watch(l.stateDir, (_event, name) => {
      if (name === 'rsyncd.log') this.rung(false);
    });
    signal.addEventListener('abort', () => watcher.close(), { once: true });
    signal.addEventListener('abort', () => this.socket?.close(), { once: true });
    this.listen();
  }

  private rung(datagram: boolean): void {
    this.rungAt ??= Date.now();
    if (datagram) this.lastRingAt = Date.now();
    this.wake?.();
  }

  /** Opens the UDP socket (again, after an error closed it). */
  listen(): void {
    if (this.socket || this.signal.aborted) return;
    const s = createSocket(isIPv6(this.l.self.address) ? 'udp6' : 'udp4');
    s.on('message', (msg, from) => {
      if (from.address !== this.l.remote.address) return;
      const ring = decodeRing(msg, this.key, this.l.peer);
      if (!ring) return;
      this.rings.push(ring);
      if (this.rings.length > 1000) this.rings = this.rings.slice(-1000); // a gap: the round fetches the journal
      this.rung(true);
    });
    s.on('error', (e) => {
      process.stderr.write(`${new Date().toISOString()} doorbell: ${e.message} (rings wait for the next round)\n`);
      s.close();
      if (this.socket === s) this.socket = undefined;
    });
    s.bind(this.l.self.port, this.l.self.address);
    this.socket = s;
  }

  /** The rings received since the last call. */
  readonly take = (): readonly Ring[] => {
    const r = this.rings;
    this.rings = [];
    return r;
  };

  /**
   * Until the next round: `ms`, or sooner when the primary rings — and, rung by a burst, until its
   * rings pause (SETTLE_MS) so that the round takes it whole.
   */
  async wait(ms: number): Promise<void> {
    if (this.rungAt === undefined)
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, ms);
        // Each wait removes its abort listener: one left per round piled up (a MaxListenersExceeded
        // warning after ten rounds, and a leak for as long as the replica runs).
        const signal = this.signal;
        function done(): void {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          resolve();
        }
        this.wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    this.wake = undefined;
    while (this.rungAt !== undefined && !this.signal.aborted && Date.now() - this.lastRingAt < SETTLE_MS && Date.now() - this.rungAt < SETTLE_MAX_MS)
      await new Promise((r) => setTimeout(r, 5));
  }
}

/** What the worker carries from round to round into worker-status.json. */
interface History {
  readonly startedAt: number;
  lastSyncAt?: number;
  lastSyncStartedAt?: number;
  lastFull?: WorkerStatus['lastFull'];
  first?: WorkerStatus['first'];
  applied?: WorkerStatus['applied'];
  /** The last round's outcome, when it synced (a heartbeat that shows nothing new repeats it without reading anything). */
  synced?: Synced;
  /** This node's own journal after that round (a round that reads nothing must not leave the position's record of it behind). */
  own?: Awaited<ReturnType<typeof ownJournal>>;
}

type Synced = Extract<SyncOutcome, { kind: 'synced' }>;

/**
 * A round that needs no reading at all: every ring is a heartbeat (no lines) of the journal the last
 * round synced from, at the generation it took in — the primary journaled nothing since — and fresh.
 * The outcome is the last round's, with nothing applied. Undefined otherwise (a sync reads the rings).
 */
function quietRound(rings: readonly Ring[], h: History, started: number): Synced | undefined {
  const last = h.synced;
  if (last?.through === undefined || rings.length === 0) return undefined;
  const through = last.through;
  const quiet = rings.every(
    (r) => r.lines === '' && r.state.ready && r.state.id === through.journal && r.state.gen === through.gen && Math.abs(started - r.state.at) <= STALE_MS,
  );
  if (!quiet) return undefined;
  const { lag: _lag, note: _note, ...rest } = last;
  void _lag;
  void _note;
  const ringAt = Math.max(...rings.map((r) => r.state.at));
  return { ...rest, fast: true, scope: 'incremental', merge: { ...last.merge, taken: 0, removed: 0, conflicts: [] }, durationMs: Date.now() - started, ringAt };
}

/** One round: a sync from the peer, then worker-status.json says what happened. */
async function runRound(p: MirrorParams, l: Layout, inbox: Inbox, h: History, signal: AbortSignal): Promise<SyncOutcome | undefined> {
  const attemptAt = Date.now();
  const round = { rung: inbox.rungAt !== undefined, ...(inbox.rungAt !== undefined ? { waitMs: attemptAt - inbox.rungAt } : {}) };
  inbox.rungAt = undefined;
  spent.runs = 0;
  spent.ms = 0;
  inbox.listen();
  const rings = inbox.take();
  const own = await ownJournal(l);
  const quiet = own?.journal === h.own?.journal && own?.gen === h.own?.gen ? quietRound(rings, h, attemptAt) : undefined;
  const o = quiet ?? (await syncFromPeer(p, l, { run: runner, now: Date.now, signal, timeoutMs: FULL_SYNC_DEADLINE_MS, rings: () => rings }, 'replica'));
  if (signal.aborted) return undefined;
  h.synced = o.kind === 'synced' && o.scope === 'incremental' ? o : undefined;
  // The own journal the position now records (syncFromPeer wrote it when it moved).
  if (quiet === undefined) h.own = own;
  const spentRound = { ...round, rsyncRuns: spent.runs, rsyncMs: spent.ms, totalMs: Date.now() - attemptAt };
  if (o.kind === 'synced') {
    const at = Date.now();
    h.lastSyncAt = at;
    h.lastSyncStartedAt = Math.min(attemptAt, o.ringAt ?? attemptAt);
    if (o.scope === 'full') h.lastFull = { at, reason: summarize(o, l) };
    h.first ??= { at, reason: summarize(o, l), scope: o.scope };
    if (o.lag && o.lag.changes > 0) h.applied = { ...applied(o.lag), at, round: spentRound };
  }
  const s: WorkerStatus = {
    at: Date.now(),
    kind: o.kind,
    reason: summarize(o, l),
    startedAt: h.startedAt,
    round: spentRound,
    ...(h.lastSyncAt !== undefined ? { lastSyncAt: h.lastSyncAt, lastSyncStartedAt: h.lastSyncStartedAt } : {}),
    ...(h.lastFull ? { lastFull: h.lastFull } : {}),
    ...(h.first ? { first: h.first } : {}),
    ...(o.kind === 'synced' ? { files: o.files, keptLocal: o.merge.keptLocal, conflicts: o.merge.conflicts.length, scope: o.scope } : {}),
    ...((o.kind === 'unreachable' || o.kind === 'error') && o.behind ? { behind: o.behind } : {}),
    ...(h.applied ? { applied: h.applied } : {}),
  };
  await writeJsonAtomic(workerStatusFile(l), s);
  if (o.kind === 'synced' && o.merge.conflicts.length > 0) process.stderr.write(`${new Date().toISOString()} ${s.reason}\n`);
  return o;
}

const applied = (lag: Lag): NonNullable<WorkerStatus['applied']> => ({
  changes: lag.changes,
  bytes: lag.bytes,
  ...(lag.oldestAt !== undefined ? { delayMs: Math.max(0, Date.now() - lag.oldestAt) } : {}),
});

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new MirrorError('USAGE', 'usage: worker.js WORKER_CONFIG.json');
  const cfg = JSON.parse(await readFile(file, 'utf8')) as WorkerConfig;
  const p = MirrorParams.parse(cfg.params);
  const l = layoutFor(p, cfg.node, cfg.stateDir);
  if (typeof l === 'string') throw new MirrorError('LAYOUT', l);
  const stop = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => stop.abort());
  const inbox = new Inbox(l, stop.signal);
  const history: History = { startedAt: Date.now() };
  while (!stop.signal.aborted) {
    const began = Date.now();
    if ((await runRound(p, l, inbox, history, stop.signal)) === undefined) break;
    // Never sooner than MIN_GAP_MS after this round began; then intervalMs, or sooner when the
    // primary rings (its heartbeat every second while nothing changes: the poll is for a primary
    // that stopped ringing).
    const gap = Math.max(0, MIN_GAP_MS - (Date.now() - began));
    if (gap > 0) await new Promise((r) => setTimeout(r, gap));
    await inbox.wait(p.intervalMs);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`paceline:mirror worker: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
