import fc from 'fast-check';
import {
  ARBITER_MAGIC,
  MAGIC,
  MembershipError,
  arbiterStep,
  decode,
  decodeArbiterReply,
  decodeArbiterRequest,
  encode,
  encodeArbiter,
  initialArbiterState,
  resolveArbiterConfig,
  type ArbiterClaim,
  type ArbiterRelease,
  type ArbiterReply,
  type ArbiterRequest,
  type ArbiterState,
} from '@paceline/membership';

const key = Buffer.alloc(32, 3);
const NONCE = '0123456789abcdef0123456789abcdef';
const claim = (node: string, boot: number, seq: number, sentAt: number, extra: Partial<ArbiterClaim> = {}): ArbiterClaim => ({
  v: 1,
  type: 'claim',
  node,
  boot,
  seq,
  sentAt,
  nonce: NONCE,
  lost: node === 'serv1' ? ['serv2'] : ['serv1'],
  ...extra,
});
const release = (node: string, boot: number, seq: number, sentAt: number): ArbiterRelease => ({ v: 1, type: 'release', node, boot, seq, sentAt, nonce: NONCE });

/** An arbiter that started at 0 with lease 3 s and skew 2 s: grants from 7 s on. */
const T0 = 7000;
const fresh = (extra: Partial<Parameters<typeof resolveArbiterConfig>[0]> = {}): ArbiterState =>
  initialArbiterState({ nodes: ['serv1', 'serv2'], leaseMs: 3000, maxSkewMs: 2000, ...extra }, 0);
const run = (s: ArbiterState, request: ArbiterRequest, now: number) => arbiterStep(s, { request, now });

describe('arbiter codec', () => {
  const reply: ArbiterReply = { v: 1, type: 'reply', node: 'serv1', boot: 5, nonce: NONCE, vote: 'refused', holder: 'serv2', holderBoot: 4, leaseMs: 1200 };

  it('round-trips requests and replies', () => {
    const c = claim('serv1', 5, 1, 1000);
    expect(decodeArbiterRequest(encodeArbiter(c, key), key)).toEqual({ ok: c });
    const r = release('serv1', 5, 2, 1000);
    expect(decodeArbiterRequest(encodeArbiter(r, key), key)).toEqual({ ok: r });
    expect(decodeArbiterReply(encodeArbiter(reply, key), key)).toEqual({ ok: reply });
    expect(encodeArbiter(c, key).subarray(0, 4)).toEqual(ARBITER_MAGIC);
  });

  it('never reads a heartbeat as an arbiter packet, nor the reverse, nor a reply as a request', () => {
    const hb = encode({ v: 1, type: 'leave', from: 'serv1', to: 'serv2', link: 'lan', boot: 1, seq: 1 }, key);
    expect(decodeArbiterRequest(hb, key)).toMatchObject({ error: 'malformed', detail: expect.stringContaining('bad magic') });
    expect(decode(encodeArbiter(claim('serv1', 5, 1, 1000), key), key)).toMatchObject({ error: 'malformed' });
    // Same bytes with the magic swapped: the HMAC covers the magic, so it is forged.
    const swapped = Buffer.from(encodeArbiter(claim('serv1', 5, 1, 1000), key));
    MAGIC.copy(swapped, 0);
    expect(decode(swapped, key).error).toBe('forged');
    expect(decodeArbiterRequest(encodeArbiter(reply, key), key).error).toBe('malformed');
    expect(decodeArbiterReply(encodeArbiter(claim('serv1', 5, 1, 1000), key), key).error).toBe('malformed');
  });

  const good = encodeArbiter(claim('serv1', 5, 1, 1000), key);
  const cases: [string, Buffer, string][] = [
    ['another key', encodeArbiter(claim('serv1', 5, 1, 1000), Buffer.alloc(32, 4)), 'forged'],
    [
      'a flipped body byte',
      (() => {
        const b = Buffer.from(good);
        b[b.length - 2]! ^= 1;
        return b;
      })(),
      'forged',
    ],
    ['a cut packet', good.subarray(0, good.length - 1), 'truncated'],
    ['more than 4 KiB', Buffer.alloc(4097), 'oversized'],
    ['unknown fields', encodeArbiter({ ...claim('serv1', 5, 1, 1000), admin: true } as unknown as ArbiterClaim, key), 'malformed'],
    ['a short nonce', encodeArbiter({ ...claim('serv1', 5, 1, 1000), nonce: 'abc' }, key), 'malformed'],
    ['no sentAt', encodeArbiter({ ...claim('serv1', 5, 1, 1000), sentAt: undefined } as unknown as ArbiterClaim, key), 'malformed'],
  ];
  it.each(cases)('drops %s as %s', (_name, packet, reason) => {
    expect(decodeArbiterRequest(packet, key).error).toBe(reason);
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const withMagic = Buffer.concat([ARBITER_MAGIC, Buffer.from(bytes)]);
        for (const p of [Buffer.from(bytes), withMagic]) {
          expect(decodeArbiterRequest(p, key).ok).toBeUndefined();
          expect(decodeArbiterReply(p, key).ok).toBeUndefined();
        }
      }),
    );
  });
});

describe('arbiter configuration', () => {
  it('derives the startup hold and rejects bad settings with their paths', () => {
    expect(resolveArbiterConfig({ nodes: ['b', 'a'] })).toEqual({ nodes: ['a', 'b'], leaseMs: 3000, maxSkewMs: 2000, startupHoldMs: 7000 });
    expect(() => resolveArbiterConfig({ nodes: ['a', 'a'], leaseMs: 0 })).toThrow(MembershipError);
    expect(() => resolveArbiterConfig({ nodes: ['a', 'a'], leaseMs: 0 })).toThrow(/leaseMs: [\s\S]*nodes: node "a" is listed twice/);
    expect(() => resolveArbiterConfig({ nodes: [], extra: 1 } as never)).toThrow(/nodes[\s\S]*extra/);
  });
});

describe('arbiterStep', () => {
  it('grants a free vote, renews it for the holder, refuses the other node with the remaining lease', () => {
    const g = run(fresh(), claim('serv1', 5, 1, T0), T0);
    expect(g.reply).toEqual({ v: 1, type: 'reply', node: 'serv1', boot: 5, nonce: NONCE, vote: 'granted', leaseMs: 3000 });
    expect(g.event).toMatchObject({ type: 'granted', renewal: false, lost: ['serv2'] });
    const r = run(g.state, claim('serv2', 9, 1, T0 + 1000), T0 + 1000);
    expect(r.reply).toMatchObject({ vote: 'refused', holder: 'serv1', holderBoot: 5, leaseMs: 2000, node: 'serv2', boot: 9 });
    const renew = run(r.state, claim('serv1', 5, 2, T0 + 2500), T0 + 2500);
    expect(renew.reply).toMatchObject({ vote: 'granted', leaseMs: 3000 });
    expect(renew.event).toMatchObject({ renewal: true });
    expect(run(renew.state, claim('serv2', 9, 2, T0 + 5000), T0 + 5000).reply).toMatchObject({ vote: 'refused', leaseMs: 500 });
  });

  it('grants to the other node once the lease ran out, naming the previous holder', () => {
    const g = run(fresh(), claim('serv1', 5, 1, T0), T0).state;
    expect(run(g, claim('serv2', 9, 1, T0 + 2999), T0 + 2999).reply?.vote).toBe('refused');
    const taken = run(g, claim('serv2', 9, 2, T0 + 3000), T0 + 3000);
    expect(taken.reply?.vote).toBe('granted');
    expect(taken.event).toMatchObject({ type: 'granted', node: 'serv2', renewal: false, previous: { node: 'serv1', boot: 5 } });
  });

  it('counts a newer incarnation of the holder as the holder', () => {
    const g = run(fresh(), claim('serv1', 5, 1, T0), T0).state;
    const reborn = run(g, claim('serv1', 6, 0, T0 + 100), T0 + 100);
    expect(reborn.reply).toMatchObject({ vote: 'granted', boot: 6 });
    expect(reborn.state.holder).toMatchObject({ node: 'serv1', boot: 6 });
    expect(run(reborn.state, claim('serv2', 9, 1, T0 + 200), T0 + 200).reply).toMatchObject({ vote: 'refused', holderBoot: 6 });
  });

  it("frees the vote on the holder's release, and only on the holder's", () => {
    const g = run(fresh(), claim('serv1', 5, 1, T0), T0).state;
    const other = run(g, release('serv2', 9, 1, T0 + 10), T0 + 10);
    expect(other.event).toEqual({ type: 'released', node: 'serv2', boot: 9, freed: false });
    expect(other.state.holder?.node).toBe('serv1');
    const own = run(other.state, release('serv1', 5, 2, T0 + 20), T0 + 20);
    expect(own.reply).toMatchObject({ vote: 'released', node: 'serv1' });
    expect(own.event).toMatchObject({ freed: true });
    expect(run(own.state, claim('serv2', 9, 2, T0 + 30), T0 + 30).reply?.vote).toBe('granted');
  });

  it('ignores a release sent before the claim that renewed the vote, and a claim sent before a release', () => {
    const g = run(fresh(), claim('serv1', 5, 2, T0), T0).state;
    // Release seq 1 was sent before claim seq 2 and arrives after it: the vote stays.
    const early = run(g, release('serv1', 5, 1, T0), T0 + 5);
    expect(early.event).toMatchObject({ type: 'released', freed: false });
    expect(early.state.holder?.node).toBe('serv1');
    // Release seq 4, then claim seq 3 (sent before it) arrives late: it grants nothing.
    const freed = run(early.state, release('serv1', 5, 4, T0 + 10), T0 + 10);
    expect(freed.event).toMatchObject({ freed: true });
    const late = run(freed.state, claim('serv1', 5, 3, T0 + 8), T0 + 12);
    expect(late.reply).toBeUndefined();
    expect(late.event).toMatchObject({ type: 'dropped', reason: 'superseded' });
    expect(late.state.holder).toBeUndefined();
  });

  it('drops stale, replayed, older-incarnation, unknown and other-cluster requests without a reply', () => {
    const s = run(fresh({ cluster: 'web' }), claim('serv1', 5, 10, T0, { cluster: 'web' }), T0).state;
    const cases: [ArbiterRequest, number, string][] = [
      [claim('serv1', 5, 11, T0 - 2001, { cluster: 'web' }), T0, 'stale'],
      [claim('serv1', 5, 11, T0 + 2001, { cluster: 'web' }), T0, 'stale'],
      [claim('serv1', 5, 10, T0, { cluster: 'web' }), T0 + 1, 'replayed'],
      [claim('serv1', 4, 99, T0, { cluster: 'web' }), T0 + 1, 'replayed'],
      [claim('serv1', 5, 9 - 32, T0, { cluster: 'web' }), T0 + 1, 'replayed'],
      [claim('serv3', 1, 1, T0, { cluster: 'web' }), T0, 'unknown-node'],
      [claim('serv2', 1, 1, T0, { cluster: 'web', lost: ['serv7'] }), T0, 'unknown-node'],
      [claim('serv2', 1, 1, T0, { cluster: 'db' }), T0, 'wrong-cluster'],
      [claim('serv2', 1, 1, T0), T0, 'wrong-cluster'],
    ];
    for (const [request, now, reason] of cases) {
      const r = arbiterStep(s, { request, now });
      expect([reason, r.reply]).toEqual([reason, undefined]);
      expect(r.event).toMatchObject({ type: 'dropped', reason });
      expect(r.state.holder).toBe(s.holder);
      if (reason !== 'stale') expect(r.state).toBe(s);
    }
  });

  it('counts a stale request as seen: replayed when its send time would pass, it is still dropped', () => {
    // A node whose clock runs 2.5 s ahead: its claim is stale on arrival...
    const ahead = run(fresh(), claim('serv1', 5, 1, T0 + 2500), T0);
    expect(ahead.event).toMatchObject({ reason: 'stale' });
    // ...and the same packet replayed 1 s later, now within the skew, grants nothing.
    const replayed = run(ahead.state, claim('serv1', 5, 1, T0 + 2500), T0 + 1000);
    expect(replayed.event).toMatchObject({ reason: 'replayed' });
    expect(replayed.state.holder).toBeUndefined();
  });

  it('accepts reordered requests within the window once each', () => {
    let s = run(fresh(), claim('serv1', 5, 7, T0), T0).state;
    const late = run(s, claim('serv1', 5, 5, T0), T0 + 1);
    expect(late.reply?.vote).toBe('granted');
    s = late.state;
    expect(run(s, claim('serv1', 5, 5, T0), T0 + 2).event).toMatchObject({ reason: 'replayed' });
  });

  it('grants nothing during the startup hold, measured on the lease clock', () => {
    const s = initialArbiterState({ nodes: ['serv1', 'serv2'], leaseMs: 3000, maxSkewMs: 2000 }, 100_000);
    const early = arbiterStep(s, { request: claim('serv1', 5, 1, 1_000_000), now: 1_000_000, at: 106_999 });
    expect(early.reply).toMatchObject({ vote: 'unavailable', retryInMs: 1 });
    expect(early.state.holder).toBeUndefined();
    expect(arbiterStep(early.state, { request: claim('serv1', 5, 2, 1_000_000), now: 1_000_000, at: 107_000 }).reply?.vote).toBe('granted');
  });
});

// ── Properties ────────────────────────────────────────────────────────────────────────────

const NODES = ['a', 'b', 'c'];
const LEASE = 1000;
const SKEW = 500;

type Action =
  | { kind: 'claim' | 'release'; node: number; delay: number }
  | { kind: 'restart'; node: number }
  | { kind: 'replay'; pick: number }
  | { kind: 'arbiter-restart' };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constantFrom('claim' as const, 'release' as const), node: fc.nat(2), delay: fc.integer({ min: 0, max: 400 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), node: fc.nat(2) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('replay' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('arbiter-restart' as const) }) },
);

interface Sent {
  readonly request: ArbiterRequest;
  readonly sentTrue: number;
  readonly deliverAt: number;
  readonly replay: boolean;
  readonly index: number;
}
interface Belief {
  readonly node: string;
  readonly boot: number;
  readonly sent: number;
  readonly from: number;
  to: number;
}

/**
 * Runs a schedule: nodes (with clock offsets within the skew) send claims and releases that reach
 * the arbiter after a delay (so out of order), restart (new incarnation), an attacker replays any
 * request already delivered, and the arbiter itself restarts (forgets everything). Returns every
 * node's belief intervals (true time) of holding the vote — from the grant (replies take no time)
 * until the lease counted from sending the claim, cut short by its own release or restart — and
 * the replays that were granted.
 */
function simulate(actions: readonly { dt: number; a: Action }[], offsets: readonly number[]) {
  let t = 0;
  const boots = NODES.map(() => 1);
  const seqs = NODES.map(() => 0);
  const sent: Sent[] = [];
  const arbiterRestarts: number[] = [];
  const restarts: { node: string; boot: number; at: number }[] = [];
  const releases: { node: string; boot: number; at: number }[] = [];
  for (const { dt, a } of actions) {
    t += dt;
    if (a.kind === 'restart') {
      restarts.push({ node: NODES[a.node]!, boot: boots[a.node]!, at: t });
      boots[a.node]! += 1 + dt;
      seqs[a.node] = 0;
    } else if (a.kind === 'arbiter-restart') arbiterRestarts.push(t);
    else if (a.kind === 'replay') {
      if (sent.length > 0) {
        const orig = sent.filter((x) => !x.replay)[a.pick % sent.filter((x) => !x.replay).length]!;
        sent.push({ request: orig.request, sentTrue: orig.sentTrue, deliverAt: t, replay: true, index: orig.index });
      }
    } else {
      const node = NODES[a.node]!;
      const base = { v: 1 as const, node, boot: boots[a.node]!, seq: ++seqs[a.node]!, sentAt: t + offsets[a.node]!, nonce: NONCE };
      const request: ArbiterRequest = a.kind === 'claim' ? { ...base, type: 'claim', lost: NODES.filter((n) => n !== node) } : { ...base, type: 'release' };
      if (a.kind === 'release') releases.push({ node, boot: base.boot, at: t });
      sent.push({ request, sentTrue: t, deliverAt: t + a.delay, replay: false, index: sent.length });
    }
  }
  const deliveries = [...sent].sort((x, y) => x.deliverAt - y.deliverAt || x.index - y.index);
  const delivered = new Set<number>();
  let s = initialArbiterState({ nodes: NODES, leaseMs: LEASE, maxSkewMs: SKEW }, 0);
  let restartIdx = 0;
  const beliefs: Belief[] = [];
  const grantedReplays: Sent[] = [];
  for (const d of deliveries) {
    while (restartIdx < arbiterRestarts.length && arbiterRestarts[restartIdx]! <= d.deliverAt)
      s = initialArbiterState(s.config, arbiterRestarts[restartIdx++]!);
    if (d.replay && !delivered.has(d.index)) continue; // not yet delivered: that would be the original itself
    const r = arbiterStep(s, { request: d.request, now: d.deliverAt });
    s = r.state;
    if (!d.replay) delivered.add(d.index);
    if (r.reply?.vote !== 'granted') continue;
    if (d.replay) grantedReplays.push(d);
    else beliefs.push({ node: d.request.node, boot: d.request.boot, sent: d.sentTrue, from: d.deliverAt, to: d.sentTrue + LEASE });
  }
  for (const b of beliefs) {
    // A release or restart after sending the claim ends the belief (before the grant: no belief).
    for (const e of [...releases, ...restarts]) if (e.node === b.node && e.boot === b.boot && e.at >= b.sent && e.at < b.to) b.to = Math.max(b.from, e.at);
  }
  return { beliefs, grantedReplays };
}

const schedule = fc.array(fc.record({ dt: fc.integer({ min: 0, max: 900 }), a: action }), { minLength: 1, maxLength: 80 });
const offsets = fc.array(fc.integer({ min: -SKEW, max: SKEW }), { minLength: 3, maxLength: 3 });

describe('arbiter properties', () => {
  it('at most one node believes it holds the vote at any time', () => {
    fc.assert(
      fc.property(schedule, offsets, (actions, off) => {
        const { beliefs } = simulate(actions, off);
        for (const x of beliefs)
          for (const y of beliefs)
            if (x.node !== y.node && x.from < y.to && y.from < x.to) throw new Error(`${x.node} [${x.from}, ${x.to}) overlaps ${y.node} [${y.from}, ${y.to})`);
      }),
      { numRuns: 1500 },
    );
  });

  it('a replayed request never grants, across arbiter restarts too', () => {
    fc.assert(
      fc.property(schedule, offsets, (actions, off) => {
        expect(simulate(actions, off).grantedReplays).toEqual([]);
      }),
      { numRuns: 1500 },
    );
  });

  it('grants at all (the schedules exercise grants, refusals and replays)', () => {
    const s = simulate(
      [
        { dt: 2000, a: { kind: 'claim', node: 0, delay: 0 } },
        { dt: 10, a: { kind: 'claim', node: 1, delay: 0 } },
        { dt: 10, a: { kind: 'replay', pick: 0 } },
      ],
      [0, 0, 0],
    );
    expect(s.beliefs).toEqual([{ node: 'a', boot: 1, sent: 2000, from: 2000, to: 3000 }]);
  });
});
