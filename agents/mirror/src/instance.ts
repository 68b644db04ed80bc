/** What a started instance records about itself in its state directory (instance.json, worker files). */
import { open, readdir, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readJson, writeJsonAtomic } from './manifest.js';
import type { Layout } from './params.js';
import type { Owned } from './proc.js';
import type { SyncOutcome } from './sync.js';

export interface InstanceRecord {
  readonly role: 'promoted' | 'unpromoted';
  readonly since: number;
  readonly bootId: string;
  readonly daemon: Owned;
  readonly worker?: Owned;
  /** The change tracker (both roles; absent when it could not start). */
  readonly tracker?: Owned;
  /** Whether the daemon requires the shared secret (false: no secretFile and no cluster key). */
  readonly authenticated?: boolean;
}

export const instanceFile = (l: Layout): string => `${l.stateDir}/instance.json`;
export const workerConfigFile = (l: Layout): string => `${l.stateDir}/worker.json`;
export const workerStatusFile = (l: Layout): string => `${l.stateDir}/worker-status.json`;

export async function readInstance(l: Layout): Promise<InstanceRecord | undefined> {
  return readJson<InstanceRecord>(instanceFile(l), (v) => typeof v.role === 'string' && typeof v.daemon?.pid === 'number');
}

export async function writeInstance(l: Layout, r: InstanceRecord): Promise<void> {
  await writeJsonAtomic(instanceFile(l), r);
}

/** The replica worker's report, rewritten after every attempt. */
export interface WorkerStatus {
  readonly at: number;
  readonly kind: SyncOutcome['kind'];
  readonly reason: string;
  /** The last successful sync, if any since the worker started. */
  readonly lastSyncAt?: number;
  /**
   * As of when that last successful sync read the peer's journal: when it began (the journal is
   * fetched after that), or the peer's time of the ring it read it from. Every change made before
   * this is in the replica.
   */
  readonly lastSyncStartedAt?: number;
  /** The last full sync (the whole tree) since the worker started: when it ended and what it did. */
  readonly lastFull?: { readonly at: number; readonly reason: string };
  /**
   * The worker's first successful round: when it ended and what it did (whether it resumed from the
   * journal or why it walked the tree). Later rounds — one a second while the primary's heartbeat
   * rings — would otherwise overwrite it at once.
   */
  readonly first?: { readonly at: number; readonly reason: string; readonly scope: 'full' | 'incremental' };
  readonly startedAt: number;
  readonly files?: number;
  /** Local changes kept in place at the last merge (changes this node made and the primary never received). */
  readonly keptLocal?: number;
  readonly conflicts?: number;
  /** 'incremental' (the journal's changes) or 'full' (the whole tree), of the last successful sync. */
  readonly scope?: 'full' | 'incremental';
  /**
   * The last pull that applied changes (kept through the rounds that found nothing new): when it
   * ended, how many changes, their bytes, how long after the oldest was journaled it was in place,
   * and where its round's time went.
   */
  readonly applied?: {
    readonly changes: number;
    readonly bytes: number;
    readonly delayMs?: number;
    readonly at?: number;
    readonly round?: WorkerStatus['round'];
  };
  /**
   * Where the last round's time went: whether a ring began it (and how long after the ring it
   * began), the rsync runs it made and their total time, and the whole round.
   */
  readonly round?: { readonly rung: boolean; readonly waitMs?: number; readonly rsyncRuns: number; readonly rsyncMs: number; readonly totalMs: number };
  /** After a failed round: the peer's journaled changes it could not pull (count, bytes, when the oldest was written). */
  readonly behind?: { readonly changes: number; readonly bytes: number; readonly oldestAt?: number };
}

export async function readWorkerStatus(l: Layout): Promise<WorkerStatus | undefined> {
  return readJson<WorkerStatus>(workerStatusFile(l), (v) => typeof v.at === 'number');
}

/** Conflicting versions still saved under the conflicts directory (an administrator removes them once reviewed). */
export async function countConflicts(dir: string): Promise<number> {
  let n = 0;
  const walk = async (d: string): Promise<void> => {
    let ents;
    try {
      ents = await readdir(d, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const e of ents) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else if (!(d === dir && e.name === 'CONFLICTS.log')) n++;
    }
  };
  await walk(dir);
  return n;
}

/**
 * Keeps a log the rsync daemon appends to (every pull is a few lines: about 1 MiB in three hours)
 * bounded: past `maxBytes`, its last 64 KiB go to FILE.1 and the file is truncated in place (the
 * daemon writes with O_APPEND, so it simply continues at the start). Housekeeping, called by monitor.
 */
export async function trimLog(file: string, maxBytes = 1024 * 1024): Promise<void> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (size <= maxBytes) return;
  const keep = Math.min(size, 64 * 1024);
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(keep);
    await fh.read(buf, 0, keep, size - keep);
    await writeFile(`${file}.1`, buf);
  } finally {
    await fh.close();
  }
  await truncate(file, 0);
}
