/**
 * The packet codec: `encode` signs a message, `decode` checks size, framing, HMAC-SHA256, JSON and
 * schema, in that order, and returns a reason instead of throwing. Pure computation (node:crypto
 * for the HMAC); no I/O.
 *
 * Layout (all integers big-endian):
 *   0  4  magic "PCLM"
 *   4  1  format version (1)
 *   5  1  flags (0)
 *   6  4  body length in bytes
 *  10 32  HMAC-SHA256(key, bytes 0..10 ++ body)
 *  42  …  body: the message as UTF-8 JSON
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { MembershipError } from './errors.js';
import { WireMessage } from './messages.js';

export const MAGIC = Buffer.from('PCLM', 'ascii');
export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 10;
export const MAC_BYTES = 32;
export const PREFIX_BYTES = HEADER_BYTES + MAC_BYTES;
/** Largest packet accepted or produced. */
export const MAX_PACKET_BYTES = 64 * 1024;
/** Shortest key accepted (keygen writes 32 bytes). */
export const MIN_KEY_BYTES = 16;
/** Default tolerance between the sender's `sentAt` and the receiver's clock. */
export const DEFAULT_MAX_SKEW_MS = 5 * 60_000;

/** Why a packet was dropped. */
export const DROP_REASONS = [
  'oversized', 'truncated', 'malformed', 'forged', 'stale', 'replayed', 'unknown-sender', 'wrong-link', 'misdirected',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export type DecodeResult =
  | { readonly ok: WireMessage; readonly error?: undefined }
  | { readonly ok?: undefined; readonly error: DropReason; readonly detail: string };

export interface DecodeOptions {
  /** Receiver's wall clock (ms). When given, messages whose `sentAt` is further than `maxSkewMs` away are stale. */
  readonly now?: number;
  /** 0 disables the check. Default 5 minutes. */
  readonly maxSkewMs?: number;
  readonly maxBytes?: number;
}

function checkKey(key: Uint8Array): void {
  if (key.length < MIN_KEY_BYTES)
    throw new MembershipError('KEY_INVALID', `the cluster key has ${key.length} bytes; at least ${MIN_KEY_BYTES} are needed`);
}

function mac(key: Uint8Array, header: Uint8Array, body: Uint8Array): Buffer {
  return createHmac('sha256', key).update(header).update(body).digest();
}

/** Signs and frames a message. Throws only on a programming error (bad key, message too large). */
export function encode(message: WireMessage, key: Uint8Array): Buffer {
  checkKey(key);
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  if (PREFIX_BYTES + body.length > MAX_PACKET_BYTES)
    throw new MembershipError('MESSAGE_TOO_LARGE', `a ${message.type} message of ${body.length} bytes exceeds the ${MAX_PACKET_BYTES}-byte packet limit`);
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt8(FORMAT_VERSION, 4);
  header.writeUInt8(0, 5);
  header.writeUInt32BE(body.length, 6);
  return Buffer.concat([header, mac(key, header, body), body]);
}

const fail = (error: DropReason, detail: string): DecodeResult => ({ error, detail });

/** Checks and parses a packet. Never throws on bad input; a bad key is a programming error and throws. */
export function decode(packet: Uint8Array, key: Uint8Array, options: DecodeOptions = {}): DecodeResult {
  checkKey(key);
  const buf = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  const max = options.maxBytes ?? MAX_PACKET_BYTES;
  if (buf.length > max) return fail('oversized', `${buf.length} bytes exceeds the ${max}-byte limit`);
  if (buf.length < PREFIX_BYTES) return fail('truncated', `${buf.length} bytes is shorter than the ${PREFIX_BYTES}-byte header`);
  if (!buf.subarray(0, 4).equals(MAGIC)) return fail('malformed', 'not a Paceline membership packet (bad magic)');
  const version = buf.readUInt8(4);
  if (version !== FORMAT_VERSION) return fail('malformed', `unsupported packet format version ${version}`);
  const length = buf.readUInt32BE(6);
  const bodyEnd = PREFIX_BYTES + length;
  if (bodyEnd > buf.length) return fail('truncated', `body announces ${length} bytes, ${buf.length - PREFIX_BYTES} present`);
  if (bodyEnd < buf.length) return fail('malformed', `${buf.length - bodyEnd} bytes after the body`);
  const header = buf.subarray(0, HEADER_BYTES);
  const body = buf.subarray(PREFIX_BYTES, bodyEnd);
  const expected = mac(key, header, body);
  if (!timingSafeEqual(expected, buf.subarray(HEADER_BYTES, PREFIX_BYTES))) return fail('forged', 'HMAC does not match the cluster key');
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (e) {
    return fail('malformed', `body is not JSON (${(e as Error).message})`);
  }
  const parsed = WireMessage.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail('malformed', `invalid message: ${issue ? `${issue.path.join('.') || '(top level)'}: ${issue.message}` : 'schema mismatch'}`);
  }
  const message = parsed.data;
  const skew = options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  if (options.now !== undefined && skew > 0 && message.sentAt !== undefined && Math.abs(options.now - message.sentAt) > skew)
    return fail('stale', `sent at ${message.sentAt}, ${options.now - message.sentAt} ms from the receiver's clock (limit ${skew} ms)`);
  return { ok: message };
}
