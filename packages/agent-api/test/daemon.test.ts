/**
 * `@paceline/agent-api/daemon` with real processes and sockets on loopback: listeners found in
 * /proc and mapped to their process, a port seen closed, check verdicts (ok / failed /
 * not-running / hung), and a stop that kills the workers a dead leader left behind.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, type Server } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, type AgentContext } from '@paceline/agent-api';
import {
  daemonStatus,
  groupMembers,
  notRunningResult,
  runCheck,
  startDaemon,
  stopDaemon,
  verdictResult,
  waitPortClosed,
  whoListens,
} from '@paceline/agent-api/daemon';
import { ExecaCommandRunner, SystemClock } from '@paceline/runtime';

const clock = new SystemClock();
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), `daemon-base-${process.pid}-`));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function ctxFor(stateDir: string, timeoutMs = 10_000): AgentContext {
  return {
    node: 'n1',
    instance: 'd',
    stateDir,
    run: new ExecaCommandRunner(),
    log: silentLogger,
    clock,
    signal: AbortSignal.timeout(timeoutMs),
    deadline: Date.now() + timeoutMs,
    op: { name: 'start', interval: 0, timeout: timeoutMs },
  };
}

const listen = (s: Server, host = '127.0.0.1'): Promise<number> =>
  new Promise((resolve) => s.listen(0, host, () => resolve((s.address() as { port: number }).port)));

test('whoListens finds this process on its TCP and UDP ports; waitPortClosed sees the TCP port close', async () => {
  const server = createServer();
  const port = await listen(server);
  const found = await whoListens('tcp', '127.0.0.1', port);
  expect(found.map((f) => f.pid)).toContain(process.pid);
  expect(await whoListens('tcp', '127.0.0.2', port)).toEqual([]);
  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  expect((await whoListens('udp', '127.0.0.1', udp.address().port)).map((f) => f.pid)).toContain(process.pid);
  udp.close();
  const ctx = ctxFor(dir);
  expect(await waitPortClosed(ctx, 'tcp', '127.0.0.1', port, 100)).toBe(false);
  server.close();
  expect(await waitPortClosed(ctx, 'tcp', '127.0.0.1', port, 2000)).toBe(true);
});

test('runCheck: ok, failed, not-running (refused), hung (accepts but never answers)', async () => {
  const signal = new AbortController().signal;
  const say = (port: number) => (s: AbortSignal) =>
    new Promise<{ ok: boolean; saw: string }>((resolve, reject) => {
      const c = connect({ host: '127.0.0.1', port, signal: s });
      c.once('data', (d) => {
        c.destroy();
        resolve({ ok: d.toString().startsWith('hello'), saw: d.toString().trim() });
      });
      c.once('error', reject);
    });
  const greeter = createServer((c) => c.end('hello\n'));
  const port = await listen(greeter);
  expect(await runCheck('greet', 1000, signal, say(port))).toEqual({ verdict: 'ok', saw: 'greet: hello' });
  const rude = createServer((c) => c.end('go away\n'));
  const rudePort = await listen(rude);
  expect(await runCheck('greet', 1000, signal, say(rudePort))).toEqual({ verdict: 'failed', saw: 'greet: go away' });
  const silent = createServer(() => undefined);
  const silentPort = await listen(silent);
  const t0 = Date.now();
  const hung = await runCheck('greet', 300, signal, say(silentPort));
  expect(hung.verdict).toBe('hung');
  expect(Date.now() - t0).toBeLessThan(2000);
  expect(verdictResult(hung)).toMatchObject({ outcome: 'generic-error', reason: 'hung: greet: no answer within 300 ms' });
  await Promise.all([greeter, rude, silent].map((s) => new Promise((r) => s.close(r))));
  const refused = await runCheck('greet', 1000, signal, say(port));
  expect(refused).toEqual({ verdict: 'not-running', saw: 'greet: ECONNREFUSED' });
  expect(verdictResult(refused)).toMatchObject({ outcome: 'not-running' });
});

test('stop (or a new start) kills the workers a SIGKILLed leader left behind; status reports it gone', async () => {
  const stateDir = join(dir, 'workers');
  const ctx = ctxFor(stateDir);
  const d = { name: 'master', stopTimeoutMs: 2000 };
  // A "master" with two "workers" in its process group.
  const launch = { command: 'sh', args: ['-c', 'sleep 60 & sleep 60 & wait'], logFile: join(stateDir, 'log'), settleMs: 100 };
  const started = await startDaemon(ctx, d, launch);
  expect(started).toMatchObject({ outcome: 'ok' });
  const s = await daemonStatus(ctx, d);
  if (s.state !== 'same') throw new Error(`expected the daemon to run, got ${s.state}`);
  expect((await groupMembers(s.record.pid, s.record.startTime)).length).toBe(3);
  process.kill(s.record.pid, 'SIGKILL');
  await clock.sleep(100);
  const gone = await daemonStatus(ctx, d);
  expect(gone.state).toBe('gone');
  expect(notRunningResult(gone)?.reason).toBe(`process ${s.record.pid} (master) is gone`);
  expect((await groupMembers(s.record.pid, s.record.startTime)).length).toBe(2);
  expect(await stopDaemon(ctx, d)).toMatchObject({ outcome: 'ok' });
  await clock.sleep(100);
  expect(await groupMembers(s.record.pid, s.record.startTime)).toEqual([]);
  // A start after the leader died (no stop in between) clears the leftovers first.
  expect(await startDaemon(ctx, d, launch)).toMatchObject({ outcome: 'ok' });
  const again = await daemonStatus(ctx, d);
  if (again.state !== 'same') throw new Error(`expected the daemon to run, got ${again.state}`);
  process.kill(again.record.pid, 'SIGKILL');
  await clock.sleep(100);
  expect((await groupMembers(again.record.pid, again.record.startTime)).length).toBe(2);
  expect(await startDaemon(ctx, d, launch)).toMatchObject({ outcome: 'ok' });
  expect(await groupMembers(again.record.pid, again.record.startTime)).toEqual([]);
  expect(await stopDaemon(ctx, d)).toMatchObject({ outcome: 'ok' });
  expect(await daemonStatus(ctx, d)).toEqual({ state: 'none' });
  expect(await stopDaemon(ctx, d)).toMatchObject({ outcome: 'ok' });
});
