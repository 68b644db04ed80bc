/**
 * Promotion of a replica that is behind (issue 15): the scheduler reads the replica's last lag
 * report (ResourceHistory.report, from its monitor) and says in the role decision how far behind
 * the copy is and since when; with the clone's `promoteReplica: in-sync` a copy known to be behind
 * (DRBD's Outdated) or never synced (Inconsistent) is not promoted while its source is down.
 */
import { ClusterConfig, ClusterStatus, type ClusterStatusInput, type ReplicaLag } from '@paceline/model';
import { schedule } from '../src/index.js';

const asOf = Date.parse('2026-12-07T03:00:00Z');
const at = asOf + 4000;
const now = at + 2000;

function config(promoteReplica?: 'any' | 'in-sync'): ClusterConfig {
  return ClusterConfig.parse({
    properties: { stonithEnabled: false },
    nodes: [{ name: 'serv1' }, { name: 'serv2' }],
    resources: [
      {
        type: 'clone',
        id: 'mirror',
        promotable: true,
        meta: { promotedMax: 1, ...(promoteReplica ? { promoteReplica } : {}) },
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
}

/** serv1 was Promoted and is now `serv1State`; serv2 runs the replica, whose last monitor reported `replica`. */
function status(serv1State: 'offline' | 'online', replica: ReplicaLag): ClusterStatus {
  const promotedOnServ1 = {
    resource: 'data',
    ops: [
      { action: 'start', callId: 1 },
      { action: 'promote', callId: 2 },
      { action: 'monitor', interval: 10_000, callId: 3, rc: 8 },
    ],
  };
  const input: ClusterStatusInput = {
    nodes: [
      { name: 'serv1', state: serv1State, history: serv1State === 'online' ? [promotedOnServ1] : [] },
      {
        name: 'serv2',
        state: 'online',
        history: [
          {
            resource: 'data',
            ops: [
              { action: 'start', callId: 1 },
              { action: 'monitor', interval: 11_000, callId: 2 },
            ],
            report: { at, interval: 11_000, replica },
          },
        ],
      },
    ],
  };
  return ClusterStatus.parse(input);
}

const inSync: ReplicaLag = { source: 'serv1', state: 'in-sync', reachable: true, asOf, seconds: 4, bytes: 0, changes: 0 };
const behind: ReplicaLag = { source: 'serv1', state: 'behind', reachable: false, asOf, seconds: 4, bytes: 301000, changes: 2, oldestMissingAt: asOf + 500 };

/** The role decision of the instance on serv2 (the replica). */
const decision = (t: ReturnType<typeof schedule>): string =>
  t.explanation.decisions.find((d) => d.text.startsWith('data') && d.text.includes('placed on serv2'))?.text ?? '';
const promotes = (t: ReturnType<typeof schedule>): string[] => t.actions.filter((a) => a.kind === 'promote').map((a) => a.node ?? '');

test('failover to an in-sync replica: promoted, and the decision says what it may lack and since when', () => {
  const t = schedule({ config: config(), status: status('offline', inSync), now });
  expect(promotes(t)).toEqual(['serv2']);
  expect(decision(t)).toContain('Promoted: promoted');
  expect(decision(t)).toContain(
    'its copy was in sync with serv1 as of 2026-12-07T03:00:00.000Z (last monitor at 2026-12-07T03:00:04.000Z: lag ≤ 4.0 s, 0 change(s), 0 B known missing); what serv1 wrote after that is not in it while serv1 is down',
  );
});

test('failover to a replica that is behind: promoted by default, and the decision says how far behind', () => {
  const t = schedule({ config: config(), status: status('offline', behind), now });
  expect(promotes(t)).toEqual(['serv2']);
  expect(decision(t)).toContain(
    'its copy is BEHIND serv1: in sync as of 2026-12-07T03:00:00.000Z, missing changes since 2026-12-07T03:00:00.500Z (last monitor at 2026-12-07T03:00:04.000Z: lag ≤ 4.0 s, 2 change(s), 301000 B known missing, serv1 no longer answering); serv1 is down',
  );
});

test('promoteReplica: in-sync keeps a replica that is behind, or never synced, Unpromoted while its source is down — and says why and how to override', () => {
  for (const replica of [behind, { source: 'serv1', state: 'never-synced', reachable: false, seconds: 0 } satisfies ReplicaLag]) {
    const t = schedule({ config: config('in-sync'), status: status('offline', replica), now });
    expect(promotes(t)).toEqual([]);
    expect(decision(t)).toMatch(
      /Unpromoted: promotion rank -1000000 is negative \(.*promoteReplica is in-sync and its copy (is BEHIND|NEVER completed a sync with) serv1.*set promoteReplica to any\)/,
    );
  }
  // An in-sync replica is promoted under the same policy.
  expect(promotes(schedule({ config: config('in-sync'), status: status('offline', inSync), now }))).toEqual(['serv2']);
});

test('with its source up, a lagging replica is no obstacle: promotion takes what it lacks from the source first', () => {
  // serv1 online and Promoted, the admin moves the Promoted role (serv1 banned from it).
  const c = ClusterConfig.parse({
    ...config('in-sync'),
    constraints: [
      { type: 'location', id: 'away', resource: 'mirror', node: 'serv1', score: '-INFINITY', role: 'Promoted' },
      { type: 'location', id: 'either', resource: 'mirror', node: 'serv2', score: 50, role: 'Promoted' },
    ],
  });
  const t = schedule({ config: c, status: status('online', behind), now });
  expect(promotes(t)).toEqual(['serv2']);
  expect(decision(t)).toContain('its copy follows serv1, which is up: promoting it first takes what it lacks from there');
});

test('an agent that reports nothing: promotion as before, no lag said', () => {
  const s = status('offline', inSync);
  const plain = ClusterStatus.parse({ ...s, nodes: s.nodes.map((n) => ({ ...n, history: n.history.map(({ report: _r, ...h }) => h) })) });
  const t = schedule({ config: config('in-sync'), status: plain, now });
  expect(promotes(t)).toEqual(['serv2']);
  expect(decision(t)).not.toContain('its copy');
});
