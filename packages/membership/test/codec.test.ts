import { DROP_REASONS, MAX_PACKET_BYTES, PREFIX_BYTES, decode, encode, type WireMessage } from '@paceline/membership';

const key = Buffer.alloc(32, 1);
const hb: WireMessage = {
  v: 1,
  type: 'heartbeat',
  from: 'serv1',
  to: 'serv2',
  link: 'lan',
  boot: 5,
  seq: 9,
  sentAt: 1000,
  membershipId: 3,
  members: ['serv1', 'serv2'],
  coordinator: 'serv1',
  term: 0,
};

describe('codec', () => {
  it('round-trips a heartbeat and a leave', () => {
    expect(decode(encode(hb, key), key, { now: 1000 })).toEqual({ ok: hb });
    const leave: WireMessage = { v: 1, type: 'leave', from: 'a', to: 'b', link: 'x', boot: 1, seq: 2 };
    expect(decode(encode(leave, key), key)).toEqual({ ok: leave });
  });

  it('keeps heartbeats small', () => {
    expect(encode(hb, key).length).toBeLessThan(300);
  });

  const good = encode(hb, key);
  const mutate = (f: (b: Buffer) => Buffer): Buffer => f(Buffer.from(good));
  const cases: [string, Buffer, string][] = [
    ['another key', encode(hb, Buffer.alloc(32, 2)), 'forged'],
    [
      'a flipped body byte',
      mutate((b) => {
        b.writeUInt8(b.readUInt8(b.length - 3) ^ 1, b.length - 3);
        return b;
      }),
      'forged',
    ],
    [
      'a flipped MAC byte',
      mutate((b) => {
        b.writeUInt8(b.readUInt8(20) ^ 1, 20);
        return b;
      }),
      'forged',
    ],
    [
      'a flipped length',
      mutate((b) => {
        b.writeUInt32BE(b.readUInt32BE(6) - 1, 6);
        return b;
      }),
      'malformed',
    ],
    ['a cut body', good.subarray(0, good.length - 1), 'truncated'],
    ['a cut header', good.subarray(0, PREFIX_BYTES - 1), 'truncated'],
    ['an empty packet', Buffer.alloc(0), 'truncated'],
    ['too many bytes', Buffer.alloc(MAX_PACKET_BYTES + 1), 'oversized'],
    [
      'bad magic',
      mutate((b) => {
        b[0] = 0;
        return b;
      }),
      'malformed',
    ],
    [
      'format version 2',
      mutate((b) => {
        b[4] = 2;
        return b;
      }),
      'malformed',
    ],
    ['trailing bytes', Buffer.concat([good, Buffer.from('x')]), 'malformed'],
  ];
  it.each(cases)('rejects %s as %s', (_name, packet, reason) => {
    const r = decode(packet, key, { now: 1000 });
    expect(r.error).toBe(reason);
    expect(r.ok).toBeUndefined();
  });

  it('rejects well-signed messages that fail the schema', () => {
    const bad = { ...hb, v: 2 } as unknown as WireMessage;
    expect(decode(encode(bad, key), key)).toMatchObject({ error: 'malformed', detail: expect.stringContaining('v') });
    const extra = { ...hb, admin: true } as unknown as WireMessage;
    expect(decode(encode(extra, key), key).error).toBe('malformed');
    const seq = { ...hb, seq: -1 } as unknown as WireMessage;
    expect(decode(encode(seq, key), key).error).toBe('malformed');
  });

  it('rejects messages whose send time is too far from the receiver clock', () => {
    expect(decode(good, key, { now: 1000 + 5 * 60_000 + 1 }).error).toBe('stale');
    expect(decode(good, key, { now: 1000 - 5 * 60_000 - 1 }).error).toBe('stale');
    expect(decode(good, key, { now: 1000 + 10_000, maxSkewMs: 0 }).ok).toBeDefined();
    expect(decode(good, key, { now: 1000 + 10_000, maxSkewMs: 5_000 }).error).toBe('stale');
  });

  it('never throws on random bytes', () => {
    let state = 7;
    const rnd = (): number => (state = (state * 1103515245 + 12345) & 0x7fffffff) % 256;
    for (let i = 0; i < 2000; i++) {
      const len = rnd() * (i % 3 === 0 ? 1 : 3);
      const b = Buffer.from(Array.from({ length: len }, rnd));
      if (i % 2 === 0 && b.length >= 10) (Buffer.from('PCLM').copy(b), (b[4] = 1));
      const r = decode(b, key);
      expect(DROP_REASONS).toContain(r.error);
    }
  });

  it('refuses short keys (a configuration error, so it throws)', () => {
    expect(() => encode(hb, Buffer.alloc(8))).toThrow(/at least 16/);
    expect(() => decode(good, Buffer.alloc(8))).toThrow(/at least 16/);
  });
});
