/**
 * What one synchronisation from the peer reports (sync.ts, incremental.ts), the dependencies it
 * runs with, and the one-line summary logs and action reasons show.
 */
import type { CommandRunner } from '@paceline/agent-api';
import type { Ring } from './bell.js';
import type { JournalEntry } from './journal.js';
import { readJson, readManifest } from './manifest.js';
import type { MergeResult } from './merge.js';
import type { Layout } from './params.js';

export interface SyncDeps {
  readonly run: CommandRunner;
  readonly now: () => number;
  readonly signal?: AbortSignal;
  /** Per-rsync deadline in ms. */
  readonly timeoutMs?: number;
  /** The doorbell's rings received since the last round (bell.ts): the worker takes them, promote has none. */
  readonly rings?: () => readonly Ring[];
}

/** What an incremental sync found behind: the journal lines it applied. */
export interface Lag {
  readonly changes: number;
  /** Sizes of the changed files when the peer journaled them. */
  readonly bytes: number;
  /** When the oldest of those changes was journaled (the peer's clock). */
  readonly oldestAt?: number;
}

export type SyncOutcome =
  | {
      readonly kind: 'synced';
      readonly fast: boolean;
      readonly files: number;
      readonly merge: MergeResult;
      readonly durationMs: number;
      /** 'full': the whole tree; 'incremental': the journal's changes (`lag` says how many). */
      readonly scope: 'full' | 'incremental';
      readonly lag?: Lag;
      /** The peer's journal and the last generation this sync took in (when the peer's journal vouched for it). */
      readonly through?: { readonly journal: string; readonly gen: number };
      /**
       * When the peer's journal was read from the doorbell's rings rather than fetched: the peer's
       * time of the newest ring's state. The changes it journaled by then are here (a fetched
       * journal holds those journaled by the fetch, after the round began).
       */
      readonly ringAt?: number;
      /** How the round began when it is the first after a start: resumed from the journal, or why a full sync (resume.ts). */
      readonly note?: string;
    }
  | { readonly kind: 'unreachable'; readonly reason: string; readonly behind?: Lag }
  | { readonly kind: 'peer-promoted'; readonly reason: string }
  | { readonly kind: 'peer-not-promoted'; readonly reason: string }
  | { readonly kind: 'error'; readonly reason: string; readonly behind?: Lag };

/** When this node's manifest was last recorded (pub/synced.json: read without the manifest). */
export interface SyncedMark {
  readonly syncedAt: number;
  readonly syncedWith: string;
  /** The manifest snapshot (manifest.json's syncedAt) the log lines since belong to. */
  readonly snapshotAt?: number;
}
export const syncedFile = (l: Layout): string => `${l.pubDir}/synced.json`;
export async function readSynced(l: Layout): Promise<SyncedMark | undefined> {
  const s = await readJson<SyncedMark>(syncedFile(l), (v) => typeof v.syncedAt === 'number');
  if (s !== undefined) return s;
  const m = await readManifest(l.manifestFile); // written by an older version
  return m ? { syncedAt: m.syncedAt, syncedWith: m.syncedWith } : undefined;
}

export const rsyncOpts = (d: SyncDeps) => ({ ...(d.signal ? { signal: d.signal } : {}), timeoutMs: d.timeoutMs ?? 120_000 });

/**
 * A pull that fails once the peer has answered. For a replica it is just a missed round. For a
 * promotion it is not "the peer is gone": the peer is there with changes we have not got, so the
 * promotion must fail rather than go ahead with the local copy.
 */
export function pullFailed(mode: 'replica' | 'promote', c: string, reason: string, behind?: Lag): SyncOutcome {
  const b = behind ? { behind } : {};
  if (mode === 'replica' && c === 'unreachable') return { kind: 'unreachable', reason, ...b };
  return { kind: 'error', reason: mode === 'promote' ? `${reason} (the peer answered, so its changes must not be skipped)` : reason, ...b };
}

export const lagOf = (entries: readonly JournalEntry[]): Lag => {
  let bytes = 0;
  let oldestAt: number | undefined;
  for (const e of entries) {
    bytes += e.size;
    oldestAt = oldestAt === undefined ? e.at : Math.min(oldestAt, e.at);
  }
  return { changes: entries.length, bytes, ...(oldestAt !== undefined ? { oldestAt } : {}) };
};

const kib = (n: number): string => (n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`);

/** One line for logs and action reasons. */
export function summarize(o: SyncOutcome, l: Layout): string {
  if (o.kind !== 'synced') return o.reason;
  const m = o.merge;
  let parts: string[];
  if (o.scope === 'incremental') {
    const lag = o.lag;
    parts = [
      lag && lag.changes > 0
        ? `${o.fast ? 'pulled' : 'merged'} ${lag.changes} change(s) (${kib(lag.bytes)}) from ${l.peer} in ${o.durationMs} ms`
        : m.taken > 0 || !o.fast
          ? `${o.fast ? 'pulled' : 'merged'} ${m.taken + m.removed + m.keptLocal} path(s) with ${l.peer} in ${o.durationMs} ms`
          : `nothing changed on ${l.peer}`,
    ];
  } else {
    parts = [`${o.fast ? 'pulled' : 'merged'} ${o.files} files from ${l.peer} in ${o.durationMs} ms`];
  }
  if (!o.fast || m.keptLocal > 0) parts.push(`${m.taken} taken, ${m.removed} removed, ${m.keptLocal} local changes kept`);
  if (m.conflicts.length > 0) parts.push(`WARNING ${m.conflicts.length} conflict(s), see ${l.conflictsDir}: ${m.conflicts.map((c) => c.message).join('; ')}`);
  if (o.note) parts.push(o.note);
  return parts.join('; ');
}
