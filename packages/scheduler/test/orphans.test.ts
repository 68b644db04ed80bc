/**
 * Issue 16 ("Hardening"), item 1: an orphan (history, no configuration) is stopped on each node with
 * the definition that node recorded for it — the scheduler reads it from the status, purely.
 */
import { ClusterConfig, ClusterStatus } from '@paceline/model';
import { schedule } from '@paceline/scheduler';

const NOW = Date.UTC(2026, 0, 1);
const config = ClusterConfig.parse({
  properties: { stonithEnabled: false },
  nodes: [{ name: 'n1' }, { name: 'n2' }],
  resources: [{ type: 'primitive', id: 'keep', agent: 'paceline:dummy' }],
});
const started = (params?: Record<string, unknown>) => ({
  resource: 'orph',
  agent: 'paceline:process',
  ...(params ? { params } : {}),
  ops: [{ action: 'start', callId: 1, rc: 0, expectedRc: 0 }],
});

test('each node stops an orphan with the definition it recorded', () => {
  const status = ClusterStatus.parse({
    nodes: [
      { name: 'n1', state: 'online', history: [started({ command: 'sleep', args: ['300'] })] },
      { name: 'n2', state: 'online', history: [started({ command: 'sleep', args: ['400'] })] },
    ],
  });
  const t = schedule({ config, status, now: NOW });
  const stops = t.actions.filter((a) => a.kind === 'stop' && a.resource === 'orph');
  expect(stops.map((a) => [a.node, a.runnable, a.definition])).toEqual([
    ['n1', true, { agent: 'paceline:process', params: { command: 'sleep', args: ['300'] } }],
    ['n2', true, { agent: 'paceline:process', params: { command: 'sleep', args: ['400'] } }],
  ]);
});

test('a history without parameters (an imported CIB) gives no definition: the graph is as before', () => {
  const status = ClusterStatus.parse({
    nodes: [
      { name: 'n1', state: 'online', history: [started()] },
      { name: 'n2', state: 'online' },
    ],
  });
  const stop = schedule({ config, status, now: NOW }).actions.find((a) => a.kind === 'stop' && a.resource === 'orph');
  expect(stop).toBeDefined();
  expect(stop?.definition).toBeUndefined();
});
