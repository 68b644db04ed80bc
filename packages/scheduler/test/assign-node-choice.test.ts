/**
 * The assign stage's node choice: the ranker chain (score → strategy → fewest assigned → current
 * node → name) and the record of which ranker decided, as `explain` prints it.
 */
import { explainResource, schedule } from '@paceline/scheduler';
import { ClusterConfig, ClusterStatus, type ClusterConfigInput, type ClusterStatusInput } from '@paceline/model';
import { assignResources, NODE_RANKERS } from '../src/assign/index.js';
import { formatNodeChoice } from '../src/explain.js';
import { NOW, upToAssign } from './stages.js';

const prim = (id: string, extra: Record<string, unknown> = {}) => ({ type: 'primitive' as const, id, agent: 'ocf:heartbeat:Dummy', ...extra });
const online = (name: string, extra: Record<string, unknown> = {}) => ({ name, state: 'online' as const, ...extra });
const started = (resource: string) => ({ resource, ops: [{ action: 'start', callId: 1, rc: 0, expectedRc: 0 }] });
const serv = (extra: Record<string, unknown> = {}) => ({ properties: { stonithEnabled: false, ...extra }, nodes: [{ name: 'serv1' }, { name: 'serv2' }] });

function choices(config: ClusterConfigInput, status: ClusterStatusInput) {
  const s = upToAssign(config, status);
  return assignResources(s.tree, s.nodes, s.unpacked, s.criteria.book, s.colocations, s.opts).choices;
}

describe('node choice', () => {
  test('the chain is declared in Pacemaker order', () => {
    expect(NODE_RANKERS.map((r) => r.name)).toEqual(['score', 'strategy', 'fewest-assigned', 'current-node', 'name']);
  });

  test.each([
    {
      name: 'a higher score decides',
      config: { ...serv(), resources: [prim('a')], constraints: [{ type: 'location', id: 'l', resource: 'a', node: 'serv2', score: 10 }] },
      status: { nodes: [online('serv1'), online('serv2')] },
      expect: { a: { node: 'serv2', decidedBy: 'score', runnerUp: 'serv1' } },
    },
    {
      name: 'on equal scores, the node with fewer resources',
      config: { ...serv(), resources: [prim('a'), prim('b')] },
      status: { nodes: [online('serv1'), online('serv2')] },
      expect: { a: { node: 'serv1', decidedBy: 'name' }, b: { node: 'serv2', decidedBy: 'fewest-assigned', runnerUp: 'serv1' } },
    },
    {
      name: 'on equal scores and load, the current node (stickiness 0)',
      config: { ...serv(), resources: [prim('a', { meta: { stickiness: 0 } })] },
      status: { nodes: [online('serv1'), online('serv2', { history: [started('a')] })] },
      expect: { a: { node: 'serv2', decidedBy: 'current-node', runnerUp: 'serv1' } },
    },
    {
      name: 'placement-strategy=minimal: the first node by name, whatever the load',
      config: { ...serv({ placementStrategy: 'minimal' }), resources: [prim('a'), prim('b')] },
      status: { nodes: [online('serv1'), online('serv2')] },
      expect: { a: { node: 'serv1', decidedBy: 'strategy' }, b: { node: 'serv1', decidedBy: 'strategy', runnerUp: 'serv2' } },
    },
    {
      name: 'a single usable node',
      config: { ...serv(), resources: [prim('a')] },
      status: { nodes: [online('serv1', { standby: true }), online('serv2')] },
      expect: { a: { node: 'serv2', decidedBy: 'only-candidate' } },
    },
  ])('$name', ({ config, status, expect: expected }) => {
    const got = choices(config as ClusterConfigInput, status as ClusterStatusInput);
    for (const [id, want] of Object.entries(expected)) expect(got.get(id)).toMatchObject(want);
  });

  test('explain says why serv2 won over serv1', () => {
    const t = schedule({
      config: ClusterConfig.parse({ ...serv(), resources: [prim('a'), prim('b')] }),
      status: ClusterStatus.parse({ nodes: [online('serv1'), online('serv2')] }),
      now: NOW,
    });
    expect(explainResource(t, 'b')).toContain('b: placed on serv2 (score 0); serv2 over serv1: equal score, fewer resources (0 < 1)');
  });

  test('every ranker has a sentence', () => {
    const base = { node: 'serv2', runnerUp: 'serv1', scores: [5, 5] as const };
    expect(formatNodeChoice({ ...base, decidedBy: 'score', scores: [10, 0] })).toBe('serv2 over serv1: higher score (10 > 0)');
    expect(formatNodeChoice({ ...base, decidedBy: 'strategy' }, 'balanced')).toBe(
      'serv2 over serv1: equal score, more free capacity (placement-strategy=balanced)',
    );
    expect(formatNodeChoice({ ...base, decidedBy: 'strategy' }, 'minimal')).toBe('serv2 over serv1: equal score, first by name (placement-strategy=minimal)');
    expect(formatNodeChoice({ ...base, decidedBy: 'fewest-assigned', compared: [0, 2] })).toBe('serv2 over serv1: equal score, fewer resources (0 < 2)');
    expect(formatNodeChoice({ ...base, decidedBy: 'current-node' })).toBe('serv2 over serv1: equal score, it is active there');
    expect(formatNodeChoice({ ...base, decidedBy: 'name' })).toBe('serv2 over serv1: equal score and load, first by name');
    expect(formatNodeChoice({ node: 'serv2', decidedBy: 'only-candidate' })).toBe('serv2: the only node that can run it');
  });
});
