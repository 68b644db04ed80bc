/**
 * A start without a full scan. What a node's copy holds that its peer lacks is what changed here
 * since the last point the two had in common; this node's own journal (tracker.ts) names every
 * change it saw, so when that journal is intact from that point to where its tracker stopped, a
 * start reads it instead of walking the copy:
 *
 * - **the point in common** — a replica's position in the peer's journal records its own journal's
 *   generation before each pull (Position.own); a node that failed over publishes where it stood
 *   when it stopped following (PeerStatus.followed: the peer's journal and generation it had pulled
 *   through, its own journal's generation then). Either names this node's last journal by id;
 * - **the journal up to the stop** — every generation from the first is there, and its state has a
 *   caught-up time C (JournalState.caughtUp: every change completed before C is in the lines, on disk);
 * - **the gap after C** (nobody watched from C until the new tracker was ready) — checked by
 *   ctime, which writing a file or an entry sets and `touch` cannot set back: every directory is
 *   stat'ed (not every file), and a directory changed after C has its whole subtree merged. After a
 *   clean stop (JournalState.stopped: the service had stopped first) or a reboot (the service died
 *   with the tracker), an existing file rewritten in place during the gap is not seen (it changes no
 *   directory); after a tracker that died while the node ran on (same boot, no clean marker: the
 *   service may have written for long) every file's ctime is checked as well — a stat per file, no
 *   hashing, no transfer.
 *
 * What changed here is then merged at the first round with what the peer's journal says changed
 * there since the point in common (incremental.ts, Position.pending). Anything else — no journal, a
 * gap in it, another journal of the peer, the top directory changed, more than MAX_DIRS directories
 * changed — is a full sync, as before, and the round's reason says why.
 */
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { copyFile, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { journalId, parseJournal, safeRelative, type JournalState } from './journal.js';
import { readJson, writeJsonAtomic } from './manifest.js';
import { readSynced } from './outcome.js';
import type { CommandRunner } from '@paceline/agent-api';
import type { Layout } from './params.js';
import { forgetPosition, positionFile, readPosition, type Position } from './position.js';
import { bootId } from './proc.js';
import { linkCountsKept } from './leaf.js';
import { journalFile, journalStateFile } from './tracker.js';

/** The kernel stamps ctimes with a coarse clock (behind the wall clock by up to a tick): changes this close before C count as after. */
const MARGIN_MS = 1000;
/** More directories changed while nothing watched than this: the full sync is the cheaper way. */
const MAX_DIRS = 1000;
/** How long the first round waits for the new tracker to watch (the gap check must end after it does). */
const TRACKER_WAIT_MS = 30_000;

/** Where this node's previous journal waits for the worker's first round. */
const prevFiles = (l: Layout) => ({ log: `${l.stateDir}/own-journal.prev.log`, state: `${l.stateDir}/own-journal.prev.json` });

/** What the peer publishes after failing over (PeerStatus.followed), as far as resuming needs it. */
export interface Followed {
  readonly node: string;
  /** This node's journal and the generation the peer had pulled through. */
  readonly journal: string;
  readonly gen: number;
  /** The peer's own journal then: id, generation and the byte offset after that generation's line. */
  readonly own: string;
  readonly ownGen: number;
  readonly ownOffset: number;
  /** The peer's local changes it had kept (never mirrored to this node). */
  readonly local: readonly string[];
  readonly files: number;
}

/** At start, before the new tracker replaces it: keeps this copy's last journal for the worker's first round. False: there was none. */
export async function keepPrevJournal(l: Layout): Promise<boolean> {
  const prev = prevFiles(l);
  await rm(prev.log, { force: true });
  await rm(prev.state, { force: true });
  let kept = false;
  for (const [from, to] of [
    [journalStateFile(l), prev.state],
    [journalFile(l), prev.log],
  ] as const) {
    try {
      await copyFile(from, to);
      kept = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  return kept;
}

/**
 * The worker's first round after a start (a previous journal kept): writes the position to resume
 * from, with what may have changed here pending, or forgets the position (a full sync follows).
 * Returns what was decided, for the round's reason; undefined when there was nothing to resume.
 */
export async function resume(l: Layout, run: CommandRunner, followed: Followed | undefined, peer: JournalState | undefined): Promise<string | undefined> {
  const prev = prevFiles(l);
  if (!existsSync(prev.state) && !existsSync(prev.log)) return undefined;
  try {
    const state = await readJson<JournalState>(prev.state, (v) => typeof v.id === 'string' && typeof v.gen === 'number');
    const log = await readFile(prev.log).catch(() => Buffer.alloc(0));
    const r = await vouch(l, run, followed, peer, state, log);
    if (typeof r === 'string') {
      await forgetPosition(l);
      return `a full sync: ${r}`;
    }
    await writeJsonAtomic(positionFile(l), r.position);
    return r.note;
  } finally {
    await rm(prev.log, { force: true });
    await rm(prev.state, { force: true });
  }
}

async function vouch(
  l: Layout,
  run: CommandRunner,
  followed: Followed | undefined,
  peer: JournalState | undefined,
  state: JournalState | undefined,
  log: Buffer,
): Promise<{ position: Position; note: string } | string> {
  if (state === undefined || journalId(log) !== state.id) return 'its last journal is missing or does not match its state';
  if (!state.ready || state.caughtUp === undefined) return 'its last journal has no caught-up time (its tracker never watched the whole copy)';
  const common = await pointInCommon(l, followed, peer, state.id);
  if (typeof common === 'string') return common;
  const parsed = parseJournal(log, 0);
  if (!parsed.ok) return `its last journal is unreadable (${parsed.reason})`;
  if (parsed.entries.some((e, i) => e.gen !== i + 1)) return 'its last journal has a gap';
  if (common.ownGen > parsed.entries.length) return 'its last journal ends before the point in common';
  const local = [...new Set(parsed.entries.slice(common.ownGen).map((e) => e.path))].filter(safeRelative);
  const watching = await trackerWatching(l, state.id);
  if (watching === undefined) return 'the new change tracker is not watching yet';
  const fileLevel = state.stopped !== true && state.bootId === (await bootId());
  const since = state.caughtUp - MARGIN_MS;
  const gap = fileLevel ? ((await gapCheckFiles(run, l.data, since)) ?? gapCheck(l.data, since, true)) : gapCheck(l.data, since, false);
  if (typeof gap === 'string') return gap;
  const position: Position = {
    ...common.base,
    ownFrom: watching,
    pending: { local: [...local, ...gap.files], dirs: gap.dirs, peer: common.peerKept, since },
  };
  const how = fileLevel
    ? `its tracker had stopped without a clean marker, so every file's ctime was checked: ${gap.files.length} file(s) and ${gap.dirs.length} directorie(s) changed`
    : `${gap.dirs.length} directorie(s) changed (directory ctimes checked)`;
  return {
    position,
    note: `resumed from its journal, no full scan: ${local.length} path(s) journaled here since the point in common with ${l.peer}; while nothing watched (from ${new Date(state.caughtUp).toISOString()}) ${how}`,
  };
}

/** The position in the peer's journal this node's last journal continues from, or why there is none. */
async function pointInCommon(
  l: Layout,
  f: Followed | undefined,
  peer: JournalState | undefined,
  own: string,
): Promise<{ base: Position; ownGen: number; peerKept: readonly string[] } | string> {
  if (peer === undefined) return `${l.peer}'s journal does not vouch for its copy now`;
  const pos = await readPosition(l);
  if (pos?.own?.journal === own && pos.id === peer.id) return { base: pos, ownGen: pos.own.gen, peerKept: [] };
  if (f !== undefined && f.node === l.node && f.journal === own && f.own === peer.id) {
    const snapshotAt = (await readSynced(l))?.snapshotAt ?? 0;
    return { base: { id: f.own, gen: f.ownGen, offset: f.ownOffset, snapshotAt, files: f.files, local: {} }, ownGen: f.gen, peerKept: f.local };
  }
  return `no point in common with ${l.peer}'s current journal`;
}

/** Waits until the tracker started with this instance watches (a journal other than `prev`, ready): its journal's id. */
async function trackerWatching(l: Layout, prev: string): Promise<string | undefined> {
  const until = Date.now() + TRACKER_WAIT_MS;
  for (;;) {
    const s = await readJson<JournalState>(journalStateFile(l), (v) => typeof v.id === 'string');
    if (s !== undefined && s.id !== prev && s.ready) return s.id;
    if (Date.now() > until) return undefined;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Directories (and, with `files`, files) of the copy whose ctime is after `since`: a stat per
 * directory, the files listed by readdir without one (with `files`: a stat per file). A directory
 * found changed is not entered (its subtree is merged whole). Without `files`, a directory without
 * subdirectories (its link count, where the filesystem keeps it: leaf.ts) is not listed either.
 */
export function gapCheck(root: string, since: number, files: boolean): { dirs: string[]; files: string[] } | string {
  const top = lstatSync(root);
  if (top.ctimeMs > since) return 'its top directory changed while nothing watched';
  const leaves = !files && linkCountsKept(root);
  const dirs: string[] = [];
  const changed: string[] = [];
  const stack: string[] = [''];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    let ents;
    try {
      ents = readdirSync(rel === '' ? root : join(root, rel), { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') continue;
      throw e;
    }
    for (const e of ents) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        const st = lstatSync(join(root, r), { throwIfNoEntry: false });
        if (st === undefined || st.ctimeMs > since) {
          dirs.push(r);
          if (dirs.length > MAX_DIRS) return `more than ${MAX_DIRS} directories changed while nothing watched (a full sync is the cheaper way)`;
        } else if (!(leaves && st.nlink === 2 && st.dev === top.dev)) stack.push(r);
      } else if (files && (e.isFile() || e.isSymbolicLink())) {
        if ((lstatSync(join(root, r), { throwIfNoEntry: false })?.ctimeMs ?? Infinity) > since) changed.push(r);
      }
    }
  }
  return { dirs, files: changed };
}

type Gap = ReturnType<typeof gapCheck>;

/**
 * gapCheck with `files`, by find(1): it stats each entry once in C, half the CPU of a Node walk (a
 * million files: about 1.7 s against 3.5 s). An entry that vanishes during the walk (find says "No
 * such file or directory") was removed after the new tracker began watching: its journal has it.
 * Undefined when find cannot run (then the Node walk).
 */
export async function gapCheckFiles(run: CommandRunner, root: string, since: number): Promise<Gap | undefined> {
  if (lstatSync(root).ctimeMs > since) return 'its top directory changed while nothing watched';
  const ref = `@${(Math.floor(since) / 1000).toFixed(3)}`;
  // -newerct: status changed strictly after the reference (the Node walk's `ctimeMs > since`); a changed directory is pruned (its subtree is merged whole).
  const expr = [
    '-mindepth',
    '1',
    '-newerct',
    ref,
    '(',
    '-type',
    'd',
    '-prune',
    '-printf',
    '%y %P\\0',
    '-o',
    '(',
    '-type',
    'f',
    '-o',
    '-type',
    'l',
    ')',
    '-printf',
    '%y %P\\0',
    ')',
  ];
  const r = await run.run('find', [root, ...expr]);
  if (r.notFound) return undefined;
  const vanished = r.stderr.split('\n').every((line) => line === '' || line.endsWith('No such file or directory'));
  if (r.exitCode !== 0 && !(r.exitCode === 1 && vanished))
    return `the unwatched gap could not be checked (find: ${r.stderr.trim().split('\n')[0] ?? `exit ${r.exitCode}`})`;
  const dirs: string[] = [];
  const files: string[] = [];
  for (const rec of r.stdout.split('\0')) {
    if (rec.length < 3) continue;
    (rec[0] === 'd' ? dirs : files).push(rec.slice(2));
    if (dirs.length > MAX_DIRS) return `more than ${MAX_DIRS} directories changed while nothing watched (a full sync is the cheaper way)`;
  }
  return { dirs, files };
}
