/**
 * One synchronisation from the peer: the replica's periodic pull and the resynchronisation a node
 * runs when it is promoted. Both are "pull the peer's copy and merge it into ours" (see merge.ts);
 * a replica whose copy is exactly what it last received takes the fast path, a plain
 * `rsync --delete` into the data directory.
 */
import { mkdir, rm } from 'node:fs/promises';
import type { CommandRunner } from '@paceline/agent-api';
import { applyMerge, planMerge, type MergeResult } from './merge.js';
import { entriesOf, readJson, readManifest, sameContent, scanTree, toManifest, writeJsonAtomic, type Entry, type Manifest, type Tree } from './manifest.js';
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
}

export interface SyncDeps {
  readonly run: CommandRunner;
  readonly now: () => number;
  readonly signal?: AbortSignal;
  /** Per-rsync deadline in ms. */
  readonly timeoutMs?: number;
}

export type SyncOutcome =
  | { readonly kind: 'synced'; readonly fast: boolean; readonly files: number; readonly merge: MergeResult; readonly durationMs: number }
  | { readonly kind: 'unreachable'; readonly reason: string }
  | { readonly kind: 'peer-promoted'; readonly reason: string }
  | { readonly kind: 'peer-not-promoted'; readonly reason: string }
  | { readonly kind: 'error'; readonly reason: string };

export async function publishStatus(l: Layout, role: Role, now: number): Promise<void> {
  const m = await readManifest(l.manifestFile);
  const s: PeerStatus = { node: l.node, role, since: now, ...(m ? { manifestAt: m.syncedAt } : {}) };
  await writeJsonAtomic(l.statusFile, s);
}

export async function readOwnStatus(l: Layout): Promise<PeerStatus | undefined> {
  return readJson<PeerStatus>(l.statusFile, (v) => typeof v.role === 'string');
}

const rsyncOpts = (d: SyncDeps) => ({ ...(d.signal ? { signal: d.signal } : {}), timeoutMs: d.timeoutMs ?? 120_000 });

/** Fetches one file of the peer's `meta` module into the state directory. */
async function fetchMeta<T>(p: MirrorParams, l: Layout, d: SyncDeps, name: string, valid: (v: T) => boolean):
  Promise<{ ok: true; value: T | undefined } | { ok: false; unreachable: boolean; reason: string }> {
  const dir = `${l.stateDir}/peer`;
  await mkdir(dir, { recursive: true });
  await rm(`${dir}/${name}`, { force: true });
  const r = await runRsync(d.run, p, [...(await clientArgs(p, l)), '-t', remoteUrl(p, l, 'meta', name), `${dir}/${name}`], rsyncOpts(d));
  const c = classify(r);
  if (c === 'missing') return { ok: true, value: undefined };
  if (c !== 'ok') return { ok: false, unreachable: c === 'unreachable', reason: `cannot read ${l.peer}'s ${name} at ${l.remote.authority}: ${describe(r)}` };
  return { ok: true, value: await readJson<T>(`${dir}/${name}`, valid) };
}

/** The peer's published status; `undefined` value when it publishes none. */
export async function fetchPeerStatus(p: MirrorParams, l: Layout, d: SyncDeps) {
  return fetchMeta<PeerStatus>(p, l, d, 'status.json', (v) => typeof v.role === 'string');
}

/**
 * A pull that fails once the peer has answered. For a replica it is just a missed round. For a
 * promotion it is not "the peer is gone": the peer is there with changes we have not got, so the
 * promotion must fail rather than go ahead with the local copy.
 */
function pullFailed(mode: 'replica' | 'promote', c: string, reason: string): SyncOutcome {
  if (mode === 'replica' && c === 'unreachable') return { kind: 'unreachable', reason };
  return { kind: 'error', reason: mode === 'promote' ? `${reason} (the peer answered, so its changes must not be skipped)` : reason };
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
  const st = await fetchPeerStatus(p, l, d);
  if (!st.ok) return st.unreachable ? { kind: 'unreachable', reason: st.reason } : { kind: 'error', reason: st.reason };
  const peerRole = st.value?.role ?? 'stopped';
  if (mode === 'replica' && peerRole !== 'promoted') return { kind: 'peer-not-promoted', reason: `${l.peer} is ${peerRole === 'unpromoted' ? 'Unpromoted' : 'not running'}: nothing to follow` };
  if (mode === 'promote' && peerRole === 'promoted') {
    return { kind: 'peer-promoted', reason: `${l.peer} is still Promoted (its copy is the one being written); demote it before promoting ${l.node}` };
  }

  const own = await readManifest(l.manifestFile);
  const ownEntries = entriesOf(own);
  await mkdir(l.data, { recursive: true });
  const local = await scanTree(l.data, { cache: ownEntries });
  const client = await clientArgs(p, l);

  // Fast path: a replica holding exactly what it last received from this primary.
  // An empty copy (a new replica) has nothing to protect either.
  const empty = local.files.size === 0;
  if (mode === 'replica' && (empty || (own !== undefined && own.syncedWith === l.peer && unchanged(local, ownEntries)))) {
    // The primary's own record of a later sync (a resynchronisation it ran when promoted) makes that the base instead.
    if (empty || (st.value?.manifestAt ?? 0) <= own!.syncedAt) {
      const r = await runRsync(d.run, p, [...client, ...COPY_ARGS, '--delete', remoteUrl(p, l, 'data'), `${l.data}/`], rsyncOpts(d));
      const c = classify(r);
      if (c !== 'ok') return pullFailed(mode, c, `pull from ${l.peer} failed: ${describe(r)}`);
      const after = await scanTree(l.data, { cache: ownEntries });
      await writeJsonAtomic(l.manifestFile, toManifest(after, l.node, l.peer, d.now()));
      return { kind: 'synced', fast: true, files: after.files.size, merge: { taken: 0, removed: 0, keptLocal: 0, conflicts: [] }, durationMs: d.now() - started };
    }
  }

  // Merge path: the base is the most recent sync either node recorded between the two copies.
  const pm = await fetchMeta<Manifest>(p, l, d, 'manifest.json', (v) => v.version === 1 && typeof v.entries === 'object');
  if (!pm.ok) return pullFailed(mode, pm.unreachable ? 'unreachable' : 'failed', pm.reason);
  const candidates = [own, pm.value].filter((m): m is Manifest => m !== undefined);
  const base = candidates.sort((a, b) => b.syncedAt - a.syncedAt)[0];
  await rm(l.stagingDir, { recursive: true, force: true });
  await mkdir(l.stagingDir, { recursive: true });
  try {
    const r = await runRsync(d.run, p, [...client, ...COPY_ARGS, '--delete', `--link-dest=${l.data}`, remoteUrl(p, l, 'data'), `${l.stagingDir}/`], rsyncOpts(d));
    const c = classify(r);
    if (c !== 'ok') return pullFailed(mode, c, `pull from ${l.peer} failed: ${describe(r)}`);
    const byInode = new Map<number, Entry>();
    for (const e of local.files.values()) if (e.ino !== undefined) byInode.set(e.ino, e);
    const remote = await scanTree(l.stagingDir, { byInode });
    const plan = planMerge(local, remote, entriesOf(base));
    const merge = await applyMerge(plan, { data: l.data, staging: l.stagingDir, conflictsDir: l.conflictsDir, node: l.node, peer: l.peer, now: d.now() });
    // What both copies now agree on is the peer's copy; local changes kept in place stay "local
    // changes" against it, so a later merge keeps them again instead of mistaking them for mirrored.
    await writeJsonAtomic(l.manifestFile, toManifest(remote, l.node, l.peer, d.now()));
    return { kind: 'synced', fast: false, files: remote.files.size, merge, durationMs: d.now() - started };
  } finally {
    await rm(l.stagingDir, { recursive: true, force: true });
  }
}

/** One line for logs and action reasons. */
export function summarize(o: SyncOutcome, l: Layout): string {
  if (o.kind !== 'synced') return o.reason;
  const m = o.merge;
  const parts = [`${o.fast ? 'pulled' : 'merged'} ${o.files} files from ${l.peer} in ${o.durationMs} ms`];
  if (!o.fast) parts.push(`${m.taken} taken, ${m.removed} removed, ${m.keptLocal} local changes kept`);
  if (m.conflicts.length > 0) parts.push(`WARNING ${m.conflicts.length} conflict(s), see ${l.conflictsDir}: ${m.conflicts.map((c) => c.message).join('; ')}`);
  return parts.join('; ');
}
