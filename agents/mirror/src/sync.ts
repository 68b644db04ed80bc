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
import { appendFile, mkdir, readFile, rm } from 'node:fs/promises';
import { applyRings } from './bell.js';
import { parseJournal, journalId, type JournalState } from './journal.js';
import { STALE_MS, journalStateFile } from './tracker.js';
import { applyMerge, planMerge } from './merge.js';
import {
  entriesOf,
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
  type Tree,
} from './manifest.js';
import { incrementalSync } from './incremental.js';
import { resume, type Followed } from './resume.js';
import { pullFailed, readSynced, rsyncOpts, syncedFile, type SyncDeps, type SyncedMark, type SyncOutcome } from './outcome.js';
import type { Layout, MirrorParams } from './params.js';
import { forgetPosition, positionFile, readPosition, type Position } from './position.js';
import { classify, clientArgs, COPY_ARGS, describe, remoteUrl, runRsync } from './rsync.js';
import { MirrorError } from './errors.js';

export { readSynced, summarize, type Lag, type SyncDeps, type SyncOutcome } from './outcome.js';
export { forgetPosition, readPosition, type Position } from './position.js';

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
  /**
   * Published with mergedFrom: this node's own journal since it began following the peer it merged
   * (id, the byte offset of its first line) and the local changes it kept, which the peer never
   * had. The peer, demoted, pulls the paths of those lines and these (its first round reads them
   * instead of walking the tree); everything else of this copy it already holds.
   */
  readonly followFrom?: { readonly journal: string; readonly offset: number; readonly paths: readonly string[]; readonly files: number };
  /** Published by a node promoted while its peer was unreachable (failover): where it stood against the peer's journal (resume.ts). */
  readonly followed?: Followed;
}

export async function publishStatus(l: Layout, role: Role, now: number, extra: Pick<PeerStatus, 'mergedFrom' | 'followFrom' | 'followed'> = {}): Promise<void> {
  const m = await readSynced(l);
  const s: PeerStatus = { node: l.node, role, since: now, ...(m ? { manifestAt: m.syncedAt } : {}), ...extra };
  await writeJsonAtomic(l.statusFile, s);
}

export async function readOwnStatus(l: Layout): Promise<PeerStatus | undefined> {
  return readJson<PeerStatus>(l.statusFile, (v) => typeof v.role === 'string');
}

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
  if (applied.buf.length > local.length) {
    await appendFile(`${dir}/journal.log`, applied.buf.subarray(local.length));
    await writeJsonAtomic(`${dir}/journal.json`, applied.state);
  }
  return { status, journal: { state: applied.state, buf: applied.buf }, ringAt: applied.state.at };
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
  const own = await ownJournal(l);
  const resumed = await resume(l, d.run, status?.followed, journal?.state);
  const note = resumed !== undefined ? { note: resumed } : {};
  const pos = (await readPosition(l)) ?? (journal !== undefined ? await followFrom(l, status, journal.state, own) : undefined);
  if (pos !== undefined && journal !== undefined && journal.state.id === pos.id) {
    const parsed = parseJournal(journal.buf, pos.offset);
    if (parsed.ok && parsed.id === pos.id) {
      const o = await incrementalSync(p, l, d, mode, pos, parsed, started, own);
      const gen = parsed.entries[parsed.entries.length - 1]?.gen ?? pos.gen;
      if (o !== undefined)
        return o.kind === 'synced'
          ? { ...o, ...note, through: { journal: pos.id, gen }, ...(fetched.meta.ringAt !== undefined ? { ringAt: fetched.meta.ringAt } : {}) }
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
      ...(own ? { own, ownFrom: own.journal } : {}),
    } satisfies Position);
  } else {
    await forgetPosition(l);
  }
  if (o.outcome.kind === 'synced' && from?.ok)
    return { ...o.outcome, ...note, through: { journal: from.id, gen: from.entries[from.entries.length - 1]?.gen ?? 0 } };
  return o.outcome.kind === 'synced' ? { ...o.outcome, ...note } : o.outcome;
}

/** This node's own journal now (id and last generation), when its tracker watches the whole copy. */
export async function ownJournal(l: Layout): Promise<Position['own']> {
  const s = await readJson<JournalState>(journalStateFile(l), (v) => typeof v.id === 'string' && typeof v.gen === 'number');
  return s?.ready ? { journal: s.id, gen: s.gen } : undefined;
}

/**
 * A demoted node's first round, when the newly promoted peer vouches for this copy (mergedFrom)
 * and publishes its own journal since it began following (followFrom): the position at that
 * journal's first line, the peer's kept local changes pending — the lines and those paths are what
 * this copy lacks. Undefined otherwise (a full sync).
 */
async function followFrom(l: Layout, status: PeerStatus | undefined, peer: JournalState, own: Position['own']): Promise<Position | undefined> {
  const f = status?.followFrom;
  if (f === undefined || f.journal !== peer.id || !(await vouchedByPeer(l, status))) return undefined;
  const snapshotAt = (await readSynced(l))?.snapshotAt ?? 0;
  return {
    id: f.journal,
    gen: 0,
    offset: f.offset,
    snapshotAt,
    files: f.files,
    local: {},
    ...(own ? { own, ownFrom: own.journal } : {}),
    pending: { local: [], dirs: [], peer: f.paths },
  };
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

interface FullResult {
  readonly outcome: SyncOutcome;
  readonly snapshotAt: number;
  readonly local: Readonly<Record<string, Entry | null>>;
}

/** Records a full sync: the manifest snapshot of the tree both copies now share. */
async function recordSnapshot(l: Layout, tree: Tree, at: number): Promise<number> {
  await writeManifest(l.manifestFile, toManifest(tree, l.node, l.peer, at));
  await writeJsonAtomic(syncedFile(l), { syncedAt: at, syncedWith: l.peer, snapshotAt: at } satisfies SyncedMark);
  return at;
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
  const record = (tree: Tree): Promise<number> => recordSnapshot(l, tree, d.now());

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
  if (local === undefined) throw new MirrorError('INVARIANT', 'unreachable: a vouched copy takes the fast path');
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
