/**
 * Three daemons in one process over UDP on 127.0.0.1 (majority quorum, no two-node mode): the
 * coordinator is the lowest name; killing it (no leave) → the two survivors keep quorum, fence it
 * (stub) and run its resource; a node alone of three has no quorum and runs nothing.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { AgentRegistry } from '@paceline/agent-api';
import type { ClusterConfigInput } from '@paceline/model';
import { dummyAgents } from '@paceline/agent-dummy';
import { ExecaCommandRunner, createLogger, systemClock } from '@paceline/runtime';
import { Daemon, systemTimers, type DaemonStatus } from '@paceline/daemon';
import { freePorts, waitFor, testbed } from './helpers.js';

const { root, key, daemons } = testbed('three');
const logger = createLogger({
  stream: new Writable({
    write(_c, _e, cb) {
      cb();
    },
  }),
});

const active = (s: DaemonStatus, rsc: string): string[] => s.resources.filter((r) => r.resource === rsc && r.role !== 'Stopped' && r.node).map((r) => r.node!);

test("three nodes: the majority recovers a lost node's resource", async () => {
  const base = await freePorts(6);
  const names = ['n1', 'n2', 'n3'];
  const config: ClusterConfigInput = {
    properties: { stonithEnabled: false },
    defaults: { resource: { stickiness: 0 } },
    nodes: names.map((name, i) => ({ name, addresses: { lan: `127.0.0.1:${base + 2 * i}` } })),
    resources: ['a', 'b', 'c'].map((id) => ({ type: 'primitive', id, agent: 'paceline:dummy' })),
    constraints: [
      { type: 'location', id: 'a-home', resource: 'a', node: 'n1', score: 100 },
      { type: 'location', id: 'b-home', resource: 'b', node: 'n2', score: 100 },
      { type: 'location', id: 'c-home', resource: 'c', node: 'n3', score: 100 },
    ],
  };
  const fenced: string[] = [];
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
      fence: async (n) => {
        fenced.push(n);
        return { ok: true };
      },
    });
    daemons.push(d);
    return d;
  };
  const [d1, d2, d3] = names.map(make) as [Daemon, Daemon, Daemon];
  await Promise.all([d1.start(), d2.start(), d3.start()]);
  await waitFor(
    'each at home',
    () => ['a', 'b', 'c'].map((r) => active(d3.status(), r).join()).join() === 'n1,n2,n3' && [d1, d2, d3].every((d) => d.status().members.length === 3),
  );
  expect(d2.status()).toMatchObject({ coordinator: 'n1', quorate: true });

  await d1.abandon();
  await waitFor('a recovered on a survivor', () => ['n2', 'n3'].includes(active(d3.status(), 'a').join()));
  expect(fenced).toEqual(['n1']);
  expect(d2.status()).toMatchObject({ quorate: true, coordinator: 'n2' });
  expect(active(d3.status(), 'b')).toEqual(['n2']);
  expect(active(d3.status(), 'c')).toEqual(['n3']);

  // n3 alone (n2 gone too, cleanly): no quorum, nothing runs on n3.
  await d2.dispose();
  await waitFor('n3 without quorum stopped everything', () => !d3.status().quorate && ['a', 'b', 'c'].every((r) => active(d3.status(), r).length === 0));
}, 30_000);
