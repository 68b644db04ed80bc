import { MembershipError, TIMING_PROFILES, clusterWideSettings, initialState, membershipNodes, reconfigure, resolveConfig } from '@paceline/membership';

const nodes = [
  { name: 'serv1', links: ['crossover', 'lan'] },
  { name: 'serv2', links: ['crossover', 'lan'] },
];

describe('membership configuration', () => {
  it('applies the default profile and derives peers and links', () => {
    const c = resolveConfig({ self: 'serv2', nodes, twoNode: true });
    expect(c).toMatchObject({ ...TIMING_PROFILES.default, waitForAll: true, preferred: 'serv1', selfLinks: ['crossover', 'lan'] });
    expect(c.peerLinks).toEqual({ serv1: ['crossover', 'lan'] });
  });

  it.each<[string, object, RegExp]>([
    ['self not a node', { self: 'serv3', nodes }, /self: "serv3" is not one of the nodes/],
    ['two-node with three nodes', { self: 'serv1', nodes: [...nodes, { name: 'serv3', links: ['lan'] }], twoNode: true }, /exactly 2 nodes/],
    ['a duplicate node', { self: 'serv1', nodes: [...nodes, nodes[0]] }, /listed twice/],
    ['no shared link', { self: 'serv1', nodes: [nodes[0], { name: 'serv2', links: ['other'] }] }, /shares no heartbeat link/],
    ['warn after dead', { self: 'serv1', nodes, warnTicks: 9 }, /warnTicks \(9\) exceeds deadTicks \(6\)/],
    ['an unknown preferred node', { self: 'serv1', nodes, preferredNode: 'x' }, /preferredNode: "x"/],
    ['timing for an unknown link', { self: 'serv1', nodes, links: { wifi: { deadTicks: 9 } } }, /links\.wifi: no node has a link named "wifi"/],
    ['a bad policy', { self: 'serv1', nodes, partitionPolicy: 'pray' }, /partitionPolicy/],
  ])('rejects %s with a clear message', (_n, input, message) => {
    expect(() => resolveConfig(input as never)).toThrow(MembershipError);
    expect(() => resolveConfig(input as never)).toThrow(message);
  });

  it('takes timing defaults from a profile, explicit values winning', () => {
    expect(resolveConfig({ self: 'serv1', nodes, profile: 'fast' })).toMatchObject(TIMING_PROFILES.fast);
    expect(resolveConfig({ self: 'serv1', nodes, profile: 'fast', deadTicks: 8 })).toMatchObject({ tickMs: 25, deadTicks: 8 });
    expect(() => resolveConfig({ self: 'serv1', nodes, profile: 'ludicrous' } as never)).toThrow(/profile/);
  });

  it('says the settings every node must share, flattened, without the node itself', () => {
    const a = clusterWideSettings(resolveConfig({ self: 'serv1', nodes, twoNode: true, links: { lan: { deadTicks: 10 } } }));
    const b = clusterWideSettings(resolveConfig({ self: 'serv2', nodes, twoNode: true, links: { lan: { deadTicks: 10 } } }));
    expect(a).toEqual(b);
    expect(a).toMatchObject({
      tickMs: 50,
      deadTicks: 6,
      twoNode: true,
      waitForAll: true,
      partitionPolicy: 'fence',
      preferredNode: 'serv1',
      arbiter: false,
      'links.lan.deadTicks': 10,
    });
    expect(Object.keys(a)).toEqual([...Object.keys(a)].sort());
    expect(clusterWideSettings(resolveConfig({ self: 'serv2', nodes, profile: 'fast' }))).toMatchObject({ tickMs: 25 });
  });

  it('reconfigures a running state with new settings but not new nodes', () => {
    const s = initialState({ self: 'serv1', nodes, twoNode: true }, { boot: 1 });
    const next = reconfigure(s, resolveConfig({ self: 'serv1', nodes, twoNode: true, partitionPolicy: 'stop-all' }));
    expect(next.config.partitionPolicy).toBe('stop-all');
    expect(next.peers).toBe(s.peers);
    expect(() => reconfigure(s, resolveConfig({ self: 'serv1', nodes: [...nodes, { name: 'serv3', links: ['lan'] }] }))).toThrow(/restart/);
  });

  it('builds nodes from the cluster configuration', () => {
    expect(membershipNodes([{ name: 'a', addresses: { lan: '10.0.0.1', crossover: '10.1.0.1' } }])).toEqual([{ name: 'a', links: ['crossover', 'lan'] }]);
  });

  it('a single-node cluster is quorate at once; two-node with waitForAll is not', () => {
    expect(initialState({ self: 'a', nodes: [{ name: 'a', links: ['lan'] }] }, { boot: 1 }).quorate).toBe(true);
    expect(initialState({ self: 'serv1', nodes, twoNode: true }, { boot: 1 }).quorate).toBe(false);
    expect(initialState({ self: 'serv1', nodes, twoNode: true, waitForAll: false }, { boot: 1 }).quorate).toBe(true);
  });
});
