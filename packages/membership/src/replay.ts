/**
 * Anti-replay window per sender incarnation (as in IPsec, RFC 4303 §3.4.3): the highest sequence
 * number seen plus a 32-bit bitmap of the ones just below it. A packet is accepted once; packets
 * older than the window or from an older incarnation are rejected. Reordering within 32 packets
 * is tolerated.
 */
export const REPLAY_WINDOW = 32;

export interface ReplayWindow {
  readonly boot: number;
  readonly highest: number;
  /** Bit i set: `highest - i` has been seen. */
  readonly bits: number;
  /**
   * The incarnation this one replaced and the highest sequence seen from it (undefined: none, or it
   * was only known from a persisted record). Packets of that incarnation with a higher sequence are
   * fresh traffic from a daemon that should be gone: two daemons run under one name.
   */
  readonly previous?: { readonly boot: number; readonly highest: number; readonly fresh: number } | undefined;
}

export type ReplayCheck =
  | { readonly ok: true; readonly window: ReplayWindow; readonly newIncarnation: boolean }
  | { readonly ok: false; readonly detail: string; readonly window?: ReplayWindow; readonly freshFromPrevious?: boolean };

/**
 * A window that knows only the newest incarnation of a peer (restored from disk after a restart):
 * packets of older incarnations are refused, this incarnation's are accepted from any sequence.
 */
export function knownIncarnation(boot: number): ReplayWindow {
  return { boot, highest: -1, bits: 0 };
}

export function checkReplay(w: ReplayWindow | undefined, boot: number, seq: number): ReplayCheck {
  if (w === undefined || boot > w.boot) {
    const known = w !== undefined && w.highest >= 0;
    return {
      ok: true,
      window: { boot, highest: seq, bits: 1, ...(known ? { previous: { boot: w.boot, highest: w.highest, fresh: 0 } } : {}) },
      newIncarnation: known,
    };
  }
  if (boot < w.boot) {
    const prev = w.previous;
    if (prev !== undefined && boot === prev.boot && seq > prev.highest)
      return {
        ok: false,
        freshFromPrevious: true,
        window: { ...w, previous: { boot: prev.boot, highest: seq, fresh: prev.fresh + 1 } },
        detail: `incarnation ${boot} is older than ${w.boot}, yet sent sequence ${seq} after ${w.boot} appeared`,
      };
    return { ok: false, detail: `incarnation ${boot} is older than ${w.boot}` };
  }
  if (w.highest < 0) return { ok: true, window: { boot, highest: seq, bits: 1, ...(w.previous ? { previous: w.previous } : {}) }, newIncarnation: false };
  if (seq > w.highest) {
    const shift = seq - w.highest;
    const bits = shift >= REPLAY_WINDOW ? 1 : ((w.bits << shift) | 1) >>> 0;
    return { ok: true, window: { ...w, highest: seq, bits }, newIncarnation: false };
  }
  const age = w.highest - seq;
  if (age >= REPLAY_WINDOW) return { ok: false, detail: `sequence ${seq} is older than the window (highest ${w.highest})` };
  const bit = (1 << age) >>> 0;
  if ((w.bits & bit) !== 0) return { ok: false, detail: `sequence ${seq} already seen` };
  return { ok: true, window: { ...w, bits: (w.bits | bit) >>> 0 }, newIncarnation: false };
}
