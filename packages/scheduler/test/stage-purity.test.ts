/**
 * "A stage never changes an earlier stage's output": the pipeline runs with every stage's output
 * deep-frozen before the next stage reads it (Maps and Sets included; see stages.ts), and must give
 * the same transition as `schedule`. The scenarios and the clusters below exercise what used to
 * write back: assign noting into the node criteria's score book, propagation flipping flags on
 * the created actions, clone-min points kept in a module-level WeakMap, unpack marking nodes.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { ClusterConfig, ClusterStatus, parseConfig, parseStatus, type ClusterConfigInput, type ClusterStatusInput } from '@paceline/model';
import { schedule, type ScheduleInput } from '../src/schedule.js';
import { runPipeline } from '../src/schedule.js';
import { deepFreeze, NOW } from './stages.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');
const prim = (id: string, meta: Record<string, unknown> = {}) => ({ type: 'primitive' as const, id, agent: 'ocf:heartbeat:Dummy', meta });
const online = (name: string, extra: Record<string, unknown> = {}) => ({ name, state: 'online' as const, ...extra });
const started = (resource: string, callId = 1) => ({ resource, ops: [{ action: 'start', callId, rc: 0, expectedRc: 0 }] });
const failedMonitor = (resource: string) => ({
  resource,
  ops: [
    { action: 'start', callId: 1, rc: 0, expectedRc: 0 },
    { action: 'monitor', interval: 10000, callId: 2, rc: 1, expectedRc: 0 },
  ],
});
const monitoredWith = (id: string, onFail: string) => ({ ...prim(id), ops: [{ name: 'monitor' as const, interval: '10s', onFail }] });
const three = { properties: { stonithEnabled: false }, nodes: [{ name: 'n1' }, { name: 'n2' }, { name: 'n3' }] };

const clusters: { name: string; config: ClusterConfigInput; status: ClusterStatusInput }[] = [
  {
    name: 'clone-min ordering (a one-or-more point) and interleaved clones with an unpaired instance',
    config: {
      ...three,
      resources: [
        { type: 'clone', id: 'base', child: prim('b'), meta: { cloneMax: 2, cloneMin: 2 } },
        { type: 'clone', id: 'top', child: prim('t'), meta: { interleave: true } },
        { type: 'clone', id: 'web', child: prim('w'), meta: { interleave: true } },
        prim('after'),
      ],
      constraints: [
        { type: 'order', id: 'base-then-after', first: 'base', then: 'after' },
        { type: 'order', id: 'top-then-web', first: 'top', then: 'web' },
        { type: 'location', id: 'no-top-n3', resource: 'top', node: 'n3', score: '-INFINITY' },
      ],
    },
    status: { nodes: [online('n1', { history: [started('b:0')] }), online('n2'), online('n3')] },
  },
  {
    name: 'failures that fence and put a node in standby (unpack marks its own node copies)',
    config: {
      properties: { stonithEnabled: true },
      nodes: [{ name: 'n1' }, { name: 'n2' }, { name: 'n3' }],
      resources: [{ type: 'primitive', id: 'fence', agent: 'stonith:fence_dummy' }, monitoredWith('a', 'fence'), monitoredWith('b', 'standby'), prim('c')],
      constraints: [
        { type: 'order', id: 'a-then-c', first: 'a', then: 'c' },
        { type: 'colocation', id: 'c-with-a', resource: 'c', withResource: 'a', score: 'INFINITY' },
      ],
    },
    status: {
      nodes: [
        online('n1', { history: [failedMonitor('a'), started('c', 3)] }),
        online('n2', { history: [failedMonitor('b'), started('fence')] }),
        online('n3'),
      ],
    },
  },
];

function same(input: ScheduleInput): void {
  const expected = JSON.stringify(schedule(input));
  const frozen = runPipeline(input, (_stage, value) => deepFreeze(value));
  expect(JSON.stringify(frozen)).toBe(expected);
}

describe("every stage leaves the earlier stages' outputs as they were", () => {
  test.each(
    readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort(),
  )('scenario %s', (file) => {
    const doc = parseYaml(readFileSync(join(dir, file), 'utf8')) as { now: string; config: unknown; status: unknown };
    same({ config: parseConfig(doc.config, file), status: parseStatus(doc.status, file), now: Date.parse(doc.now) });
  });

  test.each(clusters)('$name', ({ config, status }) => {
    same({ config: ClusterConfig.parse(config), status: ClusterStatus.parse(status), now: NOW });
  });

  test('the freezing is real: a write into a sealed Map, Set, array or object throws', () => {
    const sealed = deepFreeze({ m: new Map([['a', 1]]), s: new Set([1]), l: [{ x: 1 }] });
    expect(() => sealed.m.set('b', 2)).toThrow(TypeError);
    expect(() => sealed.s.add(2)).toThrow(TypeError);
    expect(() => (sealed.l as { x: number }[]).push({ x: 2 })).toThrow(TypeError);
    expect(() => {
      (sealed.l[0] as { x: number }).x = 2;
    }).toThrow(TypeError);
  });
});
