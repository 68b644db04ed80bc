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
}

export type ReplayCheck =
  | { readonly ok: true; readonly window: ReplayWindow; readonly newIncarnation: boolean }
  | { readonly ok: false; readonly detail: string };

export function checkReplay(w: ReplayWindow | undefined, boot: number, seq: number): ReplayCheck {
  if (w === undefined || boot > w.boot)
    return { ok: true, window: { boot, highest: seq, bits: 1 }, newIncarnation: w !== undefined };
  if (boot < w.boot) return { ok: false, detail: `incarnation ${boot} is older than ${w.boot}` };
  if (seq > w.highest) {
    const shift = seq - w.highest;
    const bits = shift >= REPLAY_WINDOW ? 1 : ((w.bits << shift) | 1) >>> 0;
    return { ok: true, window: { boot, highest: seq, bits }, newIncarnation: false };
  }
  const age = w.highest - seq;
  if (age >= REPLAY_WINDOW) return { ok: false, detail: `sequence ${seq} is older than the window (highest ${w.highest})` };
  const bit = (1 << age) >>> 0;
  if ((w.bits & bit) !== 0) return { ok: false, detail: `sequence ${seq} already seen` };
  return { ok: true, window: { boot, highest: w.highest, bits: (w.bits | bit) >>> 0 }, newIncarnation: false };
}
