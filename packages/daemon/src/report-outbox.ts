/**
 * The sending side of report synchronisation. A node is the authority for its report (history,
 * fail counts, a few facts); every peer holds a copy (any of them may become the coordinator).
 * Instead of the whole history with every result and every second — O(resources²) bytes and
 * parsing while a thousand resources are placed — a node numbers the changes of its history
 * (`ver`: one version per observed change of any entry) and sends each peer only the entries that
 * changed since the version that peer is known to hold: after the last message to it
 * (optimistically), or what it said it holds (`report-want`). A peer it knows nothing of gets the
 * whole history (`full`). At rest the message to a peer carries no entries: its version and digest
 * are the anti-entropy (report-inbox.ts). Fail counts and the other facts are small and ride on
 * every message whole.
 */
import { createHash } from 'node:crypto';
import type { ResourceHistory } from '@paceline/model';
import type { NodeReportData } from './core.js';
import type { ReportDelta } from './messages.js';

/** The report without its history: what every message carries whole. */
export type ReportFacts = Omit<NodeReportData, 'history'>;

/** Tombstones of removed entries kept for deltas; a peer further behind gets the whole history. */
const MAX_TOMBSTONES = 10_000;

/**
 * An order-independent digest of a history: the XOR of its entries' hashes (each a SHA-1 prefix of
 * the entry's JSON as sent on the wire), kept up to date entry by entry.
 */
export class HistoryDigest {
  private readonly x = new Uint32Array(4);

  /** The hash of one entry, from its JSON (the sender's, or the receiver's copy of it as received). */
  static hash(json: string): Uint32Array {
    const d = createHash('sha1').update(json).digest();
    return new Uint32Array([d.readUInt32BE(0), d.readUInt32BE(4), d.readUInt32BE(8), d.readUInt32BE(12)]);
  }

  /** Adds or removes (XOR is its own inverse) an entry's hash. */
  toggle(h: Uint32Array): void {
    for (let i = 0; i < 4; i++) this.x[i] = (this.x[i]! ^ h[i]!) >>> 0;
  }

  toString(): string {
    return [...this.x].map((n) => n.toString(16).padStart(8, '0')).join('');
  }
}

interface Entry {
  readonly h: ResourceHistory;
  readonly v: number;
  readonly hash: Uint32Array;
}

export class ReportOutbox {
  private ver = 0;
  private readonly entries = new Map<string, Entry>();
  /** resource → the version it was removed at. */
  private readonly tombstones = new Map<string, number>();
  /** A peer that holds less than this gets the whole history (tombstones older than it were pruned). */
  private floor = 0;
  private readonly digest = new HistoryDigest();
  private seen: readonly ResourceHistory[] | undefined;
  /** peer → the version it holds, as far as this node knows (absent: nothing known, send it all). */
  private readonly known = new Map<string, number>();

  constructor(private readonly boot: number) {}

  /** The current version of the history (after `observe`). */
  get version(): number {
    return this.ver;
  }

  /**
   * Takes in the node's history as it is now: entries that are new or another object than before
   * (the history is replaced, never mutated: unchanged entries keep their identity) get a new version.
   */
  observe(history: readonly ResourceHistory[]): void {
    if (history === this.seen) return;
    this.seen = history;
    let next: number | undefined;
    const bump = (): number => (next ??= this.ver + 1);
    const present = new Set<string>();
    for (const h of history) {
      present.add(h.resource);
      const e = this.entries.get(h.resource);
      if (e?.h === h) continue;
      const hash = HistoryDigest.hash(JSON.stringify(h));
      if (e !== undefined) this.digest.toggle(e.hash);
      this.digest.toggle(hash);
      this.entries.set(h.resource, { h, v: bump(), hash });
      this.tombstones.delete(h.resource);
    }
    if (present.size !== this.entries.size)
      for (const [r, e] of this.entries)
        if (!present.has(r)) {
          this.digest.toggle(e.hash);
          this.entries.delete(r);
          this.tombstones.set(r, bump());
        }
    while (this.tombstones.size > MAX_TOMBSTONES) {
      const [r, v] = this.tombstones.entries().next().value!;
      this.tombstones.delete(r);
      this.floor = Math.max(this.floor, v);
    }
    if (next !== undefined) this.ver = next;
  }

  /** Nothing is known of what `peer` holds (it joined, or restarted): its next message is the whole history. */
  reset(peer: string): void {
    this.known.delete(peer);
  }

  /** `peer` says it holds version `ver` of incarnation `boot` (absent: nothing usable). */
  want(peer: string, boot: number, ver: number | undefined): void {
    if (boot === this.boot && ver !== undefined && ver <= this.ver) this.known.set(peer, ver);
    else this.known.delete(peer);
  }

  /** The message for `peer`: what changed since the version it holds (all of it when unknown); it holds the current one after. */
  for(peer: string, facts: ReportFacts): ReportDelta {
    const base = this.known.get(peer);
    this.known.set(peer, this.ver);
    const full = base === undefined || base < this.floor;
    const changed: ReportDelta['changed'][number][] = [];
    for (const e of this.entries.values()) if (full || e.v > base) changed.push({ v: e.v, h: e.h });
    const removed: ReportDelta['removed'][number][] = [];
    if (!full) for (const [r, v] of this.tombstones) if (v > base) removed.push({ v, r });
    return {
      ...wireFacts(facts),
      ver: this.ver,
      base: full ? 0 : base,
      ...(full ? { full: true } : {}),
      digest: this.digest.toString(),
      changed,
      removed,
    };
  }
}

/** The facts as the wire carries them (copies: the message must not share the node's arrays). */
function wireFacts(f: ReportFacts): Omit<ReportDelta, 'ver' | 'base' | 'full' | 'digest' | 'changed' | 'removed'> {
  return {
    boot: f.boot,
    rev: f.rev,
    failures: [...f.failures],
    ...(f.unclean !== undefined ? { unclean: f.unclean } : {}),
    ...(f.shutdown ? { shutdown: true } : {}),
    ...(f.fenced?.length ? { fenced: [...f.fenced] } : {}),
    ...(f.members ? { members: [...f.members] } : {}),
    ...(f.membership ? { membership: { ...f.membership } } : {}),
  };
}
