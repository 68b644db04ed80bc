/**
 * What a node publishes when its role changes, so that its peer reads journals instead of walking
 * the tree: at a failover promotion, where this copy stood against the lost peer's journal
 * (PeerStatus.followed, for the peer's return: resume.ts); at a promotion that resynchronised,
 * what the peer's first round once demoted must take (mergedFrom and followFrom, sync.ts).
 */
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { AgentContext } from '@paceline/agent-api';
import { ringOnce } from './bell.js';
import { offsetAfterGen, type JournalState } from './journal.js';
import { readJson } from './manifest.js';
import type { Layout, MirrorParams } from './params.js';
import { readSynced } from './outcome.js';
import { readPosition } from './position.js';
import type { PeerStatus } from './sync.js';
import { barrierFile, journalFile, journalStateFile } from './tracker.js';

/**
 * Waits until this node's tracker has journaled every change completed before `from` (default:
 * now; its state's caughtUp passes it: the watcher found the kernel's queue empty after it and the
 * lines before are on disk), at most 3 s. Returns the journal's state then (undefined when it is
 * not watching).
 */
export async function journalBarrier(
  l: Layout,
  ctx: Pick<AgentContext, 'clock' | 'deadline' | 'signal'>,
  from = ctx.clock.now(),
): Promise<JournalState | undefined> {
  const until = Math.min(ctx.deadline - 1000, from + 3000);
  // Asks the tracker to publish at every tick (it otherwise publishes once a second when idle).
  await writeFile(barrierFile(l), `${from}\n`);
  try {
    for (;;) {
      const s = await readJson<JournalState>(journalStateFile(l), (v) => typeof v.at === 'number' && typeof v.id === 'string');
      if (!s?.ready) return undefined;
      if ((s.caughtUp ?? 0) >= from || ctx.clock.now() >= until) return s;
      await ctx.clock.sleep(25, ctx.signal).catch(() => undefined);
    }
  } finally {
    await rm(barrierFile(l), { force: true });
  }
}

/**
 * At promotion, after the sync (or without one: `through` undefined when the peer was unreachable
 * or fenced): what to publish beside the role. Reads the position before it is forgotten.
 */
export async function promotionNotes(
  l: Layout,
  ctx: Pick<AgentContext, 'clock' | 'deadline' | 'signal'>,
  through: { readonly journal: string; readonly gen: number } | undefined,
): Promise<Pick<PeerStatus, 'mergedFrom' | 'followFrom' | 'followed'>> {
  const pos = await readPosition(l);
  if (through !== undefined) {
    const own = await readJson<JournalState>(journalStateFile(l), (v) => typeof v.id === 'string' && v.ready === true);
    const mergedFrom = { node: l.peer, journal: through.journal, gen: through.gen };
    // Its own journal since it began following, unless a new one started meanwhile (then the peer walks the tree).
    if (pos === undefined || own === undefined || pos.ownFrom !== own.id || pos.pending !== undefined) return { mergedFrom };
    const offset = offsetAfterGen(await readFile(journalFile(l)), 0);
    if (offset === undefined) return { mergedFrom };
    return { mergedFrom, followFrom: { journal: own.id, offset, paths: Object.keys(pos.local), files: pos.files } };
  }
  // Failover: the lines of its own journal after ownGen are what the service writes here from now on;
  // those of the last pull (its worker has stopped) must come before: journaled by the time it ended.
  const last = await readSynced(l);
  const own = await journalBarrier(l, ctx, last?.syncedAt ?? ctx.clock.now());
  if (pos === undefined || own === undefined || pos.pending !== undefined) return {};
  const ownOffset = offsetAfterGen(await readFile(journalFile(l)), own.gen);
  if (ownOffset === undefined) return {};
  return {
    followed: { node: l.peer, journal: pos.id, gen: pos.gen, own: own.id, ownGen: own.gen, ownOffset, local: Object.keys(pos.local), files: pos.files },
  };
}

/**
 * After publishing `promoted`: rings the peer at once with this node's journal state (bell.ts
 * ringOnce), so that its worker, demoted and polling every intervalMs for a Promoted node, follows
 * now. Only a hint: a ring not sent changes nothing but the wait.
 */
export async function announcePromotion(p: MirrorParams, l: Layout): Promise<void> {
  const own = await readJson<JournalState>(journalStateFile(l), (v) => typeof v.id === 'string' && v.ready === true);
  const size = (await stat(journalFile(l)).catch(() => undefined))?.size;
  if (own !== undefined && size !== undefined) await ringOnce(p, l, own, size).catch(() => undefined);
}
