/**
 * The few RADIUS packets a monitor needs, encoded and checked by hand: Access-Request with a
 * hidden User-Password (RFC 2865 §5.2), Status-Server (RFC 5997), both with a
 * Message-Authenticator (RFC 2869 §5.14, HMAC-MD5), and the answer's Response Authenticator and
 * Message-Authenticator verified with the shared secret. Pure functions over Buffers: the random
 * request authenticator and identifier are inputs.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const Code = {
  AccessRequest: 1,
  AccessAccept: 2,
  AccessReject: 3,
  AccountingRequest: 4,
  AccountingResponse: 5,
  AccessChallenge: 11,
  StatusServer: 12,
} as const;

const CODE_NAMES: Record<number, string> = {
  1: 'Access-Request',
  2: 'Access-Accept',
  3: 'Access-Reject',
  4: 'Accounting-Request',
  5: 'Accounting-Response',
  11: 'Access-Challenge',
  12: 'Status-Server',
};
export const codeName = (code: number): string => CODE_NAMES[code] ?? `code ${code}`;

export const Attr = {
  UserName: 1,
  UserPassword: 2,
  NasIpAddress: 4,
  ReplyMessage: 18,
  NasIdentifier: 32,
  MessageAuthenticator: 80,
} as const;

export interface Attribute {
  readonly type: number;
  readonly value: Buffer;
}

const md5 = (...parts: Buffer[]): Buffer => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** User-Password hiding (RFC 2865 §5.2): padded to 16 bytes, XORed with an MD5 chain over the secret. */
export function hidePassword(password: string, secret: string, authenticator: Buffer): Buffer {
  const plain = Buffer.from(password, 'utf8');
  if (plain.length > 128) throw new RangeError('a RADIUS User-Password is at most 128 bytes');
  const padded = Buffer.alloc(Math.max(16, Math.ceil(plain.length / 16) * 16));
  plain.copy(padded);
  const out = Buffer.alloc(padded.length);
  let prev = authenticator;
  for (let i = 0; i < padded.length; i += 16) {
    const b = md5(Buffer.from(secret, 'utf8'), prev);
    for (let j = 0; j < 16; j++) out[i + j] = padded[i + j]! ^ b[j]!;
    prev = out.subarray(i, i + 16);
  }
  return out;
}

function encodeAttributes(attrs: readonly Attribute[]): Buffer {
  return Buffer.concat(
    attrs.map((a) => {
      if (a.value.length > 253) throw new RangeError(`attribute ${a.type} is longer than 253 bytes`);
      return Buffer.concat([Buffer.from([a.type, a.value.length + 2]), a.value]);
    }),
  );
}

export interface RequestSpec {
  readonly code: typeof Code.AccessRequest | typeof Code.StatusServer;
  readonly identifier: number;
  /** 16 random bytes. */
  readonly authenticator: Buffer;
  readonly secret: string;
  readonly attributes: readonly Attribute[];
  /** Add a Message-Authenticator (required for Status-Server, recommended for Access-Request). Default true. */
  readonly messageAuthenticator?: boolean;
}

/** Encodes a request; a Message-Authenticator (when asked) is the HMAC-MD5 of the whole packet under the secret. */
export function encodeRequest(r: RequestSpec): Buffer {
  if (r.authenticator.length !== 16) throw new RangeError('the request authenticator is 16 bytes');
  const withMa = r.messageAuthenticator !== false;
  const attrs = encodeAttributes(withMa ? [...r.attributes, { type: Attr.MessageAuthenticator, value: Buffer.alloc(16) }] : r.attributes);
  const length = 20 + attrs.length;
  if (length > 4096) throw new RangeError('a RADIUS packet is at most 4096 bytes');
  const packet = Buffer.concat([Buffer.from([r.code, r.identifier & 255, length >> 8, length & 255]), r.authenticator, attrs]);
  if (withMa)
    createHmac('md5', r.secret)
      .update(packet)
      .digest()
      .copy(packet, length - 16);
  return packet;
}

export function parseAttributes(buf: Buffer): Attribute[] | undefined {
  const out: Attribute[] = [];
  for (let i = 0; i < buf.length;) {
    const type = buf[i];
    const len = buf[i + 1];
    if (type === undefined || len === undefined || len < 2 || i + len > buf.length) return undefined;
    out.push({ type, value: buf.subarray(i + 2, i + len) });
    i += len;
  }
  return out;
}

export type Response =
  | { readonly ok: true; readonly code: number; readonly identifier: number; readonly attributes: readonly Attribute[]; readonly replyMessage?: string }
  | { readonly ok: false; readonly problem: string };

/**
 * Decodes an answer to the request sent with `requestAuthenticator` and checks it: the length,
 * the Response Authenticator (MD5 over the packet with the request's authenticator, then the
 * secret) and, when present, the Message-Authenticator. A wrong secret fails these checks.
 */
export function decodeResponse(buf: Buffer, requestAuthenticator: Buffer, secret: string): Response {
  if (buf.length < 20) return { ok: false, problem: `a ${buf.length}-byte datagram is not a RADIUS packet` };
  const length = buf.readUInt16BE(2);
  if (length < 20 || length > buf.length) return { ok: false, problem: `length field ${length} does not match the ${buf.length}-byte datagram` };
  const packet = buf.subarray(0, length);
  const code = packet[0]!;
  const identifier = packet[1]!;
  const attributes = parseAttributes(packet.subarray(20));
  if (!attributes) return { ok: false, problem: `${codeName(code)} with malformed attributes` };
  const expected = md5(packet.subarray(0, 4), requestAuthenticator, packet.subarray(20), Buffer.from(secret, 'utf8'));
  if (!timingSafeEqual(expected, packet.subarray(4, 20)))
    return { ok: false, problem: `${codeName(code)} whose Response Authenticator does not verify (is the shared secret right?)` };
  let offset = 20;
  for (const a of attributes) {
    if (a.type === Attr.MessageAuthenticator) {
      if (a.value.length !== 16) return { ok: false, problem: `${codeName(code)} with a ${a.value.length}-byte Message-Authenticator` };
      const copy = Buffer.from(packet);
      requestAuthenticator.copy(copy, 4);
      copy.fill(0, offset + 2, offset + 18);
      const mac = createHmac('md5', secret).update(copy).digest();
      if (!timingSafeEqual(mac, a.value))
        return { ok: false, problem: `${codeName(code)} whose Message-Authenticator does not verify (is the shared secret right?)` };
    }
    offset += a.value.length + 2;
  }
  const reply = attributes
    .filter((a) => a.type === Attr.ReplyMessage)
    .map((a) => a.value.toString('utf8'))
    .join(' ');
  return { ok: true, code, identifier, attributes, ...(reply ? { replyMessage: reply } : {}) };
}
