/**
 * The transition graph built on first read (graph.ts) and probes kept as one record per primitive
 * (action-set.ts, ProbeBlock): the transition reads as it did when both were built eagerly.
 */
import { ClusterConfig, ClusterStatus, type ClusterConfigInput, type ClusterStatusInput } from '@paceline/model';
import { graphFencing, schedule } from '@paceline/scheduler';

const NOW = Date.UTC(2026, 0, 1);
const prim = (id: string) => ({ type: 'primitive' as const, id, agent: 'ocf:heartbeat:Dummy', ops: [{ name: 'monitor' as const, interval: '10s' }] });
const started = (resource: string) => ({ resource, ops: [{ action: 'start', callId: 1, rc: 0, expectedRc: 0 }] });
const probedStopped = (resource: string) => ({ resource, ops: [{ action: 'monitor', interval: 0, callId: 1, rc: 7, expectedRc: 7 }] });
const run = (config: ClusterConfigInput, status: ClusterStatusInput) =>
  schedule({ config: ClusterConfig.parse(config), status: ClusterStatus.parse(status), now: NOW });

const fencing: [ClusterConfigInput, ClusterStatusInput] = [
  {
    properties: { stonithEnabled: true },
    nodes: [{ name: 'n1' }, { name: 'n2' }],
    resources: [{ type: 'primitive', id: 'fence', agent: 'stonith:fence_dummy' }, prim('a')],
  },
  {
    nodes: [
      { name: 'n1', state: 'unclean', history: [started('a')] },
      { name: 'n2', state: 'online', history: [started('fence'), probedStopped('a')] },
    ],
  },
];

describe('the graph, built when read', () => {
  test('keeps the transition key order (its JSON is unchanged)', () => {
    expect(Object.keys(run(...fencing))).toEqual(['current', 'placement', 'actions', 'edges', 'summary', 'warnings', 'explanation']);
  });

  test('graphFencing gives the fencing actions before the graph is read, as the graph lists them', () => {
    const t = run(...fencing);
    const early = graphFencing(t);
    expect(early.map((a) => a.id)).toEqual(['fence n1']);
    expect(early).toEqual(t.actions.filter((a) => a.kind === 'fence'));
    expect(graphFencing(t)).toEqual(early);
    // A copy is not the transition schedule() returned: its actions are read.
    expect(graphFencing({ ...t })).toEqual(early);
  });

  test('probes stand between a primitive’s own actions and its monitors; one that cannot run holds its start', () => {
    const t = run(
      { properties: { stonithEnabled: false }, nodes: [{ name: 'n1' }, { name: 'n2' }, { name: 'n3' }], resources: [prim('a'), prim('b')] },
      {
        nodes: [
          { name: 'n1', state: 'online' },
          { name: 'n2', state: 'pending' },
          { name: 'n3', state: 'online' },
        ],
      },
    );
    expect(t.actions.map((a) => `${a.id}${a.runnable ? '' : ' (cannot run)'}`)).toEqual([
      'a_start_0 n1 (cannot run)',
      'a_probe_0 n1',
      'a_probe_0 n2 (cannot run)',
      'a_probe_0 n3',
      'a_monitor_10000 n1',
      'b_start_0 n3 (cannot run)',
      'b_probe_0 n1',
      'b_probe_0 n2 (cannot run)',
      'b_probe_0 n3',
      'b_monitor_10000 n3',
    ]);
    expect(t.edges.filter((e) => e.after === 'a_start_0 n1').map((e) => e.before)).toEqual(['a_probe_0 n2', 'a_probe_0 n1', 'a_probe_0 n3']);
  });
});
