/**
 * Issue 16 ("Hardening"), item 2: `config apply` of an empty or truncated file. A replacement that
 * drops a current member, or has no nodes or no resources where the cluster has some, is refused
 * unless forced; a node dropped with --force still starts (from its configuration file) instead of
 * refusing to. Two in-process daemons over real UDP on 127.0.0.1, with the dummy agent.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { AgentRegistry } from '@paceline/agent-api';
import { dummyAgents } from '@paceline/agent-dummy';
import { ExecaCommandRunner, createLogger, systemClock } from '@paceline/runtime';
import { Daemon, controlRequest, loadState, systemTimers } from '@paceline/daemon';
import { freePorts, twoNodeConfig, waitFor, testbed } from './helpers.js';

const { root, key, daemons } = testbed('config-guard');
const lines: string[] = [];
const logger = createLogger({
  stream: new Writable({
    write(chunk, _e, cb) {
      lines.push(String(chunk));
      cb();
    },
  }),
  level: 'info',
});

function make(node: string, config: Record<string, unknown>): Daemon {
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
    shutdownTimeoutMs: 5000,
  });
  daemons.push(d);
  return d;
}

test('a replacement that drops a member or empties nodes or resources is refused unless forced; a dropped node still starts', async () => {
  const config = twoNodeConfig(await freePorts(8));
  const s1 = make('serv1', config);
  const s2 = make('serv2', config);
  await Promise.all([s1.start(), s2.start()]);
  await waitFor(
    'both members, web placed',
    () => s1.status().members.length === 2 && s2.status().members.length === 2 && s1.status().resources.some((r) => r.node === 'serv1'),
  );
  const dir = join(root, 'serv2'); // asked on the non-coordinator: forwarded
  const epoch = s1.document().epoch;

  const empty = await controlRequest(dir, { cmd: 'update', request: { op: 'replace', config: {} } });
  expect(empty).toMatchObject({
    ok: false,
    message: expect.stringMatching(/refusing to replace the configuration: it has no nodes.*it has no resources.*--force/),
  });
  const nodes = config['nodes'] as unknown[];
  const withoutServ2 = await controlRequest(dir, { cmd: 'update', request: { op: 'replace', config: { ...config, nodes: nodes.slice(0, 1) } } });
  expect(withoutServ2).toMatchObject({ ok: false, message: expect.stringContaining('it drops serv2, a current member') });
  const noResources = await controlRequest(dir, { cmd: 'update', request: { op: 'replace', config: { ...config, resources: [], constraints: [] } } });
  expect(noResources).toMatchObject({ ok: false, message: expect.stringContaining('it has no resources') });
  expect(s1.document().epoch).toBe(epoch);

  // Forced, it is applied: serv2 is dropped from the cluster's configuration.
  const forced = await controlRequest(dir, { cmd: 'update', request: { op: 'replace', config: { ...config, nodes: nodes.slice(0, 1) }, force: true } });
  expect(forced).toMatchObject({ ok: true, message: expect.stringContaining('configuration replaced') });
  await waitFor('serv2 holds the document without itself', async () => (await loadState(dir))?.doc.epoch === s1.document().epoch);

  // serv2 restarts: its saved document does not name it; it starts from its file instead of refusing.
  await s2.dispose();
  const again = make('serv2', config);
  await again.start();
  expect(lines.some((l) => l.includes('WARN') && l.includes('does not include serv2: starting from the configuration file'))).toBe(true);
  await again.dispose();
}, 90_000);
