/**
 * `paceline witness` and `paceline daemon --arbiter`: option errors in process; the witness for
 * real as an OS process (the built CLI; skipped with a reason when it is not built), answering an
 * ArbiterClient and logging its decisions until SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliIo } from '@paceline/cli';
import { ArbiterClient, generateKey, readKey } from '@paceline/runtime';

const root = mkdtempSync(join(tmpdir(), `paceline-witness-cli-${process.pid}-`));
const keyPath = join(root, 'key');
const configPath = join(root, 'cluster.yaml');
writeFileSync(
  configPath,
  `
properties: { clusterName: web, stonithEnabled: false }
nodes: [{ name: serv1 }, { name: serv2 }]
resources: []
`,
);
const procs: ChildProcess[] = [];

beforeAll(async () => {
  await generateKey(keyPath);
});
afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

function io(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l), readFile: (p) => readFileSync(p, 'utf8'), now: () => Date.now() };
}

describe('paceline witness: options', () => {
  const cases: [string, string[], RegExp][] = [
    ['an unknown flag', ['--listen', '127.0.0.1:0', '--config', configPath, '--key', keyPath, '--lease', '5'], /unknown option '--lease'/],
    ['no --listen', ['--config', configPath, '--key', keyPath], /required option '--listen <host:port>' not specified/],
    ['a bad address', ['--listen', 'a:b:c', '--config', configPath, '--key', keyPath], /--listen: "a:b:c" is not an address/],
    [
      'a port out of range',
      ['--listen', '127.0.0.1:99999', '--config', configPath, '--key', keyPath],
      /--listen: "127\.0\.0\.1:99999": port 99999 is out of range/,
    ],
    [
      'a bad lease',
      ['--listen', '127.0.0.1:0', '--config', configPath, '--key', keyPath, '--lease-ms', '3s'],
      /--lease-ms "3s": write a positive whole number of milliseconds/,
    ],
    ['a zero skew', ['--listen', '127.0.0.1:0', '--config', configPath, '--key', keyPath, '--max-skew-ms', '0'], /--max-skew-ms "0"/],
    [
      'a bad log format',
      ['--listen', '127.0.0.1:0', '--config', configPath, '--key', keyPath, '--log-format', 'xml'],
      /--log-format "xml": write human or json/,
    ],
    [
      'a missing key file',
      ['--listen', '127.0.0.1:0', '--config', configPath, '--key', join(root, 'nokey')],
      /cannot read the key file .*nokey.*paceline keygen/,
    ],
    ['a missing configuration', ['--listen', '127.0.0.1:0', '--config', join(root, 'none.yaml'), '--key', keyPath], /none\.yaml: cannot read file: ENOENT/],
  ];
  it.each(cases)('refuses %s with a clear error', async (_what, args, message) => {
    const out = io();
    const code = await runCli(['witness', ...args], out);
    expect(code).toBeGreaterThan(0);
    expect(out.stderr.join('\n')).toMatch(message);
  });

  it('refuses a bad --arbiter before the daemon reads anything', async () => {
    const out = io();
    expect(await runCli(['daemon', '--config', join(root, 'none.yaml'), '--node', 'serv1', '--arbiter', 'witness:0'], out)).toBe(2);
    expect(out.stderr.join('\n')).toMatch(/--arbiter "witness:0": the port must be 1 to 65535/);
    const unknown = io();
    expect(await runCli(['daemon', '--config', configPath, '--node', 'serv1', '--arbitrator', 'x'], unknown)).toBeGreaterThan(0);
    expect(unknown.stderr.join('\n')).toMatch(/unknown option '--arbitrator'/);
  });
});

const cli = join(process.cwd(), 'packages/cli/dist/main.js');
const built = existsSync(cli);
if (!built) process.stderr.write(`skipping the witness process test: ${cli} is not built (run npm run build)\n`);
const maybe = built ? test : test.skip;

async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

maybe(
  'runs as a process: grants one node, refuses the other, logs both, stops on SIGTERM with its counts',
  async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        cli,
        'witness',
        '--listen',
        `127.0.0.1:${port}`,
        '--config',
        configPath,
        '--key',
        keyPath,
        '--lease-ms',
        '400',
        '--max-skew-ms',
        '100',
        '--log-format',
        'json',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    procs.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const key = await readKey(keyPath);
    const c1 = await ArbiterClient.open({ self: 'serv1', boot: 1, address: `127.0.0.1:${port}`, key, cluster: 'web', timeoutMs: 300, tries: 1 });
    const c2 = await ArbiterClient.open({ self: 'serv2', boot: 2, address: `127.0.0.1:${port}`, key, cluster: 'web', timeoutMs: 300, tries: 1 });
    try {
      const deadline = Date.now() + 15_000;
      while (!/listening on/.test(stdout) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(stdout).toMatch(
        new RegExp(
          `paceline witness listening on 127\\.0\\.0\\.1:${port} for cluster "web" \\(nodes serv1, serv2; lease 400 ms; grants from 600 ms after start\\)`,
        ),
      );
      let first = await c1.claim(['serv2']);
      while (first.vote === 'unreachable' && Date.now() < deadline) {
        expect(first.detail).toMatch(/started recently|no answer/);
        await new Promise((r) => setTimeout(r, 50));
        first = await c1.claim(['serv2']);
      }
      expect(first).toMatchObject({ vote: 'granted', holder: 'serv1' });
      expect(await c2.claim(['serv1'])).toMatchObject({ vote: 'refused', holder: 'serv1' });
    } finally {
      await Promise.all([c1.dispose(), c2.dispose()]);
    }
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(0);
    const lines = stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ level: 'info', message: 'granted the vote to serv1 (incarnation 1)', lost: 'serv2', leaseMs: 400, node: 'witness' }),
        expect.objectContaining({ level: 'info', message: 'refused the vote to serv2 (incarnation 2): serv1 holds it', holderBoot: 1 }),
        expect.objectContaining({ level: 'info', message: 'startup hold over: granting votes from now on' }),
        expect.objectContaining({ level: 'info', message: 'witness stopping', granted: 1, refused: 1, dropped: 'none' }),
      ]),
    );
  },
  30_000,
);
