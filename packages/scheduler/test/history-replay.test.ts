/**
 * The replay of an operation history (history/): the reducer over one node's operations, its
 * tables (exit code → outcome; success and failure per action), migrations across two nodes, and
 * what a replayed history leaves behind. Every state and input is deep-frozen: the replay returns
 * new values and never writes into what it was given.
 */
import type { z } from 'zod';
import { ClusterConfig, OcfRc, OpRecord, type ClusterConfigInput } from '@paceline/model';
import { buildResourceTree, type Resource } from '../src/resources.js';
import { failResponseFor } from '../src/on-fail.js';
import { callOrder, replayNode, replayOp } from '../src/history/replay.js';
import { readOutcome } from '../src/history/outcome.js';
import { initialHistory, startReplay, type ClusterView, type NodeReplay, type ReplayContext, type ResourceHistory } from '../src/history/state.js';
import { settle } from '../src/history/settle.js';
import { deepFreeze } from './stages.js';

type OpRecordInput = z.input<typeof OpRecord>;

const prim = (id: string, extra: Record<string, unknown> = {}) => ({ type: 'primitive' as const, id, agent: 'ocf:heartbeat:Dummy', ...extra });

function resourceOf(input: Partial<ClusterConfigInput>, id: string): Resource {
  const config = ClusterConfig.parse({ properties: { stonithEnabled: false }, nodes: [{ name: 'n1' }, { name: 'n2' }], resources: [prim(id)], ...input });
  const r = buildResourceTree(config, config.nodes.length, []).byId.get(id);
  if (!r) throw new Error(`test setup: no resource ${id}`);
  return r;
}

const op = (input: OpRecordInput): OpRecord => OpRecord.parse(input);

/** A context for `r`'s history `ops` on n1; `other` is the same history on n2 (a migration's other half). */
function context(
  r: Resource,
  ops: OpRecordInput[],
  extra: Partial<ReplayContext> = {},
  cluster: Partial<ClusterView> = {},
  other?: OpRecordInput[],
): ReplayContext {
  const stonith = cluster.stonith ?? false;
  return deepFreeze({
    resource: r,
    node: 'n1',
    online: true,
    unclean: false,
    maintenance: false,
    sorted: ops.map(op).sort((a, b) => callOrder(a) - callOrder(b)),
    historyId: r.id,
    cluster: {
      stonith,
      canFence: stonith,
      expired: () => false,
      onFailFor: (rsc: Resource, action: string, interval: number) => {
        const configured = rsc.ops.find((o) => o.name === action && o.interval === interval)?.onFail;
        return failResponseFor(configured, action, stonith);
      },
      historyOn: (node: string) => (node === 'n2' && other ? other.map(op) : undefined),
      isOnline: () => true,
      ...cluster,
    },
    ...extra,
  });
}

const replay = (ctx: ReplayContext) => replayNode(deepFreeze(initialHistory(ctx.resource)), ctx);
const start = (callId = 1, rc = 0): OpRecordInput => ({ action: 'start', callId, rc });
const monitor = (callId: number, rc: number, interval = 10000): OpRecordInput => ({ action: 'monitor', interval, callId, rc });

describe('history replay: the reducer', () => {
  test('one step returns a new state and leaves the old one as it was', () => {
    const r = resourceOf({}, 'a');
    const ctx = context(r, [start()]);
    const before: NodeReplay = deepFreeze(startReplay(initialHistory(r)));
    const after = replayOp(before, ctx.sorted[0]!, ctx);
    expect(after).not.toBe(before);
    expect(before.role).toBe('Unknown');
    expect(after.role).toBe('Started');
  });

  test('operations are replayed in call order, pending ones (no call id) last', () => {
    const r = resourceOf({}, 'a');
    const settled = replay(context(r, [{ action: 'stop', callId: 3 }, start(2), { action: 'start', callId: -1, status: 'pending' }]));
    expect(settled.resource.role).toBe('Started');
    expect(settled.resource.startPending).toBe(true);
    expect(settled.resource.runningOn).toEqual(['n1']);
  });

  test('a failed recurring monitor marks an active resource failed, for recovery (on-fail default: restart)', () => {
    const settled = replay(context(resourceOf({}, 'a'), [start(), monitor(2, OcfRc.ERR_GENERIC)]));
    expect(settled.resource).toMatchObject({ role: 'Started', failed: true, stopOnFailure: true, runningOn: ['n1'] });
    expect(settled.fence).toEqual([]);
  });

  test('the same monitor passing again forgets its failure; another action does not', () => {
    const r = resourceOf({}, 'a');
    expect(replay(context(r, [start(), monitor(2, 1), monitor(3, 0)])).resource.failed).toBe(false);
    expect(replay(context(r, [start(), monitor(2, 1), monitor(3, 0, 20000)])).resource.failed).toBe(true);
  });

  test('a probe that finds the agent not installed bans the node and is not a failure', () => {
    const settled = replay(context(resourceOf({}, 'a'), [{ action: 'monitor', callId: 1, rc: OcfRc.ERR_INSTALLED }]));
    expect(settled.resource).toMatchObject({ role: 'Stopped', failed: false });
    expect(settled.adjustments).toEqual([{ rsc: 'a', node: 'n1', score: -1_000_000, reason: 'masked-probe-failure' }]);
  });

  test('on-fail=stop: stopped everywhere and banned', () => {
    const r = resourceOf({ resources: [prim('a', { ops: [{ name: 'monitor', interval: '10s', onFail: 'stop' }] })] }, 'a');
    const settled = replay(context(r, [start(), monitor(2, 1)]));
    expect(settled.resource).toMatchObject({ nextRole: 'Stopped', nextRoleReason: 'on-fail=stop' });
    expect(settled.adjustments).toContainEqual({ rsc: 'a', node: undefined, score: -1_000_000, reason: 'monitor failed with on-fail=stop' });
  });

  test('on-fail=fence with fencing: the node is fenced; on-fail=standby: the node goes to standby', () => {
    const fenced = resourceOf({ resources: [prim('a', { ops: [{ name: 'monitor', interval: '10s', onFail: 'fence' }] })] }, 'a');
    expect(replay(context(fenced, [start(), monitor(2, 1)], {}, { stonith: true })).fence).toEqual(['a failed there']);
    const standby = resourceOf({ resources: [prim('a', { ops: [{ name: 'monitor', interval: '10s', onFail: 'standby' }] })] }, 'a');
    expect(replay(context(standby, [start(), monitor(2, 1)]))).toMatchObject({ standby: true, fence: [] });
  });

  test('a failed stop without fencing blocks the resource; with fencing it fences the node', () => {
    const r = resourceOf({}, 'a');
    const blocked = replay(context(r, [start(), { action: 'stop', callId: 2, rc: 1 }]));
    expect(blocked.resource).toMatchObject({ managed: false, blocked: true });
    expect(blocked.adjustments).toContainEqual({ rsc: 'a', node: 'n1', score: -1_000_000, reason: 'stop failed here' });
    expect(replay(context(r, [start(), { action: 'stop', callId: 2, rc: 1 }], {}, { stonith: true })).fence).toEqual(['a failed there']);
  });

  test('on-fail=ignore counts the failure as the success it should have been', () => {
    const r = resourceOf({ resources: [prim('a', { ops: [{ name: 'monitor', interval: '10s', onFail: 'ignore' }] })] }, 'a');
    expect(replay(context(r, [start(), monitor(2, 1)])).resource).toMatchObject({ role: 'Started', failed: false, failureIgnored: true });
  });

  test('an expired failure is forgotten', () => {
    const r = resourceOf({}, 'a');
    expect(replay(context(r, [start(), monitor(2, 1)], {}, { expired: (_r, _n, o) => o.action === 'monitor' })).resource.failed).toBe(false);
  });

  test('active on a node that is gone: the node is fenced when fencing is on', () => {
    const settled = replay(context(resourceOf({}, 'a'), [start()], { online: false }, { stonith: true }));
    expect(settled.fence).toEqual(['a is thought to be active there']);
  });

  test('a role found on an earlier node is kept when this node says less', () => {
    const r = resourceOf({}, 'a');
    const before = deepFreeze({ ...initialHistory(r), role: 'Started' as const, runningOn: ['n2'] });
    const settled = replayNode(before, context(r, [{ action: 'monitor', callId: 1, rc: OcfRc.NOT_RUNNING }]));
    expect(settled.resource).toMatchObject({ role: 'Started', runningOn: ['n2'] });
    expect(settled.known).toBe(true);
  });
});

describe('history replay: migrations', () => {
  const migrateTo = { action: 'migrate_to', callId: 2, rc: 0, migrateSource: 'n1', migrateTarget: 'n2', lastRcChange: 100 };

  test('both halves succeeded: stopped on the source', () => {
    const settled = replay(context(resourceOf({}, 'a'), [start(), migrateTo], {}, {}, [{ action: 'migrate_from', callId: 5, rc: 0, migrateSource: 'n1' }]));
    expect(settled.resource).toMatchObject({ role: 'Stopped', runningOn: [] });
  });

  test('migrate_from never recorded: a partial migration, active on both', () => {
    const settled = replay(context(resourceOf({}, 'a'), [start(), migrateTo], {}, {}, []));
    expect(settled.resource).toMatchObject({ role: 'Started', runningOn: ['n2', 'n1'], partial: { source: 'n1', target: 'n2' } });
  });

  test('a failed migrate_to: active here and on the target, not to be migrated again', () => {
    const settled = replay(context(resourceOf({}, 'a'), [start(), { ...migrateTo, rc: 1 }], {}, {}, [{ action: 'monitor', callId: 1, rc: 7 }]));
    expect(settled.resource).toMatchObject({ noMigrate: true, failed: true, runningOn: ['n2', 'n1'] });
  });
});

describe('history replay: exit codes', () => {
  test.each<[string, OpRecordInput, boolean, { status: string; rc: number; masked: boolean; role?: string; notRunning?: boolean; hard?: boolean }]>([
    ['a start that succeeded', start(), true, { status: 'done', rc: 0, masked: false }],
    ['a degraded monitor counts as running', monitor(1, OcfRc.DEGRADED), true, { status: 'done', rc: 0, masked: false }],
    ['a probe that finds it stopped', { action: 'monitor', rc: 7 }, true, { status: 'done', rc: 7, masked: false, notRunning: true }],
    ['a probe that finds it promoted', { action: 'monitor', rc: 8 }, true, { status: 'done', rc: 8, masked: false, role: 'Promoted' }],
    ['a monitor that finds it stopped', monitor(1, 7), true, { status: 'error', rc: 7, masked: false }],
    ['the same for an unmanaged resource', monitor(1, 7), false, { status: 'done', rc: 7, masked: false, notRunning: true }],
    ['a failed promoted instance', monitor(1, OcfRc.FAILED_PROMOTED), true, { status: 'error', rc: 9, masked: false, role: 'Promoted' }],
    ['not configured', start(1, OcfRc.ERR_CONFIGURED), true, { status: 'error-fatal', rc: 6, masked: false }],
    ['invalid arguments', start(1, OcfRc.ERR_ARGS), true, { status: 'error-hard', rc: 2, masked: false, hard: true }],
    ['a recurring action not implemented', monitor(1, OcfRc.ERR_UNIMPLEMENTED), true, { status: 'not-supported', rc: 3, masked: false }],
    ['a probe of an agent not installed is masked', { action: 'monitor', rc: 5 }, true, { status: 'done', rc: 7, masked: true, notRunning: true }],
    ['a timeout is read as it is', { action: 'start', status: 'timeout', rc: 1 }, true, { status: 'timeout', rc: 1, masked: false }],
  ])('%s', (_what, input, managed, expected) => {
    const { isProbe: _probe, target: _target, ...outcome } = readOutcome(op(input), managed);
    expect(outcome).toEqual(expected);
  });
});

describe('history replay: replayNode is the fold of replayOp', () => {
  const histories: [string, OpRecordInput[]][] = [
    ['start, failed monitor', [start(), monitor(2, 1)]],
    ['probe not running', [{ action: 'monitor', callId: 1, rc: 7 }]],
    ['failed stop', [start(), { action: 'stop', callId: 2, rc: 1 }]],
    ['promoted, failed demote', [start(), { action: 'promote', callId: 2 }, { action: 'demote', callId: 3, rc: 1 }]],
    ['pending start', [{ action: 'start', callId: -1, status: 'pending' }]],
    ['not installed', [{ action: 'start', callId: 1, status: 'not-installed', rc: 5 }]],
  ];
  test.each(histories)('%s', (_what, ops) => {
    const ctx = context(resourceOf({}, 'a'), ops);
    const before = deepFreeze(initialHistory(ctx.resource));
    const start = deepFreeze(startReplay(before));
    const folded = settle(
      ctx.sorted.reduce((s, o) => replayOp(s, o, ctx), start as NodeReplay),
      ctx,
    );
    expect(replayNode(before, ctx)).toEqual(folded);
  });
});

describe('history replay: a lone probe that found the resource stopped', () => {
  // replayNode answers these without the replay's working copies: it must agree with the fold of
  // replayOp and settle whatever the earlier nodes said, the resource and the node.
  const probe = (extra: Partial<OpRecordInput> = {}): OpRecordInput[] => [{ action: 'monitor', callId: 3, rc: OcfRc.NOT_RUNNING, ...extra }];
  const resources: [string, () => Resource][] = [
    ['a primitive', () => resourceOf({}, 'a')],
    ['target-role Stopped', () => resourceOf({ resources: [prim('a', { meta: { targetRole: 'Stopped' } })] }, 'a')],
    ['target-role Unpromoted outside a promotable clone', () => resourceOf({ resources: [prim('a', { meta: { targetRole: 'Unpromoted' } })] }, 'a')],
    [
      'target-role Unpromoted in a promotable clone',
      () => resourceOf({ resources: [{ type: 'clone', id: 'cl', promotable: true, child: prim('a', { meta: { targetRole: 'Unpromoted' } }) }] }, 'a:0'),
    ],
    ['unmanaged', () => resourceOf({ resources: [prim('a', { meta: { isManaged: false } })] }, 'a')],
  ];
  const befores: [string, (r: Resource) => ResourceHistory][] = [
    ['nothing read yet', (r) => initialHistory(r)],
    ['stopped elsewhere', (r) => ({ ...initialHistory(r), role: 'Stopped' })],
    ['running elsewhere', (r) => ({ ...initialHistory(r), role: 'Started', runningOn: ['n2'] })],
    [
      'failed elsewhere, next role forced',
      (r) => ({ ...initialHistory(r), role: 'Promoted', runningOn: ['n2'], failed: true, stopOnFailure: true, nextRole: 'Stopped', nextRoleReason: 'failure' }),
    ],
    [
      'blocked, pending, half migrated, changed',
      (r) => ({
        ...initialHistory(r),
        role: 'Started',
        blocked: true,
        managed: false,
        startPending: true,
        failureIgnored: true,
        noMigrate: true,
        partial: { source: 'n2', target: 'n3' },
        paramChanges: [{ node: 'n2', action: 'restart', monitors: [], detail: 'changed' }],
      }),
    ],
  ];
  const nodes: [string, Partial<ReplayContext>, Partial<ClusterView>][] = [
    ['online', {}, {}],
    ['offline with fencing', { online: false }, { stonith: true }],
    ['unclean', { unclean: true }, { stonith: true }],
    ['in maintenance', { maintenance: true }, {}],
    ['with every failure expired', {}, { expired: () => true }],
  ];
  const probes: [string, OpRecordInput[]][] = [
    ['a probe', probe()],
    ['a probe that expected not running', probe({ expectedRc: OcfRc.NOT_RUNNING })],
    ['a probe expected to find it running', probe({ expectedRc: OcfRc.SUCCESS })],
  ];
  const cases = resources.flatMap(([rw, r]) =>
    befores.flatMap(([bw, b]) => nodes.flatMap(([nw, x, c]) => probes.map(([pw, p]) => [`${rw}, ${bw}, ${nw}, ${pw}`, r, b, x, c, p] as const))),
  );
  test.each(cases)('%s', (_what, resource, before, extra, cluster, ops) => {
    const r = resource();
    const ctx = context(r, [...ops], extra, cluster);
    const b = deepFreeze(before(r));
    const folded = settle(
      ctx.sorted.reduce((s, o) => replayOp(s, o, ctx), deepFreeze(startReplay(b)) as NodeReplay),
      ctx,
    );
    expect(replayNode(b, ctx)).toEqual(folded);
  });

  test.each(resources)('%s: the next probe on another node leaves the history it settled as it is', (_what, resource) => {
    // unpack stores nothing for it (afterStoppedProbe returns its input when nothing changes).
    const r = resource();
    const first = replayNode(deepFreeze(initialHistory(r)), context(r, probe())).resource;
    const second = replayNode(first, context(r, probe(), { node: 'n2' }));
    expect(second.resource).toBe(first);
    expect(second.known).toBe(true);
  });
});
