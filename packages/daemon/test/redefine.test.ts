/**
 * A changed resource definition reaches the running resource: two in-process daemons over UDP on
 * 127.0.0.1, `web` (paceline:dummy) running at home on serv1; replacing the configuration with a
 * different `fake` parameter (through serv2, the non-coordinator) restarts web where it runs —
 * stop and start on serv1, no move — and the new start records the new parameters, so nothing
 * more happens afterwards. A change that touches no parameter of web does not restart it.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { AgentRegistry } from '@paceline/agent-api';
import { dummyAgents } from '@paceline/agent-dummy';
import { ExecaCommandRunner, createLogger, systemClock } from '@paceline/runtime';
import { Daemon, systemTimers } from '@paceline/daemon';
import { freePorts, twoNodeConfig, waitFor, testbed } from './helpers.js';

const { root, key, daemons } = testbed('redefine');
const logger = createLogger({
  stream: new Writable({
    write(_c, _e, cb) {
      cb();
    },
  }),
});

test('changed parameters restart the resource in place; an unrelated change does not', async () => {
  const web = (fake: string) => ({ type: 'primitive', id: 'web', agent: 'paceline:dummy', params: { fake }, ops: [{ name: 'monitor', interval: '1s' }] });
  const config = twoNodeConfig(await freePorts(8), { resources: [web('one')] });
  const make = (node: string): Daemon => {
    const d = new Daemon({
      node,
      config,
      stateDir: join(root, node),
      key,
      agents: new AgentRegistry([...dummyAgents]),
      runner: new ExecaCommandRunner(),
      clock: systemClock,
      timers: systemTimers,
      logger,
      controlSocket: false,
    });
    daemons.push(d);
    return d;
  };
  const s1 = make('serv1');
  const s2 = make('serv2');
  const actions: string[] = [];
  for (const d of [s1, s2])
    d.on('action-started', (e) => {
      if (e.interval === 0 && e.action !== 'monitor') {
        actions.push(`${e.action} ${e.instance}@${e.node}`);
      }
    });
  await Promise.all([s1.start(), s2.start()]);
  const runsOn = (): string[] =>
    s2
      .status()
      .resources.filter((r) => r.resource === 'web' && r.role !== 'Stopped' && r.node)
      .map((r) => r.node!);
  await waitFor('web on serv1', () => runsOn().join() === 'serv1' && s1.status().lastTransition?.state !== 'running');
  await new Promise((r) => setTimeout(r, 1000)); // probes and the monitor's first run settle
  actions.length = 0;

  const changed = await s2.update({ op: 'replace', config: { ...config, resources: [web('two')] } });
  expect(changed).toMatchObject({ ok: true });
  await waitFor('web restarted', () => actions.includes('start web@serv1'));
  await new Promise((r) => setTimeout(r, 1500)); // a few scheduler rounds: nothing more may happen
  expect(actions).toEqual(['stop web@serv1', 'start web@serv1']);
  expect(runsOn()).toEqual(['serv1']);

  actions.length = 0;
  const unrelated = await s2.update({
    op: 'replace',
    config: { ...config, resources: [web('two')], properties: { ...(config['properties'] as object), clusterName: 'renamed' } },
  });
  expect(unrelated).toMatchObject({ ok: true });
  await new Promise((r) => setTimeout(r, 1500));
  expect(actions).toEqual([]);
}, 30_000);
