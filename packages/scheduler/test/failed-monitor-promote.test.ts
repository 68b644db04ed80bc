/**
 * A replica's Unpromoted monitor fails around its promotion (seen in the live lab before the
 * executor ran one operation of an instance at a time: the monitor ran during the promote). What
 * the history means depends on the order of the two results, as in Pacemaker (its unpack clears a
 * pending recovery when a later start or promote succeeds): a promote that succeeded after the
 * failure leaves the instance Promoted with nothing to recover; a failure after the promote is
 * recovered. Each case was checked against crm_simulate on the exported CIB
 * (`node scripts/diff-pacemaker.mjs --cib FILE`: the two schedulers agree).
 */
import { ClusterConfig, ClusterStatus } from '@paceline/model';
import { schedule } from '../src/index.js';

const config = ClusterConfig.parse({
  properties: { stonithEnabled: false },
  nodes: [{ name: 'serv1' }, { name: 'serv2' }],
  resources: [
    {
      type: 'clone',
      id: 'mirror',
      promotable: true,
      meta: { promotedMax: 1 },
      child: {
        type: 'primitive',
        id: 'data',
        agent: 'paceline:mirror',
        ops: [
          { name: 'monitor', interval: '11s', role: 'Unpromoted' },
          { name: 'monitor', interval: '10s', role: 'Promoted' },
        ],
      },
    },
  ],
  constraints: [
    { type: 'location', id: 'home', resource: 'mirror', node: 'serv1', score: 100, role: 'Promoted' },
    { type: 'location', id: 'either', resource: 'mirror', node: 'serv2', score: 50, role: 'Promoted' },
  ],
});

/** One history entry, as written in a status file (the schema fills in the defaults). */
type OpRecordInput = { action: string; callId: number; interval?: number; rc?: number; expectedRc?: number };
const now = Date.parse('2026-12-07T06:00:00Z');

/** serv1 is down; serv2's history of `data` is `ops`, with one failure of the Unpromoted monitor counted. */
function statusWith(ops: OpRecordInput[]): ClusterStatus {
  return ClusterStatus.parse({
    nodes: [
      { name: 'serv1', state: 'offline' },
      {
        name: 'serv2',
        state: 'online',
        history: [{ resource: 'data', ops }],
        failures: [{ resource: 'data', action: 'monitor', interval: 11_000, count: 1 }],
      },
    ],
  });
}

const summary = (ops: OpRecordInput[]): string[] =>
  schedule({ config, status: statusWith(ops), now })
    .actions.filter((a) => a.kind !== 'monitor')
    .map((a) => `${a.kind} ${a.node}`);

test('a promote that succeeded after the failed Unpromoted monitor: Promoted, nothing to recover', () => {
  const ops: OpRecordInput[] = [
    { action: 'start', callId: 1 },
    { action: 'monitor', interval: 11_000, callId: 2, rc: 7, expectedRc: 0 },
    { action: 'promote', callId: 3 },
  ];
  expect(summary(ops)).toEqual([]);
});

test('the Unpromoted monitor failed after the promote (not running): recovered on serv2 and promoted again', () => {
  const ops: OpRecordInput[] = [
    { action: 'start', callId: 1 },
    { action: 'promote', callId: 2 },
    { action: 'monitor', interval: 11_000, callId: 3, rc: 7, expectedRc: 0 },
  ];
  const actions = summary(ops);
  expect(actions).toEqual(expect.arrayContaining(['start serv2', 'promote serv2']));
  expect(actions.every((a) => a.endsWith('serv2'))).toBe(true);
});

test('the Unpromoted monitor failed after the promote (error): stopped, started and promoted again on serv2', () => {
  const ops: OpRecordInput[] = [
    { action: 'start', callId: 1 },
    { action: 'promote', callId: 2 },
    { action: 'monitor', interval: 11_000, callId: 3, rc: 1, expectedRc: 0 },
  ];
  expect(summary(ops)).toEqual(expect.arrayContaining(['stop serv2', 'start serv2', 'promote serv2']));
});
