import { MembershipSettings, validateConfig } from '@paceline/model';

const nodes = [
  { name: 'serv1', addresses: { lan: '10.0.0.1', crossover: '10.1.0.1' } },
  { name: 'serv2', addresses: { lan: '10.0.0.2', crossover: '10.1.0.2' } },
];

describe('the membership section', () => {
  it('is optional, and keeps what is written without filling in defaults', () => {
    expect(validateConfig({ nodes }).config?.membership).toBeUndefined();
    const r = validateConfig({ nodes, membership: { profile: 'fast', partitionPolicy: 'stop-all', links: { lan: { deadTicks: 10 } } } });
    expect(r.issues).toEqual([]);
    expect(r.config?.membership).toEqual({ profile: 'fast', partitionPolicy: 'stop-all', links: { lan: { deadTicks: 10 } } });
  });

  it.each([
    [{ partitionPolicy: 'fence-all' }, 'membership.partitionPolicy', /fence/],
    [{ deadTick: 8 }, 'membership', /unknown field "deadTick"/],
    [{ deadTicks: 0 }, 'membership.deadTicks', /./],
    [{ twoNode: true, preferredNode: 'serv3' }, 'membership.preferredNode', /"serv3" is not one of the nodes \(serv1, serv2\)/],
    [{ links: { wan: { deadTicks: 9 } } }, 'membership.links.wan', /no node has an address on a link named "wan" \(links: crossover, lan\)/],
    [{ warnTicks: 8, deadTicks: 6 }, 'membership.warnTicks', /warnTicks \(8\) exceeds deadTicks \(6\)/],
  ])('%j is refused at %s', (membership, path, message) => {
    const r = validateConfig({ nodes, membership });
    expect(r.config).toBeUndefined();
    expect(r.issues).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  it('refuses two-node mode without exactly two nodes', () => {
    const r = validateConfig({ nodes: [...nodes, { name: 'serv3', addresses: { lan: '10.0.0.3' } }], membership: { twoNode: true } });
    expect(r.issues).toContainEqual({ path: 'membership.twoNode', message: 'two-node mode needs exactly 2 nodes, not 3' });
  });

  it("is the schema of the daemon's per-node overrides", () => {
    expect(MembershipSettings.safeParse({ deadTicks: 30 }).success).toBe(true);
    expect(MembershipSettings.safeParse({ self: 'serv1' }).success).toBe(false);
  });
});
