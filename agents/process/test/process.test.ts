import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatReport, invokeAgent, silentLogger, testAgent, validateParams, type ActionResult, type AgentAction } from '@paceline/agent-api';
import { ExecaCommandRunner, SystemClock } from '@paceline/runtime';
import { processAgent, procInfo } from '@paceline/agent-process';

const runner = new ExecaCommandRunner();
const clock = new SystemClock();
let dir: string;
const cleanup: number[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), `process-agent-${process.pid}-`));
});
afterAll(async () => {
  for (const pid of cleanup)
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  await rm(dir, { recursive: true, force: true });
});

/** A free loopback port (listen on 0, read it, close). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const SERVER =
  "const http=require('http');const port=Number(process.argv[1]);http.createServer((q,s)=>{s.statusCode=q.url==='/health'?200:404;s.end('ok')}).listen(port,'127.0.0.1',()=>console.log('listening',port))";

function call(action: AgentAction, raw: unknown, stateDir: string, timeoutMs = 10_000): Promise<ActionResult> {
  const v = validateParams(processAgent, raw, 'p');
  if (!v.ok) throw new Error(v.message);
  return invokeAgent(processAgent, { action, params: v.params, node: 'n1', instance: 'p', stateDir, run: runner, log: silentLogger, clock, timeoutMs });
}

async function recordedPid(stateDir: string): Promise<number> {
  return (JSON.parse(await readFile(join(stateDir, 'process.json'), 'utf8')) as { pid: number }).pid;
}

describe('paceline:process', () => {
  test('passes the agent test kit with `sleep`', async () => {
    const report = await testAgent(
      processAgent,
      { command: 'sleep', args: ['60'] },
      {
        runner,
        clock,
        stateDir: join(dir, 'sleep'),
        badParams: [
          { command: '' },
          { command: 'x', probe: 'tcp' },
          { command: 'x', probe: 'http', probeUrl: 'not a url' },
          { command: 'x', stopSignal: 'SIGFOO' },
        ],
      },
    );
    expect(formatReport(report)).toContain('all checks passed');
  });

  test('passes the agent test kit with a node HTTP server and an http readiness probe', async () => {
    const port = await freePort();
    const params = {
      command: process.execPath,
      args: ['-e', SERVER, String(port)],
      probe: 'http',
      probeUrl: `http://127.0.0.1:${port}/health`,
      probeStatus: 200,
    };
    const report = await testAgent(processAgent, params, { runner, clock, stateDir: join(dir, 'http') });
    expect(formatReport(report)).toContain('all checks passed');
  });

  test('tcp probe: start waits for the port; killed externally, monitor reports it; stop is idempotent', async () => {
    const port = await freePort();
    const stateDir = join(dir, 'tcp');
    const pidFile = join(dir, 'tcp.pid');
    const params = { command: process.execPath, args: ['-e', `setTimeout(()=>{${SERVER}},300)`, String(port)], probe: 'tcp', probePort: port, pidFile };
    expect(await call('start', params, stateDir)).toMatchObject({ execution: 'done', outcome: 'ok' });
    const pid = await recordedPid(stateDir);
    cleanup.push(pid);
    expect(Number(await readFile(pidFile, 'utf8'))).toBe(pid);
    expect(await readFile(join(stateDir, 'output.log'), 'utf8')).toContain(`listening ${port}`);
    expect(await call('monitor', params, stateDir)).toMatchObject({ outcome: 'ok' });
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    const m = await call('monitor', params, stateDir);
    expect(m).toMatchObject({ execution: 'done', outcome: 'not-running' });
    expect(m.reason).toContain(`process ${pid}`);
    expect(await call('stop', params, stateDir)).toMatchObject({ outcome: 'ok' });
    expect(await call('stop', params, stateDir)).toMatchObject({ outcome: 'ok' });
    await expect(readFile(pidFile)).rejects.toThrow();
  });

  test('a process that is alive but not ready fails the monitor', async () => {
    const port = await freePort();
    const stateDir = join(dir, 'unready');
    const server = { command: process.execPath, args: ['-e', SERVER, String(port)], probe: 'http', probeUrl: `http://127.0.0.1:${port}/health` };
    expect(await call('start', server, stateDir)).toMatchObject({ outcome: 'ok' });
    cleanup.push(await recordedPid(stateDir));
    const m = await call('monitor', { ...server, probeUrl: `http://127.0.0.1:${port}/missing` }, stateDir);
    expect(m).toMatchObject({ outcome: 'generic-error' });
    expect(m.reason).toContain('status 404');
    expect(await call('stop', server, stateDir)).toMatchObject({ outcome: 'ok' });
  });

  test('start fails (and cleans up) when the probe never passes before the timeout', async () => {
    const port = await freePort();
    const stateDir = join(dir, 'never');
    const r = await call('start', { command: 'sleep', args: ['60'], probe: 'tcp', probePort: port, probeIntervalMs: 100 }, stateDir, 1500);
    expect(r).toMatchObject({ execution: 'done', outcome: 'generic-error' });
    expect(r.reason).toMatch(/did not become ready.*ECONNREFUSED/);
    expect(await call('monitor', { command: 'sleep' }, stateDir)).toMatchObject({ outcome: 'not-running' });
  });

  test('a program that exits during start, a missing program, a bad command probe', async () => {
    const r = await call('start', { command: 'sh', args: ['-c', 'echo bad config >&2; exit 3'], settleMs: 300 }, join(dir, 'exits'));
    expect(r).toMatchObject({ outcome: 'generic-error' });
    expect(r.reason).toContain('bad config');
    expect(await call('start', { command: '/nonexistent/daemon' }, join(dir, 'missing'))).toMatchObject({ outcome: 'not-installed' });
    expect(await call('validate', { command: 'no-such-program-anywhere' }, join(dir, 'missing'))).toMatchObject({ outcome: 'not-installed' });
    const stateDir = join(dir, 'cmdprobe');
    const params = { command: 'sleep', args: ['60'], probe: 'command', probeCommand: ['test', '-e', join(stateDir, 'ready')] };
    // 3 s: the agent gives up a tenth of the timeout before it (300 ms), time enough for the last
    // forked probe and the stop even on a loaded machine (1.5 s left 150 ms, and CI once ran out).
    const start = await call('start', params, stateDir, 3000);
    expect(start.reason).toMatch(/probe command test: exit code 1/);
  });

  test('a pid reused by another process is not mistaken for ours', async () => {
    const stateDir = join(dir, 'reused');
    const params = { command: 'sleep', args: ['60'] };
    expect(await call('start', params, stateDir)).toMatchObject({ outcome: 'ok' });
    const rec = JSON.parse(await readFile(join(stateDir, 'process.json'), 'utf8')) as { pid: number; startTime: string };
    cleanup.push(rec.pid);
    expect((await procInfo(rec.pid))?.startTime).toBe(rec.startTime);
    await writeFile(join(stateDir, 'process.json'), JSON.stringify({ ...rec, startTime: '1' }));
    const m = await call('monitor', params, stateDir);
    expect(m).toMatchObject({ outcome: 'not-running' });
    expect(m.reason).toContain('another process');
    // stop must not kill the process that now owns the pid
    expect(await call('stop', params, stateDir)).toMatchObject({ outcome: 'ok' });
    expect((await procInfo(rec.pid))?.state).not.toBe('Z');
    process.kill(-rec.pid, 'SIGKILL');
  });

  test('a program that ignores SIGTERM is killed after stopTimeoutMs', async () => {
    const stateDir = join(dir, 'stubborn');
    const params = { command: 'sh', args: ['-c', 'trap "" TERM; sleep 60 & wait; sleep 60'], stopTimeoutMs: 300 };
    expect(await call('start', params, stateDir)).toMatchObject({ outcome: 'ok' });
    const pid = await recordedPid(stateDir);
    cleanup.push(pid);
    const t0 = Date.now();
    expect(await call('stop', params, stateDir)).toMatchObject({ outcome: 'ok' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    const info = await procInfo(pid);
    expect(info === undefined || info.state === 'Z').toBe(true);
  });

  const root = process.getuid?.() === 0;
  (root ? test : test.skip)('runs as another user via setpriv (needs root)', async () => {
    const stateDir = join(dir, 'user');
    const params = { command: 'sleep', args: ['60'], user: 'nobody' };
    expect(await call('start', params, stateDir)).toMatchObject({ outcome: 'ok' });
    const pid = await recordedPid(stateDir);
    cleanup.push(pid);
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    expect(uid).not.toBe('0');
    expect(await call('stop', params, stateDir)).toMatchObject({ outcome: 'ok' });
    expect(await call('start', { ...params, user: 'no-such-user-xyz' }, join(dir, 'nouser'))).toMatchObject({ outcome: 'misconfigured' });
  });
  if (!root)
    test('running as another user needs root', () => {
      console.log('skipped: setpriv user test needs root');
    });
});
