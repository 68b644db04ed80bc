/**
 * One synchronisation from the peer: the replica's periodic pull and the resynchronisation a node
 * runs when it is promoted. Both are "pull the peer's copy and merge it into ours" (see merge.ts).
 *
 * - **Incremental** (the usual case): the node holds a position in the peer's change journal
 *   (journal.ts; written by the peer's tracker). It fetches the journal's new lines with the peer's
 *   status (one rsync connection; nothing else when nothing changed) and pulls only the paths they
 *   name (`--files-from`): straight into the data directory when none of them is a local change
 *   never mirrored, through the three-way merge restricted to those paths otherwise.
 * - **Full**: no position yet (the instance started, was demoted, or the peer's journal is new: its
 *   tracker restarted or lost events) — the whole tree, as before: a plain `rsync --delete` when the
 *   local copy is exactly what it last received, the three-way merge over both trees otherwise. It
 *   then takes the position the journal had before the pull began, so nothing written meanwhile is
 *   skipped.
 */
import { lstatSync, readdirSync, rmdirSync } from 'node:fs';
import { appendFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandRunner } from '@paceline/agent-api';
import { applyRings, type Ring } from './bell.js';
import { parseJournal, journalId, safeRelative, type JournalEntry, type JournalState } from './journal.js';
import { STALE_MS, journalStateFile } from './tracker.js';
import { applyMerge, planMerge, type MergeResult } from './merge.js';
import {
  appendManifest,
  entriesOf,
  entryOf,
  readJson,
  readManifest,
  replayManifest,
  sameContent,
  scanTree,
  toManifest,
  writeJsonAtomic,
  writeManifest,
  type Entry,
  type Manifest,
  type ManifestChange,
  type Tree,
} from './manifest.js';
import type { Layout, MirrorParams } from './params.js';
import { classify, clientArgs, COPY_ARGS, describe, remoteUrl, runRsync } from './rsync.js';

export type Role = 'promoted' | 'unpromoted' | 'stopped';

/** What each node publishes about itself in its `meta` module. */
export interface PeerStatus {
  readonly node: string;
  readonly role: Role;
  /** When the role was taken (that node's clock). */
  readonly since: number;
  /** When that node's manifest was recorded (its last sync), if it has one. */
  readonly manifestAt?: number;
  /**
   * Published by a node promoted after resynchronising from its peer: the peer's journal and the
   * last generation the merge took in. While that peer's own journal is still that one at that
   * generation, everything its copy holds is here too (its changes taken, its side of conflicts in
   * place): its first sync after being demoted may take this copy straight, without the merge.
   */
  readonly mergedFrom?: { readonly node: string; readonly journal: string; readonly gen: number };
}

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
    }
  | { readonly kind: 'unreachable'; readonly reason: string; readonly behind?: Lag }
  | { readonly kind: 'peer-promoted'; readonly reason: string }
  | { readonly kind: 'peer-not-promoted'; readonly reason: string }
  | { readonly kind: 'error'; readonly reason: string; readonly behind?: Lag };

/** When this node's manifest was last recorded (pub/synced.json: read without the manifest). */
export interface SyncedMark {
  readonly syncedAt: number;
  readonly syncedWith: string;
}
export const syncedFile = (l: Layout): string => `${l.pubDir}/synced.json`;
export async function readSynced(l: Layout): Promise<SyncedMark | undefined> {
  const s = await readJson<SyncedMark>(syncedFile(l), (v) => typeof v.syncedAt === 'number');
  if (s !== undefined) return s;
  const m = await readManifest(l.manifestFile); // written by an older version
  return m ? { syncedAt: m.syncedAt, syncedWith: m.syncedWith } : undefined;
}

export async function publishStatus(l: Layout, role: Role, now: number, mergedFrom?: PeerStatus['mergedFrom']): Promise<void> {
  const m = await readSynced(l);
  const s: PeerStatus = { node: l.node, role, since: now, ...(m ? { manifestAt: m.syncedAt } : {}), ...(mergedFrom ? { mergedFrom } : {}) };
  await writeJsonAtomic(l.statusFile, s);
}

export async function readOwnStatus(l: Layout): Promise<PeerStatus | undefined> {
  return readJson<PeerStatus>(l.statusFile, (v) => typeof v.role === 'string');
}

const rsyncOpts = (d: SyncDeps) => ({ ...(d.signal ? { signal: d.signal } : {}), timeoutMs: d.timeoutMs ?? 120_000 });

/** Fetches files of the peer's `meta` module into the state directory (one connection). */
async function fetchMetaFiles(
  p: MirrorParams,
  l: Layout,
  d: SyncDeps,
  names: readonly string[],
  opts: { append?: readonly string[] } = {},
): Promise<{ ok: true } | { ok: false; unreachable: boolean; missing: boolean; reason: string }> {
  const dir = peerDir(l);
  await mkdir(dir, { recursive: true });
  for (const n of names) if (!opts.append?.includes(n)) await rm(`${dir}/${n}`, { force: true });
  const urls = names.map((n) => remoteUrl(p, l, 'meta', n));
  const r = await runRsync(d.run, p, [...(await clientArgs(p, l)), '-t', ...(opts.append ? ['--append'] : []), ...urls, `${dir}/`], rsyncOpts(d));
  const c = classify(r);
  if (c === 'ok' || c === 'missing') return { ok: true };
  return {
    ok: false,
    unreachable: c === 'unreachable',
    missing: false,
    reason: `cannot read ${l.peer}'s ${names.join(', ')} at ${l.remote.authority}: ${describe(r)}`,
  };
}
const peerDir = (l: Layout): string => `${l.stateDir}/peer`;

/** Fetches one file of the peer's `meta` module into the state directory. */
async function fetchMeta<T>(
  p: MirrorParams,
  l: Layout,
  d: SyncDeps,
  name: string,
  valid: (v: T) => boolean,
): Promise<{ ok: true; value: T | undefined } | { ok: false; unreachable: boolean; reason: string }> {
  const r = await fetchMetaFiles(p, l, d, [name]);
  if (!r.ok) return r;
  return { ok: true, value: await readJson<T>(`${peerDir(l)}/${name}`, valid) };
}

/** The peer's published status; `undefined` value when it publishes none. */
export async function fetchPeerStatus(p: MirrorParams, l: Layout, d: SyncDeps) {
  return fetchMeta<PeerStatus>(p, l, d, 'status.json', (v) => typeof v.role === 'string');
}

/** The peer's manifest with its log (the base of a full merge). */
async function fetchPeerManifest(p: MirrorParams, l: Layout, d: SyncDeps) {
  const r = await fetchMetaFiles(p, l, d, ['manifest.json', 'manifest.log']);
  if (!r.ok) return r;
  const m = await readJson<Manifest>(`${peerDir(l)}/manifest.json`, (v) => v.version === 1 && typeof v.entries === 'object');
  if (m === undefined) return { ok: true as const, value: undefined };
  const log = await readFile(`${peerDir(l)}/manifest.log`, 'utf8').catch(() => '');
  return { ok: true as const, value: log === '' ? m : replayManifest(m, log) };
}

interface PeerMeta {
  readonly status: PeerStatus | undefined;
  /** The peer's journal when its tracker vouches for it, with our local copy of it (complete lines up to the fetch). */
  readonly journal?: { readonly state: JournalState; readonly buf: Buffer };
  /** Read from the doorbell's rings (no connection): the newest ring's state time. */
  readonly ringAt?: number;
}

/**
 * One connection: the peer's status, its journal state and the new bytes of its journal
 * (`--append`: the local copy grows by what was added). A local copy of another journal is
 * replaced (one more connection, only when the peer's journal changed).
 */
async function fetchPeerMeta(
  p: MirrorParams,
  l: Layout,
  d: SyncDeps,
): Promise<{ ok: true; meta: PeerMeta } | { ok: false; unreachable: boolean; reason: string }> {
  const rung = await fromRings(l, d);
  if (rung) return { ok: true, meta: rung };
  const names = ['status.json', 'journal.json', 'journal.log'];
  let r = await fetchMetaFiles(p, l, d, names, { append: ['journal.log'] });
  if (!r.ok) return r;
  const dir = peerDir(l);
  const status = await readJson<PeerStatus>(`${dir}/status.json`, (v) => typeof v.role === 'string');
  const state = await readJson<JournalState>(`${dir}/journal.json`, (v) => typeof v.id === 'string' && typeof v.gen === 'number');
  // A journal its tracker stopped rewriting (the tracker died) no longer vouches for anything.
  if (state === undefined || !state.ready || Math.abs(d.now() - state.at) > STALE_MS) return { ok: true, meta: { status } };
  let buf = await readFile(`${dir}/journal.log`).catch(() => Buffer.alloc(0));
  if (journalId(buf) !== state.id) {
    await rm(`${dir}/journal.log`, { force: true });
    r = await fetchMetaFiles(p, l, d, ['journal.log'], { append: ['journal.log'] });
    if (!r.ok) return r;
    buf = await readFile(`${dir}/journal.log`).catch(() => Buffer.alloc(0));
    if (journalId(buf) !== state.id) return { ok: true, meta: { status } };
  }
  return { ok: true, meta: { status, journal: { state, buf } } };
}

/**
 * The peer's journal grown by the doorbell's rings, without a connection: when the last status
 * fetched says Promoted (rings come only from a Promoted peer) and the rings continue the local
 * copy exactly. Undefined otherwise: the caller fetches.
 */
async function fromRings(l: Layout, d: SyncDeps): Promise<PeerMeta | undefined> {
  const rings = d.rings?.() ?? [];
  if (rings.length === 0) return undefined;
  const dir = peerDir(l);
  const status = await readJson<PeerStatus>(`${dir}/status.json`, (v) => typeof v.role === 'string');
  if (status?.role !== 'promoted') return undefined;
  const local = await readFile(`${dir}/journal.log`).catch(() => Buffer.alloc(0));
  const applied = applyRings(local, journalId(local), rings);
  if (!applied || !applied.state.ready || Math.abs(d.now() - applied.state.at) > STALE_MS) return undefined;
  if (applied.buf.length > local.length) await appendFile(`${dir}/journal.log`, applied.buf.subarray(local.length));
  await writeJsonAtomic(`${dir}/journal.json`, applied.state);
  return { status, journal: { state: applied.state, buf: applied.buf }, ringAt: applied.state.at };
}

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
}
export const positionFile = (l: Layout): string => `${l.stateDir}/position.json`;
export async function readPosition(l: Layout): Promise<Position | undefined> {
  return readJson<Position>(positionFile(l), (v) => typeof v.id === 'string' && typeof v.offset === 'number' && typeof v.local === 'object');
}
export async function forgetPosition(l: Layout): Promise<void> {
  await rm(positionFile(l), { force: true });
}

/**
 * A pull that fails once the peer has answered. For a replica it is just a missed round. For a
 * promotion it is not "the peer is gone": the peer is there with changes we have not got, so the
 * promotion must fail rather than go ahead with the local copy.
 */
function pullFailed(mode: 'replica' | 'promote', c: string, reason: string, behind?: Lag): SyncOutcome {
  const b = behind ? { behind } : {};
  if (mode === 'replica' && c === 'unreachable') return { kind: 'unreachable', reason, ...b };
  return { kind: 'error', reason: mode === 'promote' ? `${reason} (the peer answered, so its changes must not be skipped)` : reason, ...b };
}

function unchanged(tree: Tree, base: ReadonlyMap<string, Entry>): boolean {
  if (tree.files.size !== base.size) return false;
  for (const [k, v] of tree.files) if (!sameContent(v, base.get(k))) return false;
  return true;
}

/**
 * Pulls the peer's copy and merges it into the local one.
 * - `replica`: only from a Promoted peer (a replica follows the primary and nothing else).
 * - `promote`: only from a peer that is not Promoted (its service must have stopped, so its copy is
 *   quiescent); refused while the peer is Promoted.
 */
export async function syncFromPeer(p: MirrorParams, l: Layout, d: SyncDeps, mode: 'replica' | 'promote'): Promise<SyncOutcome> {
  const started = d.now();
  const fetched = await fetchPeerMeta(p, l, d);
  if (!fetched.ok) return fetched.unreachable ? { kind: 'unreachable', reason: fetched.reason } : { kind: 'error', reason: fetched.reason };
  const { status, journal } = fetched.meta;
  const peerRole = status?.role ?? 'stopped';
  if (mode === 'replica' && peerRole !== 'promoted')
    return { kind: 'peer-not-promoted', reason: `${l.peer} is ${peerRole === 'unpromoted' ? 'Unpromoted' : 'not running'}: nothing to follow` };
  if (mode === 'promote' && peerRole === 'promoted') {
    return { kind: 'peer-promoted', reason: `${l.peer} is still Promoted (its copy is the one being written); demote it before promoting ${l.node}` };
  }
  await mkdir(l.data, { recursive: true });
  const pos = await readPosition(l);
  if (pos !== undefined && journal !== undefined && journal.state.id === pos.id) {
    const parsed = parseJournal(journal.buf, pos.offset);
    if (parsed.ok && parsed.id === pos.id) {
      const o = await incrementalSync(p, l, d, mode, pos, parsed.entries, parsed.end, started);
      const gen = parsed.entries[parsed.entries.length - 1]?.gen ?? pos.gen;
      return o.kind === 'synced'
        ? { ...o, through: { journal: pos.id, gen }, ...(fetched.meta.ringAt !== undefined ? { ringAt: fetched.meta.ringAt } : {}) }
        : o;
    }
  }
  // No position in the peer's current journal: the whole tree. The journal as fetched before the
  // pull is where the next incremental sync starts (changes made meanwhile have later generations).
  const from = journal !== undefined ? parseJournal(journal.buf, 0) : undefined;
  const o = await fullSync(p, l, d, mode, status, started, await vouchedByPeer(l, status));
  if (o.outcome.kind === 'synced' && from?.ok) {
    const last = from.entries[from.entries.length - 1];
    await writeJsonAtomic(positionFile(l), {
      id: from.id,
      gen: last?.gen ?? 0,
      offset: from.end,
      snapshotAt: o.snapshotAt,
      files: o.outcome.files,
      local: o.local,
    } satisfies Position);
  } else {
    await forgetPosition(l);
  }
  if (o.outcome.kind === 'synced' && from?.ok) return { ...o.outcome, through: { journal: from.id, gen: from.entries[from.entries.length - 1]?.gen ?? 0 } };
  return o.outcome;
}

/**
 * Does the peer vouch that it holds everything this copy holds? It says so (PeerStatus.mergedFrom)
 * when it was promoted after merging this node's copy through its journal's generation G; if this
 * node's journal is still that one, at G, nothing was written here since (and its tracker watched
 * throughout: a restart would be a new journal).
 */
async function vouchedByPeer(l: Layout, status: PeerStatus | undefined): Promise<boolean> {
  const m = status?.mergedFrom;
  if (m === undefined || m.node !== l.node) return false;
  const own = await readJson<JournalState>(journalStateFile(l), (v) => typeof v.id === 'string' && typeof v.gen === 'number');
  return own !== undefined && own.ready && own.id === m.journal && own.gen <= m.gen;
}

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

const lagOf = (entries: readonly JournalEntry[]): Lag => {
  let bytes = 0;
  let oldestAt: number | undefined;
  for (const e of entries) {
    bytes += e.size;
    oldestAt = oldestAt === undefined ? e.at : Math.min(oldestAt, e.at);
  }
  return { changes: entries.length, bytes, ...(oldestAt !== undefined ? { oldestAt } : {}) };
};

/** The journal's changes since our position: only those paths cross the link. */
async function incrementalSync(
  p: MirrorParams,
  l: Layout,
  d: SyncDeps,
  mode: 'replica' | 'promote',
  pos: Position,
  entries: readonly JournalEntry[],
  end: number,
  started: number,
): Promise<SyncOutcome> {
  const none: MergeResult = { taken: 0, removed: 0, keptLocal: Object.keys(pos.local).length, conflicts: [] };
  const lag = lagOf(entries);
  const last = entries[entries.length - 1];
  const advance = async (local: Readonly<Record<string, Entry | null>>): Promise<void> => {
    await writeJsonAtomic(positionFile(l), { ...pos, gen: last?.gen ?? pos.gen, offset: end, local } satisfies Position);
  };
  if (entries.length === 0) {
    return { kind: 'synced', fast: true, scope: 'incremental', files: pos.files, merge: none, durationMs: d.now() - started, lag };
  }
  const paths = [...new Set(entries.map((e) => e.path))].filter(safeRelative).sort();
  const listFile = `${l.stateDir}/changed.list`;
  await writeFile(listFile, paths.map((x) => `${x}\0`).join(''), { mode: 0o600 });
  const client = await clientArgs(p, l);
  const list = ['--from0', `--files-from=${listFile}`];
  const keptHere = new Set(Object.keys(pos.local));
  const pathSet = new Set(paths);
  const touchesLocal = [...keptHere].some((k) => under(k, pathSet));
  if (!touchesLocal) {
    // Nothing here to protect: straight into place (rsync writes each file to a temporary name and
    // renames it, so no reader sees a half-copied file); a path gone there is removed here. The
    // journal says these paths changed: no quick check (--ignore-times), so a rewrite of the same
    // size within the same clock tick is taken too.
    const r = await runRsync(
      d.run,
      p,
      [...client, ...COPY_ARGS, '--ignore-times', '--dirs', ...list, '--delete-missing-args', '--force', remoteUrl(p, l, 'data'), `${l.data}/`],
      rsyncOpts(d),
    );
    const c = classify(r);
    if (c !== 'ok') return pullFailed(mode, c, `pull of ${paths.length} changed path(s) from ${l.peer} failed: ${describe(r)}`, lag);
    await recordChanges(l, pos, paths, d.now());
    await advance(pos.local);
    return { kind: 'synced', fast: true, scope: 'incremental', files: pos.files, merge: { ...none, taken: paths.length }, durationMs: d.now() - started, lag };
  }
  // Some of these paths hold local changes never mirrored: the three-way merge, on these paths only.
  // (A path below a local symbolic link — the peer turned a link into a directory — would lead the
  // merge's file operations out of the data directory: that one case takes the full merge.)
  if (paths.some((x) => throughLink(l.data, x))) {
    await forgetPosition(l);
    return syncFromPeer(p, l, d, mode);
  }
  await rm(l.stagingDir, { recursive: true, force: true });
  await mkdir(l.stagingDir, { recursive: true });
  try {
    const r = await runRsync(
      d.run,
      p,
      [...client, ...COPY_ARGS, '--dirs', ...list, '--ignore-missing-args', remoteUrl(p, l, 'data'), `${l.stagingDir}/`],
      rsyncOpts(d),
    );
    const c = classify(r);
    if (c !== 'ok') return pullFailed(mode, c, `pull of ${paths.length} changed path(s) from ${l.peer} failed: ${describe(r)}`, lag);
    const localFiles = new Map<string, Entry>();
    const remoteFiles = new Map<string, Entry>();
    const remoteDirs = new Set<string>();
    const localDirs = new Set<string>();
    const base = new Map<string, Entry>();
    const candidates = new Set<string>();
    for (const x of paths) for (const f of localFilesUnder(l.data, x)) candidates.add(f);
    for (const x of paths) {
      const st = lstatSync(join(l.stagingDir, x), { throwIfNoEntry: false });
      if (st?.isDirectory()) remoteDirs.add(x);
      else if (st) candidates.add(x);
      if (lstatSync(join(l.data, x), { throwIfNoEntry: false })?.isDirectory()) localDirs.add(x);
    }
    for (const f of candidates) {
      const le = await entryOf(l.data, f);
      const re = await entryOf(l.stagingDir, f);
      if (le) localFiles.set(f, le);
      if (re) remoteFiles.set(f, re);
      // A path this node never changed is, by definition, what it last received: its base is itself.
      const b = f in pos.local ? (pos.local[f] ?? undefined) : le;
      if (b) base.set(f, b);
    }
    const plan = planMerge({ files: localFiles, dirs: localDirs }, { files: remoteFiles, dirs: remoteDirs }, base);
    const merge = await applyMerge(plan, { data: l.data, staging: l.stagingDir, conflictsDir: l.conflictsDir, node: l.node, peer: l.peer, now: d.now() });
    for (const x of paths) if (!remoteDirs.has(x) && !remoteFiles.has(x)) pruneEmptyDirs(l.data, x);
    // The kept local changes stay local changes against the peer's version, as after a full merge.
    const kept = new Set(plan.keepLocal);
    const local: Record<string, Entry | null> = { ...pos.local };
    for (const f of candidates) {
      if (kept.has(f)) local[f] = remoteFiles.get(f) ?? null;
      else delete local[f];
    }
    const changes: ManifestChange[] = [...candidates].map((f) => [f, remoteFiles.get(f) ?? null]);
    for (const x of paths) if (!remoteDirs.has(x) && !remoteFiles.has(x)) changes.push([x, null, 'tree']);
    await recordManifest(l, pos, changes, d.now());
    await advance(local);
    return { kind: 'synced', fast: false, scope: 'incremental', files: pos.files, merge, durationMs: d.now() - started, lag };
  } finally {
    await rm(l.stagingDir, { recursive: true, force: true });
  }
}

/** Appends the new entries of these paths (what both copies now agree on: they were just pulled) to the manifest's log. */
async function recordChanges(l: Layout, pos: Position, paths: readonly string[], now: number): Promise<void> {
  const changes: ManifestChange[] = [];
  for (const x of paths) {
    const st = lstatSync(join(l.data, x), { throwIfNoEntry: false });
    if (st?.isDirectory()) continue;
    const e = await entryOf(l.data, x);
    changes.push(e ? [x, e] : [x, null, 'tree']);
  }
  await recordManifest(l, pos, changes, now);
}

async function recordManifest(l: Layout, pos: Position, changes: readonly ManifestChange[], now: number): Promise<void> {
  await appendManifest(l.manifestFile, pos.snapshotAt, now, changes);
  await writeJsonAtomic(syncedFile(l), { syncedAt: now, syncedWith: l.peer } satisfies SyncedMark);
}

interface FullResult {
  readonly outcome: SyncOutcome;
  readonly snapshotAt: number;
  readonly local: Readonly<Record<string, Entry | null>>;
}

/** The whole tree (see the module comment). */
async function fullSync(
  p: MirrorParams,
  l: Layout,
  d: SyncDeps,
  mode: 'replica' | 'promote',
  status: PeerStatus | undefined,
  started: number,
  vouched: boolean,
): Promise<FullResult> {
  const fail = (outcome: SyncOutcome): FullResult => ({ outcome, snapshotAt: 0, local: {} });
  const own = await readManifest(l.manifestFile);
  const ownEntries = entriesOf(own);
  // A copy the peer vouches for needs no look before the pull (only the snapshot after it).
  const local = vouched && mode === 'replica' ? undefined : await scanTree(l.data, { cache: ownEntries });
  const client = await clientArgs(p, l);
  const record = async (tree: Tree): Promise<number> => {
    const at = d.now();
    await writeManifest(l.manifestFile, toManifest(tree, l.node, l.peer, at));
    await writeJsonAtomic(syncedFile(l), { syncedAt: at, syncedWith: l.peer } satisfies SyncedMark);
    return at;
  };

  // Fast path: a replica holding exactly what it last received from this primary.
  // An empty copy (a new replica) has nothing to protect either, nor one the primary vouches it merged whole (a demoted node).
  const empty = local?.files.size === 0;
  if (mode === 'replica' && (empty || vouched || (own !== undefined && own.syncedWith === l.peer && local !== undefined && unchanged(local, ownEntries)))) {
    // The primary's own record of a later sync (a resynchronisation it ran when promoted) makes that the base instead.
    if (empty || vouched || (status?.manifestAt ?? 0) <= own!.syncedAt) {
      const r = await runRsync(d.run, p, [...client, '-r', ...COPY_ARGS, '--delete', remoteUrl(p, l, 'data'), `${l.data}/`], rsyncOpts(d));
      const c = classify(r);
      if (c !== 'ok') return fail(pullFailed(mode, c, `pull from ${l.peer} failed: ${describe(r)}`));
      const after = await scanTree(l.data, { cache: ownEntries });
      const snapshotAt = await record(after);
      return {
        outcome: {
          kind: 'synced',
          fast: true,
          scope: 'full',
          files: after.files.size,
          merge: { taken: 0, removed: 0, keptLocal: 0, conflicts: [] },
          durationMs: d.now() - started,
        },
        snapshotAt,
        local: {},
      };
    }
  }

  // Merge path: the base is the most recent sync either node recorded between the two copies.
  if (local === undefined) throw new Error('unreachable: a vouched copy takes the fast path');
  const pm = await fetchPeerManifest(p, l, d);
  if (!pm.ok) return fail(pullFailed(mode, pm.unreachable ? 'unreachable' : 'failed', pm.reason));
  const candidates = [own, pm.value].filter((m): m is Manifest => m !== undefined);
  const base = candidates.sort((a, b) => b.syncedAt - a.syncedAt)[0];
  const baseEntries = entriesOf(base);
  await rm(l.stagingDir, { recursive: true, force: true });
  await mkdir(l.stagingDir, { recursive: true });
  try {
    const r = await runRsync(
      d.run,
      p,
      [...client, '-r', ...COPY_ARGS, '--delete', `--link-dest=${l.data}`, remoteUrl(p, l, 'data'), `${l.stagingDir}/`],
      rsyncOpts(d),
    );
    const c = classify(r);
    if (c !== 'ok') return fail(pullFailed(mode, c, `pull from ${l.peer} failed: ${describe(r)}`));
    const byInode = new Map<number, Entry>();
    for (const e of local.files.values()) if (e.ino !== undefined) byInode.set(e.ino, e);
    const remote = await scanTree(l.stagingDir, { byInode });
    const plan = planMerge(local, remote, baseEntries);
    const merge = await applyMerge(plan, { data: l.data, staging: l.stagingDir, conflictsDir: l.conflictsDir, node: l.node, peer: l.peer, now: d.now() });
    // What both copies now agree on is the peer's copy; local changes kept in place stay "local
    // changes" against it, so a later merge keeps them again instead of mistaking them for mirrored.
    const snapshotAt = await record(remote);
    const kept: Record<string, Entry | null> = {};
    for (const x of plan.keepLocal) kept[x] = remote.files.get(x) ?? null;
    return { outcome: { kind: 'synced', fast: false, scope: 'full', files: remote.files.size, merge, durationMs: d.now() - started }, snapshotAt, local: kept };
  } finally {
    await rm(l.stagingDir, { recursive: true, force: true });
  }
}

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
        : `nothing changed on ${l.peer}`,
    ];
  } else {
    parts = [`${o.fast ? 'pulled' : 'merged'} ${o.files} files from ${l.peer} in ${o.durationMs} ms`];
  }
  if (!o.fast || m.keptLocal > 0) parts.push(`${m.taken} taken, ${m.removed} removed, ${m.keptLocal} local changes kept`);
  if (m.conflicts.length > 0) parts.push(`WARNING ${m.conflicts.length} conflict(s), see ${l.conflictsDir}: ${m.conflicts.map((c) => c.message).join('; ')}`);
  return parts.join('; ');
}
