// The frame's HMAC-SHA256 (src/mac.ts) gives the bytes node:crypto's createHmac gives, for keys
// shorter than, as long as, and longer than SHA-256's 64-byte block, and for every body length a
// packet can have around the block boundaries.
import { createHmac, randomBytes } from 'node:crypto';
import { hmacSha256 } from '../src/mac.js';

describe('hmacSha256', () => {
  it('equals createHmac for every key and body length around the block size', () => {
    for (const keyLength of [16, 32, 63, 64, 65, 200]) {
      const key = randomBytes(keyLength);
      for (const bodyLength of [0, 1, 53, 54, 55, 64, 118, 119, 200, 1400, 65_000]) {
        const header = randomBytes(10);
        const body = randomBytes(bodyLength);
        const expected = createHmac('sha256', key).update(header).update(body).digest();
        expect(hmacSha256(key, header, body).equals(expected)).toBe(true);
        // Twice with the same key: the cached pads are not changed by a call.
        expect(hmacSha256(key, header, body).equals(expected)).toBe(true);
      }
    }
  });

  it('a changed byte of the key, the header or the body changes the MAC', () => {
    const key = randomBytes(32);
    const header = randomBytes(10);
    const body = randomBytes(300);
    const mac = hmacSha256(key, header, body);
    const flip = (b: Buffer, i: number): Buffer => {
      const c = Buffer.from(b);
      c[i]! ^= 1;
      return c;
    };
    expect(hmacSha256(flip(key, 5), header, body).equals(mac)).toBe(false);
    expect(hmacSha256(key, flip(header, 0), body).equals(mac)).toBe(false);
    expect(hmacSha256(key, header, flip(body, 299)).equals(mac)).toBe(false);
  });
});
