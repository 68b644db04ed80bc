/**
 * Issue 16 ("Hardening"), item 1: a resource removed from the configuration while it runs (an
 * orphan) is stopped with its last known definition — the agent and parameters its node recorded in
 * its history — and then vanishes from the status. Before, its stop failed "misconfigured: no
 * primitive in the configuration", it kept running, showed FAILED (unmanaged), and with fencing on
 * that failed stop fenced its node. In-process daemons over real UDP on 127.0.0.1, dummy agent.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { AgentRegistry } from '@paceline/agent-api';
import type { ClusterConfigInput } from '@paceline/model';
import { dummyAgents } from '@paceline/agent-dummy';
import { ExecaCommandRunner, createLogger, systemClock } from '@paceline/runtime';
import { Daemon, systemTimers } from '@paceline/daemon';
import { freePorts, twoNodeConfig, waitFor, testbed } from './helpers.js';

const { root, key, daemons } = testbed('orphans');
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

test('a running resource removed from the configuration is stopped with its last definition, then vanishes', async () => {
  const base = await freePorts(8);
  const c = twoNodeConfig(base);
  // The orphan-to-be keeps its state in a file named by a parameter: only its own definition finds it.
  const orphState = join(root, 'orph.state');
  const keep = { type: 'primitive', id: 'keep', agent: 'paceline:dummy' } as const;
  const config: ClusterConfigInput = {
    ...c,
    nodes: (c['nodes'] as NonNullable<ClusterConfigInput['nodes']>).slice(0, 1),
    resources: [keep, { type: 'primitive', id: 'orph', agent: 'paceline:dummy', params: { state: orphState, fake: 'v1' } }],
    constraints: [],
  };
  const fenced: string[] = [];
  const d = new Daemon({
    node: 'serv1',
    config,
    stateDir: join(root, 'serv1'),
    key,
    agents: new AgentRegistry([...dummyAgents]),
    runner: new ExecaCommandRunner(),
    clock: systemClock,
    timers: systemTimers,
    logger,
    shutdownTimeoutMs: 5000,
    fence: async (n) => {
      fenced.push(n);
      return { ok: true };
    },
  });
  daemons.push(d);
  await d.start();
  await waitFor('orph running', () => existsSync(orphState) && d.status().resources.some((r) => r.resource === 'orph' && r.role === 'Started'));

  const r = await d.update({ op: 'replace', config: { ...config, resources: [keep] } }, 30_000);
  expect(r).toMatchObject({ ok: true });
  await waitFor('orph stopped', () => !existsSync(orphState));
  await waitFor('orph gone from the status', () => !d.status().resources.some((x) => x.resource === 'orph') && d.status().lastTransition?.state !== 'running');
  expect(d.status().resources.filter((x) => x.failed)).toEqual([]);
  expect(d.status().nodes[0]?.failures).toEqual([]);
  expect(lines.filter((l) => l.includes('no primitive'))).toEqual([]);
  expect(fenced).toEqual([]);
  expect(d.status().resources.find((x) => x.resource === 'keep')).toMatchObject({ role: 'Started', node: 'serv1' });
  await d.dispose();
}, 60_000);
