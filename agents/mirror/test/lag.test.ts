/** The monitor's typed lag report (MonitorReport.replica) from the worker's last round: the DRBD-like states. */
import { MonitorReport } from '@paceline/agent-api';
import { replicaLag } from '../src/agent.js';
import type { WorkerStatus } from '../src/instance.js';

const now = Date.parse('2026-12-07T03:00:00Z');
const round = (x: Partial<WorkerStatus>): WorkerStatus => ({ at: now - 100, kind: 'synced', reason: '', startedAt: now - 60_000, ...x });

test.each<[string, WorkerStatus | undefined, { syncedAt: number } | undefined, object]>([
  [
    'in sync: every change before the last round began is here',
    round({ lastSyncAt: now - 200, lastSyncStartedAt: now - 300 }),
    undefined,
    { state: 'in-sync', reachable: true, asOf: now - 300, seconds: 0.3, bytes: 0, changes: 0 },
  ],
  [
    'the peer stopped answering: in sync as it was, bytes unknown, the lag growing',
    round({ kind: 'unreachable', lastSyncAt: now - 4000, lastSyncStartedAt: now - 4200 }),
    undefined,
    { state: 'in-sync', reachable: false, asOf: now - 4200, seconds: 4.2 },
  ],
  [
    'a round that could not pull journaled changes: behind, by their count and bytes',
    round({ kind: 'error', lastSyncAt: now - 9000, lastSyncStartedAt: now - 9500, behind: { changes: 2, bytes: 301000, oldestAt: now - 3000 } }),
    undefined,
    { state: 'behind', reachable: true, asOf: now - 9500, seconds: 9.5, bytes: 301000, changes: 2, oldestMissingAt: now - 3000 },
  ],
  [
    'the peer is not Promoted (nothing is written there): in sync as of the last round',
    round({ kind: 'peer-not-promoted', lastSyncAt: now - 900, lastSyncStartedAt: now - 1000 }),
    undefined,
    { state: 'in-sync', reachable: true, asOf: now - 1000, seconds: 1, bytes: 0, changes: 0 },
  ],
  [
    'started with a copy from before: behind (it cannot vouch for what it missed)',
    round({ kind: 'unreachable' }),
    { syncedAt: now - 3_600_000 },
    { state: 'behind', reachable: false, asOf: now - 3_600_000, seconds: 3600 },
  ],
  ['no worker round yet, no copy: never synced', undefined, undefined, { state: 'never-synced', reachable: false, seconds: 0 }],
])('%s', (_name, ws, synced, expected) => {
  const r = replicaLag(ws, synced, 'serv1', now);
  expect(r).toEqual({ source: 'serv1', ...expected });
  expect(MonitorReport.parse({ replica: r })).toEqual({ replica: r }); // valid against the schema the executor checks
});
