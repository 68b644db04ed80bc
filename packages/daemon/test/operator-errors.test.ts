/**
 * Issue 16 ("Hardening"), item 18: what the operator is told. `cleanup` of a resource nobody knows is
 * an error naming it; a control request cut off by the daemon going away says the outcome is
 * unknown (not a JSON parse error); a peer using another cluster key is said at WARN, once per
 * sender, not only counted. In-process daemons over real UDP on 127.0.0.1.
 */
import { createServer } from 'node:net';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { AgentRegistry } from '@paceline/agent-api';
import { dummyAgents } from '@paceline/agent-dummy';
import { ExecaCommandRunner, createLogger, systemClock } from '@paceline/runtime';
import { CONTROL_SOCKET, Daemon, controlRequest, systemTimers } from '@paceline/daemon';
import { freePorts, twoNodeConfig, waitFor, testbed } from './helpers.js';

const { root, key, daemons } = testbed('operator-errors');

function make(node: string, config: Record<string, unknown>, k: Buffer, lines: string[], dir = node): Daemon {
  const logger = createLogger({
    stream: new Writable({
      write(chunk, _e, cb) {
        lines.push(String(chunk));
        cb();
      },
    }),
    level: 'info',
  });
  const d = new Daemon({
    node,
    config,
    stateDir: join(root, dir),
    key: k,
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

test('cleanup of a resource that is neither configured nor in any history is an error naming it', async () => {
  const base = await freePorts(8);
  const c = twoNodeConfig(base);
  const d = make('serv1', { ...c, nodes: (c['nodes'] as unknown[]).slice(0, 1) }, key, []);
  await d.start();
  const dir = join(root, 'serv1');
  expect(await controlRequest(dir, { cmd: 'cleanup', resource: 'nosuch' })).toMatchObject({
    ok: false,
    message: expect.stringContaining('no resource "nosuch"'),
  });
  expect(await controlRequest(dir, { cmd: 'cleanup', resource: 'web', node: 'serv9' })).toMatchObject({
    ok: false,
    message: expect.stringContaining('no node "serv9"'),
  });
  expect(await controlRequest(dir, { cmd: 'cleanup', resource: 'web' })).toMatchObject({ ok: true, message: 'cleaned up web on all nodes' });
  await d.dispose();
}, 60_000);

test('a control request cut off before its answer says the outcome is unknown', async () => {
  const dir = join(root, 'crashing');
  mkdirSync(dir, { recursive: true });
  // A daemon that reads the request and dies before answering (a crash mid-request), or after half an answer.
  for (const partial of ['', '{"ok":tr']) {
    const server = createServer((s) => s.once('data', () => s.end(partial)));
    await new Promise<void>((r) => server.listen(join(dir, CONTROL_SOCKET), () => r()));
    const err = await controlRequest(dir, { cmd: 'update', request: { op: 'standby', node: 'serv1', on: true } }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/closed the connection before answering.*outcome of the request is unknown/);
    expect((err as Error).message).not.toMatch(/JSON/);
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('a peer with another cluster key is said at WARN once per sender, then only counted', async () => {
  const base = await freePorts(8);
  const config = twoNodeConfig(base);
  const lines1: string[] = [];
  const s1 = make('serv1', config, key, lines1, 'keys-serv1');
  const s2 = make('serv2', config, randomBytes(32), [], 'keys-serv2');
  await Promise.all([s1.start(), s2.start()]);
  await waitFor('forged packets counted', () => (s1.status().dropped['forged'] ?? 0) > 20);
  const warned = (): string[] => lines1.filter((l) => l.includes('WARN') && l.includes('fail authentication'));
  const first = warned();
  expect(first.length).toBeGreaterThanOrEqual(1);
  // (The one peer's host is 127.0.0.1 here: the sender is named by it.)
  expect(
    first.every(
      (l) => /heartbeats from 127\.0\.0\.1:\d+ \(serv2's host\) on link (lan|crossover)|daemon messages on link/.test(l) && l.includes('same cluster key'),
    ),
  ).toBe(true);
  await new Promise((r) => setTimeout(r, 1500));
  expect(warned()).toEqual(first);
  // heartbeats from serv2's two link addresses, daemon messages on two links: at most four lines.
  expect(first.length).toBeLessThanOrEqual(4);
}, 60_000);
