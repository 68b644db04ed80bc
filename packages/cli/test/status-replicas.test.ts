/** `paceline status` shows each replica's last reported lag (issue 15); `--json` carries it as the daemon gives it. */
import type { DaemonStatus } from '@paceline/daemon';
import { renderStatus, replicaText } from '../src/commands/status.js';

const at = Date.parse('2026-12-07T02:51:07Z');
const status: DaemonStatus = {
  node: 'serv1',
  boot: 1,
  coordinator: 'serv1',
  term: 1,
  quorate: true,
  mayRun: true,
  mayRunReason: 'ok',
  epoch: 3,
  members: ['serv1', 'serv2'],
  nodes: [],
  resources: [{ instance: 'samba-data:1', resource: 'samba-data', node: 'serv2', role: 'Unpromoted', failed: false, managed: true }],
  dropped: {},
  replicas: [
    { instance: 'samba-data', node: 'serv2', at, source: 'serv1', state: 'in-sync', reachable: true, asOf: at - 300, seconds: 0.3, bytes: 0, changes: 0 },
    {
      instance: 'cyrus-data',
      node: 'serv1',
      at,
      source: 'serv2',
      state: 'behind',
      reachable: false,
      asOf: at - 62_000,
      seconds: 62,
      bytes: 301000,
      changes: 2,
      oldestMissingAt: at - 61_000,
    },
  ],
};

test('status lists each replica with its state, lag, bytes behind and when it was measured', () => {
  const lines = renderStatus(status);
  const i = lines.indexOf('Replicas (as their last monitor saw them):');
  expect(i).toBeGreaterThan(0);
  expect(lines[i + 1]).toBe(
    '  * samba-data on serv2: in sync with serv1 as of 2026-12-07T02:51:06.700Z; lag ≤ 0.3 s, 0 change(s), 0 B behind (monitor at 2026-12-07T02:51:07Z)',
  );
  expect(lines[i + 2]).toBe(
    '  * cyrus-data on serv1: BEHIND serv2 (in sync as of 2026-12-07T02:50:05Z); lag ≤ 62 s, 2 change(s), 301000 B behind, the oldest missing change written at 2026-12-07T02:50:06Z; serv2 unreachable (monitor at 2026-12-07T02:51:07Z)',
  );
});

test('a replica that never synced, and one whose source cannot say what it misses', () => {
  expect(replicaText({ instance: 'd', node: 'n2', at, source: 'n1', state: 'never-synced', reachable: true, seconds: 0 })).toBe(
    'NEVER SYNCED with n1; lag ≤ 0.0 s, bytes behind unknown (monitor at 2026-12-07T02:51:07Z)',
  );
  expect(replicaText({ instance: 'd', node: 'n2', at, source: 'n1', state: 'in-sync', reachable: false, asOf: at - 4000, seconds: 4 })).toBe(
    'in sync with n1 as of 2026-12-07T02:51:03Z; lag ≤ 4.0 s, bytes behind unknown; n1 unreachable (monitor at 2026-12-07T02:51:07Z)',
  );
});

test('no replicas, no section', () => {
  const { replicas: _r, ...none } = status;
  void _r;
  expect(renderStatus(none).some((l) => l.startsWith('Replicas'))).toBe(false);
});
