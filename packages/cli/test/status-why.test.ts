/**
 * `paceline status` says why resources are not where one would expect: the scheduler's warnings
 * about the configuration in force (fencing enabled without a fencing device leaves every resource
 * unmanaged, as explain and config validate say) and, per node, the resources it cannot run (its
 * probe found the agent not installed there, e.g. an agent module that node cannot load).
 */
import { NO_FENCING_DEVICE } from '@paceline/model';
import type { DaemonStatus } from '@paceline/daemon';
import { renderStatus } from '../src/commands/status.js';

const base: DaemonStatus = {
  node: 'serv1',
  boot: 1,
  coordinator: 'serv1',
  term: 1,
  quorate: true,
  mayRun: true,
  mayRunReason: 'ok',
  epoch: 3,
  members: ['serv1', 'serv2'],
  nodes: [
    { name: 'serv1', state: 'online', standby: false, links: {}, failures: [] },
    {
      name: 'serv2',
      state: 'online',
      standby: false,
      links: {},
      failures: [],
      cannotRun: [
        {
          resource: 'lock',
          reason:
            'agent paceline:lock is not available on serv2: agent module ./agents/lock.js (agents[0] of /etc/paceline/cluster.yaml): /etc/paceline/agents/lock.js does not exist',
        },
      ],
    },
  ],
  resources: [{ instance: 'web', resource: 'web', node: null, role: 'Stopped', failed: false, managed: false }],
  dropped: {},
};

test('the no-fencing reason is printed after the resources it leaves unmanaged', () => {
  const lines = renderStatus({ ...base, warnings: [NO_FENCING_DEVICE] });
  const web = lines.indexOf('  * web: Stopped (unmanaged)');
  expect(web).toBeGreaterThan(0);
  expect(lines.slice(web + 1)).toContain(`Warning: ${NO_FENCING_DEVICE}`);
  expect(renderStatus(base).some((l) => l.startsWith('Warning:'))).toBe(false);
});

test('a node lists the resources it cannot run, with the reason', () => {
  const lines = renderStatus(base);
  const i = lines.indexOf('  * serv2: Online');
  expect(lines[i + 1]).toBe(
    '      cannot run lock: agent paceline:lock is not available on serv2: agent module ./agents/lock.js (agents[0] of /etc/paceline/cluster.yaml): /etc/paceline/agents/lock.js does not exist',
  );
});
