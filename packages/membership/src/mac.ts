/**
 * HMAC-SHA256 (RFC 2104) as two one-shot SHA-256 hashes over the key's pads, computed once per key:
 * the same bytes as `createHmac('sha256', key)`, without building an Hmac object and importing the key
 * for each of the forty heartbeats a second (test/mac.test.ts compares the two). On a Node without
 * `crypto.hash` (before 20.12) it is `createHmac`.
 */
import * as crypto from 'node:crypto';

const BLOCK = 64;
const oneShot = (crypto as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer }).hash;
const pads = new WeakMap<Uint8Array, { readonly inner: Buffer; readonly outer: Buffer }>();

function padsOf(key: Uint8Array): { readonly inner: Buffer; readonly outer: Buffer } {
  let p = pads.get(key);
  if (p === undefined) {
    const k = key.length > BLOCK ? crypto.createHash('sha256').update(key).digest() : key;
    const inner = Buffer.alloc(BLOCK, 0x36);
    const outer = Buffer.alloc(BLOCK + 32, 0x5c); // the outer pad, then room for the inner hash
    for (let i = 0; i < k.length; i++) {
      inner[i]! ^= k[i]!;
      outer[i]! ^= k[i]!;
    }
    p = { inner, outer };
    pads.set(key, p);
  }
  return p;
}

/** HMAC-SHA256(key, header ++ body). */
export function hmacSha256(key: Uint8Array, header: Uint8Array, body: Uint8Array): Buffer {
  if (oneShot === undefined) return crypto.createHmac('sha256', key).update(header).update(body).digest();
  const { inner, outer } = padsOf(key);
  const innerHash = oneShot('sha256', Buffer.concat([inner, header, body]), 'buffer');
  const o = Buffer.from(outer); // the pads stay untouched: a copy per call, 96 bytes
  innerHash.copy(o, BLOCK);
  return oneShot('sha256', o, 'buffer');
}
