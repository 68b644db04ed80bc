import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecaCommandRunner, killProcessGroup } from '@paceline/runtime';

const runner = new ExecaCommandRunner();
import { readFileSync } from 'node:fs';
/** Alive and not a zombie (an orphan may wait a while for a reaper). */
const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

describe('ExecaCommandRunner.run', () => {
  test('passes arguments as an array, never through a shell', async () => {
    const r = await runner.run('printf', ['%s|', 'a b', '$(echo no)', ';ls']);
    expect(r).toMatchObject({ exitCode: 0, stdout: 'a b|$(echo no)|;ls|', timedOut: false, notFound: false });
  });
  test('reports exit codes, stderr, env, cwd and input', async () => {
    const r = await runner.run('sh', ['-c', 'echo "$X" >&2; pwd; cat; exit 3', 'ignored'], { env: { X: 'hello' }, cwd: '/tmp', input: 'in' });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toBe('hello\n');
    expect(r.stdout).toBe('/tmp\nin');
  });
  test('a missing program is notFound', async () => {
    const r = await runner.run('/nonexistent/program', []);
    expect(r).toMatchObject({ notFound: true, exitCode: null });
  });
  test('a timeout kills the whole process group', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'runner-'));
    try {
      const pidFile = join(dir, 'child.pid');
      const started = Date.now();
      // The shell starts a grandchild and waits: killing only the shell would leave `sleep` behind.
      const r = await runner.run('sh', ['-c', `sleep 30 & echo $! > ${pidFile}; wait`], { timeoutMs: 300 });
      expect(r.timedOut).toBe(true);
      expect(r.signal).toBe('SIGKILL');
      expect(Date.now() - started).toBeLessThan(5000);
      const grandchild = Number((await readFile(pidFile, 'utf8')).trim());
      await new Promise((res) => setTimeout(res, 100));
      expect(alive(grandchild)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  test('an abort signal kills the group', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const r = await runner.run('sleep', ['30'], { signal: ac.signal });
    expect(r.signal).toBe('SIGKILL');
    expect(r.timedOut).toBe(false);
  });
});

describe('ExecaCommandRunner.spawn', () => {
  test('starts a daemon in its own process group, output to a log file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'runner-'));
    try {
      const log = join(dir, 'out.log');
      const r = await runner.spawn('sh', ['-c', 'echo started; exec sleep 30'], { logFile: log, env: { A: '1' } });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(alive(r.pid)).toBe(true);
      await new Promise((res) => setTimeout(res, 200));
      expect(await readFile(log, 'utf8')).toBe('started\n');
      expect(killProcessGroup(r.pid, 'SIGTERM')).toBe(true);
      await new Promise((res) => setTimeout(res, 200));
      expect(alive(r.pid)).toBe(false);
      expect(killProcessGroup(r.pid)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  test('a missing program is reported, not thrown', async () => {
    expect(await runner.spawn('/nonexistent/daemon', [])).toMatchObject({ ok: false, notFound: true });
  });
});
