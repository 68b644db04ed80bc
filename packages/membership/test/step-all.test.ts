/**
 * `stepAll` and `isRefresh`, which let a caller queue the heartbeats that only refresh a member and
 * step them with its next tick (the daemon's membership driver does): over random sequences of
 * ticks, heartbeats (fresh, replayed, from a new incarnation, with a changed view), drops and port
 * refusals, queueing gives the same states and the same events in the same order as stepping every
 * input at once.
 */
import fc from 'fast-check';
import { initialState, isRefresh, step, stepAll, type MembershipInput, type MembershipState, type WireMessage } from '@paceline/membership';
import { heartbeat } from './heartbeat.js';

const nodes = [
  { name: 'serv1', links: ['crossover', 'lan'] },
  { name: 'serv2', links: ['crossover', 'lan'] },
];
const s0 = initialState({ self: 'serv1', nodes, twoNode: true }, { boot: 1 });

function hb(link: string, over: Partial<WireMessage> = {}): MembershipInput {
  return { type: 'message', link, from: '127.0.0.1:5405', message: heartbeat({ link, ...over }) };
}

/** Steps every input at once; returns the states after each and the events in order. */
function oneByOne(inputs: readonly MembershipInput[]): { states: string[]; events: string[] } {
  let s: MembershipState = s0;
  const states: string[] = [];
  const events: string[] = [];
  for (const i of inputs) {
    const r = step(s, i);
    s = r.state;
    states.push(JSON.stringify(s));
    events.push(...r.events.map((e) => JSON.stringify(e)));
  }
  return { states, events };
}

let refreshes = 0;
/** As the driver does: a refresh waits; anything else is stepped with what waited, in order. */
function queued(inputs: readonly MembershipInput[]): { states: (string | undefined)[]; events: string[] } {
  let s: MembershipState = s0;
  let waiting: MembershipInput[] = [];
  const states: (string | undefined)[] = [];
  const events: string[] = [];
  for (const i of inputs) {
    if (isRefresh(s, i)) {
      refreshes += 1;
      waiting.push(i);
      states.push(undefined);
      continue;
    }
    const r = stepAll(s, [...waiting, i]);
    waiting = [];
    s = r.state;
    states.push(JSON.stringify(s));
    events.push(...r.events.map((e) => JSON.stringify(e)));
  }
  return { states, events };
}

describe('stepAll and isRefresh', () => {
  it('stepAll gives what stepping each input gives', () => {
    const inputs = [{ type: 'tick' } as const, hb('lan'), hb('crossover', { seq: 2 }), { type: 'tick' } as const, hb('lan', { seq: 3 })];
    const all = stepAll(s0, inputs);
    const each = oneByOne(inputs);
    expect(JSON.stringify(all.state)).toBe(each.states.at(-1));
    expect(all.events.map((e) => JSON.stringify(e))).toEqual(each.events);
  });

  it('a refresh is a fresh in-sequence heartbeat of a member on a link that is up, with the view it already announced', () => {
    let s = stepAll(s0, [hb('lan'), hb('crossover', { seq: 2 })]).state;
    expect(isRefresh(s, hb('lan', { seq: 3 }))).toBe(true);
    expect(isRefresh(s, hb('lan', { seq: 2 }))).toBe(false); // replayed
    expect(isRefresh(s, hb('lan', { seq: 3, boot: 11 }))).toBe(false); // a new incarnation
    expect(isRefresh(s, hb('lan', { seq: 3, term: 1 }))).toBe(false); // a changed claim
    expect(isRefresh(s, hb('lan', { seq: 3, members: ['serv2'] }))).toBe(false);
    expect(isRefresh(s, hb('lan', { seq: 3, peerBoot: 2 }))).toBe(false); // knows a newer serv1
    expect(isRefresh(s, hb('lan', { seq: 3, to: 'serv3' }))).toBe(false);
    expect(isRefresh(s, { type: 'tick' })).toBe(false);
    expect(isRefresh(s0, hb('lan'))).toBe(false); // a join
    for (let i = 0; i < 8; i++) s = step(s, { type: 'tick' }).state; // both links silent: down
    expect(isRefresh(s, hb('lan', { seq: 3 }))).toBe(false);
  });

  const input: fc.Arbitrary<(seq: number) => MembershipInput> = fc.oneof(
    { weight: 4, arbitrary: fc.constant(() => ({ type: 'tick' }) as MembershipInput) },
    {
      weight: 8,
      arbitrary: fc
        .record({
          link: fc.constantFrom('lan', 'crossover', 'wan'),
          seqBack: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }) }),
          boot: fc.oneof({ weight: 60, arbitrary: fc.constant(10) }, { weight: 1, arbitrary: fc.constantFrom(9, 11) }),
          term: fc.oneof({ weight: 10, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(3) }),
          members: fc.oneof({ weight: 10, arbitrary: fc.constant(['serv2', 'serv1']) }, { weight: 1, arbitrary: fc.constant(['serv2']) }),
          peerBoot: fc.oneof({ weight: 60, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constantFrom(2, undefined) }),
        })
        .map(
          (h) => (seq: number) =>
            hb(h.link, {
              seq: Math.max(0, seq - h.seqBack),
              boot: h.boot,
              term: h.term,
              members: [...h.members],
              ...(h.peerBoot !== undefined ? { peerBoot: h.peerBoot } : { peerBoot: undefined }),
            }),
        ),
    },
    { weight: 1, arbitrary: fc.constant(() => ({ type: 'unreachable', link: 'lan', node: 'serv2' }) as MembershipInput) },
    { weight: 1, arbitrary: fc.constant(() => ({ type: 'dropped', link: 'lan', reason: 'forged' }) as MembershipInput) },
  );

  it('queueing refreshes until the next other input changes nothing but when it is stepped', () => {
    fc.assert(
      fc.property(fc.array(input, { maxLength: 200, size: 'max' }), (makers) => {
        const inputs = makers.map((make, i) => make(i + 1));
        const a = oneByOne(inputs);
        const b = queued(inputs);
        expect(b.events).toEqual(a.events);
        b.states.forEach((s, i) => {
          if (s !== undefined) expect(s).toBe(a.states[i]);
        });
      }),
      { numRuns: 300, seed: 13 },
    );
    expect(refreshes).toBeGreaterThan(3000); // most heartbeats of a member were queued
  });
});
