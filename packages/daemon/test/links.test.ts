/**
 * Link failures with two in-process daemons over UDP on 127.0.0.1 (policy stop-all): one link cut →
 * a warning, the link shown down, nothing moves; every link cut → both sides stop everything (never
 * active on both); healed → the resource runs at home again.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { AgentRegistry } from '@paceline/agent-api';
import { dummyAgents } from '@paceline/agent-dummy';
import { ExecaCommandRunner, UdpTransport, createLogger, systemClock } from '@paceline/runtime';
import { Daemon, systemTimers, type DaemonStatus } from '@paceline/daemon';
import { freePorts, twoNodeConfig, waitFor, testbed } from './helpers.js';

const { root, key, daemons } = testbed('links');
const logger = createLogger({
  stream: new Writable({
    write(_c, _e, cb) {
      cb();
    },
  }),
});
const cut = new Set<string>();

const active = (s: DaemonStatus, rsc: string): string[] => s.resources.filter((r) => r.resource === rsc && r.role !== 'Stopped' && r.node).map((r) => r.node!);

test('one link down warns, all links down stops both sides, healing restores', async () => {
  const config = twoNodeConfig(await freePorts(8));
  const nodes = config['nodes'] as { name: string; addresses: Record<string, string> }[];
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
      membership: { partitionPolicy: 'stop-all' },
      transport: async (onInput) => {
        const t = await UdpTransport.open({ self: node, nodes, key, onInput, now: () => Date.now() });
        return {
          send: (o) => {
            if (!cut.has(o.link)) t.send(o);
          },
          dispose: () => t.dispose(),
        };
      },
    });
    daemons.push(d);
    return d;
  };
  const s1 = make('serv1');
  const s2 = make('serv2');
  const downs: string[] = [];
  s2.on('link-down', (e) => downs.push(`${e.node}/${e.link}`));
  const lost: string[] = [];
  s2.on('node-lost', (e) => lost.push(e.node));
  await Promise.all([s1.start(), s2.start()]);
  await waitFor('web on serv1, both quorate', () => active(s2.status(), 'web').join() === 'serv1' && s1.status().mayRun && s2.status().mayRun);

  cut.add('lan');
  await waitFor('lan shown down', () => s2.status().nodes.find((n) => n.name === 'serv1')?.links['lan'] === 'down');
  await new Promise((r) => setTimeout(r, 600));
  expect(downs).toEqual(['serv1/lan']);
  expect(lost).toEqual([]);
  expect(active(s2.status(), 'web')).toEqual(['serv1']);
  expect(s2.status().nodes.find((n) => n.name === 'serv1')).toMatchObject({ state: 'online', links: { lan: 'down', crossover: 'up' } });

  // Every link cut: each side loses its peer and, under stop-all, stops everything.
  let both = false;
  const sample = setInterval(() => {
    if (active(s1.status(), 'web').includes('serv1') && active(s2.status(), 'web').includes('serv2')) both = true;
  }, 20);
  try {
    cut.add('crossover');
    await waitFor('serv1 stopped web', () => !s1.status().mayRun && active(s1.status(), 'web').length === 0);
    await waitFor('serv2 may not run either', () => !s2.status().mayRun);
    expect(lost).toEqual(['serv1']);

    cut.clear();
    await waitFor('web back on serv1', () => s2.status().mayRun && active(s2.status(), 'web').join() === 'serv1');
  } finally {
    clearInterval(sample);
  }
  expect(both).toBe(false);
}, 30_000);
