/**
 * A start that fails on a node moves the resource (two in-process daemons on 127.0.0.1, the dummy
 * agent failing its start on serv1 only, through `paramsByNode`): with `startFailureIsFatal` (the
 * default) at the first failure — the fail count is INFINITY — and without it once the fail count
 * reaches `migrationThreshold`. Before, every failed start counted 1 and a resource whose start
 * could not succeed where it was (a VIP on a link that is down) was recovered there for ever.
 */
import { join } from 'node:path';
import { AgentRegistry } from '@paceline/agent-api';
import { dummyAgents } from '@paceline/agent-dummy';
import { ExecaCommandRunner, createLogger, systemClock } from '@paceline/runtime';
import { Daemon, systemTimers, type DaemonStatus } from '@paceline/daemon';
import { INFINITY } from '@paceline/model';
import { Writable } from 'node:stream';
import { freePorts, twoNodeConfig, waitFor, testbed } from './helpers.js';

const { root, key, daemons } = testbed('start-failure');
const logger = createLogger({
  stream: new Writable({
    write(_c, _e, cb) {
      cb();
    },
  }),
  level: 'error',
});

function make(node: string, config: Record<string, unknown>, dir: string): Daemon {
  const d = new Daemon({
    node,
    config,
    stateDir: join(root, dir, node),
    key,
    agents: new AgentRegistry([...dummyAgents]),
    runner: new ExecaCommandRunner(),
    clock: systemClock,
    timers: systemTimers,
    logger,
    fence: async () => ({ ok: true }),
  });
  daemons.push(d);
  return d;
}

const where = (s: DaemonStatus): string | null | undefined => s.resources.find((r) => r.resource === 'web' && r.role !== 'Stopped')?.node;
const startFailures = (s: DaemonStatus): number | undefined =>
  s.nodes.find((n) => n.name === 'serv1')?.failures?.find((f) => f.resource === 'web' && f.action === 'start')?.count;

/** web at home on serv1, whose start fails there; `extra` adds to the properties and the resource. */
async function cluster(dir: string, properties: Record<string, unknown>, meta: Record<string, unknown>): Promise<Daemon> {
  const base = twoNodeConfig(await freePorts(8));
  const config = {
    ...base,
    properties: { ...(base['properties'] as object), ...properties },
    resources: [
      {
        type: 'primitive',
        id: 'web',
        agent: 'paceline:dummy',
        meta,
        ops: [{ name: 'monitor', interval: '1s' }],
        paramsByNode: { serv1: { failActions: ['start'] } },
      },
    ],
  };
  const s1 = make('serv1', config, dir);
  const s2 = make('serv2', config, dir);
  await Promise.all([s1.start(), s2.start()]);
  return s1;
}

test('startFailureIsFatal (the default): the first failed start bans the node and the resource runs elsewhere', async () => {
  const s1 = await cluster('fatal', {}, {});
  await waitFor('web on serv2', () => where(s1.status()) === 'serv2', 20_000);
  expect(startFailures(s1.status())).toBe(INFINITY);
});

test('without startFailureIsFatal a failed start counts 1 and the resource moves at migrationThreshold', async () => {
  const s1 = await cluster('lenient', { startFailureIsFatal: false }, { migrationThreshold: 3 });
  await waitFor('web on serv2', () => where(s1.status()) === 'serv2', 20_000);
  expect(startFailures(s1.status())).toBe(3);
});
