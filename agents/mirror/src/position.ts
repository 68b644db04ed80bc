/** Where a node is in its peer's journal (position.json in the state directory): see sync.ts. */
import { rm } from 'node:fs/promises';
import { readJson } from './manifest.js';
import type { Entry } from './manifest.js';
import type { Layout } from './params.js';

/**
 * Where this node is in the peer's journal, and the local changes it keeps that the peer never
 * received (with their base entries: the merge needs them when the peer changes the same path).
 * Written after every sync; removed when the instance starts, is demoted or promoted (the next
 * sync is then a full one).
 */
export interface Position {
  readonly id: string;
  readonly gen: number;
  readonly offset: number;
  /** The manifest snapshot incremental syncs append to. */
  readonly snapshotAt: number;
  readonly files: number;
  readonly local: Readonly<Record<string, Entry | null>>;
  /**
   * This node's own journal when the sync that wrote this position began (its generation read
   * before the pull): a start that finds that journal intact reads what changed here since from
   * its lines instead of scanning the copy (resume.ts).
   */
  readonly own?: { readonly journal: string; readonly gen: number };
  /**
   * This node's own journal when it began following (the first sync after a start, demote or
   * promote): while it is still the current one, its lines name every change of this copy since,
   * which lets the peer, once demoted, follow this node from them (PeerStatus.followFrom).
   */
  readonly ownFrom?: string;
  /** Paths the next round merges besides the peer's new lines (set by resume.ts and by a demoted node's first round). */
  readonly pending?: Pending;
}

export interface Pending {
  /** Local paths that may have changed here while nothing watched: kept unless the peer changed them too (then a difference is a conflict). */
  readonly local: readonly string[];
  /** Directories whose entries may have changed here while nothing watched: their entries are taken like `local`. */
  readonly dirs: readonly string[];
  /** Paths the peer changed that its journal's lines since the position do not name (its own kept local changes). */
  readonly peer: readonly string[];
  /** Nothing watched from here on (ms, this node's clock): a file below `dirs` with an older ctime did not change here. */
  readonly since?: number;
}
export const positionFile = (l: Layout): string => `${l.stateDir}/position.json`;
export async function readPosition(l: Layout): Promise<Position | undefined> {
  return readJson<Position>(positionFile(l), (v) => typeof v.id === 'string' && typeof v.offset === 'number' && typeof v.local === 'object');
}
export async function forgetPosition(l: Layout): Promise<void> {
  await rm(positionFile(l), { force: true });
}
