/**
 * The receiving side of report synchronisation (the sending side, and why: report-outbox.ts). Per
 * peer, a copy of its history entry by entry, each with the version it changed at (the newest wins:
 * a repeated or reordered message cannot roll an entry back), and `complete`: the version up to
 * which the copy holds every change. A message whose `base` is above `complete` missed something (a
 * message was lost): its entries are kept, and the peer is asked for what is missing
 * (`report-want`, at most once per WANT_AFTER_MS for the same version). The copy becomes the peer's
 * report — for the coordinator core — only when it is exactly the sender's history at the message's
 * version, which the digest confirms; a copy that disagrees with it is asked for in full. Entries and
 * fail counts are parsed with the model's schemas here, at the boundary, and only those that changed.
 */
import { FailCount, ResourceHistory, formatIssues, zodIssues } from '@paceline/model';
import type { NodeReportData } from './core.js';
import type { ReportDelta } from './messages.js';
import { HistoryDigest } from './report-outbox.js';

/** A want for the same version is not repeated sooner (its answer is on the way). */
const WANT_AFTER_MS = 250;

interface Entry {
  readonly v: number;
  readonly h: ResourceHistory;
  readonly hash: Uint32Array;
}

interface Copy {
  readonly boot: number;
  complete: number;
  readonly entries: Map<string, Entry>;
  /** resource → the version it was removed at (so that an older message does not bring it back). */
  readonly removed: Map<string, number>;
  readonly digest: HistoryDigest;
  /** The newest entry version held (above `complete` after a gap). */
  newest: number;
  /** The version last given to the core as a report. */
  fed: number;
  /** The history as an array, while no entry changed. */
  history: readonly ResourceHistory[] | undefined;
  failuresJson: string;
  failures: readonly FailCount[];
  lastWant?: { readonly ver: number | undefined; readonly at: number };
}

export interface InboxResult {
  /** The peer's report, when the copy is now exactly its history at the message's version. */
  readonly report?: NodeReportData;
  /** The copy is complete at least up to the message's version (a result it carries may be taken). */
  readonly upToDate: boolean;
  /** Ask the peer for its report from this version (undefined: all of it). */
  readonly want?: { readonly ver: number | undefined };
  /** The message is invalid (with paths): nothing of it was used. */
  readonly error?: string;
}

export class ReportInbox {
  private readonly copies = new Map<string, Copy>();
  /** peer → when its whole history was last asked for while nothing of it is held. */
  private readonly pendingFull = new Map<string, number>();

  /** Forgets what is held of `peer` (it restarted, or is gone): its next report must be whole. */
  forget(peer: string): void {
    this.copies.delete(peer);
    this.pendingFull.delete(peer);
  }

  /** The version of `peer`'s history held complete, if any. */
  held(peer: string): { readonly boot: number; readonly ver: number } | undefined {
    const c = this.copies.get(peer);
    return c && { boot: c.boot, ver: c.complete };
  }

  accept(from: string, d: ReportDelta, now: number): InboxResult {
    let c = this.copies.get(from);
    if (c !== undefined && d.boot < c.boot) return { upToDate: false }; // an earlier incarnation's
    if (c === undefined || d.boot > c.boot) {
      if (!d.full) return this.ask(c, undefined, now, from);
      c = undefined;
    }
    const parsed = parseEntries(d);
    if (typeof parsed === 'string') return { upToDate: false, error: parsed };
    const failures = c?.failuresJson === JSON.stringify(d.failures) ? { json: c.failuresJson, list: c.failures } : parseFailures(d.failures);
    if (typeof failures === 'string') return { upToDate: false, error: failures };
    if (d.full) {
      if (c !== undefined && d.ver < c.complete) return { upToDate: c.fed >= d.ver }; // older than what is held
      c = this.replace(from, c, d, parsed);
    } else {
      for (const e of parsed) applyEntry(c!, e);
      for (const r of d.removed) applyRemoval(c!, r.r, r.v);
      if (d.base <= c!.complete) c!.complete = Math.max(c!.complete, d.ver);
    }
    const copy = c!;
    if (d.ver < copy.complete) return { upToDate: copy.fed >= d.ver }; // an older message: its facts are stale
    if (d.ver > copy.complete || copy.newest > copy.complete) return this.ask(copy, copy.complete, now, from);
    if (copy.digest.toString() !== d.digest) {
      copy.complete = -1; // nothing of it is trusted until the whole history comes
      return this.ask(copy, undefined, now, from);
    }
    copy.failuresJson = failures.json;
    copy.failures = failures.list;
    copy.history ??= [...copy.entries.values()].map((e) => e.h);
    copy.fed = d.ver;
    return { upToDate: true, report: toReport(d, copy.history, copy.failures) };
  }

  private replace(from: string, c: Copy | undefined, d: ReportDelta, parsed: readonly ParsedEntry[]): Copy {
    const next: Copy = {
      boot: d.boot,
      complete: d.ver,
      entries: new Map(),
      removed: new Map(),
      digest: new HistoryDigest(),
      newest: d.ver,
      fed: c !== undefined && c.boot === d.boot ? c.fed : -1,
      history: undefined,
      failuresJson: '',
      failures: [],
    };
    for (const e of parsed) applyEntry(next, e);
    // Entries newer than this whole history (a later message that arrived first) stay.
    if (c !== undefined && c.boot === d.boot) {
      for (const [r, e] of c.entries) if (e.v > d.ver) applyEntry(next, { r, ...e });
      for (const [r, v] of c.removed) if (v > d.ver) applyRemoval(next, r, v);
    }
    this.copies.set(from, next);
    return next;
  }

  private ask(c: Copy | undefined, ver: number | undefined, now: number, from: string): InboxResult {
    if (c?.lastWant !== undefined && c.lastWant.ver === ver && now - c.lastWant.at < WANT_AFTER_MS) return { upToDate: false };
    if (c !== undefined) c.lastWant = { ver, at: now };
    else if (this.pendingFull.get(from) !== undefined && now - this.pendingFull.get(from)! < WANT_AFTER_MS) return { upToDate: false };
    else this.pendingFull.set(from, now);
    return { upToDate: false, want: { ver: ver !== undefined && ver >= 0 ? ver : undefined } };
  }
}

interface ParsedEntry {
  readonly r: string;
  readonly v: number;
  readonly h: ResourceHistory;
  readonly hash: Uint32Array;
}

function applyEntry(c: Copy, e: ParsedEntry): void {
  const held = c.entries.get(e.r)?.v ?? c.removed.get(e.r) ?? -1;
  if (held >= e.v) return;
  const old = c.entries.get(e.r);
  if (old !== undefined) c.digest.toggle(old.hash);
  c.digest.toggle(e.hash);
  c.removed.delete(e.r);
  c.entries.set(e.r, { v: e.v, h: e.h, hash: e.hash });
  c.newest = Math.max(c.newest, e.v);
  c.history = undefined;
}

function applyRemoval(c: Copy, r: string, v: number): void {
  const held = c.entries.get(r)?.v ?? c.removed.get(r) ?? -1;
  if (held >= v) return;
  const old = c.entries.get(r);
  if (old !== undefined) c.digest.toggle(old.hash);
  c.entries.delete(r);
  c.removed.set(r, v);
  c.newest = Math.max(c.newest, v);
  c.history = undefined;
}

/** The entries of a message parsed with the model's schema (hashed as received), or what is wrong, with paths. */
function parseEntries(d: ReportDelta): ParsedEntry[] | string {
  const out: ParsedEntry[] = [];
  for (const [i, e] of d.changed.entries()) {
    const p = ResourceHistory.safeParse(e.h);
    if (!p.success) return formatIssues(zodIssues(p.error, `changed.${i}.h`));
    out.push({ r: p.data.resource, v: e.v, h: p.data, hash: HistoryDigest.hash(JSON.stringify(e.h)) });
  }
  return out;
}

function parseFailures(failures: readonly unknown[]): { json: string; list: readonly FailCount[] } | string {
  const f = FailCount.array().safeParse(failures);
  return f.success ? { json: JSON.stringify(failures), list: f.data } : formatIssues(zodIssues(f.error, 'failures'));
}

function toReport(d: ReportDelta, history: readonly ResourceHistory[], failures: readonly FailCount[]): NodeReportData {
  return {
    boot: d.boot,
    rev: d.rev,
    history,
    failures,
    ...(d.unclean !== undefined ? { unclean: d.unclean } : {}),
    ...(d.shutdown ? { shutdown: true } : {}),
    ...(d.fenced?.length ? { fenced: [...d.fenced] } : {}),
    ...(d.members ? { members: [...d.members] } : {}),
    ...(d.membership ? { membership: { ...d.membership } } : {}),
  };
}
