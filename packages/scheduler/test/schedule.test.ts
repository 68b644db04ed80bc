import { ClusterConfig, ClusterStatus, paramsDigest, type ClusterConfigInput, type ClusterStatusInput } from '@paceline/model';
import { schedule, explainResource, formatExplanation, applyTransition } from '@paceline/scheduler';

const NOW = Date.UTC(2026, 0, 1);
const prim = (id: string, meta: Record<string, unknown> = {}) => ({ type: 'primitive' as const, id, agent: 'ocf:heartbeat:Dummy', meta });
const started = (resource: string, callId = 1) => ({ resource, ops: [{ action: 'start', callId, rc: 0, expectedRc: 0 }] });
const probedStopped = (resource: string) => ({ resource, ops: [{ action: 'monitor', interval: 0, callId: 1, rc: 7, expectedRc: 7 }] });

function run(config: ClusterConfigInput, status: ClusterStatusInput) {
  return schedule({ config: ClusterConfig.parse(config), status: ClusterStatus.parse(status), now: NOW });
}
const twoNodes = { properties: { stonithEnabled: false }, nodes: [{ name: 'n1' }, { name: 'n2' }] };
const online = (name: string, extra: Record<string, unknown> = {}) => ({ name, state: 'online' as const, ...extra });
const summary = (t: ReturnType<typeof run>) =>
  t.summary.map((l) => `${l.action} ${l.resource ?? l.node} ${l.from ?? '-'}->${l.to ?? '-'}${l.blocked ? ' blocked' : ''}`).sort();

describe('schedule (table-driven)', () => {
  const cases: { name: string; config: ClusterConfigInput; status: ClusterStatusInput; expect: string[] }[] = [
    {
      name: 'starts a stopped resource on the first node',
      config: { ...twoNodes, resources: [prim('a')] },
      status: { nodes: [online('n1'), online('n2')] },
      expect: ['start a -->n1'],
    },
    {
      name: 'nothing to do when running',
      config: { ...twoNodes, resources: [prim('a')] },
      status: { nodes: [online('n1', { history: [started('a')] }), online('n2', { history: [probedStopped('a')] })] },
      expect: [],
    },
    {
      name: 'moves off a standby node',
      config: { ...twoNodes, resources: [prim('a')] },
      status: { nodes: [online('n1', { standby: true, history: [started('a')] }), online('n2', { history: [probedStopped('a')] })] },
      expect: ['move a n1->n2'],
    },
    {
      name: 'location preference wins over no stickiness',
      config: { ...twoNodes, resources: [prim('a')], constraints: [{ type: 'location', id: 'l', resource: 'a', node: 'n2', score: 100 }] },
      status: { nodes: [online('n1', { history: [started('a')] }), online('n2', { history: [probedStopped('a')] })] },
      expect: ['move a n1->n2'],
    },
    {
      name: 'stickiness keeps it in place',
      config: { ...twoNodes, resources: [prim('a', { stickiness: 200 })], constraints: [{ type: 'location', id: 'l', resource: 'a', node: 'n2', score: 100 }] },
      status: { nodes: [online('n1', { history: [started('a')] }), online('n2', { history: [probedStopped('a')] })] },
      expect: [],
    },
    {
      name: 'mandatory colocation follows the primary',
      config: {
        ...twoNodes,
        resources: [prim('a'), prim('b')],
        constraints: [
          { type: 'location', id: 'l', resource: 'a', node: 'n2', score: 10 },
          { type: 'colocation', id: 'c', resource: 'b', withResource: 'a', score: 'INFINITY' },
        ],
      },
      status: { nodes: [online('n1'), online('n2')] },
      expect: ['start a -->n2', 'start b -->n2'],
    },
    {
      name: 'anti-colocation spreads',
      config: {
        ...twoNodes,
        resources: [prim('a'), prim('b')],
        constraints: [{ type: 'colocation', id: 'c', resource: 'b', withResource: 'a', score: '-INFINITY' }],
      },
      status: { nodes: [online('n1'), online('n2')] },
      expect: ['start a -->n1', 'start b -->n2'],
    },
    {
      name: 'group members run together in order',
      config: { ...twoNodes, resources: [{ type: 'group', id: 'g', members: [prim('g1'), prim('g2')] }] },
      status: { nodes: [online('n1'), online('n2')] },
      expect: ['start g1 -->n1', 'start g2 -->n1'],
    },
    {
      name: 'failed monitor is recovered in place',
      config: { ...twoNodes, resources: [prim('a')] },
      status: {
        nodes: [
          online('n1', {
            history: [
              {
                resource: 'a',
                ops: [
                  { action: 'start', callId: 1, rc: 0, expectedRc: 0 },
                  { action: 'monitor', interval: 10000, callId: 2, rc: 7, expectedRc: 0 },
                ],
              },
            ],
          }),
          online('n2', { history: [probedStopped('a')] }),
        ],
      },
      expect: ['recover a n1->n1'],
    },
    {
      name: 'migration-threshold moves it away',
      config: { ...twoNodes, resources: [prim('a', { migrationThreshold: 1 })] },
      status: {
        nodes: [
          online('n1', {
            history: [
              {
                resource: 'a',
                ops: [
                  { action: 'start', callId: 1, rc: 0, expectedRc: 0 },
                  { action: 'monitor', interval: 10000, callId: 2, rc: 7, expectedRc: 0 },
                ],
              },
            ],
            failures: [{ resource: 'a', count: 1, lastFailure: NOW - 1000 }],
          }),
          online('n2', { history: [probedStopped('a')] }),
        ],
      },
      expect: ['recover a n1->n2'],
    },
    {
      name: 'target-role Stopped stops it',
      config: { ...twoNodes, resources: [prim('a', { targetRole: 'Stopped' })] },
      status: { nodes: [online('n1', { history: [started('a')] }), online('n2')] },
      expect: ['stop a n1->-'],
    },
    {
      name: 'unclean node is fenced before recovery',
      config: {
        properties: { stonithEnabled: true },
        nodes: [{ name: 'n1' }, { name: 'n2' }],
        resources: [{ type: 'primitive', id: 'fence', agent: 'stonith:fence_dummy' }, prim('a')],
      },
      status: { nodes: [{ name: 'n1', state: 'unclean', history: [started('a')] }, online('n2', { history: [started('fence'), probedStopped('a')] })] },
      expect: ['fence n1 -->-', 'move a n1->n2'],
    },
    {
      name: 'mandatory order blocks the dependent',
      config: { ...twoNodes, resources: [prim('a', { targetRole: 'Stopped' }), prim('b')], constraints: [{ type: 'order', id: 'o', first: 'a', then: 'b' }] },
      status: { nodes: [online('n1'), online('n2')] },
      expect: ['start b -->n1 blocked'],
    },
    {
      name: 'colocation set with a negative score keeps members apart',
      config: {
        ...twoNodes,
        resources: [prim('a'), prim('b')],
        constraints: [{ type: 'colocation', id: 'apart', score: '-INFINITY', sets: [{ resources: ['a', 'b'] }] }],
      },
      status: { nodes: [online('n1'), online('n2')] },
      expect: ['start a -->n1', 'start b -->n2'],
    },
    {
      name: 'order set with require-all=false starts after any member',
      config: {
        ...twoNodes,
        resources: [prim('a', { targetRole: 'Stopped' }), prim('b'), prim('c')],
        constraints: [{ type: 'order', id: 'any', sets: [{ resources: ['a', 'b'], sequential: false, requireAll: false }, { resources: ['c'] }] }],
      },
      status: { nodes: [online('n1'), online('n2')] },
      expect: ['start b -->n1', 'start c -->n2'],
    },
    {
      name: 'utilization keeps a node from being overfilled',
      config: {
        ...twoNodes,
        properties: { stonithEnabled: false, placementStrategy: 'utilization' },
        nodes: [
          { name: 'n1', utilization: { cpu: 2 } },
          { name: 'n2', utilization: { cpu: 2 } },
        ],
        resources: [
          { ...prim('a'), utilization: { cpu: 2 } },
          { ...prim('b'), utilization: { cpu: 2 } },
        ],
        constraints: [{ type: 'location', id: 'l', resource: 'b', node: 'n1', score: 100 }],
      },
      status: { nodes: [online('n1'), online('n2')] },
      expect: ['start a -->n2', 'start b -->n1'],
    },
    {
      name: 'live migration when allowed',
      config: { ...twoNodes, resources: [prim('a', { allowMigrate: true })] },
      status: { nodes: [online('n1', { standby: true, history: [started('a')] }), online('n2', { history: [probedStopped('a')] })] },
      expect: ['migrate a n1->n2'],
    },
    {
      name: 'node health: red node is avoided with migrate-on-red',
      config: { properties: { stonithEnabled: false, nodeHealthStrategy: 'migrate-on-red' }, nodes: [{ name: 'n1' }, { name: 'n2' }], resources: [prim('a')] },
      status: { nodes: [online('n1', { attributes: { '#health-disk': 'red' } }), online('n2')] },
      expect: ['start a -->n2'],
    },
    {
      name: 'a failed stop without fencing blocks the resource',
      config: { ...twoNodes, resources: [prim('a')] },
      status: {
        nodes: [
          online('n1', {
            history: [
              {
                resource: 'a',
                ops: [
                  { action: 'start', callId: 1, rc: 0, expectedRc: 0 },
                  { action: 'stop', callId: 2, rc: 1, expectedRc: 0 },
                ],
              },
            ],
          }),
          online('n2', { history: [probedStopped('a')] }),
        ],
      },
      expect: [],
    },
    {
      name: 'no quorum with policy stop stops resources',
      config: { ...twoNodes, resources: [prim('a')] },
      status: { quorum: false, nodes: [online('n1', { history: [started('a')] }), online('n2', { history: [probedStopped('a')] })] },
      expect: ['stop a n1->-'],
    },
  ];
  test.each(cases)('$name', ({ config, status, expect: expected }) => {
    expect(summary(run(config, status))).toEqual([...expected].sort());
  });

  test('explanation names the contributions', () => {
    const t = run(
      { ...twoNodes, resources: [prim('a')], constraints: [{ type: 'location', id: 'prefer-n2', resource: 'a', node: 'n2', score: 50 }] },
      { nodes: [online('n1', { standby: true }), online('n2')] },
    );
    const n2 = t.explanation.scores.find((s) => s.resource === 'a' && s.node === 'n2')!;
    expect(n2.total).toBe(50);
    expect(n2.contributions.map((c) => c.source)).toContain('location prefer-n2');
    const n1 = t.explanation.scores.find((s) => s.resource === 'a' && s.node === 'n1')!;
    expect(n1.contributions.map((c) => c.source)).toContain('banned: node in standby');
    expect(formatExplanation(t).length).toBe(2);
    expect(explainResource(t, 'a').join('\n')).toMatch(/placed on n2/);
    for (const a of t.actions) expect(a.reason.length).toBeGreaterThan(0);
  });

  test('current placement reflects the status', () => {
    const t = run({ ...twoNodes, resources: [prim('a')] }, { nodes: [online('n1', { history: [started('a')] }), online('n2')] });
    expect(t.current.filter((p) => p.node !== null).map((p) => `${p.resource}@${p.node}`)).toEqual(['a@n1']);
  });
});

describe('definition changes (parameter digests)', () => {
  const withParams = (params: Record<string, unknown>) => ({ ...prim('a'), params });
  const startedWith = (params: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    resource: 'a',
    ops: [{ action: 'start', callId: 1, rc: 0, expectedRc: 0, digest: paramsDigest(params), ...extra }],
  });
  const status = (history: ReturnType<typeof startedWith>) => ({
    nodes: [online('n1', { history: [history] }), online('n2', { history: [probedStopped('a')] })],
  });

  test('a resource started with the current parameters is left alone (key order does not matter)', () => {
    const t = run({ ...twoNodes, resources: [withParams({ ip: '10.0.0.1', cidr: 24 })] }, status(startedWith({ cidr: 24, ip: '10.0.0.1' })));
    expect(summary(t)).toEqual([]);
  });

  test('changed parameters restart it where it runs, saying why', () => {
    const t = run({ ...twoNodes, resources: [withParams({ ip: '10.0.0.2' })] }, status(startedWith({ ip: '10.0.0.1' })));
    expect(summary(t)).toEqual(['restart a n1->n1']);
    expect(t.summary[0]?.reason).toBe('resource definition change');
    const stop = t.actions.find((a) => a.kind === 'stop');
    expect(stop?.reason).toMatch(/definition change/);
    const after = applyTransition(
      ClusterConfig.parse({ ...twoNodes, resources: [withParams({ ip: '10.0.0.2' })] }),
      ClusterStatus.parse(status(startedWith({ ip: '10.0.0.1' }))),
      t,
      NOW,
    );
    // The new start records the new parameters: nothing more to do.
    const again = schedule({ config: ClusterConfig.parse({ ...twoNodes, resources: [withParams({ ip: '10.0.0.2' })] }), status: after, now: NOW });
    expect(summary(again)).toEqual([]);
  });

  test('a move makes the restart unnecessary: it starts elsewhere with the new parameters', () => {
    const t = run(
      { ...twoNodes, resources: [withParams({ ip: '10.0.0.2' })], constraints: [{ type: 'location', id: 'l', resource: 'a', node: 'n2', score: 100 }] },
      status(startedWith({ ip: '10.0.0.1' })),
    );
    expect(summary(t)).toEqual(['move a n1->n2']);
  });

  test('an imported record that says only reloadable parameters changed is reloaded, not restarted', () => {
    const t = run(
      { ...twoNodes, resources: [withParams({ ip: '10.0.0.1' })] },
      status({ resource: 'a', ops: [{ action: 'start', callId: 1, rc: 0, expectedRc: 0, paramsChange: 'changed', restartDigest: 'x' } as never] }),
    );
    expect(summary(t)).toEqual(['reload a n1->n1']);
    expect(t.actions.filter((a) => a.kind === 'reload').map((a) => a.node)).toEqual(['n1']);
    const config = ClusterConfig.parse({ ...twoNodes, resources: [withParams({ ip: '10.0.0.1' })] });
    const after = applyTransition(
      config,
      ClusterStatus.parse(
        status({ resource: 'a', ops: [{ action: 'start', callId: 1, rc: 0, expectedRc: 0, paramsChange: 'changed', restartDigest: 'x' } as never] }),
      ),
      t,
      NOW,
    );
    expect(summary(schedule({ config, status: after, now: NOW }))).toEqual([]);
  });

  test('records without a digest are not compared', () => {
    const t = run({ ...twoNodes, resources: [withParams({ ip: '10.0.0.2' })] }, status(started('a') as never));
    expect(summary(t)).toEqual([]);
  });
});

describe('location constraints with a resourcePattern (linear-time matching, issue 16 item 4)', () => {
  const starts = (resourcePattern: string, ids: string[]) =>
    summary(
      run(
        { ...twoNodes, resources: ids.map((id) => prim(id)), constraints: [{ type: 'location', id: 'pat', resourcePattern, node: 'n2', score: 100 }] },
        { nodes: [online('n1'), online('n2')] },
      ),
    );

  it('places every matching top-level resource, with RE2 syntax JavaScript lacks ((?i) flags)', () => {
    expect(starts('(?i)^WEB', ['web1', 'db', 'Web2'])).toEqual(['start Web2 -->n2', 'start db -->n1', 'start web1 -->n2']);
    expect(starts('!^web', ['web1', 'db'])).toEqual(['start db -->n2', 'start web1 -->n1']);
  });

  it('schedules at once with a catastrophic-backtracking pattern and ids built to trigger it', () => {
    // A backtracking engine needs ~2^25 steps per id (about 0.4 s each, ~10 s in all: bounded, so a
    // regression fails here rather than hanging); the linear-time one needs milliseconds.
    const ids = [...Array.from({ length: 24 }, (_, i) => `${'a'.repeat(25)}-${i}`), 'a'.repeat(25)];
    const t0 = performance.now();
    const s = starts('^(a+)+$', ids);
    expect(performance.now() - t0).toBeLessThan(3_000);
    expect(s).toContain(`start ${'a'.repeat(25)} -->n2`);
    expect(s.filter((l) => l.endsWith('-->n1'))).toHaveLength(12); // the rest spread over both nodes
  });
});
