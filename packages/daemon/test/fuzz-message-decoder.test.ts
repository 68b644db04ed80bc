/**
 * Fuzz target: the daemon's message decoder (`PeerDecoder`: signature check, fragment reassembly,
 * bounded inflate, JSON, zod validation, envelope check) on what a hostile network sends. Each input
 * is a short stream of packets to a fresh decoder: random bytes; real messages of every type with
 * hostile values spliced in, signed with the cluster key (so they reach the parser), deflated or
 * not, split into fragments that arrive shuffled, duplicated or partly lost; signed packets with bytes
 * flipped after signing; signed deflate bombs and non-JSON payloads; envelopes that disagree with
 * their message. Invariants: `accept` never throws and is fast; every message it returns validates as
 * a `PeerMessage` and matches its signed envelope; an intact, completely delivered, valid message is
 * accepted exactly once; every packet not delivered as a message is counted (duplicates included).
 * `npm run fuzz -- --target message-decoder` runs it longer.
 */
import { deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { FLAG_DEFLATE, fragment, type FrameLimits } from '../src/fragments.js';
import { PeerDecoder, PeerMessage } from '../src/messages.js';
import { FuzzTally, fuzzSettings } from '@paceline/testkit';

const fuzz = fuzzSettings({ runs: 300 });
const KEY = Buffer.alloc(32, 7);
const OTHER_KEY = Buffer.alloc(32, 8);
/** Small limits, so that fragmentation, eviction and the size bounds are all reached quickly. */
const LIMITS: FrameLimits = {
  maxPacketBytes: 700,
  maxPayloadBytes: 48 * 1024,
  maxFragments: 100,
  maxPartialsPerSender: 3,
  maxBufferedBytes: 96 * 1024,
  reassemblyTimeoutMs: 3000,
};

const env = { v: 2 as const, from: 'serv2', to: 'serv1', boot: 1_796_000_000_000, toBoot: 1_796_000_000_001 };
const report = {
  boot: env.boot,
  rev: 3,
  ver: 2,
  base: 1,
  digest: '0123456789abcdef0123456789abcdef',
  changed: [{ v: 2, h: { resource: 'web', agent: 'paceline:dummy', ops: [{ action: 'start', callId: 1, rc: 0 }] } }],
  removed: [{ v: 1, r: 'db' }],
  failures: [{ resource: 'web', count: 1 }],
  members: ['serv1', 'serv2'],
};
/** One real message of each type (valid as they are). */
const SEEDS: Record<string, unknown>[] = [
  { ...env, id: 1, type: 'doc', doc: { epoch: 4, config: { nodes: [{ name: 'serv1' }, { name: 'serv2' }], resources: [] }, quarantine: { serv2: 'fenced' } } },
  { ...env, id: 1, type: 'doc-digest', key: '4/0123456789abcdef0123' },
  { ...env, id: 1, type: 'report', report },
  { ...env, id: 1, type: 'report-want', of: env.toBoot, ver: 7 },
  { ...env, id: 1, type: 'update', request: { op: 'standby', node: 'serv2', on: true }, reqId: 'serv2/1/1' },
  { ...env, id: 1, type: 'update-reply', reqId: 'doc-ack/4/abc', ok: false, message: 'cannot write state.json: ENOSPC' },
  {
    ...env,
    id: 1,
    type: 'action',
    key: 'serv2/1/3/web_start_0 serv1',
    epoch: 4,
    action: { id: 'web_start_0 serv1', kind: 'start', resource: 'web', node: 'serv1', interval: 0, reason: 'r', runnable: true },
  },
  { ...env, id: 1, type: 'result', key: 'k', result: { execution: 'done', outcome: 'ok', durationMs: 3 }, report },
  { ...env, id: 1, type: 'cleanup', resource: 'web' },
];

/** Values that have hurt, or could hurt, a parser or what consumes its output. */
const HOSTILE: unknown[] = [
  null,
  -1,
  1e308,
  -0,
  2 ** 53,
  Number.MAX_SAFE_INTEGER + 2,
  0.5,
  '',
  'x'.repeat(5000),
  '\u0000',
  '../../etc/passwd',
  '__proto__',
  { __proto__: { polluted: true } },
  [],
  {},
  [[[[[[[[[[]]]]]]]]]],
  true,
  'doc',
  'serv1',
  'INFINITY',
  { constructor: { prototype: {} } },
];

type Mutation =
  | { readonly kind: 'none' }
  | { readonly kind: 'replace'; readonly path: number; readonly value: unknown }
  | { readonly kind: 'drop-field'; readonly path: number }
  | { readonly kind: 'text'; readonly at: number; readonly text: string; readonly cut: number };

/** Every (object, key) pair inside a value, depth first. */
function slots(v: unknown, out: [Record<string, unknown>, string][] = []): [Record<string, unknown>, string][] {
  if (v !== null && typeof v === 'object')
    for (const k of Object.keys(v)) {
      out.push([v as Record<string, unknown>, k]);
      slots((v as Record<string, unknown>)[k], out);
    }
  return out;
}

function payloadOf(seed: Record<string, unknown>, m: Mutation): Buffer {
  const msg = structuredClone(seed);
  const all = slots(msg);
  if (m.kind === 'replace' && all.length) {
    const [o, k] = all[m.path % all.length]!;
    o[k] = structuredClone(m.value);
  } else if (m.kind === 'drop-field' && all.length) {
    const [o, k] = all[m.path % all.length]!;
    delete o[k];
  }
  let text = JSON.stringify(msg);
  if (m.kind === 'text') {
    const at = Math.floor(m.at * text.length);
    text = text.slice(0, at) + m.text + text.slice(at + m.cut);
  }
  return Buffer.from(text, 'utf8');
}

interface Input {
  readonly seed: number;
  readonly mutation: Mutation;
  readonly deflate: boolean;
  readonly envelope: 'match' | 'other-boot' | 'other-id' | 'other-sender';
  readonly key: 'cluster' | 'other';
  /** Per fragment: how many copies arrive (0 = lost). */
  readonly copies: readonly number[];
  readonly shuffle: readonly number[];
  /** Bytes flipped after signing: [packet index, byte index, xor]. */
  readonly flips: readonly (readonly [number, number, number])[];
  readonly extra: 'none' | 'random-bytes' | 'deflate-bomb' | 'not-json' | 'bad-flags';
  readonly noise: Uint8Array;
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'none' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('replace' as const),
      path: fc.nat(),
      value: fc.oneof(fc.constantFrom(...HOSTILE), fc.jsonValue({ maxDepth: 3 })),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('drop-field' as const), path: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('text' as const),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      text: fc.string({ maxLength: 8 }),
      cut: fc.nat({ max: 12 }),
    }),
  },
);

const input: fc.Arbitrary<Input> = fc.record({
  seed: fc.nat({ max: SEEDS.length - 1 }),
  mutation,
  deflate: fc.boolean(),
  envelope: fc.constantFrom('match' as const, 'match' as const, 'match' as const, 'other-boot' as const, 'other-id' as const, 'other-sender' as const),
  key: fc.constantFrom('cluster' as const, 'cluster' as const, 'cluster' as const, 'other' as const),
  copies: fc.array(fc.constantFrom(1, 1, 1, 1, 0, 2), { maxLength: 12 }),
  shuffle: fc.array(fc.nat(), { maxLength: 12 }),
  flips: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 2 }),
  extra: fc.constantFrom('none' as const, 'none' as const, 'random-bytes' as const, 'deflate-bomb' as const, 'not-json' as const, 'bad-flags' as const),
  noise: fc.uint8Array({ maxLength: 800 }),
});

/** A big message's fragments: a report with many history entries (so some inputs span many fragments). */
function bulk(seed: Record<string, unknown>, n: number): Record<string, unknown> {
  if (seed['type'] !== 'report') return seed;
  const changed = Array.from({ length: n }, (_, i) => ({ v: i, h: { resource: `r${i}`, ops: [{ action: 'monitor', interval: 0, callId: i, rc: 7 }] } }));
  return { ...seed, report: { ...report, full: true, base: 0, changed } };
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // not JSON: the decoder must drop it as malformed
  }
}

test(
  'fuzz: message-decoder never throws, returns only valid messages matching their envelope, accepts intact ones once',
  () => {
    const tally = new FuzzTally('message-decoder', fuzz);
    let sequence = 0;
    fc.assert(
      fc.property(input, (x) =>
        tally.check(x, () => {
          sequence += 1;
          const seed = bulk(SEEDS[x.seed]!, x.seed === 1 ? x.copies.length * 20 : 0);
          const id = 10 + sequence;
          const json = payloadOf({ ...seed, id }, x.mutation);
          const frameId = {
            from: x.envelope === 'other-sender' ? 'serv3' : env.from,
            boot: x.envelope === 'other-boot' ? env.boot + 1 : env.boot,
            id: x.envelope === 'other-id' ? id + 1 : id,
          };
          const payload = x.deflate ? deflateRawSync(json) : json;
          if (payload.length > LIMITS.maxPayloadBytes) return 'too big to send';
          const signed = fragment(frameId, x.deflate ? FLAG_DEFLATE : 0, payload, x.key === 'cluster' ? KEY : OTHER_KEY, LIMITS);
          // Arrival: copies per fragment, in a shuffled order, some bytes flipped.
          const arriving: Buffer[] = [];
          signed.forEach((p, i) => {
            for (let c = 0; c < (x.copies[i] ?? 1); c++) arriving.push(Buffer.from(p));
          });
          for (let i = arriving.length - 1; i > 0; i--) {
            const j = (x.shuffle[i % Math.max(1, x.shuffle.length)] ?? 0) % (i + 1);
            [arriving[i], arriving[j]] = [arriving[j]!, arriving[i]!];
          }
          for (const [p, b, xor] of x.flips) {
            const pkt = arriving[p % Math.max(1, arriving.length)];
            if (pkt && pkt.length) pkt[b % pkt.length]! ^= xor;
          }
          if (x.extra === 'random-bytes') arriving.push(Buffer.from(x.noise));
          const extraId = { from: env.from, boot: env.boot, id: id + 1000 };
          if (x.extra === 'deflate-bomb') arriving.push(...fragment(extraId, FLAG_DEFLATE, deflateRawSync(Buffer.alloc(4 * 1024 * 1024, 32)), KEY, LIMITS));
          if (x.extra === 'not-json') arriving.push(...fragment(extraId, 0, Buffer.from(x.noise), KEY, LIMITS));
          if (x.extra === 'bad-flags') arriving.push(...fragment(extraId, 2 + ((x.noise[0] ?? 0) % 254), Buffer.from('{}'), KEY, LIMITS));

          const drops: string[] = [];
          const decoder = new PeerDecoder(KEY, LIMITS, (reason) => drops.push(reason));
          const out: PeerMessage[] = [];
          arriving.forEach((p, i) => {
            const m = decoder.accept(p, 1_000 + i);
            if (m !== undefined) out.push(m);
          });

          for (const m of out) {
            const again = PeerMessage.safeParse(m);
            if (!again.success) throw new Error(`returned an invalid message: ${again.error.issues[0]?.message ?? ''}`);
            if (m.from !== env.from || m.boot !== env.boot || (m.id !== id && m.id !== id + 1000))
              throw new Error('returned a message that does not match its signed envelope');
          }
          if (out.length > 1) throw new Error(`one message came out ${out.length} times`);
          // An intact message (valid, signed with the key, matching its envelope, every fragment there) must come out.
          const intact = x.key === 'cluster' && x.envelope === 'match' && x.flips.length === 0 && signed.every((_, i) => (x.copies[i] ?? 1) > 0);
          const valid = PeerMessage.safeParse(parseOrUndefined(json.toString('utf8'))).success;
          if (intact && x.mutation.kind === 'none' && out.length !== 1)
            throw new Error(`an intact valid message was not accepted (drops: ${drops.join(', ')})`);
          if (intact && out.length === 1 && !valid) throw new Error('an invalid message was accepted');
          const stats = decoder.reassembler.stats();
          const counted = Object.values(stats.dropped).reduce((n, c) => n + (c ?? 0), 0) + stats.duplicates;
          if (out.length === 0 && arriving.length > 0 && counted === 0 && stats.partials === 0) throw new Error('packets vanished without being counted');
          return out.length === 1 ? 'accepted' : drops.length ? `dropped: ${[...new Set(drops)].sort().join('+')}` : 'incomplete';
        }),
      ),
      { numRuns: fuzz.numRuns, seed: fuzz.seed },
    );
    tally.finish();
  },
  fuzz.timeoutMs,
);
