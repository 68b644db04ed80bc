/**
 * The daemon channel's wire format: encode → fragments → reassembly → decode, and everything a
 * hostile or broken network can do to it (truncated, forged, duplicated, reordered, missing
 * fragments, out-of-bounds counts and sizes, too many partial messages, timeouts, stale
 * incarnations, compression bombs). Also: the sizes of real node reports, before and after.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import type { ClusterStatus } from '@paceline/model';
import { recordResult } from '@paceline/executor';
import { UdpPeerChannel } from '../src/channel.js';
import { FLAG_DEFLATE, Reassembler, fragment, type FrameLimits } from '../src/fragments.js';
import { MAX_PEER_FRAGMENTS, MAX_PEER_MESSAGE_BYTES, MAX_PEER_PACKET_BYTES, PEER_LIMITS, PeerDecoder, encodePeer, type PeerMessage } from '../src/messages.js';
import { freePorts, waitFor } from './helpers.js';

const key = randomBytes(32);
const boot = 1_795_000_000_000;

/** A whole report message with `n` resources' histories (probe, start, recurring monitor each; or the probe only), as a node sends it to a peer that holds nothing of it yet. */
function report(n: number, opts: { from?: string; id?: number; running?: boolean } = {}): PeerMessage {
  const all = (opts.running ?? true) ? histories.running : histories.probed;
  return {
    v: 2,
    type: 'report',
    from: opts.from ?? 'serv1',
    to: 'serv2',
    boot,
    id: opts.id ?? 1,
    toBoot: boot + 7,
    report: {
      boot,
      rev: n,
      ver: n,
      base: 0,
      full: true,
      digest: '0'.repeat(32),
      changed: all.slice(0, n).map((h, i) => ({ v: i + 1, h })),
      removed: [],
      failures: [],
    },
  };
}

function history(n: number, opts: { running?: boolean } = {}): ClusterStatus['nodes'][number]['history'] {
  let status: ClusterStatus = {
    quorum: true,
    nodes: [{ name: 'serv1', state: 'online', standby: false, maintenance: false, shutdown: false, attributes: {}, history: [], failures: [] }],
  };
  const t = 1_795_000_000_000;
  for (let i = 0; i < n; i++) {
    const rsc = `rsc${String(i).padStart(3, '0')}`;
    const agent = 'paceline:dummy';
    status = recordResult(
      status,
      'serv1',
      rsc,
      { action: 'monitor', interval: 0, expectedRc: 7, agent },
      { execution: 'done', outcome: 'not-running', durationMs: 1 },
      t + i,
    );
    if (opts.running ?? true) {
      status = recordResult(
        status,
        'serv1',
        rsc,
        { action: 'start', interval: 0, expectedRc: 0, agent, digest: 'd41d8cd98f00b204e9800998ecf8427e' },
        { execution: 'done', outcome: 'ok', durationMs: 2 },
        t + i + 1,
      );
      status = recordResult(
        status,
        'serv1',
        rsc,
        { action: 'monitor', interval: 10_000, expectedRc: 0, agent },
        { execution: 'done', outcome: 'ok', durationMs: 1 },
        t + i + 2,
      );
    }
  }
  return [...status.nodes[0]!.history];
}
const histories = { running: history(1000), probed: history(1000, { running: false }) };

const small = (id = 1, from = 'serv1', b = boot): PeerMessage => ({ v: 2, type: 'cleanup', from, to: 'serv2', boot: b, id, toBoot: boot + 7, resource: 'web' });

function encoded(m: PeerMessage, options: Parameters<typeof encodePeer>[2] = {}): { packets: readonly Buffer[]; bytes: number; wireBytes: number } {
  const e = encodePeer(m, key, options);
  if (e.error !== undefined) throw new Error(e.error);
  return e;
}
const packets = (m: PeerMessage, options: Parameters<typeof encodePeer>[2] = {}): Buffer[] => [...encoded(m, options).packets];

/** Small limits so that a test message spans several fragments. */
const tiny: FrameLimits = {
  maxPacketBytes: 600,
  maxPayloadBytes: 20_000,
  maxFragments: 64,
  maxPartialsPerSender: 3,
  maxBufferedBytes: 50_000,
  reassemblyTimeoutMs: 1000,
};

function decoder(limits: FrameLimits = PEER_LIMITS): { d: PeerDecoder; drops: string[] } {
  const drops: string[] = [];
  return { d: new PeerDecoder(key, limits, (r, detail) => drops.push(`${r}: ${detail}`)), drops };
}

describe('encode and decode', () => {
  test('a small message is one packet, uncompressed, and decodes to itself', () => {
    const e = encoded(small());
    expect(e.packets).toHaveLength(1);
    expect(e.wireBytes).toBe(e.bytes);
    const { d, drops } = decoder();
    expect(d.accept(e.packets[0]!, 0)).toEqual(small());
    expect(drops).toEqual([]);
  });

  test('a 300-resource report (> 60 KiB of JSON) round-trips, compressed into one packet or uncompressed in fragments', () => {
    const m = report(300);
    const json = Buffer.byteLength(JSON.stringify(m));
    expect(json).toBeGreaterThan(MAX_PEER_PACKET_BYTES);
    for (const compress of [true, false]) {
      const e = encoded(m, { compress });
      for (const p of e.packets) expect(p.length).toBeLessThanOrEqual(MAX_PEER_PACKET_BYTES);
      const { d, drops } = decoder();
      const out = e.packets.map((p) => d.accept(p, 0)).filter((x) => x !== undefined);
      expect(out).toEqual([m]);
      expect(drops).toEqual([]);
      process.stderr.write(
        `300-resource report: ${json} bytes of JSON; compress=${compress}: ${e.wireBytes} bytes on the wire in ${e.packets.length} packet(s)\n`,
      );
    }
  });

  test('fragments reordered, interleaved across messages and duplicated (every link carries a copy) still give each message once', () => {
    const a = packets(report(10, { id: 1 }), { limits: tiny, compress: false });
    const b = packets(report(12, { id: 2 }), { limits: tiny, compress: false });
    expect(a.length).toBeGreaterThan(5);
    const { d, drops } = decoder(tiny);
    const arrivals = [...a.reverse(), ...b, ...a, ...b.reverse()];
    // Interleave: a and b alternately.
    arrivals.sort((x, y) => x.readUInt16BE(24) - y.readUInt16BE(24));
    const got = arrivals.map((p) => d.accept(p, 0)).filter((x) => x !== undefined);
    expect(got.map((m) => m.id).sort()).toEqual([1, 2]);
    expect(drops).toEqual([]);
    expect(d.reassembler.stats()).toMatchObject({ partials: 0, bufferedBytes: 0, reassembled: 2, duplicates: a.length + b.length });
  });

  test('a message over the limit is refused with its type, recipient, size and limit — never thrown', () => {
    const m = report(60);
    const e = encodePeer(m, key, { limits: tiny });
    expect(e.packets).toBeUndefined();
    expect(e.error).toMatch(/^a report message to serv2 is \d+ bytes, over the 20000-byte limit/);
    const limits = { ...tiny, maxPayloadBytes: 1_000_000, maxFragments: 4 };
    expect(encodePeer(m, key, { limits, compress: false }).error).toMatch(/report message to serv2 needs more than 4 fragments/);
  });

  test('the limits: 60 KiB packets, 4 MiB messages, at most 69 fragments even for a 255-character sender', () => {
    expect(MAX_PEER_PACKET_BYTES).toBe(61_440);
    expect(MAX_PEER_MESSAGE_BYTES).toBe(4 * 1024 * 1024);
    expect(MAX_PEER_FRAGMENTS).toBe(69);
    const payload = randomBytes(MAX_PEER_MESSAGE_BYTES); // incompressible: the worst case
    const p = fragment({ from: 'n'.repeat(255), boot, id: 1 }, 0, payload, key, PEER_LIMITS);
    expect(p).toHaveLength(69);
    for (const x of p) expect(x.length).toBeLessThanOrEqual(MAX_PEER_PACKET_BYTES);
    const r = new Reassembler(key, PEER_LIMITS);
    const frames = p.map((x) => r.accept(x, 0)).filter((x) => x !== undefined);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.payload.equals(payload)).toBe(true);
  });
});

describe('hostile or broken input is dropped and counted, never thrown', () => {
  test('truncated, forged, wrong version, trailing bytes, other key', () => {
    const [p] = packets(small());
    const { d, drops } = decoder();
    const flipped = Buffer.from(p!);
    flipped[flipped.length - 3]! ^= 0x40;
    const v1 = Buffer.from(p!);
    v1.writeUInt8(1, 4);
    const other = encodePeer(small(), randomBytes(32)).packets![0]!;
    for (const x of [
      p!.subarray(0, 20),
      p!.subarray(0, p!.length - 1),
      Buffer.concat([p!, Buffer.from([0])]),
      flipped,
      v1,
      other,
      Buffer.alloc(0),
      Buffer.alloc(MAX_PEER_PACKET_BYTES + 1),
    ])
      expect(d.accept(x, 0)).toBeUndefined();
    expect(drops.map((x) => x.split(':')[0])).toEqual(['truncated', 'truncated', 'truncated', 'forged', 'malformed', 'forged', 'truncated', 'oversized']);
    expect(d.reassembler.stats().dropped).toEqual({ truncated: 4, forged: 2, malformed: 1, oversized: 1 });
  });

  test('a forged fragment cannot poison a partial message: the genuine one still completes', () => {
    const ps = packets(report(10), { limits: tiny, compress: false });
    const { d, drops } = decoder(tiny);
    const forged = Buffer.from(ps[1]!);
    forged[forged.length - 1]! ^= 1;
    expect(d.accept(ps[0]!, 0)).toBeUndefined();
    expect(d.accept(forged, 0)).toBeUndefined();
    const out = ps
      .slice(1)
      .map((p) => d.accept(p, 0))
      .filter((x) => x !== undefined);
    expect(out).toEqual([report(10)]);
    expect(drops).toEqual([expect.stringMatching(/^forged/)]);
  });

  test('fragment counts and sizes beyond the limits (signed by a key holder) are out of bounds', () => {
    const big = { ...tiny, maxFragments: 1000, maxPayloadBytes: 1_000_000 };
    const { d, drops } = decoder(tiny);
    const many = fragment({ from: 'serv1', boot, id: 1 }, 0, Buffer.alloc(600 * 70), key, big); // > 64 fragments
    expect(d.accept(many[0]!, 0)).toBeUndefined();
    const huge = fragment({ from: 'serv1', boot, id: 2 }, 0, Buffer.alloc(30_000), key, big); // > 20 000 bytes
    expect(d.accept(huge[0]!, 0)).toBeUndefined();
    expect(drops).toEqual([
      expect.stringMatching(/^out-of-bounds: \d+ fragments \(limit 64\)/),
      expect.stringMatching(/^out-of-bounds: a 30000-byte message \(limit 20000\)/),
    ]);
  });

  test('fragments that disagree (count, length) drop the partial message', () => {
    const a = fragment({ from: 'serv1', boot, id: 7 }, 0, Buffer.alloc(2000, 1), key, tiny);
    const b = fragment({ from: 'serv1', boot, id: 7 }, 0, Buffer.alloc(3000, 1), key, tiny);
    const { d, drops } = decoder(tiny);
    expect(d.accept(a[0]!, 0)).toBeUndefined();
    expect(d.accept(b[1]!, 0)).toBeUndefined();
    expect(drops).toEqual([expect.stringMatching(/^inconsistent/)]);
    expect(d.reassembler.stats()).toMatchObject({ partials: 0, bufferedBytes: 0 });
  });

  test('a missing fragment: the partial message is evicted after the reassembly timeout (driven by the given time)', () => {
    const ps = packets(report(10), { limits: tiny, compress: false });
    const { d, drops } = decoder(tiny);
    for (const p of ps.slice(1)) expect(d.accept(p, 1000)).toBeUndefined();
    expect(d.reassembler.stats().partials).toBe(1);
    expect(d.reassembler.sweep(1900)).toBe(0);
    expect(d.reassembler.sweep(2001)).toBe(1);
    expect(drops).toEqual([
      expect.stringMatching(new RegExp(`^timeout: message serv1\\|${boot}\\|1: ${ps.length - 1} of ${ps.length} fragments within 1000 ms`)),
    ]);
    expect(d.reassembler.stats()).toMatchObject({ partials: 0, bufferedBytes: 0, dropped: { timeout: 1 } });
    // The late fragment alone starts a new partial message, which times out in turn.
    expect(d.accept(ps[0]!, 2002)).toBeUndefined();
    expect(d.reassembler.stats().partials).toBe(1);
    d.reassembler.sweep(3003);
    expect(d.reassembler.stats()).toMatchObject({ partials: 0, dropped: { timeout: 2 } });
  });

  test('too many partial messages from one sender: the oldest is evicted; too many buffered bytes: likewise', () => {
    const { d, drops } = decoder(tiny);
    const msgs = [1, 2, 3, 4].map((id) => packets(report(5, { id }), { limits: tiny, compress: false }));
    for (const ps of msgs) d.accept(ps[0]!, 0);
    expect(drops).toEqual([expect.stringMatching(/^evicted: serv1 has more than 3 partial messages/)]);
    // The newest three still complete.
    const done = msgs
      .slice(1)
      .flatMap((ps) => ps.slice(1).map((p) => d.accept(p, 0)))
      .filter((x) => x !== undefined);
    expect(done.map((m) => m.id)).toEqual([2, 3, 4]);

    const b = decoder({ ...tiny, maxPartialsPerSender: 100, maxBufferedBytes: 1500 });
    for (const id of [1, 2, 3, 4]) b.d.accept(packets(report(5, { id }), { limits: tiny, compress: false })[0]!, 0);
    expect(b.drops.filter((x) => x.startsWith('evicted'))).toHaveLength(2);
    expect(b.d.reassembler.stats().bufferedBytes).toBeLessThanOrEqual(1500);
  });

  test("a sender's older incarnation is stale once a newer one was seen; its partial messages go", () => {
    const { d, drops } = decoder(tiny);
    const old = packets(report(5, { id: 1 }), { limits: tiny, compress: false });
    d.accept(old[0]!, 0);
    expect(d.accept(packets(small(1, 'serv1', boot + 1))[0]!, 0)).toEqual(small(1, 'serv1', boot + 1));
    expect(d.accept(old[1]!, 0)).toBeUndefined();
    expect(drops.map((x) => x.split(':')[0])).toEqual(['stale', 'stale']);
    expect(d.reassembler.stats().partials).toBe(0);
  });

  test('a compression bomb is cut off at the message limit', () => {
    const bomb = deflateRawSync(Buffer.alloc(PEER_LIMITS.maxPayloadBytes + 1, 0x20));
    const [p] = fragment({ from: 'serv1', boot, id: 1 }, FLAG_DEFLATE, bomb, key, PEER_LIMITS);
    const { d, drops } = decoder();
    expect(d.accept(p!, 0)).toBeUndefined();
    expect(drops).toEqual([expect.stringMatching(/^oversized: from serv1: oversized: inflates beyond 4194304 bytes/)]);
  });

  test('signed garbage, unknown flags and a message that does not match its signed envelope are malformed', () => {
    const { d, drops } = decoder();
    const id = { from: 'serv1', boot, id: 5 };
    d.accept(fragment(id, 0, Buffer.from('{not json'), key, PEER_LIMITS)[0]!, 0);
    d.accept(fragment({ ...id, id: 6 }, 0, Buffer.from(JSON.stringify({ ...small(6), type: 'nonsense' })), key, PEER_LIMITS)[0]!, 0);
    d.accept(fragment({ ...id, id: 7 }, 4, Buffer.from(JSON.stringify(small(7))), key, PEER_LIMITS)[0]!, 0);
    d.accept(fragment({ ...id, id: 8 }, 0, Buffer.from(JSON.stringify(small(9))), key, PEER_LIMITS)[0]!, 0);
    d.accept(fragment({ ...id, from: 'serv3', id: 10 }, 0, Buffer.from(JSON.stringify(small(10))), key, PEER_LIMITS)[0]!, 0);
    expect(drops).toEqual([
      expect.stringMatching(/^malformed: from serv1: malformed: .*JSON/),
      expect.stringMatching(/^malformed: from serv1: malformed: type/),
      expect.stringMatching(/^malformed: from serv1: malformed: unknown flags 4/),
      expect.stringMatching(/does not match its signed envelope/),
      expect.stringMatching(/does not match its signed envelope/),
    ]);
  });

  test('property: random bytes and random mutations of valid packets never throw and never yield a wrong message', () => {
    const ps = packets(report(10), { limits: tiny, compress: false });
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 700 }),
        fc.array(fc.tuple(fc.nat({ max: ps.length - 1 }), fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 20 }),
        (noise, mutations) => {
          const { d } = decoder(tiny);
          expect(d.accept(noise, 0)).toBeUndefined();
          const sent = ps.map((p) => Buffer.from(p));
          for (const [i, at, x] of mutations) sent[i]![at % sent[i]!.length]! ^= x;
          const out = sent.map((p) => d.accept(p, 0)).filter((m) => m !== undefined);
          // Every change is caught (the signature covers every byte); an untouched set still decodes.
          const untouched = sent.every((p, i) => p.equals(ps[i]!));
          expect(out).toEqual(untouched ? [report(10)] : []);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('the UDP channel', () => {
  test('receives fragments in any order, and sweeps partial messages on its timer with the injected time', async () => {
    const base = await freePorts(4);
    let now = 0;
    let sweep: (() => void) | undefined;
    const got: PeerMessage[] = [];
    const drops: string[] = [];
    const nodes = [
      { name: 'serv1', addresses: { lan: `127.0.0.1:${base}` } },
      { name: 'serv2', addresses: { lan: `127.0.0.1:${base + 2}` } },
    ];
    const ch = await UdpPeerChannel.open({
      self: 'serv2',
      nodes,
      key,
      portOffset: 1,
      onMessage: (m) => got.push(m),
      now: () => now,
      limits: tiny,
      compress: false,
      timers: {
        setInterval: (fn) => {
          sweep = fn;
          return 1;
        },
        clearInterval: () => {
          sweep = undefined;
        },
      },
      onDrop: (link, reason) => drops.push(`${link} ${reason}`),
    });
    const raw = createSocket('udp4');
    const send = (p: Buffer): Promise<void> => new Promise((r) => raw.send(p, base + 3, '127.0.0.1', () => r()));
    try {
      const ps = packets(report(10), { limits: tiny, compress: false });
      for (const p of [...ps].reverse()) await send(p);
      await waitFor('the message', () => got.length === 1, 5000);
      expect(got[0]).toEqual(report(10));
      const partial = packets(report(10, { id: 2 }), { limits: tiny, compress: false });
      await send(partial[0]!);
      await new Promise((r) => setTimeout(r, 100));
      now = 900;
      sweep!();
      expect(ch.stats().dropped).toEqual({});
      now = 1100;
      sweep!();
      expect(ch.stats().dropped).toEqual({ timeout: 1 });
      expect(drops).toEqual(['* timeout']);
      await send(Buffer.from('garbage'));
      await waitFor('a counted drop', () => ch.stats().dropped['truncated'] === 1, 5000);
      expect(drops).toEqual(['* timeout', 'lan truncated']);
      expect(ch.stats()).toMatchObject({ reassembled: 1 });
    } finally {
      raw.close();
      await ch.dispose();
    }
    expect(sweep).toBeUndefined();
  });
});

describe('sizes of node reports (measured, printed)', () => {
  test('bytes per resource and where the old single-datagram format broke', () => {
    const per = (running: boolean): number =>
      (Buffer.byteLength(JSON.stringify(report(200, { running }))) - Buffer.byteLength(JSON.stringify(report(100, { running })))) / 100;
    const active = per(true);
    const probed = per(false);
    // A report fitted the old format while HEADER + MAC + JSON ≤ 60 KiB (10 + 32 bytes of framing).
    let limitAll = 0;
    while (Buffer.byteLength(JSON.stringify(report(limitAll + 1))) + 42 <= MAX_PEER_PACKET_BYTES) limitAll += 1;
    let limitProbed = 0;
    while (Buffer.byteLength(JSON.stringify(report(limitProbed + 1, { running: false }))) + 42 <= MAX_PEER_PACKET_BYTES) limitProbed += 1;
    const wire = (n: number): number => encoded(report(n)).wireBytes;
    process.stderr.write(
      `report bytes per resource: ${active.toFixed(0)} (probe+start+monitor), ${probed.toFixed(0)} (probe only); ` +
        `old 60 KiB datagram limit: ${limitAll} resources all running here, ${limitProbed} all probed-only; ` +
        `deflated: ${(wire(1000) / 1000).toFixed(0)} bytes/resource (1000 running resources: ${wire(1000)} bytes)\n`,
    );
    expect(limitAll).toBeLessThan(150);
    expect(wire(1000)).toBeLessThan(MAX_PEER_MESSAGE_BYTES);
  });
});
