import { initialState, mayRunResources, peerSafelyDown, step, type MembershipInput, type MembershipState } from '@paceline/membership';
import { heartbeat as hb } from './heartbeat.js';

const nodes = [
  { name: 'serv1', links: ['crossover', 'lan'] },
  { name: 'serv2', links: ['crossover', 'lan'] },
];

function run(s: MembershipState, inputs: MembershipInput[]): { state: MembershipState; events: string[] } {
  const events: string[] = [];
  for (const i of inputs) {
    const r = step(s, i);
    s = r.state;
    events.push(...r.events.map((e) => e.type));
  }
  return { state: s, events };
}

describe('step', () => {
  const s0 = initialState({ self: 'serv1', nodes, twoNode: true }, { boot: 1 });

  it('is pure: the input state is not modified', () => {
    const copy = JSON.stringify(s0);
    step(s0, { type: 'tick' });
    step(s0, { type: 'message', link: 'lan', from: 'x', message: hb() });
    expect(JSON.stringify(s0)).toBe(copy);
  });

  it('sends one heartbeat per peer and link every heartbeat interval', () => {
    const r = step(s0, { type: 'tick' });
    expect(r.outbox.map((o) => `${o.to}/${o.link}/${o.message.seq}`)).toEqual(['serv2/crossover/1', 'serv2/lan/2']);
    const slow = initialState({ self: 'serv1', nodes, heartbeatTicks: 3 }, { boot: 1 });
    const counts = [];
    let s = slow;
    for (let i = 0; i < 6; i++) {
      const x = step(s, { type: 'tick' });
      counts.push(x.outbox.length);
      s = x.state;
    }
    expect(counts).toEqual([2, 0, 0, 2, 0, 0]);
  });

  it('joins on the first heartbeat and is lost only when every link is silent', () => {
    const joined = run(s0, [{ type: 'message', link: 'lan', from: 'x', message: hb() }]);
    expect(joined.events).toEqual(['link-up', 'node-joined', 'membership-changed', 'quorum-changed', 'may-run-changed']);
    expect(joined.state.coordinator).toBe('serv1');
    // crossover was never heard; lan keeps being heard: no loss however long.
    let s = joined.state;
    for (let i = 2; i < 100; i++) s = run(s, [{ type: 'tick' }, { type: 'message', link: 'lan', from: 'x', message: hb({ seq: i }) }]).state;
    expect(s.members).toEqual(['serv1', 'serv2']);
    const silent = run(
      s,
      Array.from({ length: 7 }, () => ({ type: 'tick' }) as const),
    );
    expect(silent.events).toEqual(['link-late', 'link-down', 'node-lost', 'membership-changed', 'fence-requested']);
  });

  it('never changes membership for rejected messages', () => {
    const inputs: MembershipInput[] = [
      { type: 'message', link: 'lan', from: 'x', message: hb({ from: 'serv9' }) },
      { type: 'message', link: 'lan', from: 'x', message: hb({ from: 'serv1' }) },
      { type: 'message', link: 'lan', from: 'x', message: hb({ to: 'serv3' }) },
      { type: 'message', link: 'lan', from: 'x', message: hb({ link: 'crossover' }) },
      { type: 'message', link: 'wifi', from: 'x', message: hb({ link: 'wifi' }) },
      { type: 'dropped', link: 'lan', reason: 'forged' },
    ];
    const r = run(s0, inputs);
    expect(r.state.members).toEqual(['serv1']);
    expect(r.events.every((e) => e === 'packet-dropped')).toBe(true);
    expect(r.state.drops).toMatchObject({ 'unknown-sender': 2, misdirected: 1, 'wrong-link': 1, malformed: 1, forged: 1 });
  });

  it('waitForAll ends only when the peer sees this incarnation (a replayed view from before a restart does not count)', () => {
    const stale = run(s0, [{ type: 'message', link: 'lan', from: 'x', message: hb({ peerBoot: 0 }) }]);
    expect(stale.state.members).toEqual(['serv1', 'serv2']);
    expect(stale.state.quorate).toBe(false);
    const none = run(s0, [{ type: 'message', link: 'lan', from: 'x', message: hb({ peerBoot: undefined }) }]);
    expect(none.state.quorate).toBe(false);
    const fresh = run(stale.state, [{ type: 'message', link: 'lan', from: 'x', message: hb({ seq: 2 }) }]);
    expect(fresh.state.quorate).toBe(true);
  });

  it('rejects a replay and an old incarnation', () => {
    const r = run(s0, [
      { type: 'message', link: 'lan', from: 'x', message: hb({ boot: 10, seq: 5 }) },
      { type: 'message', link: 'lan', from: 'x', message: hb({ boot: 10, seq: 5 }) },
      { type: 'message', link: 'lan', from: 'x', message: hb({ boot: 11, seq: 1 }) },
      { type: 'message', link: 'lan', from: 'x', message: hb({ boot: 10, seq: 6 }) },
    ]);
    expect(r.state.drops.replayed).toBe(2);
    // A newer incarnation is on probation until the previous one has been silent for a dead time.
    expect(r.events).not.toContain('node-restarted');
    expect(Object.values(r.state.peers)[0]?.restart).toMatchObject({ boot: 11, previous: 10 });
    let t = r.state;
    const later: string[] = [];
    for (let i = 0; i < 8; i++) {
      const x = step(t, { type: 'tick' });
      t = x.state;
      later.push(...x.events.map((e) => e.type));
    }
    expect(later).toContain('node-restarted');
  });

  it('answers the safety questions per policy', () => {
    const up = run(s0, [{ type: 'message', link: 'lan', from: 'x', message: hb() }]).state;
    const lost = run(
      up,
      Array.from({ length: 7 }, () => ({ type: 'tick' }) as const),
    ).state;
    expect(mayRunResources(lost)).toBe(true);
    expect(peerSafelyDown(lost, 'serv2')).toBe(false);
    const fenced = run(lost, [{ type: 'fence-result', node: 'serv2', ok: true }]).state;
    expect(peerSafelyDown(fenced, 'serv2')).toBe(true);
    // An unsolicited result changes nothing.
    expect(run(up, [{ type: 'fence-result', node: 'serv2', ok: true }]).events).toEqual([]);
    expect(peerSafelyDown(up, 'serv2')).toBe(false);
    expect(peerSafelyDown(up, 'nobody')).toBe(false);
  });

  it('witness policy: a node starting alone is not isolated before the startup grace', () => {
    let s = initialState(
      { self: 'serv1', nodes, twoNode: true, waitForAll: false, partitionPolicy: 'witness', startupGraceTicks: 10, witnessGraceTicks: 5 },
      { boot: 1 },
    );
    s = run(
      s,
      Array.from({ length: 5 }, () => ({ type: 'tick' }) as const),
    ).state;
    expect(s.isolated).toBe(false);
    expect(mayRunResources(s)).toBe(false); // no witness report yet
    s = run(s, [{ type: 'witness', reachable: true }]).state;
    expect(mayRunResources(s)).toBe(true);
    expect(peerSafelyDown(s, 'serv2')).toBe(false);
    s = run(s, Array.from({ length: 15 }, () => [{ type: 'witness', reachable: true }, { type: 'tick' }] as const).flat()).state;
    expect(peerSafelyDown(s, 'serv2')).toBe(true);
    // Losing the witness now, with the peer still unaccounted for, isolates the node for good.
    s = run(s, [{ type: 'witness', reachable: false }, { type: 'tick' }]).state;
    expect(s.isolated).toBe(true);
    s = run(s, [{ type: 'witness', reachable: true }, { type: 'tick' }]).state;
    expect(mayRunResources(s)).toBe(false);
  });

  it('a leaving node stops running and tells its peers', () => {
    const up = run(s0, [{ type: 'message', link: 'lan', from: 'x', message: hb() }]).state;
    const r = step(up, { type: 'leave' });
    expect(r.outbox.map((o) => `${o.message.type}/${o.link}`)).toEqual(['leave/crossover', 'leave/lan']);
    expect(mayRunResources(r.state)).toBe(false);
    expect(step(r.state, { type: 'tick' }).outbox).toEqual([]);
  });
});
