/**
 * Which daemon messages are fresh (freshness.ts): addressed to this incarnation (toBoot), from the
 * sender's newest incarnation, each id once within a sliding window — copies are duplicates,
 * old ids replays. Also with the real framing: fragments of one message over two links, in any
 * order, give one message, and late copies stay duplicates once the reassembler forgot them.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { type FrameLimits } from '../src/fragments.js';
import { FreshnessGuard, IdWindow, MESSAGE_WINDOW } from '../src/freshness.js';
import { PeerDecoder, encodePeer, type PeerMessage } from '../src/messages.js';

const SELF_BOOT = 1_795_000_000_500;
const boot = 1_795_000_000_000;
const msg = (id: number, o: { from?: string; boot?: number; toBoot?: number } = {}): PeerMessage => ({
  v: 2,
  type: 'cleanup',
  from: o.from ?? 'serv1',
  to: 'serv2',
  boot: o.boot ?? boot,
  id,
  toBoot: o.toBoot ?? SELF_BOOT,
});
const guard = (incarnations: Record<string, number> = {}): FreshnessGuard => new FreshnessGuard('serv2', SELF_BOOT, ['serv1', 'serv2', 'serv3'], incarnations);
const verdicts = (g: FreshnessGuard, ms: readonly PeerMessage[]): string[] =>
  ms.map((m) => {
    const v = g.accept(m);
    return v.verdict === 'drop' ? v.reason : v.verdict;
  });

describe('toBoot: only the incarnation a message was addressed to accepts it', () => {
  test('a message for an earlier incarnation of this node (sent before it restarted, or replayed) is dropped', () => {
    const g = guard();
    const v = g.accept(msg(1, { toBoot: SELF_BOOT - 1 }));
    expect(v).toEqual({
      verdict: 'drop',
      reason: 'other-incarnation',
      detail: expect.stringContaining("for serv2's incarnation 1795000000499; this is 1795000000500 (sent before it restarted, or replayed)"),
    });
    expect(g.accept(msg(1))).toEqual({ verdict: 'accept', newIncarnation: true });
    expect(g.stats()).toEqual({ dropped: { 'other-incarnation': 1 }, duplicates: 0 });
  });

  test('a message for a newer incarnation than this one says another daemon may run under this name', () => {
    const v = guard().accept(msg(1, { toBoot: SELF_BOOT + 1 }));
    expect(v).toMatchObject({ verdict: 'drop', reason: 'other-incarnation', detail: expect.stringContaining('does another daemon run under this name?') });
  });

  test('a sender that is not a peer is refused (memory: one window per configured peer)', () => {
    const g = guard();
    expect(verdicts(g, [msg(1, { from: 'intruder' }), msg(1, { from: 'serv2' })])).toEqual(['unknown-sender', 'unknown-sender']);
  });
});

describe('the window over message ids', () => {
  test('each id once: copies (every link carries one) are duplicates, not drops; reordering within the window is fine', () => {
    const g = guard();
    expect(verdicts(g, [msg(5), msg(5), msg(3), msg(7), msg(3), msg(4), msg(6), msg(7)])).toEqual([
      'accept',
      'duplicate',
      'accept',
      'accept',
      'duplicate',
      'accept',
      'accept',
      'duplicate',
    ]);
    expect(g.stats()).toEqual({ dropped: {}, duplicates: 3 });
  });

  test(`an id more than ${MESSAGE_WINDOW} below the highest is a replay — also after 5 000 further messages`, () => {
    const g = guard();
    expect(verdicts(g, [msg(1)])).toEqual(['accept']);
    for (let id = 2; id <= 5001; id++) expect(g.accept(msg(id)).verdict).toBe('accept');
    const v = g.accept(msg(1));
    expect(v).toEqual({
      verdict: 'drop',
      reason: 'replayed',
      detail: `a cleanup message from serv1 with id 1, below the window (highest 5001, window ${MESSAGE_WINDOW})`,
    });
    // The edges: 5001 - 4096 = 905 is out, 906 is in (and was accepted: a duplicate); an unseen id in the window is accepted once.
    expect(verdicts(g, [msg(905), msg(906)])).toEqual(['replayed', 'duplicate']);
    const h = guard();
    expect(verdicts(h, [msg(10_000), msg(10_000 - MESSAGE_WINDOW + 1), msg(10_000 - MESSAGE_WINDOW + 1), msg(10_000 - MESSAGE_WINDOW)])).toEqual([
      'accept',
      'accept',
      'duplicate',
      'replayed',
    ]);
  });

  test('a jump beyond the window forgets everything below it', () => {
    const g = guard();
    expect(verdicts(g, [msg(1), msg(2), msg(1 + 3 * MESSAGE_WINDOW), msg(2), msg(3 * MESSAGE_WINDOW)])).toEqual([
      'accept',
      'accept',
      'accept',
      'replayed',
      'accept',
    ]);
  });

  test('property: the window answers as a set of every id seen would, within its reach, and refuses below it', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 3 * 64 }), { maxLength: 400 }), (ids) => {
        const w = new IdWindow(64);
        const seen = new Set<number>();
        let highest = -1;
        for (const id of ids) {
          const expected = highest >= 0 && id <= highest - 64 ? 'old' : seen.has(id) ? 'seen' : 'new';
          expect(w.accept(id)).toBe(expected);
          if (expected === 'new') seen.add(id);
          highest = Math.max(highest, id);
        }
      }),
      { numRuns: 500 },
    );
  });

  test('window sizes must be multiples of 32', () => {
    expect(() => new IdWindow(100)).toThrow(/multiple of 32/);
  });
});

describe('incarnations', () => {
  test("a sender's new incarnation starts a new window; its older incarnation is stale from then on", () => {
    const g = guard();
    expect(g.accept(msg(9))).toEqual({ verdict: 'accept', newIncarnation: true });
    expect(g.accept(msg(1, { boot: boot + 1 }))).toEqual({ verdict: 'accept', newIncarnation: true });
    expect(g.accept(msg(2, { boot: boot + 1 }))).toEqual({ verdict: 'accept', newIncarnation: false });
    expect(g.accept(msg(10))).toEqual({
      verdict: 'drop',
      reason: 'stale',
      detail: `a cleanup message from serv1's incarnation ${boot}; it has since restarted (${boot + 1})`,
    });
    expect(g.incarnations()).toEqual({ serv1: boot + 1 });
  });

  test('an incarnation seen by membership (observe) makes older ones stale too, before any message of it arrives', () => {
    const g = guard();
    expect(verdicts(g, [msg(1)])).toEqual(['accept']);
    expect(g.observe('serv1', boot + 5)).toBe(true);
    expect(g.observe('serv1', boot + 5)).toBe(false);
    expect(g.observe('serv1', boot)).toBe(false);
    expect(g.observe('elsewhere', boot)).toBe(false);
    expect(verdicts(g, [msg(2), msg(1, { boot: boot + 5 })])).toEqual(['stale', 'accept']);
    expect(g.incarnations()).toEqual({ serv1: boot + 5 });
  });

  test('incarnations restored from the state file: older ones are refused from the start, the same one is accepted', () => {
    const g = guard({ serv1: boot, serv3: boot + 3 });
    expect(g.incarnations()).toEqual({ serv1: boot, serv3: boot + 3 });
    expect(g.accept(msg(50, { boot: boot - 1 }))).toMatchObject({ verdict: 'drop', reason: 'stale' });
    expect(g.accept(msg(50))).toEqual({ verdict: 'accept', newIncarnation: false });
    expect(g.accept(msg(1, { from: 'serv3', boot: boot + 4 }))).toEqual({ verdict: 'accept', newIncarnation: true });
  });
});

describe('with the real framing', () => {
  const key = randomBytes(32);
  /** Small packets, so that one message spans several fragments. */
  const tiny: FrameLimits = {
    maxPacketBytes: 400,
    maxPayloadBytes: 20_000,
    maxFragments: 64,
    maxPartialsPerSender: 4,
    maxBufferedBytes: 50_000,
    reassemblyTimeoutMs: 1000,
  };
  const doc = (id: number): PeerMessage => ({
    v: 2,
    type: 'doc',
    from: 'serv1',
    to: 'serv2',
    boot,
    id,
    toBoot: SELF_BOOT,
    doc: { epoch: id, config: { padding: 'x'.repeat(1500) }, quarantine: {} },
  });
  const packets = (m: PeerMessage): Buffer[] => {
    const e = encodePeer(m, key, { limits: tiny, compress: false });
    if (e.error !== undefined) throw new Error(e.error);
    return [...e.packets];
  };

  test('fragments of one message over two links, in any order, give one fresh message; every later copy is a duplicate', () => {
    const ps = packets(doc(1));
    expect(ps.length).toBeGreaterThan(3);
    const d = new PeerDecoder(key, tiny);
    const g = guard();
    // Link "lan" carries the fragments in reverse, "crossover" in order; they interleave.
    const arrivals = ps.flatMap((_, i) => [ps[ps.length - 1 - i]!, ps[i]!]);
    const out = arrivals
      .map((p) => d.accept(p, 0))
      .filter((m) => m !== undefined)
      .map((m) => g.accept(m).verdict);
    expect(out).toEqual(['accept']);
    expect(d.reassembler.stats()).toMatchObject({ partials: 0, dropped: {} });

    // Once the reassembler's memory of completed messages has moved on (1 024 other messages), a
    // late full copy is reassembled again — and the window still knows it: a duplicate, not a drop.
    for (let id = 2; id <= 1100; id++) for (const p of packets(msg(id))) d.accept(p, 0);
    for (let id = 2; id <= 1100; id++) g.accept(msg(id));
    const late = ps.map((p) => d.accept(p, 0)).filter((m) => m !== undefined);
    expect(late).toHaveLength(1);
    expect(g.accept(late[0]!)).toEqual({ verdict: 'duplicate' });
    expect(g.stats().dropped).toEqual({});
  });
});
