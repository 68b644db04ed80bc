import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { Heartbeat, WireMessage, decode, encode, quickHeartbeat } from '@paceline/membership';

// The quick check must say exactly what the schema says about a heartbeat: it accepts a value if and
// only if `Heartbeat` does, and gives the same value. Values come as the codec sees them: parsed JSON.
const asJson = (x: unknown): unknown => JSON.parse(JSON.stringify(x) ?? 'null');

const nameChars = 'abcXYZ019_.:@+-';
const name = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: fc.constantFrom(...nameChars), minLength: 1, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom('', 'a'.repeat(255), 'a'.repeat(256), 'serv 1', 'sérv', 'a/b', 'a\nb', 'ok\n') },
  { weight: 1, arbitrary: fc.jsonValue() },
);
const counter = fc.oneof(
  { weight: 6, arbitrary: fc.nat() },
  { weight: 2, arbitrary: fc.constantFrom(0, -0, -1, 1.5, 1e-7, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, 2 ** 60, 1e300) },
  { weight: 1, arbitrary: fc.integer({ min: -1000, max: 1000 }) },
  { weight: 1, arbitrary: fc.jsonValue() },
);
/** A heartbeat the schema accepts, with or without each optional field. */
const validHeartbeat = fc
  .record(
    {
      from: fc.string({ unit: fc.constantFrom(...nameChars), minLength: 1, maxLength: 255 }),
      to: fc.stringMatching(/^[A-Za-z0-9_.:@+-]{1,16}$/),
      link: fc.stringMatching(/^[A-Za-z0-9_.:@+-]{1,16}$/),
      boot: fc.maxSafeNat(),
      seq: fc.maxSafeNat(),
      sentAt: fc.maxSafeNat(),
      membershipId: fc.nat(),
      members: fc.array(fc.stringMatching(/^[A-Za-z0-9_.:@+-]{1,16}$/), { maxLength: 32 }),
      coordinator: fc.stringMatching(/^[A-Za-z0-9_.:@+-]{1,16}$/),
      term: fc.nat(),
      peerBoot: fc.maxSafeNat(),
      conflict: fc.array(fc.maxSafeNat(), { maxLength: 2 }),
    },
    { requiredKeys: ['from', 'to', 'link', 'boot', 'seq', 'membershipId', 'members', 'coordinator', 'term'] },
  )
  .map((h) => ({ v: 1, type: 'heartbeat', ...h }));

const heartbeatish = fc.record(
  {
    v: fc.oneof({ weight: 9, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.jsonValue() }),
    type: fc.oneof({ weight: 9, arbitrary: fc.constant('heartbeat') }, { weight: 1, arbitrary: fc.constantFrom('leave', 'Heartbeat', '', 1) }),
    from: name,
    to: name,
    link: name,
    boot: counter,
    seq: counter,
    sentAt: counter,
    membershipId: counter,
    members: fc.oneof(
      { weight: 8, arbitrary: fc.array(name, { maxLength: 4 }) },
      { weight: 1, arbitrary: fc.constantFrom(Array(1024).fill('n'), Array(1025).fill('n')) },
      { weight: 1, arbitrary: fc.jsonValue() },
    ),
    coordinator: name,
    term: counter,
    peerBoot: counter,
    conflict: fc.oneof({ weight: 8, arbitrary: fc.array(counter, { maxLength: 3 }) }, { weight: 1, arbitrary: fc.jsonValue() }),
    admin: fc.jsonValue(),
    constructor: fc.jsonValue(),
  },
  // Each key may be missing: the required ones (then invalid), the optional ones, and the unknown ones.
  { requiredKeys: [] },
);

const KEYS = ['v', 'type', 'from', 'to', 'link', 'boot', 'seq', 'sentAt', 'membershipId', 'members', 'coordinator', 'term', 'peerBoot', 'conflict'];
/** A valid heartbeat with exactly one thing changed: one field's value (to a near miss), one field removed, or one key added. */
const oneOff = fc
  .tuple(
    validHeartbeat,
    fc.constantFrom(...KEYS),
    fc.oneof(
      name.map((value) => ({ kind: 'set' as const, value })),
      counter.map((value) => ({ kind: 'set' as const, value })),
      fc.array(name, { maxLength: 3 }).map((value) => ({ kind: 'set' as const, value })),
      fc.array(counter, { maxLength: 3 }).map((value) => ({ kind: 'set' as const, value })),
      fc.constantFrom(Array(1024).fill('n'), Array(1025).fill('n'), [1, 2], [1, 2, 3], ['a'.repeat(256)]).map((value) => ({ kind: 'set' as const, value })),
      fc.constant({ kind: 'delete' as const }),
      fc
        .tuple(fc.constantFrom('admin', 'V', 'members ', '__proto__', 'toString', 'constructor'), fc.jsonValue())
        .map(([k, value]) => ({ kind: 'add' as const, k, value })),
    ),
  )
  .map(([h, k, change]) => {
    const x: Record<string, unknown> = { ...h };
    if (change.kind === 'set') x[k] = change.value;
    else if (change.kind === 'delete') delete x[k];
    else return JSON.parse(`{${JSON.stringify(change.k)}:${JSON.stringify(change.value)},${JSON.stringify(h).slice(1)}`) as unknown;
    return x;
  });

/** The quick check accepts `raw` (as JSON) exactly when the schema does, with the same value. */
function agreesWithSchema(raw: unknown): void {
  const x = asJson(raw);
  const quick = quickHeartbeat(x);
  const schema = Heartbeat.safeParse(x);
  expect(quick !== undefined).toBe(schema.success);
  if (quick !== undefined) expect(isDeepStrictEqual(quick, schema.data)).toBe(true);
}

describe('quickHeartbeat', () => {
  it('accepts exactly what the Heartbeat schema accepts, with the same value (near-miss heartbeats)', () => {
    fc.assert(fc.property(heartbeatish, agreesWithSchema), { numRuns: 5000 });
  });

  it('accepts exactly what the Heartbeat schema accepts, with the same value (valid heartbeats with one thing changed)', () => {
    fc.assert(fc.property(oneOff, agreesWithSchema), { numRuns: 5000 });
  });

  it('accepts every valid heartbeat as it is', () => {
    fc.assert(
      fc.property(validHeartbeat, (h) => {
        const x = asJson(h);
        expect(Heartbeat.safeParse(x).success).toBe(true);
        expect(quickHeartbeat(x)).toEqual(h);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts nothing the schema refuses among arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (x) => {
        if (quickHeartbeat(x) !== undefined) expect(Heartbeat.safeParse(x).success).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses keys inherited from Object.prototype and __proto__', () => {
    const h = { v: 1, type: 'heartbeat', from: 'a', to: 'b', link: 'l', boot: 1, seq: 1, membershipId: 1, members: [], coordinator: 'a', term: 0 };
    expect(quickHeartbeat(asJson(h))).toEqual(h);
    for (const extra of ['"__proto__":{}', '"toString":1', '"hasOwnProperty":1', '"constructor":{}']) {
      const x: unknown = JSON.parse(`{${extra},${JSON.stringify(h).slice(1)}`);
      expect(quickHeartbeat(x)).toBeUndefined();
      expect(Heartbeat.safeParse(x).success).toBe(false);
    }
  });
});

describe('decode with the quick check', () => {
  const key = Buffer.alloc(32, 3);
  it('decodes a signed body exactly as the WireMessage schema would (accepted or malformed)', () => {
    fc.assert(
      fc.property(fc.oneof(heartbeatish, oneOff, validHeartbeat), (raw) => {
        const x = asJson(raw);
        const r = decode(encode(x as WireMessage, key), key);
        const schema = WireMessage.safeParse(x);
        if (schema.success) expect(r).toEqual({ ok: schema.data });
        else expect(r.error).toBe('malformed');
      }),
      { numRuns: 3000 },
    );
  });
});
