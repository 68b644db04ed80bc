/**
 * Freshness of daemon-channel messages: a complete message is accepted at most once, only by the
 * incarnation of this node it was addressed to, and only from the newest incarnation of its sender
 * — so that a captured datagram, put back on the wire later, does nothing. Pure: no I/O, no clock.
 *
 * - `toBoot` (the receiver's incarnation as the sender knows it) must be this node's boot: a
 *   message captured before this node restarted is never accepted again (`other-incarnation`).
 * - Per sender, the newest incarnation seen — on the channel, from membership (`observe`), or
 *   restored from the state file: messages of an older one are `stale`.
 * - Within that incarnation, a sliding window over the message id (ids grow per sender boot): the
 *   highest id accepted and a bitmap of the MESSAGE_WINDOW ids up to it. An id in the window that
 *   was accepted already is a duplicate (every link carries a copy: counted apart, not a drop); an
 *   id below the window is `replayed`.
 *
 * Memory: one window (MESSAGE_WINDOW / 8 bytes) per configured peer; other senders are refused.
 */
import type { PeerMessage } from './messages.js';

/** Ids per sender incarnation that may arrive out of order (a sender numbers its messages to all peers together). */
export const MESSAGE_WINDOW = 4096;

/** Why the guard refused a message (the drop counters' names). */
export type FreshnessDrop = 'other-incarnation' | 'stale' | 'replayed' | 'unknown-sender';

/** The three answers: deliver it (and whether it is the first message of a new incarnation), a copy already delivered, or a drop. */
export type FreshnessVerdict =
  | { readonly verdict: 'accept'; readonly newIncarnation: boolean }
  | { readonly verdict: 'duplicate' }
  | { readonly verdict: 'drop'; readonly reason: FreshnessDrop; readonly detail: string };

/** A sliding window over increasing ids: each id is accepted once; ids more than `size` below the highest are too old. */
export class IdWindow {
  private readonly bits: Uint32Array;
  private top = -1;

  constructor(private readonly size = MESSAGE_WINDOW) {
    if (!Number.isInteger(size) || size < 32 || size % 32 !== 0) throw new RangeError(`IdWindow: size must be a positive multiple of 32, got ${size}`);
    this.bits = new Uint32Array(size / 32);
  }

  /** The highest id accepted (-1: none yet). */
  get highest(): number {
    return this.top;
  }

  /** 'new' (accepted now), 'seen' (accepted before) or 'old' (below the window: cannot tell, refused). */
  accept(id: number): 'new' | 'seen' | 'old' {
    if (this.top >= 0 && id <= this.top - this.size) return 'old';
    if (id > this.top) {
      if (this.top < 0 || id - this.top >= this.size) this.bits.fill(0);
      else for (let k = this.top + 1; k < id; k++) this.clear(k);
      this.top = id;
      this.set(id);
      return 'new';
    }
    if (this.has(id)) return 'seen';
    this.set(id);
    return 'new';
  }

  private slot(id: number): [number, number] {
    const i = id % this.size;
    return [i >>> 5, 1 << (i & 31)];
  }
  private has(id: number): boolean {
    const [w, b] = this.slot(id);
    return (this.bits[w]! & b) !== 0;
  }
  private set(id: number): void {
    const [w, b] = this.slot(id);
    this.bits[w]! |= b;
  }
  private clear(id: number): void {
    const [w, b] = this.slot(id);
    this.bits[w]! &= ~b;
  }
}

interface Sender {
  /** The newest incarnation known (-1: none yet). */
  boot: number;
  /** Ids accepted from it (undefined until its first message). */
  window: IdWindow | undefined;
}

export class FreshnessGuard {
  private readonly senders = new Map<string, Sender>();
  private readonly drops: Partial<Record<FreshnessDrop, number>> = {};
  private duplicates = 0;

  /**
   * `self`/`boot`: this node and its incarnation; `peers`: the senders it accepts; `incarnations`:
   * the newest incarnation known of each (e.g. restored from the state file).
   */
  constructor(
    readonly self: string,
    readonly boot: number,
    peers: readonly string[],
    incarnations: Readonly<Record<string, number>> = {},
  ) {
    for (const p of peers) if (p !== self) this.senders.set(p, { boot: incarnations[p] ?? -1, window: undefined });
  }

  /** Decides whether a complete, authenticated message is delivered; counts drops and duplicates. */
  accept(m: Pick<PeerMessage, 'type' | 'from' | 'boot' | 'id' | 'toBoot'>): FreshnessVerdict {
    const s = this.senders.get(m.from);
    if (s === undefined) return this.drop('unknown-sender', `a ${m.type} message from "${m.from}", which is not a peer of ${this.self}`);
    if (m.toBoot !== this.boot)
      return this.drop(
        'other-incarnation',
        m.toBoot < this.boot
          ? `a ${m.type} message from ${m.from} for ${this.self}'s incarnation ${m.toBoot}; this is ${this.boot} (sent before it restarted, or replayed)`
          : `a ${m.type} message from ${m.from} for ${this.self}'s incarnation ${m.toBoot}, newer than this one (${this.boot}): does another daemon run under this name?`,
      );
    if (m.boot < s.boot) return this.drop('stale', `a ${m.type} message from ${m.from}'s incarnation ${m.boot}; it has since restarted (${s.boot})`);
    const newIncarnation = m.boot > s.boot;
    if (newIncarnation || s.window === undefined) {
      s.boot = m.boot;
      s.window = new IdWindow();
    }
    const w = s.window;
    switch (w.accept(m.id)) {
      case 'new':
        return { verdict: 'accept', newIncarnation };
      case 'seen':
        this.duplicates += 1;
        return { verdict: 'duplicate' };
      case 'old':
        return this.drop('replayed', `a ${m.type} message from ${m.from} with id ${m.id}, below the window (highest ${w.highest}, window ${MESSAGE_WINDOW})`);
    }
  }

  /** A newer incarnation of `peer` was seen elsewhere (membership): older ones are stale from now on. True when it was newer. */
  observe(peer: string, boot: number): boolean {
    const s = this.senders.get(peer);
    if (s === undefined || boot <= s.boot) return false;
    s.boot = boot;
    s.window = undefined;
    return true;
  }

  /** The newest incarnation known of each peer (those heard of). */
  incarnations(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, s] of [...this.senders].sort(([a], [b]) => (a < b ? -1 : 1))) if (s.boot >= 0) out[name] = s.boot;
    return out;
  }

  stats(): { readonly dropped: Readonly<Partial<Record<FreshnessDrop, number>>>; readonly duplicates: number } {
    return { dropped: { ...this.drops }, duplicates: this.duplicates };
  }

  private drop(reason: FreshnessDrop, detail: string): FreshnessVerdict {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
    return { verdict: 'drop', reason, detail };
  }
}
