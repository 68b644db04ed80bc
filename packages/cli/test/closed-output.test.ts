/**
 * `paceline status | head` and `paceline simulate | head` (issue 16, item 17): when the reader
 * closes the pipe early, the command ends quietly with exit 0 — no EPIPE stack trace. Real
 * processes: the built CLI, and for `status` a real daemon on loopback (one node of a two-node
 * cluster is enough for its control socket to answer). Needs the built CLI (npm test builds first).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

const cli = join(process.cwd(), 'packages/cli/dist/main.js');
if (!existsSync(cli)) throw new Error(`${cli} is not built: run npm run build (npm test does)`);
const root = mkdtempSync(join(tmpdir(), `paceline-epipe-${process.pid}-`));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  firstLine: string;
}

/** Runs the CLI with stdout read like `head -1`: the first line, then the read end is closed. */
function runHead(args: readonly string[], { closeAtOnce = false } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let firstLine = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    if (closeAtOnce) child.stdout.destroy();
    else
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        firstLine = d.split('\n')[0]!;
        child.stdout.destroy();
      });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`paceline ${args.join(' ')} did not end after its output was closed; stderr: ${stderr}`));
    }, 90_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, firstLine });
    });
  });
}

/** A UDP port on 127.0.0.1 such that it and the next `count - 1` are free (heartbeat, then the daemon channel). */
async function freeUdpPorts(count: number): Promise<number> {
  const bindable = (port: number): Promise<number> =>
    new Promise((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => {
        s.close();
        resolve(-1);
      });
      s.bind(port, '127.0.0.1', () => {
        const p = s.address().port;
        s.close();
        resolve(p);
      });
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await bindable(0);
    let ok = base > 0 && base + count < 65536;
    for (let i = 1; i < count && ok; i++) ok = (await bindable(base + i)) > 0;
    if (ok) return base;
  }
  throw new Error('no free UDP ports on 127.0.0.1');
}

/** Enough resources and nodes that --show-scores writes far more than a pipe holds (64 KiB). */
function bigConfig(): string {
  const nodes = Array.from({ length: 6 }, (_, i) => ({ name: `n${i + 1}` }));
  const resources = Array.from({ length: 300 }, (_, i) => ({ type: 'primitive', id: `r${i}`, agent: 'paceline:dummy' }));
  return stringify({ properties: { stonithEnabled: false }, nodes, resources });
}

describe('output closed by the reader', () => {
  test('simulate | head -1: the first line, then a quiet exit 0', async () => {
    const file = join(root, 'big.yaml');
    writeFileSync(file, bigConfig());
    const r = await runHead(['simulate', '--config', file, '--show-scores']);
    expect(r.firstLine).toBe('Current cluster status:');
    expect(r.stderr).toBe('');
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
  }, 120_000);

  test('simulate with its output closed before it writes anything, and with stderr closed too', async () => {
    const file = join(root, 'big.yaml');
    writeFileSync(file, bigConfig());
    const r = await runHead(['simulate', '--config', file], { closeAtOnce: true });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // `2>&1 | head`: both streams on the closed pipe
    const both = spawnSync('sh', ['-c', `"${process.execPath}" "${cli}" simulate --config "${file}" --show-scores 2>&1 | head -c 10 >/dev/null`], {
      encoding: 'utf8',
    });
    expect(both.stdout + both.stderr).not.toMatch(/EPIPE|node:events|throw er/);
  }, 120_000);

  test('status | head -1 and status --watch | head -1 against a real daemon', async () => {
    const port = await freeUdpPorts(2);
    const config = {
      properties: { clusterName: 'epipe', stonithEnabled: false, noQuorumPolicy: 'ignore' },
      nodes: [
        { name: 'serv1', addresses: { lan: `127.0.0.1:${port}` } },
        { name: 'serv2', addresses: { lan: `127.0.0.1:${port + 10}` } },
      ],
      resources: [],
    };
    writeFileSync(join(root, 'cluster.yaml'), stringify(config));
    expect(spawnSync(process.execPath, [cli, 'keygen', join(root, 'key')]).status).toBe(0);
    const log = openSync(join(root, 'daemon.log'), 'a');
    const daemon = spawn(
      process.execPath,
      [cli, 'daemon', '--config', join(root, 'cluster.yaml'), '--node', 'serv1', '--state-dir', join(root, 'serv1'), '--key', join(root, 'key')],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    try {
      const stateDir = join(root, 'serv1');
      // The control socket answers once the daemon runs.
      const deadline = Date.now() + 60_000; // generous: a loaded machine
      for (;;) {
        const s = spawnSync(process.execPath, [cli, 'status', '--state-dir', stateDir], { encoding: 'utf8' });
        if (s.status === 0) break;
        if (Date.now() > deadline) throw new Error(`the daemon did not answer: ${s.stderr}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      for (const extra of [[], ['--watch', '--interval', '100'], ['--json']]) {
        const r = await runHead(['status', '--state-dir', stateDir, ...extra], { closeAtOnce: true });
        expect({ args: extra, stderr: r.stderr, code: r.code }).toEqual({ args: extra, stderr: '', code: 0 });
      }
      const r = await runHead(['status', '--state-dir', stateDir]);
      expect(r.firstLine).toMatch(/^Cluster epipe/);
      expect(r.code).toBe(0);
    } finally {
      daemon.kill('SIGTERM');
      await new Promise((r) => (daemon.exitCode !== null ? r(undefined) : daemon.once('exit', r)));
    }
  }, 180_000);
});
