import { MembershipHarness } from '@paceline/testkit';

const nodes = ['serv1', 'serv2'].map((name) => ({ name, links: ['crossover', 'lan'] }));

describe('MembershipHarness', () => {
  it('is deterministic for a seed', () => {
    const run = (): string[] => {
      const h = new MembershipHarness({ nodes, config: { twoNode: true }, seed: 11, fencing: 'auto' });
      h.start('serv1');
      h.start('serv2');
      h.network.setLoss('lan', 0.5);
      h.run(50);
      h.kill('serv2');
      h.run(50);
      return MembershipHarness.format(h.trace);
    };
    const a = run();
    expect(a.length).toBeGreaterThan(10);
    expect(run()).toEqual(a);
    expect(a).toContain('57 serv1 node-lost node=serv2');
  });

  it('injects attacks that are dropped and counted', () => {
    const h = new MembershipHarness({ nodes, config: { twoNode: true } });
    h.start('serv1');
    h.start('serv2');
    h.run(2);
    for (const a of ['forged', 'truncated', 'oversized', 'malformed', 'stale', 'replay', 'wrong-link', 'unknown-sender'] as const)
      h.inject(a, 'lan', 'serv2', 'serv1');
    const drops = h.state('serv1').drops;
    expect(Object.values(drops).reduce((x, y) => x + y, 0)).toBe(8);
    expect(h.state('serv1').members).toEqual(['serv1', 'serv2']);
  });

  it('simulated fencing kills the target and confirms to the requester', () => {
    const h = new MembershipHarness({ nodes, config: { twoNode: true }, fencing: 'auto', fenceTicks: 3 });
    h.start('serv1');
    h.start('serv2');
    h.run(2);
    h.network.partition('lan', [['serv1'], ['serv2']]);
    h.network.partition('crossover', [['serv1'], ['serv2']]);
    h.run(20);
    expect(h.aliveNodes()).toEqual(['serv1']);
    expect(MembershipHarness.format(h.trace).filter((l) => l.includes('fence'))).toEqual([
      '9 serv1 fence-requested node=serv2',
      '9 serv2 fence-pending node=serv1 delayTicks=20',
      '12 serv1 fence-confirmed node=serv2',
    ]);
  });
});

describe('InMemoryTransport', () => {
  it('carries signed messages between two state machines and stops after dispose', async () => {
    const { InMemoryNetwork, InMemoryTransport, Prng, SimulatedClock } = await import('@paceline/testkit');
    const { initialState, step } = await import('@paceline/membership');
    const clock = new SimulatedClock(1_000_000);
    const network = new InMemoryNetwork<Buffer>(['crossover', 'lan'], new Prng(1));
    const key = Buffer.alloc(32, 3);
    const states = new Map(['serv1', 'serv2'].map((n) => [n, initialState({ self: n, nodes, twoNode: true }, { boot: 1 })]));
    const transports = ['serv1', 'serv2'].map(
      (self) => new InMemoryTransport({ network, self, key, now: () => clock.now(), onInput: (i) => states.set(self, step(states.get(self)!, i).state) }),
    );
    for (let t = 0; t < 3; t++) {
      ['serv1', 'serv2'].forEach((n, i) => {
        const r = step(states.get(n)!, { type: 'tick' });
        states.set(n, r.state);
        for (const o of r.outbox) transports[i]!.send(o);
      });
      network.deliver();
    }
    expect(states.get('serv1')!.members).toEqual(['serv1', 'serv2']);
    expect(states.get('serv2')!.quorate).toBe(true);
    await transports[1]!.dispose();
    expect(network.isAttached('serv2')).toBe(false);
  });
});
