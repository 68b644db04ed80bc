/**
 * The node-criteria stage (locations.ts) on its own: each of its steps — symmetric defaults,
 * location constraints (groups, clones, the Promoted role, patterns), stickiness, node health,
 * migration-threshold bans, exclusive discovery — read from the score book it returns, by the
 * typed cause of each contribution.
 */
import { INFINITY, type ClusterConfigInput, type ClusterStatusInput } from '@paceline/model';
import type { ScoreBook } from '../src/scores.js';
import { applyNodeCriteria } from '../src/locations.js';
import { indexFailCounts } from '../src/failcounts.js';
import { NOW, deepFreeze, upToAssign } from './stages.js';

const prim = (id: string, meta: Record<string, unknown> = {}) => ({ type: 'primitive' as const, id, agent: 'ocf:heartbeat:Dummy', meta });
const online = (name: string, extra: Record<string, unknown> = {}) => ({ name, state: 'online' as const, ...extra });
const started = (resource: string) => ({ resource, ops: [{ action: 'start', callId: 1, rc: 0, expectedRc: 0 }] });
const twoNodes = [{ name: 'n1' }, { name: 'n2' }];

function criteria(config: Partial<ClusterConfigInput>, status: ClusterStatusInput = { nodes: [online('n1'), online('n2')] }) {
  return upToAssign({ nodes: twoNodes, properties: { stonithEnabled: false, ...config.properties }, resources: [], ...config } as ClusterConfigInput, status)
    .criteria;
}
const table = (book: ScoreBook, rsc: string) => Object.fromEntries(book.tables.get(rsc) ?? []);
const causes = (book: ScoreBook, rsc: string, node: string) => (book.contributions.get(rsc)?.get(node) ?? []).map((c) => [c.cause.kind, c.score]);

describe('node criteria stage', () => {
  test('a symmetric cluster allows every node at 0; an opt-in one only where a location allows', () => {
    expect(table(criteria({ resources: [prim('a')] }).book, 'a')).toEqual({ n1: 0, n2: 0 });
    const optIn = criteria({
      properties: { stonithEnabled: false, symmetricCluster: false },
      resources: [prim('a')],
      constraints: [{ type: 'location', id: 'a-on-n2', resource: 'a', node: 'n2', score: 10 }],
    });
    expect(table(optIn.book, 'a')).toEqual({ n2: 10 });
    expect(optIn.book.contributions.get('a')?.get('n2')?.[0]?.cause).toEqual({ kind: 'location', constraint: 'a-on-n2' });
  });

  test("a group's location goes to its first member (the others get 0 there); a clone's to every instance", () => {
    const { book } = criteria({
      properties: { stonithEnabled: false, symmetricCluster: false },
      resources: [
        { type: 'group', id: 'g', members: [prim('g1'), prim('g2')] },
        { type: 'clone', id: 'cl', child: prim('c') },
      ],
      constraints: [
        { type: 'location', id: 'g-n1', resource: 'g', node: 'n1', score: 50 },
        { type: 'location', id: 'cl-n2', resource: 'cl', node: 'n2', score: 7 },
      ],
    });
    expect(table(book, 'g1')).toEqual({ n1: 50 });
    expect(table(book, 'g2')).toEqual({ n1: 0 });
    expect(table(book, 'c:0')).toEqual({ n2: 7 });
    expect(table(book, 'c:1')).toEqual({ n2: 7 });
  });

  test('role=Promoted locations are kept aside for promotion; a location that matches nothing is a warning', () => {
    const c = criteria({
      resources: [{ type: 'clone', id: 'ms', promotable: true, child: prim('p') }],
      constraints: [
        { type: 'location', id: 'ms-promoted', resource: 'ms', role: 'Promoted', node: 'n1', score: 100 },
        { type: 'location', id: 'nothing', resourcePattern: '^zz', node: 'n1', score: 1 },
      ],
    });
    expect(table(c.book, 'p:0')).toEqual({ n1: 0, n2: 0 });
    expect(c.promotedLocations.map((p) => [p.rsc.id, p.node, p.score, p.id])).toEqual([['ms', 'n1', 100, 'ms-promoted']]);
    expect(c.warnings).toEqual(['location nothing: no resource matches']);
  });

  test('stickiness goes to the one node a managed resource is active on (an unmanaged one is pinned there instead)', () => {
    const { book } = criteria(
      { resources: [prim('a', { stickiness: 25 }), prim('b', { stickiness: 25, isManaged: false })] },
      { nodes: [online('n1', { history: [started('a'), started('b')] }), online('n2')] },
    );
    expect(table(book, 'a')).toEqual({ n1: 25, n2: 0 });
    expect(causes(book, 'a', 'n1')).toEqual([['stickiness', 25]]);
    expect(causes(book, 'b', 'n1')).toEqual([['history', INFINITY]]);
  });

  test('migration-threshold reached bans the node (every instance of an anonymous clone)', () => {
    const { book } = criteria(
      { resources: [prim('a', { migrationThreshold: 2 }), { type: 'clone', id: 'cl', child: prim('c', { migrationThreshold: 1 }) }] },
      {
        nodes: [
          online('n1', {
            failures: [
              { resource: 'a', count: 2 },
              { resource: 'c', count: 1 },
            ],
          }),
          online('n2'),
        ],
      },
    );
    expect(table(book, 'a').n1).toBe(-INFINITY);
    expect(book.contributions.get('a')?.get('n1')?.at(-1)?.cause).toEqual({ kind: 'ban', ban: { kind: 'fail-count', count: 2, threshold: 2 } });
    expect(table(book, 'c:0').n1).toBe(-INFINITY);
    expect(table(book, 'c:1').n1).toBe(-INFINITY);
    expect(table(book, 'a').n2).toBe(0);
  });

  test('resource-discovery=exclusive bans every node the constraint does not mark', () => {
    const { book, discovery } = criteria({
      resources: [prim('a')],
      constraints: [{ type: 'location', id: 'only-n1', resource: 'a', node: 'n1', score: 0, resourceDiscovery: 'exclusive' }],
    });
    expect(discovery.get('a')?.get('n1')).toBe('exclusive');
    expect(table(book, 'a')).toEqual({ n1: 0, n2: -INFINITY });
    expect(causes(book, 'a', 'n2')).toEqual([['ban', -INFINITY]]);
  });

  test('node health: a red node bans resources under migrate-on-red, except those allowed on unhealthy nodes', () => {
    const { book } = criteria(
      { properties: { stonithEnabled: false, nodeHealthStrategy: 'migrate-on-red' }, resources: [prim('a'), prim('b', { allowUnhealthyNodes: true })] },
      { nodes: [online('n1', { attributes: { '#health-disk': 'red' } }), online('n2', { attributes: { '#health-disk': 'green' } })] },
    );
    expect(table(book, 'a')).toEqual({ n1: -INFINITY, n2: 0 });
    expect(causes(book, 'a', 'n1')).toEqual([['node-health', -INFINITY]]);
    expect(table(book, 'b')).toEqual({ n1: 0, n2: 0 });
  });

  test("never writes into its inputs (the earlier stages' outputs, frozen)", () => {
    const s = upToAssign(
      {
        properties: { stonithEnabled: false },
        nodes: twoNodes,
        resources: [prim('a', { stickiness: 5 }), { type: 'group', id: 'g', members: [prim('g1'), prim('g2')] }],
        constraints: [{ type: 'location', id: 'l', resource: 'g', node: 'n2', score: 10, resourceDiscovery: 'exclusive' }],
      },
      { nodes: [online('n1', { history: [started('a')], failures: [{ resource: 'a', count: 3 }] }), online('n2')] },
    );
    const fails = indexFailCounts(s.status, NOW);
    const frozen = applyNodeCriteria(s.config, deepFreeze(s.tree), deepFreeze(s.nodes), deepFreeze(s.unpacked), fails, NOW);
    for (const id of ['a', 'g1', 'g2']) expect(table(frozen.book, id)).toEqual(table(s.criteria.book, id));
  });
});
