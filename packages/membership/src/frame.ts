/**
 * The signed frame shared by the membership packets (codec.ts, magic "PCLM") and the witness
 * arbiter's packets (arbiter.ts, magic "PCLW"): a 10-byte header, an HMAC-SHA256 over the header
 * and the body with the cluster key, and a UTF-8 JSON body checked against a zod schema. The magic
 * is covered by the HMAC, so a packet of one protocol can never be read as the other's even with
 * the same key. Pure computation (node:crypto); no I/O.
 *
 * Layout (all integers big-endian):
 *   0  4  magic
 *   4  1  format version (1)
 *   5  1  flags (0)
 *   6  4  body length in bytes
 *  10 32  HMAC-SHA256(key, bytes 0..10 ++ body)
 *  42  …  body: UTF-8 JSON
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';
import { MembershipError } from './errors.js';

export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 10;
export const MAC_BYTES = 32;
export const PREFIX_BYTES = HEADER_BYTES + MAC_BYTES;
/** Largest packet accepted or produced. */
export const MAX_PACKET_BYTES = 64 * 1024;
/** Shortest key accepted (keygen writes 32 bytes). */
export const MIN_KEY_BYTES = 16;

/** Why a frame could not be opened. */
export type FrameError = 'oversized' | 'truncated' | 'malformed' | 'forged';

export type FrameResult<T> = { readonly ok: T; readonly error?: undefined } | { readonly ok?: undefined; readonly error: FrameError; readonly detail: string };

/** Throws on a key too short to be a cluster key (a programming or configuration error, not packet content). */
export function checkKey(key: Uint8Array): void {
  if (key.length < MIN_KEY_BYTES) throw new MembershipError('KEY_INVALID', `the cluster key has ${key.length} bytes; at least ${MIN_KEY_BYTES} are needed`);
}

function mac(key: Uint8Array, header: Uint8Array, body: Uint8Array): Buffer {
  return createHmac('sha256', key).update(header).update(body).digest();
}

/**
 * Signs and frames a JSON value under `magic`. Throws only on a programming error (bad key, value
 * too large). One buffer for the packet: the body is written after the header's place, the HMAC
 * between them (a node at rest seals 40 heartbeats a second).
 */
export function sealFrame(magic: Buffer, value: unknown, key: Uint8Array, what: string): Buffer {
  checkKey(key);
  const json = JSON.stringify(value);
  const length = Buffer.byteLength(json, 'utf8');
  if (PREFIX_BYTES + length > MAX_PACKET_BYTES)
    throw new MembershipError('MESSAGE_TOO_LARGE', `a ${what} message of ${length} bytes exceeds the ${MAX_PACKET_BYTES}-byte packet limit`);
  const packet = Buffer.allocUnsafe(PREFIX_BYTES + length);
  magic.copy(packet, 0);
  packet.writeUInt8(FORMAT_VERSION, 4);
  packet.writeUInt8(0, 5);
  packet.writeUInt32BE(length, 6);
  packet.write(json, PREFIX_BYTES, 'utf8');
  mac(key, packet.subarray(0, HEADER_BYTES), packet.subarray(PREFIX_BYTES)).copy(packet, HEADER_BYTES);
  return packet;
}

/** How `openFrame` checks a body. */
export interface OpenOptions<T> {
  /** Largest packet accepted (default `MAX_PACKET_BYTES`). */
  readonly maxBytes?: number | undefined;
  /**
   * A quick check in front of the schema for the usual message (e.g. `quickHeartbeat`): returns the
   * value only when the schema would accept it as it is, undefined otherwise (then the schema decides).
   */
  readonly quick?: ((json: unknown) => T | undefined) | undefined;
}

/**
 * Checks size, framing, magic, HMAC, JSON and `schema` (or `options.quick`), in that order. Never throws on packet
 * content; a bad key is a programming error and throws. `protocol` names the expected packet kind
 * in the "bad magic" detail.
 */
export function openFrame<S extends z.ZodType>(
  magic: Buffer,
  packet: Uint8Array,
  key: Uint8Array,
  schema: S,
  protocol: string,
  options: OpenOptions<z.infer<S>> = {},
): FrameResult<z.infer<S>> {
  checkKey(key);
  const maxBytes = options.maxBytes ?? MAX_PACKET_BYTES;
  const fail = (error: FrameError, detail: string): FrameResult<never> => ({ error, detail });
  const buf = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  if (buf.length > maxBytes) return fail('oversized', `${buf.length} bytes exceeds the ${maxBytes}-byte limit`);
  if (buf.length < PREFIX_BYTES) return fail('truncated', `${buf.length} bytes is shorter than the ${PREFIX_BYTES}-byte header`);
  if (!buf.subarray(0, 4).equals(magic)) return fail('malformed', `not a ${protocol} packet (bad magic)`);
  const version = buf.readUInt8(4);
  if (version !== FORMAT_VERSION) return fail('malformed', `unsupported packet format version ${version}`);
  const length = buf.readUInt32BE(6);
  const bodyEnd = PREFIX_BYTES + length;
  if (bodyEnd > buf.length) return fail('truncated', `body announces ${length} bytes, ${buf.length - PREFIX_BYTES} present`);
  if (bodyEnd < buf.length) return fail('malformed', `${buf.length - bodyEnd} bytes after the body`);
  const header = buf.subarray(0, HEADER_BYTES);
  const body = buf.subarray(PREFIX_BYTES, bodyEnd);
  if (!timingSafeEqual(mac(key, header, body), buf.subarray(HEADER_BYTES, PREFIX_BYTES))) return fail('forged', 'HMAC does not match the cluster key');
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (e) {
    return fail('malformed', `body is not JSON (${(e as Error).message})`);
  }
  const quick = options.quick?.(json);
  if (quick !== undefined) return { ok: quick };
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail('malformed', `invalid message: ${issue ? `${issue.path.join('.') || '(top level)'}: ${issue.message}` : 'schema mismatch'}`);
  }
  return { ok: parsed.data };
}
