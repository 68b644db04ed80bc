/**
 * The membership packet codec: `encode` signs a message, `decode` checks size, framing, HMAC-SHA256,
 * JSON and schema (frame.ts, magic "PCLM"; a usual heartbeat by the quick check, quick-check.ts), then the send time, and returns a reason instead of
 * throwing. Pure computation (node:crypto for the HMAC); no I/O.
 */
import { openFrame, sealFrame } from './frame.js';
import { WireMessage } from './messages.js';
import { quickHeartbeat } from './quick-check.js';

export const MAGIC = Buffer.from('PCLM', 'ascii');
/** Default tolerance between the sender's `sentAt` and the receiver's clock. */
export const DEFAULT_MAX_SKEW_MS = 5 * 60_000;

/** Why a packet was dropped. */
export const DROP_REASONS = ['oversized', 'truncated', 'malformed', 'forged', 'stale', 'replayed', 'unknown-sender', 'wrong-link', 'misdirected'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export type DecodeResult =
  { readonly ok: WireMessage; readonly error?: undefined } | { readonly ok?: undefined; readonly error: DropReason; readonly detail: string };

export interface DecodeOptions {
  /** Receiver's wall clock (ms). When given, messages whose `sentAt` is further than `maxSkewMs` away are stale. */
  readonly now?: number;
  /** 0 disables the check. Default 5 minutes. */
  readonly maxSkewMs?: number;
  readonly maxBytes?: number;
}

/** Signs and frames a message. Throws only on a programming error (bad key, message too large). */
export function encode(message: WireMessage, key: Uint8Array): Buffer {
  return sealFrame(MAGIC, message, key, message.type);
}

/** Checks and parses a packet. Never throws on bad input; a bad key is a programming error and throws. */
export function decode(packet: Uint8Array, key: Uint8Array, options: DecodeOptions = {}): DecodeResult {
  const opened = openFrame(MAGIC, packet, key, WireMessage, 'Paceline membership', { maxBytes: options.maxBytes, quick: quickHeartbeat });
  if (opened.ok === undefined) return { error: opened.error, detail: opened.detail };
  const message = opened.ok;
  const skew = options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  if (options.now !== undefined && skew > 0 && message.sentAt !== undefined && Math.abs(options.now - message.sentAt) > skew)
    return { error: 'stale', detail: `sent at ${message.sentAt}, ${options.now - message.sentAt} ms from the receiver's clock (limit ${skew} ms)` };
  return { ok: message };
}
