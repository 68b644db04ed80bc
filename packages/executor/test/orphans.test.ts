/**
 * Issue 16 ("Hardening"), item 1: a resource removed from the configuration (an orphan) is stopped
 * with its last known definition, which the graph action carries from its node's history; every
 * action that defines an instance records the parameters it ran with, for that day.
 */
import { silentLogger } from '@paceline/agent-api';
import type { ClusterStatus } from '@paceline/model';
import { executeTransition, recordAll } from '@paceline/executor';
import { act, config, drive, graph, recordingAgent, registryWith, SimClock } from './helpers.js';

const runner = { run: async () => ({ exitCode: 0, stdout: '', stderr: '', timedOut: false, notFound: false }) };

test('an orphan stop runs its agent with the definition the action carries', async () => {
  const clock = new SimClock();
  const fake = recordingAgent('fake');
  const cfg = config([{ id: 'other' }]);
  const stop = act('orph_stop_0 n1', 'stop', 'orph', 'n1', { primitive: 'orph', definition: { agent: 'paceline:fake', params: { value: 'last' } } });
  const report = await drive(
    clock,
    executeTransition(graph([stop]), { agents: registryWith(fake.agent), config: cfg, runner, clock, logger: silentLogger, stateRoot: '/state' }),
  );
  expect(report.results[0]).toMatchObject({ state: 'succeeded' });
  expect(fake.calls).toEqual([expect.objectContaining({ action: 'stop', instance: 'orph', params: { value: 'last' } })]);
});

test('without a definition an orphan stop is still misconfigured (as before), naming the primitive', async () => {
  const clock = new SimClock();
  const fake = recordingAgent('fake');
  const report = await drive(
    clock,
    executeTransition(graph([act('orph_stop_0 n1', 'stop', 'orph', 'n1')]), {
      agents: registryWith(fake.agent),
      config: config([{ id: 'other' }]),
      runner,
      clock,
      logger: silentLogger,
      stateRoot: '/state',
    }),
  );
  expect(report.results[0]).toMatchObject({ state: 'failed', reason: expect.stringContaining('no primitive "orph"') });
  expect(fake.calls).toEqual([]);
});

test('a start records the agent and parameters it ran with in the history; a recurring monitor does not replace them', async () => {
  const clock = new SimClock();
  const fake = recordingAgent('fake');
  const cfg = config([{ id: 'web', params: { value: 'v7' } }]);
  const report = await drive(
    clock,
    executeTransition(
      graph(
        [act('web_start_0 n1', 'start', 'web', 'n1'), act('web_monitor_10000 n1', 'monitor', 'web', 'n1', { interval: 10_000 })],
        [['web_start_0 n1', 'web_monitor_10000 n1']],
      ),
      {
        agents: registryWith(fake.agent),
        config: cfg,
        runner,
        clock,
        logger: silentLogger,
        stateRoot: '/state',
      },
    ),
  );
  expect(report.succeeded).toBe(true);
  const status = recordAll({ quorum: true, nodes: [] } as ClusterStatus, report.records);
  expect(status.nodes[0]?.history[0]).toMatchObject({ resource: 'web', agent: 'paceline:fake', params: { value: 'v7' } });
});
