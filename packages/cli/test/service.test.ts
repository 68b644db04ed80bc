/**
 * Running as a service, without systemd running: the unit passes `systemd-analyze verify`; a real
 * `paceline daemon` process given NOTIFY_SOCKET and WATCHDOG_USEC (as systemd gives them) sends
 * READY=1 once it serves metrics, WATCHDOG=1 pings with a STATUS line, and STOPPING=1 on SIGTERM,
 * then exits 0; `paceline report` bundles what support needs — and never the key.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { redactConfig } from '../src/commands/report.js';
import { freePorts, twoNodeConfig, waitFor } from '../../daemon/test/helpers.js';

const repo = process.cwd();
const cli = join(repo, 'packages/cli/dist/main.js');
const unit = join(repo, 'packaging/systemd/paceline.service');
const built = existsSync(cli);
if (!built) process.stderr.write(`skipping the service tests: ${cli} is not built (run npm run build)\n`);
const maybe = built ? test : test.skip;
const analyze = spawnSync('systemd-analyze', ['--version']).status === 0;
if (!analyze) process.stderr.write('skipping the unit verification: systemd-analyze is not installed (Debian package systemd)\n');

const root = mkdtempSync(join(tmpdir(), `paceline-svc-${process.pid}-`));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

(analyze ? test : test.skip)('the systemd unit verifies (and a broken one does not)', () => {
  // verify checks that ExecStart's program exists: point it at this build.
  const text = readFileSync(unit, 'utf8').replace('ExecStart=/usr/bin/paceline', `ExecStart=${process.execPath} ${cli}`);
  const verify = (name: string, body: string): { code: number | null; ours: string[] } => {
    const p = join(root, name);
    writeFileSync(p, body);
    const r = spawnSync('systemd-analyze', ['verify', p], { encoding: 'utf8', timeout: 60_000 });
    // Other units on the machine may have their own complaints: only this file's lines count.
    return { code: r.status, ours: `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes(name)) };
  };
  expect(verify('paceline.service', text)).toEqual({ code: 0, ours: [] });
  expect(text).toMatch(/^Type=notify$/m);
  expect(text).toMatch(/^WatchdogSec=\d+s$/m);
  expect(text).toMatch(/^RestartPreventExitStatus=2$/m);
  expect(verify('typo.service', text.replace('Restart=on-failure', 'Restrat=on-failure')).ours.join('\n')).toContain("Unknown key 'Restrat'");
});

maybe(
  'a daemon under NOTIFY_SOCKET: READY=1, watchdog pings, STOPPING=1 on SIGTERM',
  async () => {
    interface Sock {
      bind(p: string): void;
      close(): void;
    }
    const dgram = createRequire(import.meta.url)('unix-dgram') as { createSocket(t: 'unix_dgram', cb: (b: Buffer) => void): Sock };
    const notifyPath = join(root, 'notify.sock');
    const got: string[] = [];
    const sock = dgram.createSocket('unix_dgram', (b) => got.push(b.toString()));
    sock.bind(notifyPath);
    try {
      const base = await freePorts(4);
      const config = twoNodeConfig(base, { nodes: [{ name: 'serv1', addresses: { lan: `127.0.0.1:${base}` } }] });
      writeFileSync(join(root, 'cluster.yaml'), stringify(config));
      expect(spawnSync(process.execPath, [cli, 'keygen', join(root, 'key')]).status).toBe(0);
      const metricsPort = base + 2;
      const child = spawn(
        process.execPath,
        [
          cli,
          'daemon',
          '--config',
          join(root, 'cluster.yaml'),
          '--node',
          'serv1',
          '--state-dir',
          join(root, 'st'),
          '--key',
          join(root, 'key'),
          '--metrics-listen',
          `127.0.0.1:${metricsPort}`,
        ],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, NOTIFY_SOCKET: notifyPath, WATCHDOG_USEC: '400000' },
        },
      );
      children.push(child);
      let out = '';
      child.stdout!.on('data', (c) => {
        out += String(c);
      });
      child.stderr!.on('data', (c) => {
        out += String(c);
      });
      await waitFor('READY=1', () => got.some((m) => m.includes('READY=1')), 30_000).catch((e: Error) => {
        throw new Error(`${e.message}\n${out}`);
      });
      const ready = got.find((m) => m.includes('READY=1'))!;
      expect(ready).toContain(`MAINPID=${child.pid}`);
      expect(ready).toMatch(/STATUS=coordinator, 1\/1 nodes, quorate/);
      // Ready means ready: the metrics listener answers already.
      expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status).toBe(200);
      await waitFor('three watchdog pings (every 200 ms)', () => got.filter((m) => m.startsWith('WATCHDOG=1')).length >= 3, 30_000);
      expect(got.find((m) => m.startsWith('WATCHDOG=1'))).toMatch(/STATUS=coordinator, 1\/1 nodes, quorate, \d resources? here/);
      expect(out).toContain('systemd: ready, watchdog ping every 200 ms (via socket)');
      child.kill('SIGTERM');
      const code = await new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (c) => r(c))));
      expect(code).toBe(0);
      expect(got.some((m) => m.startsWith('STOPPING=1'))).toBe(true);
    } finally {
      sock.close();
    }
  },
  90_000,
);

test('report redacts secrets in the configuration', () => {
  const doc = {
    nodes: [],
    monitoring: {
      alerts: [
        { id: 'hook', url: 'https://user:pw@hooks.example/x?token=abc', headers: { authorization: 'Bearer s3cret' } },
        { id: 'mail', path: '/bin/true', env: { SMTP_PASSWORD: 'pw' }, recipients: ['ops@example.com'] },
      ],
    },
  };
  const r = JSON.stringify(redactConfig(doc));
  expect(r).not.toMatch(/s3cret|user:pw|token=abc|"pw"/);
  expect(r).toContain('ops@example.com');
  expect(JSON.stringify(doc)).toContain('s3cret'); // the original is left alone
});

maybe(
  'paceline report: versions, configuration, status, state, logs — and not the key',
  async () => {
    const base = await freePorts(4);
    const dir = join(root, 'report');
    mkdirSync(dir);
    const config = twoNodeConfig(base, {
      nodes: [{ name: 'serv1', addresses: { lan: `127.0.0.1:${base}` } }],
      monitoring: { alerts: [{ id: 'hook', url: 'http://127.0.0.1:9/x', headers: { authorization: 'Bearer s3cret-header' } }] },
    });
    writeFileSync(join(dir, 'cluster.yaml'), stringify(config));
    writeFileSync(join(dir, 'daemon.log'), 'a log line\n');
    spawnSync(process.execPath, [cli, 'keygen', join(dir, 'key')]);
    const key = readFileSync(join(dir, 'key'));
    const child = spawn(
      process.execPath,
      [cli, 'daemon', '--config', join(dir, 'cluster.yaml'), '--node', 'serv1', '--state-dir', join(dir, 'st'), '--key', join(dir, 'key')],
      { stdio: 'ignore' },
    );
    children.push(child);
    await waitFor('control socket', () => existsSync(join(dir, 'st', 'control.sock')), 30_000);
    const r = spawnSync(
      process.execPath,
      [
        cli,
        'report',
        '--config',
        join(dir, 'cluster.yaml'),
        '--state-dir',
        join(dir, 'st'),
        '--dest',
        join(dir, 'bundle.tar.gz'),
        '--log',
        join(dir, 'daemon.log'),
        '--no-journal',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`wrote ${join(dir, 'bundle.tar.gz')}`);
    child.kill('SIGTERM');
    const x = join(dir, 'x');
    mkdirSync(x);
    expect(spawnSync('tar', ['-xzf', join(dir, 'bundle.tar.gz'), '-C', x]).status).toBe(0);
    const [top] = readdirSync(x);
    expect(top).toMatch(/^paceline-report-.+-\d{8}T\d{6}$/);
    const b = join(x, top!);
    const files = readdirSync(b).sort();
    expect(files).toEqual(
      expect.arrayContaining([
        'README.txt',
        'config.yaml',
        'document.json',
        'log-daemon.log',
        'network.txt',
        'routes.txt',
        'state-dir.txt',
        'state.json',
        'status.json',
        'versions.txt',
      ]),
    );
    expect(readFileSync(join(b, 'versions.txt'), 'utf8')).toMatch(/^paceline \d+\.\d+\.\d+/);
    expect(JSON.parse(readFileSync(join(b, 'status.json'), 'utf8'))).toMatchObject({ node: 'serv1', coordinator: 'serv1' });
    expect(readFileSync(join(b, 'config.yaml'), 'utf8')).toContain('redacted by paceline report');
    expect(readFileSync(join(b, 'state-dir.txt'), 'utf8')).toContain('control.sock');
    // Nothing in the bundle holds the key or the webhook's secret.
    for (const f of files) {
      const content = readFileSync(join(b, f));
      expect(content.includes(key)).toBe(false);
      expect(content.includes(key.toString('base64'))).toBe(false);
      expect(content.includes(key.toString('hex'))).toBe(false);
      expect(content.toString().includes('s3cret-header')).toBe(false);
    }
  },
  90_000,
);
