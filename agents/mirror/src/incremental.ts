/**
 * The incremental sync: the peer's journal lines since this node's position name the paths that
 * changed there; only those cross the link — straight into place when none of them is a local
 * change never mirrored, through the three-way merge restricted to them otherwise.
 */
import { lstatSync, readdirSync, rmdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { safeRelative, type JournalEntry } from './journal.js';
import { applyMerge, planMerge, type MergeResult } from './merge.js';
import { appendManifest, entryOf, writeJsonAtomic, type Entry, type ManifestChange } from './manifest.js';
import { lagOf, pullFailed, rsyncOpts, syncedFile, type SyncDeps, type SyncedMark, type SyncOutcome } from './outcome.js';
import type { Layout, MirrorParams } from './params.js';
import { positionFile, type Position } from './position.js';
import { classify, clientArgs, COPY_ARGS, describe, remoteUrl, runRsync } from './rsync.js';

/** Is `p` one of `paths` or below one of them (a removed directory)? */
function under(p: string, dirs: ReadonlySet<string>): boolean {
  for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) if (dirs.has(p.slice(0, i))) return true;
  return dirs.has(p);
}

/** Local files at or below `rel` (a path the peer no longer has): what the merge must decide about. */
function localFilesUnder(root: string, rel: string): string[] {
  const out: string[] = [];
  const st = lstatSync(join(root, rel), { throwIfNoEntry: false });
  if (st === undefined) return out;
  if (!st.isDirectory()) return [rel];
  const stack = [rel];
  while (stack.length > 0) {
    const r = stack.pop()!;
    for (const e of readdirSync(join(root, r), { withFileTypes: true })) {
      const c = `${r}/${e.name}`;
      if (e.isDirectory()) stack.push(c);
      else if (e.isFile() || e.isSymbolicLink()) out.push(c);
    }
  }
  return out;
}

/** Is one of the directories leading to `rel` (not `rel` itself) a symbolic link here? */
function throughLink(root: string, rel: string): boolean {
  for (let i = rel.indexOf('/'); i >= 0; i = rel.indexOf('/', i + 1)) {
    if (lstatSync(join(root, rel.slice(0, i)), { throwIfNoEntry: false })?.isSymbolicLink()) return true;
  }
  return false;
}

/** Removes now-empty directories at and below `rel`, deepest first (one holding a kept file stays). */
function pruneEmptyDirs(root: string, rel: string): void {
  const st = lstatSync(join(root, rel), { throwIfNoEntry: false });
  if (!st?.isDirectory()) return;
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) if (e.isDirectory()) pruneEmptyDirs(root, `${rel}/${e.name}`);
  try {
    rmdirSync(join(root, rel));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}

/** A file here whose ctime is not after `since` (the gap's start) did not change while nothing watched. */
function unchangedSince(root: string, f: string, since: number | undefined): boolean {
  const st = since === undefined ? undefined : lstatSync(join(root, f), { throwIfNoEntry: false });
  return st !== undefined && since !== undefined && st.ctimeMs <= since;
}

/** What one incremental round works on: the paths, and which of them may hold local changes of unknown base. */
interface Scope {
  readonly pos: Position;
  /** Everything to pull: the peer's changed paths and the pending local ones. */
  readonly paths: readonly string[];
  /** Paths the peer changed since the position (its journal lines, and pending.peer). */
  readonly peerChanged: ReadonlySet<string>;
  /** Local paths that may have changed here while nothing watched (pending.local), and directories below which anything may have (pending.dirs). */
  readonly unknownFiles: ReadonlySet<string>;
  readonly unknownDirs: ReadonlySet<string>;
  readonly lag: ReturnType<typeof lagOf>;
  /** The position after this round. */
  readonly next: (local: Readonly<Record<string, Entry | null>>) => Position;
}

/**
 * The journal's changes since our position: only those paths cross the link (with, after a start
 * that resumed from the journal, the paths that start found may have changed here: Position.pending).
 * Undefined when the round must be a full one instead (a path below a local symbolic link).
 */
export async function incrementalSync(
  p: MirrorParams,
  l: Layout,
  d: SyncDeps,
  mode: 'replica' | 'promote',
  pos: Position,
  journal: { readonly entries: readonly JournalEntry[]; readonly end: number },
  started: number,
  own: Position['own'],
): Promise<SyncOutcome | undefined> {
  const none: MergeResult = { taken: 0, removed: 0, keptLocal: Object.keys(pos.local).length, conflicts: [] };
  const { entries, end } = journal;
  const lag = lagOf(entries);
  const last = entries[entries.length - 1];
  const next = (local: Readonly<Record<string, Entry | null>>): Position => {
    const { pending: _done, ...rest } = pos;
    void _done;
    return { ...rest, gen: last?.gen ?? pos.gen, offset: end, local, ...(own ? { own } : {}) };
  };
  const pending = pos.pending;
  if (entries.length === 0 && pending === undefined) {
    // Nothing new there (a heartbeat's round): the position changes only if this node's own journal moved.
    if (own && (own.journal !== pos.own?.journal || own.gen !== pos.own.gen)) await writeJsonAtomic(positionFile(l), next(pos.local));
    return { kind: 'synced', fast: true, scope: 'incremental', files: pos.files, merge: none, durationMs: d.now() - started, lag };
  }
  const peerChanged = new Set([...entries.map((e) => e.path), ...(pending?.peer ?? [])].filter(safeRelative));
  const unknownFiles = new Set((pending?.local ?? []).filter(safeRelative));
  const unknownDirs = new Set((pending?.dirs ?? []).filter(safeRelative));
  const paths = [...new Set([...peerChanged, ...unknownFiles, ...unknownDirs])].sort();
  await writeFile(`${l.stateDir}/changed.list`, paths.map((x) => `${x}\0`).join(''), { mode: 0o600 });
  const scope: Scope = { pos, paths, peerChanged, unknownFiles, unknownDirs, lag, next };
  const pathSet = new Set(paths);
  const touchesLocal = unknownFiles.size > 0 || unknownDirs.size > 0 || Object.keys(pos.local).some((k) => under(k, pathSet));
  if (!touchesLocal) return pullInPlace(p, l, d, mode, scope, none, started);
  // Some of these paths hold local changes never mirrored: the three-way merge, on these paths only.
  // (A path below a local symbolic link — the peer turned a link into a directory — would lead the
  // merge's file operations out of the data directory: that one case takes the full merge.)
  if (paths.some((x) => throughLink(l.data, x))) return undefined;
  return mergePaths(p, l, d, mode, scope, started);
}

/**
 * Nothing here to protect: straight into place (rsync writes each file to a temporary name and
 * renames it, so no reader sees a half-copied file); a path gone there is removed here. The
 * journal says these paths changed: no quick check (--ignore-times), so a rewrite of the same size
 * within the same clock tick is taken too.
 */
async function pullInPlace(
  p: MirrorParams,
  l: Layout,
  d: SyncDeps,
  mode: 'replica' | 'promote',
  s: Scope,
  none: MergeResult,
  started: number,
): Promise<SyncOutcome> {
  const list = ['--from0', `--files-from=${l.stateDir}/changed.list`];
  const r = await runRsync(
    d.run,
    p,
    [...(await clientArgs(p, l)), ...COPY_ARGS, '--ignore-times', '--dirs', ...list, '--delete-missing-args', '--force', remoteUrl(p, l, 'data'), `${l.data}/`],
    rsyncOpts(d),
  );
  const c = classify(r);
  if (c !== 'ok') return pullFailed(mode, c, `pull of ${s.paths.length} changed path(s) from ${l.peer} failed: ${describe(r)}`, s.lag);
  await recordChanges(l, s.pos, s.paths, d.now());
  await writeJsonAtomic(positionFile(l), s.next(s.pos.local));
  return {
    kind: 'synced',
    fast: true,
    scope: 'incremental',
    files: s.pos.files,
    merge: { ...none, taken: s.paths.length },
    durationMs: d.now() - started,
    lag: s.lag,
  };
}

/** The paths of this round: this side's files and the peer's (pulled into the staging directory). */
function candidatesOf(l: Layout, s: Scope): { candidates: Set<string>; localDirs: Set<string>; remoteDirs: Set<string> } {
  const candidates = new Set<string>();
  const remoteDirs = new Set<string>();
  const localDirs = new Set<string>();
  for (const x of s.paths) {
    for (const f of localFilesUnder(l.data, x)) candidates.add(f);
    if (s.unknownDirs.has(x)) for (const f of localFilesUnder(l.stagingDir, x)) candidates.add(f);
    const st = lstatSync(join(l.stagingDir, x), { throwIfNoEntry: false });
    if (st?.isDirectory()) remoteDirs.add(x);
    else if (st) candidates.add(x);
    if (lstatSync(join(l.data, x), { throwIfNoEntry: false })?.isDirectory()) localDirs.add(x);
  }
  return { candidates, localDirs, remoteDirs };
}

/** The three-way merge restricted to this round's paths (see incrementalSync). */
async function mergePaths(p: MirrorParams, l: Layout, d: SyncDeps, mode: 'replica' | 'promote', s: Scope, started: number): Promise<SyncOutcome> {
  await rm(l.stagingDir, { recursive: true, force: true });
  await mkdir(l.stagingDir, { recursive: true });
  try {
    const list = ['--from0', `--files-from=${l.stateDir}/changed.list`];
    const r = await runRsync(
      d.run,
      p,
      // A directory of pending.dirs comes whole (-r): what was moved in or out below it while nothing watched is merged too.
      [
        ...(await clientArgs(p, l)),
        ...COPY_ARGS,
        s.unknownDirs.size > 0 ? '-r' : '--dirs',
        ...list,
        '--ignore-missing-args',
        remoteUrl(p, l, 'data'),
        `${l.stagingDir}/`,
      ],
      rsyncOpts(d),
    );
    const c = classify(r);
    if (c !== 'ok') return pullFailed(mode, c, `pull of ${s.paths.length} changed path(s) from ${l.peer} failed: ${describe(r)}`, s.lag);
    const { candidates, localDirs, remoteDirs } = candidatesOf(l, s);
    const localFiles = new Map<string, Entry>();
    const remoteFiles = new Map<string, Entry>();
    const base = new Map<string, Entry>();
    for (const f of candidates) {
      const le = await entryOf(l.data, f);
      const re = await entryOf(l.stagingDir, f);
      if (le) localFiles.set(f, le);
      if (re) remoteFiles.set(f, re);
      // A path this node never changed is, by definition, what it last received: its base is itself.
      // One it may have changed while nothing watched (pending) is, unless the peer changed it too,
      // what the peer still has; if both did, nothing is common: a difference is a conflict.
      const unknown = s.unknownFiles.has(f) || (under(f, s.unknownDirs) && !unchangedSince(l.data, f, s.pos.pending?.since));
      const b = f in s.pos.local ? (s.pos.local[f] ?? undefined) : unknown ? (under(f, s.peerChanged) ? undefined : re) : le;
      if (b) base.set(f, b);
    }
    const plan = planMerge({ files: localFiles, dirs: localDirs }, { files: remoteFiles, dirs: remoteDirs }, base);
    const merge = await applyMerge(plan, { data: l.data, staging: l.stagingDir, conflictsDir: l.conflictsDir, node: l.node, peer: l.peer, now: d.now() });
    for (const x of s.paths) if (!remoteDirs.has(x) && !remoteFiles.has(x)) pruneEmptyDirs(l.data, x);
    // The kept local changes stay local changes against the peer's version, as after a full merge.
    const kept = new Set(plan.keepLocal);
    const local: Record<string, Entry | null> = { ...s.pos.local };
    for (const f of candidates) {
      if (kept.has(f)) local[f] = remoteFiles.get(f) ?? null;
      else delete local[f];
    }
    const changes: ManifestChange[] = [...candidates].map((f) => [f, remoteFiles.get(f) ?? null]);
    for (const x of s.paths) if (!remoteDirs.has(x) && !remoteFiles.has(x)) changes.push([x, null, 'tree']);
    await recordManifest(l, s.pos, changes, d.now());
    await writeJsonAtomic(positionFile(l), s.next(local));
    return { kind: 'synced', fast: false, scope: 'incremental', files: s.pos.files, merge, durationMs: d.now() - started, lag: s.lag };
  } finally {
    await rm(l.stagingDir, { recursive: true, force: true });
  }
}

/** Appends the new entries of these paths (what both copies now agree on: they were just pulled) to the manifest's log. */
export async function recordChanges(l: Layout, pos: Position, paths: readonly string[], now: number): Promise<void> {
  const changes: ManifestChange[] = [];
  for (const x of paths) {
    const st = lstatSync(join(l.data, x), { throwIfNoEntry: false });
    if (st?.isDirectory()) continue;
    const e = await entryOf(l.data, x);
    changes.push(e ? [x, e] : [x, null, 'tree']);
  }
  await recordManifest(l, pos, changes, now);
}

export async function recordManifest(l: Layout, pos: Position, changes: readonly ManifestChange[], now: number): Promise<void> {
  await appendManifest(l.manifestFile, pos.snapshotAt, now, changes);
  await writeJsonAtomic(syncedFile(l), { syncedAt: now, syncedWith: l.peer, snapshotAt: pos.snapshotAt } satisfies SyncedMark);
}
