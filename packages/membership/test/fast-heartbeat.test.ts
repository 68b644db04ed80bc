// The heartbeat fast path (src/fast-heartbeat.ts) against the schema it stands in front of: whatever
// it accepts, the schema accepts with the same value; whatever it passes on, the schema decides.
import fc from 'fast-check';
import { WireMessage } from '../src/messages.js';
import { WireMessageParser, fastHeartbeat } from '../src/fast-heartbeat.js';

const usual = {
  v: 1,
  type: 'heartbeat',
  from: 'serv1',
  to: 'serv2',
  link: 'lan',
  boot: 1765100000000,
  seq: 9,
  sentAt: 1765100000123,
  membershipId: 3,
  members: ['serv1', 'serv2'],
  coordinator: 'serv1',
  term: 2,
  peerBoot: 1765100000001,
};

/** The fast path never accepts what the schema refuses, nor yields another value. */
function agrees(json: unknown): void {
  const fast = fastHeartbeat(json);
  const schema = WireMessage.safeParse(json);
  if (fast !== undefined) {
    expect(schema.success).toBe(true);
    expect(fast).toEqual(schema.data);
  }
  const viaParser = WireMessageParser.safeParse(json);
  expect(viaParser.success).toBe(schema.success);
  if (schema.success) expect(viaParser.data).toEqual(schema.data);
  else expect(viaParser.error?.issues).toEqual(schema.error.issues);
}

describe('fastHeartbeat', () => {
  it('takes the usual heartbeats, with and without their optional fields', () => {
    const { sentAt: _s, peerBoot: _p, ...bare } = usual;
    for (const m of [usual, bare, { ...usual, conflict: [4, 5] }, { ...usual, members: [] }]) {
      const json = JSON.parse(JSON.stringify(m)) as unknown;
      expect(fastHeartbeat(json)).toEqual(WireMessage.parse(json));
      agrees(json);
    }
  });

  it('passes every invalid or unusual one on to the schema, which refuses it as before', () => {
    const name256 = 'a'.repeat(256);
    const cases: unknown[] = [
      null,
      [],
      'heartbeat',
      { ...usual, extra: 1 },
      { ...usual, v: 2 },
      { ...usual, type: 'leave' },
      { v: 1, type: 'leave', from: 'a', to: 'b', link: 'lan', boot: 1, seq: 2 },
      { ...usual, from: '' },
      { ...usual, to: name256 },
      { ...usual, link: 'l an' },
      { ...usual, coordinator: 7 },
      { ...usual, boot: -1 },
      { ...usual, seq: 1.5 },
      { ...usual, term: Number.MAX_SAFE_INTEGER + 2 },
      { ...usual, membershipId: '3' },
      { ...usual, sentAt: -5 },
      { ...usual, sentAt: 2 ** 60 },
      { ...usual, peerBoot: null },
      { ...usual, members: 'serv1' },
      { ...usual, members: ['serv1', ''] },
      { ...usual, members: Array.from({ length: 1025 }, (_, i) => `n${i}`) },
      { ...usual, conflict: [1, 2, 3] },
      { ...usual, conflict: [1, -2] },
      { ...usual, conflict: 'x' },
      JSON.parse('{"__proto__":{"x":1},"v":1}'),
      JSON.parse(JSON.stringify({ ...usual, constructor: 1 })),
    ];
    const { term: _t, ...noTerm } = usual;
    cases.push(noTerm);
    for (const c of cases) {
      expect(fastHeartbeat(c)).toBeUndefined();
      agrees(c);
    }
  });

  it('agrees with the schema on random variations of every field', () => {
    const anyValue = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.integer({ min: -3, max: 2 ** 53 + 3 }),
      fc.double(),
      fc.string({ maxLength: 4 }),
      fc.constantFrom('serv1', 'a.b:c@d+e-f_g', 'x y', 'é', ''),
      fc.array(fc.constantFrom('serv1', 'serv2', '', 'x y', 3), { maxLength: 3 }),
      fc.array(fc.integer({ min: -1, max: 9 }), { maxLength: 3 }),
    );
    const key = fc.constantFrom(...Object.keys(usual), 'conflict', 'extra');
    fc.assert(
      fc.property(fc.array(fc.tuple(key, anyValue), { maxLength: 4 }), (changes) => {
        const m: Record<string, unknown> = { ...usual };
        for (const [k, v] of changes) m[k] = v;
        agrees(JSON.parse(JSON.stringify(m)) as unknown);
      }),
      { numRuns: 3000, seed: 13 },
    );
  });
});
