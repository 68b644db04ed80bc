import { ClusterConfig, ClusterStatus, type GraphAction, type InstancePlacement, type Transition } from '@paceline/model';
import { applyTransition } from '../src/apply.js';
import { executionOrder } from '../src/execution-order.js';

const config = ClusterConfig.parse({
  nodes: [{ name: 'n1' }, { name: 'n2' }, { name: 'n3' }],
  resources: [
    { type: 'primitive', id: 'web', agent: 'ocf:heartbeat:apache', ops: [{ name: 'monitor', interval: '10s' }] },
    {
      type: 'clone',
      id: 'ms',
      promotable: true,
      child: {
        type: 'primitive',
        id: 'db',
        agent: 'ocf:pacemaker:Stateful',
        ops: [
          { name: 'monitor', interval: '11s', role: 'Unpromoted' },
          { name: 'monitor', interval: '10s', role: 'Promoted' },
        ],
      },
    },
  ],
});

const status = ClusterStatus.parse({
  quorum: true,
  dc: 'n1',
  nodes: [
    {
      name: 'n1',
      state: 'online',
      history: [
        {
          resource: 'web',
          agent: 'ocf:heartbeat:apache',
          ops: [
            { action: 'start', callId: 4, rc: 0 },
            { action: 'monitor', interval: 10_000, callId: 5, rc: 0 },
          ],
        },
        {
          resource: 'db:0',
          ops: [
            { action: 'start', callId: 6 },
            { action: 'monitor', interval: 11_000, callId: 7 },
          ],
        },
      ],
    },
    { name: 'n2', state: 'online' },
    {
      name: 'n3',
      state: 'unclean',
      uncleanReason: 'peer is no longer part of the cluster',
      attributes: { pingd: '100' },
      failures: [{ resource: 'web', count: 1 }],
      history: [{ resource: 'web', ops: [{ action: 'start', callId: 2 }] }],
    },
  ],
});

const act = (id: string, kind: GraphAction['kind'], node: string, resource?: string, interval = 0, runnable = true): GraphAction => ({
  id,
  kind,
  node,
  interval,
  reason: 'test',
  runnable,
  ...(resource !== undefined ? { resource, primitive: resource.split(':')[0]! } : {}),
});

const placed = (instance: string, node: string | null, role: InstancePlacement['role']): InstancePlacement => ({
  resource: instance.split(':')[0]!,
  instance,
  node,
  role,
  managed: true,
  failed: false,
});

const transition = (actions: GraphAction[], edges: Transition['edges'] = [], placement: InstancePlacement[] = []): Transition => ({
  placement,
  current: [],
  actions,
  edges,
  summary: [],
  explanation: { scores: [], decisions: [] },
  warnings: [],
});

const NOW = Date.UTC(2026, 0, 1);

describe('applyTransition', () => {
  it('moves a resource: stop on the old node (cancelling its monitor), probe, start and monitor on the new one', () => {
    const t = transition(
      [
        act('web_monitor_10000 n2', 'monitor', 'n2', 'web', 10_000),
        act('web_start_0 n2', 'start', 'n2', 'web'),
        act('web_stop_0 n1', 'stop', 'n1', 'web'),
        act('web_probe n2', 'probe', 'n2', 'web'),
        act('web stopped', 'pseudo', 'n1'),
      ],
      [
        { before: 'web_probe n2', after: 'web_start_0 n2', reason: 'probe first' },
        { before: 'web_stop_0 n1', after: 'web_start_0 n2', reason: 'move' },
        { before: 'web_start_0 n2', after: 'web_monitor_10000 n2', reason: 'monitor after start' },
      ],
      [placed('web', 'n2', 'Started')],
    );
    const after = applyTransition(config, status, t, NOW);
    expect(ClusterStatus.parse(after)).toEqual(after);
    const n1web = after.nodes[0]!.history.find((h) => h.resource === 'web')!;
    expect(n1web.ops.map((o) => [o.action, o.interval, o.callId, o.rc])).toEqual([
      ['start', 0, 4, 0],
      ['stop', 0, 8, 0],
    ]);
    const n2web = after.nodes[1]!.history.find((h) => h.resource === 'web')!;
    expect(n2web.agent).toBe('ocf:heartbeat:apache');
    expect(n2web.ops).toEqual([
      { action: 'monitor', interval: 0, callId: 1, status: 'done', rc: 7, expectedRc: 7, lastRcChange: NOW, lastRun: NOW, key: 'web_monitor_0' },
      {
        action: 'start',
        interval: 0,
        callId: 2,
        status: 'done',
        rc: 0,
        expectedRc: 0,
        lastRcChange: NOW,
        lastRun: NOW,
        key: 'web_start_0',
        digest: expect.stringMatching(/^sha256:[0-9a-f]{32}$/),
      },
      { action: 'monitor', interval: 10_000, callId: 3, status: 'done', rc: 0, expectedRc: 0, lastRcChange: NOW, lastRun: NOW, key: 'web_monitor_10000' },
    ]);
    // the input is not modified
    expect(status.nodes[0]!.history[0]!.ops).toHaveLength(2);
  });

  it('promotes a clone instance: records promote, drops the unpromoted monitor, the promoted monitor returns 8', () => {
    const t = transition(
      [act('db:0_promote_0 n1', 'promote', 'n1', 'db:0'), act('db:0_monitor_10000 n1', 'monitor', 'n1', 'db:0', 10_000)],
      [{ before: 'db:0_promote_0 n1', after: 'db:0_monitor_10000 n1', reason: 'monitor after promote' }],
      [placed('db:0', 'n1', 'Promoted')],
    );
    const after = applyTransition(config, status, t, NOW);
    const db = after.nodes[0]!.history.find((h) => h.resource === 'db:0')!;
    expect(db.ops.map((o) => [o.action, o.interval, o.rc, o.expectedRc])).toEqual([
      ['start', 0, 0, undefined],
      ['promote', 0, 0, 0],
      ['monitor', 10_000, 8, 8],
    ]);
  });

  it('fences a node: offline and clean, history, attributes and fail counts cleared', () => {
    const fence: GraphAction = { id: 'fence n3', kind: 'fence', node: 'n3', fenceType: 'reboot', interval: 0, reason: 'unclean', runnable: true };
    const after = applyTransition(config, status, transition([fence]), NOW);
    expect(after.nodes[2]).toEqual({
      name: 'n3',
      state: 'offline',
      standby: false,
      maintenance: false,
      shutdown: false,
      attributes: {},
      history: [],
      failures: [],
    });
    expect(after.dc).toBe('n1');
    expect(after.quorum).toBe(true);
  });

  it('ignores actions that are not runnable, unfencing and pseudo actions', () => {
    const t = transition([
      act('web_start_0 n2', 'start', 'n2', 'web', 0, false),
      { id: 'unfence n2', kind: 'fence', node: 'n2', fenceType: 'on', interval: 0, reason: 'unfencing', runnable: true },
      { ...act('all stopped', 'pseudo', 'n2'), pseudo: 'all stopped' },
    ]);
    expect(applyTransition(config, status, t, NOW)).toEqual(status);
  });

  it('records live migration with its source and target', () => {
    const t = transition(
      [
        act('web_migrate_to_0 n1', 'migrate_to', 'n1', 'web'),
        act('web_migrate_from_0 n2', 'migrate_from', 'n2', 'web'),
        act('web_stop_0 n1', 'stop', 'n1', 'web'),
      ],
      [
        { before: 'web_migrate_to_0 n1', after: 'web_migrate_from_0 n2', reason: 'migration' },
        { before: 'web_migrate_from_0 n2', after: 'web_stop_0 n1', reason: 'migration' },
      ],
    );
    const after = applyTransition(config, status, t, NOW);
    const src = after.nodes[0]!.history.find((h) => h.resource === 'web')!.ops;
    expect(src.map((o) => [o.action, o.callId])).toEqual([
      ['start', 4],
      ['migrate_to', 8],
      ['stop', 9],
    ]);
    expect(src[1]).toMatchObject({ migrateSource: 'n1', migrateTarget: 'n2' });
    expect(after.nodes[1]!.history[0]!.ops[0]).toMatchObject({ action: 'migrate_from', migrateSource: 'n1', migrateTarget: 'n2', callId: 1 });
  });
});

describe('applyTransition: clones and scale', () => {
  const cloned = ClusterConfig.parse({
    nodes: [{ name: 'n1' }, { name: 'n2' }],
    resources: [
      { type: 'clone', id: 'web-clone', child: { type: 'primitive', id: 'httpd', agent: 'ocf:heartbeat:apache', ops: [{ name: 'monitor', interval: '10s' }] } },
      { type: 'clone', id: 'u', meta: { globallyUnique: true }, child: { type: 'primitive', id: 'ip', agent: 'ocf:heartbeat:IPaddr2' } },
    ],
  });
  const empty = ClusterStatus.parse({
    nodes: [
      { name: 'n1', state: 'online' },
      { name: 'n2', state: 'online' },
    ],
  });

  it('records anonymous clone instances under the primitive id, unique ones under the instance id, in execution order', () => {
    const t = transition([
      act('httpd:1_monitor_10000 n2', 'monitor', 'n2', 'httpd:1', 10_000),
      act('httpd:1_start_0 n2', 'start', 'n2', 'httpd:1'),
      act('httpd:0_probe n2', 'probe', 'n2', 'httpd:0'),
      act('ip:1_start_0 n2', 'start', 'n2', 'ip:1'),
    ]);
    const after = applyTransition(cloned, empty, t, NOW);
    const hist = after.nodes[1]!.history;
    expect(hist.map((h) => h.resource).sort()).toEqual(['httpd', 'ip:1']);
    expect(hist.find((h) => h.resource === 'httpd')!.ops.map((o) => [o.action, o.interval, o.callId, o.rc])).toEqual([
      ['monitor', 0, 1, 7],
      ['start', 0, 2, 0],
      ['monitor', 10_000, 4, 0],
    ]);
    expect(after.nodes[0]).toBe(empty.nodes[0]); // untouched nodes are shared
  });

  it('reuses an existing "rsc:N" history entry of an anonymous clone', () => {
    const status = ClusterStatus.parse({ nodes: [{ name: 'n1', state: 'online', history: [{ resource: 'httpd:3', ops: [{ action: 'start', callId: 9 }] }] }] });
    const after = applyTransition(cloned, status, transition([act('httpd:0_stop_0 n1', 'stop', 'n1', 'httpd:0')]), NOW);
    expect(after.nodes[0]!.history.map((h) => [h.resource, h.ops.map((o) => o.callId)])).toEqual([['httpd:3', [9, 10]]]);
  });

  it('is linear: 20,000 actions on 16 nodes apply quickly', () => {
    const nodes = Array.from({ length: 16 }, (_, i) => `n${i}`);
    const big = ClusterConfig.parse({
      nodes: nodes.map((name) => ({ name })),
      resources: Array.from({ length: 5000 }, (_, i) => ({ type: 'primitive', id: `r${i}`, agent: 'ocf:heartbeat:Dummy' })),
    });
    const st = ClusterStatus.parse({ nodes: nodes.map((name) => ({ name, state: 'online' })) });
    const actions: GraphAction[] = [];
    for (let i = 0; i < 5000; i++) {
      const node = nodes[i % 16]!;
      actions.push(act(`r${i}_probe ${node}`, 'probe', node, `r${i}`));
      actions.push(act(`r${i}_start_0 ${node}`, 'start', node, `r${i}`));
      actions.push(act(`r${i}_monitor_10000 ${node}`, 'monitor', node, `r${i}`, 10_000));
      actions.push(act(`r${i}_probe ${nodes[(i + 1) % 16]!}`, 'probe', nodes[(i + 1) % 16]!, `r${i}`));
    }
    // CPU time, not wall time: a quadratic apply takes minutes, a linear one well under a second;
    // on a machine shared by many jobs the wall clock of a linear one passed 2 s.
    const c0 = process.cpuUsage();
    const after = applyTransition(big, st, transition(actions), NOW);
    const cpu = process.cpuUsage(c0);
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(2000);
    expect(after.nodes.reduce((n, x) => n + x.history.length, 0)).toBe(10_000);
  });
});

describe('executionOrder', () => {
  it('is a topological order with ties broken by id, and tolerates cycles', () => {
    const a = act('a', 'start', 'n1', 'x');
    const b = act('b', 'start', 'n1', 'y');
    const c = act('c', 'start', 'n1', 'z');
    expect(executionOrder([c, b, a], [{ before: 'c', after: 'a', reason: '' }]).map((x) => x.id)).toEqual(['b', 'c', 'a']);
    // ties go by kind: probes, stops, starts, monitors
    const p = act('z-probe', 'probe', 'n1', 'x');
    const m = act('a-mon', 'monitor', 'n1', 'x', 10_000);
    const s = act('m-start', 'start', 'n1', 'x');
    const st = act('q-stop', 'stop', 'n2', 'y');
    expect(executionOrder([m, s, p, st], []).map((x) => x.id)).toEqual(['z-probe', 'q-stop', 'm-start', 'a-mon']);
    expect(
      executionOrder(
        [a, b],
        [
          { before: 'a', after: 'b', reason: '' },
          { before: 'b', after: 'a', reason: '' },
        ],
      ).map((x) => x.id),
    ).toEqual(['a', 'b']);
  });
});
