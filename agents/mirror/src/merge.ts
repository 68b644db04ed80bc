/**
 * The three-way merge that makes resynchronisation loss-free. Inputs: the local copy, the peer's
 * copy (pulled into a staging directory) and the base — the content both copies shared at their
 * last successful sync. Per path:
 *
 *   local = peer                    nothing to do
 *   local = base, peer changed      take the peer's version (or its deletion)
 *   peer = base, local changed      keep the local version in place (a change never mirrored)
 *   both changed, differently       conflict: the peer's version goes in place, the local one is
 *                                   saved under the conflicts directory; when one side deleted and
 *                                   the other changed, the changed version is kept — never a deletion
 *   a file here, a directory there  (or the reverse) the peer's kind wins the place, the local one
 *                                   is saved under the conflicts directory ('type-clash')
 *
 * The peer is always the side that was authoritative last (the survivor of a failover, or the
 * Promoted primary a replica follows), so its version wins the place and nothing is discarded.
 * `planMerge` is pure; `applyMerge` does the file operations.
 */
import { lstatSync, mkdirSync, renameSync } from 'node:fs';
import { appendFile, copyFile, mkdir, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { sameContent, type Entry, type Tree } from './manifest.js';

export type ConflictKind = 'both-changed' | 'changed-here-deleted-there' | 'deleted-here-changed-there' | 'type-clash';

export interface Conflict {
  readonly path: string;
  readonly kind: ConflictKind;
}

export interface MergePlan {
  /** Install the peer's version (new or changed there). */
  readonly take: readonly string[];
  /** Delete the local file: the peer deleted it and the local copy had not changed since the base. */
  readonly remove: readonly string[];
  /** Local changes the peer never received: kept in place. */
  readonly keepLocal: readonly string[];
  readonly conflicts: readonly Conflict[];
  /** Directories the peer has and the local copy lacks. */
  readonly mkdirs: readonly string[];
}

export function planMerge(local: Tree, remote: Tree, base: ReadonlyMap<string, Entry>): MergePlan {
  const take: string[] = [];
  const remove: string[] = [];
  const keepLocal: string[] = [];
  const conflicts: Conflict[] = [];
  const paths = [...new Set([...local.files.keys(), ...remote.files.keys(), ...base.keys()])].sort();
  for (const p of paths) {
    const l = local.files.get(p);
    const r = remote.files.get(p);
    const b = base.get(p);
    if (sameContent(l, r)) continue;
    if (sameContent(l, b)) (r === undefined ? remove : take).push(p);
    else if (sameContent(r, b)) keepLocal.push(p);
    else if (l !== undefined && r !== undefined) {
      conflicts.push({ path: p, kind: 'both-changed' });
      take.push(p);
    } else if (r === undefined) {
      conflicts.push({ path: p, kind: 'changed-here-deleted-there' });
      keepLocal.push(p);
    } else {
      conflicts.push({ path: p, kind: 'deleted-here-changed-there' });
      take.push(p);
    }
  }
  const mkdirs = [...remote.dirs].filter((d) => !local.dirs.has(d)).sort();
  return { take, remove, keepLocal, conflicts, mkdirs };
}

export interface SavedConflict extends Conflict {
  /** Where the local version was saved (both-changed and type-clash). */
  readonly savedAs?: string;
  readonly message: string;
}

export interface MergeResult {
  readonly taken: number;
  readonly removed: number;
  readonly keptLocal: number;
  readonly conflicts: readonly SavedConflict[];
}

/** "2026-11-22T07:30:00.000Z" → "2026-11-22T07-30-00Z": safe in file names. */
export function stamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
}

async function moveFile(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  try {
    await rename(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    await copyFile(from, to);
    await unlink(from);
  }
}

/**
 * Applies a plan: `data` is the local copy, `staging` holds the peer's copy; conflicting local
 * versions go to `conflictsDir/PATH.NODE.STAMP` and a line per conflict to `conflictsDir/CONFLICTS.log`.
 * Order: save conflicting local versions, apply deletions, create directories, install the peer's
 * files. Where a local file stands in the way of the peer's directory, or a local directory in the
 * way of the peer's file, the local one is saved like a conflict ('type-clash') — never deleted.
 */
export async function applyMerge(
  plan: MergePlan,
  where: {
    readonly data: string;
    readonly staging: string;
    readonly conflictsDir: string;
    readonly node: string;
    readonly peer: string;
    readonly now: number;
  },
): Promise<MergeResult> {
  const when = stamp(where.now);
  const saved: SavedConflict[] = [];
  const saveAs = (p: string): string => join(where.conflictsDir, `${p}.${where.node}.${when}`);
  for (const c of plan.conflicts) {
    if (c.kind === 'both-changed') {
      const savedAs = saveAs(c.path);
      await moveFile(join(where.data, c.path), savedAs);
      saved.push({
        ...c,
        savedAs,
        message: `${c.path}: changed on ${where.node} and on ${where.peer}; kept ${where.peer}'s version in place, saved ${where.node}'s as ${savedAs}`,
      });
    } else if (c.kind === 'changed-here-deleted-there') {
      saved.push({ ...c, message: `${c.path}: changed on ${where.node} but deleted on ${where.peer}; kept ${where.node}'s version` });
    } else {
      saved.push({ ...c, message: `${c.path}: deleted on ${where.node} but changed on ${where.peer}; restored ${where.peer}'s version` });
    }
  }
  for (const p of plan.remove) await rm(join(where.data, p), { force: true });
  /** Moves whatever of the wrong kind stands at `p` into the conflicts directory. */
  const clear = async (p: string, want: 'dir' | 'file'): Promise<void> => {
    const st = lstatSync(join(where.data, p), { throwIfNoEntry: false });
    if (st === undefined || st.isDirectory() === (want === 'dir')) return;
    const savedAs = saveAs(p);
    await moveFile(join(where.data, p), savedAs);
    saved.push({
      path: p,
      kind: 'type-clash',
      savedAs,
      message: `${p}: a ${want === 'dir' ? 'file' : 'directory'} on ${where.node} but a ${want === 'dir' ? 'directory' : 'file'} on ${where.peer}; took ${where.peer}'s, saved ${where.node}'s as ${savedAs}`,
    });
  };
  for (const d of plan.mkdirs) {
    await clear(d, 'dir');
    await mkdir(join(where.data, d), { recursive: true });
  }
  // Synchronous renames (a large merge takes thousands), yielding to the event loop now and then.
  const made = new Set<string>();
  let n = 0;
  for (const p of plan.take) {
    await clear(p, 'file');
    const dest = join(where.data, p);
    const dir = dirname(dest);
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    renameSync(join(where.staging, p), dest);
    if (++n % 512 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (saved.length > 0) {
    await mkdir(where.conflictsDir, { recursive: true });
    await appendFile(join(where.conflictsDir, 'CONFLICTS.log'), saved.map((c) => `${new Date(where.now).toISOString()} ${c.kind} ${c.message}\n`).join(''));
  }
  return { taken: plan.take.length, removed: plan.remove.length, keptLocal: plan.keepLocal.length, conflicts: saved };
}
