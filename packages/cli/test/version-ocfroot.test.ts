/**
 * `paceline --version`, `npx paceline` after ./scripts/setup.sh, and OCF_ROOT honoured by the
 * CLI's OCF resolver.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runCli, type CliIo } from '@paceline/cli';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const version = (JSON.parse(readFileSync(join(root, 'packages', 'cli', 'package.json'), 'utf8')) as { version: string }).version;

function io(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l), readFile: (p) => readFileSync(p, 'utf8'), now: () => 0 };
}

describe('paceline --version', () => {
  it.each([['--version'], ['-V']])('%s prints the CLI package version and exits 0', async (flag) => {
    const o = io();
    expect(await runCli([flag], o)).toBe(0);
    expect(o.stdout).toEqual([version]);
  });
});

// scripts/setup.sh links the bin after the build (npm ci runs before dist/ exists, so it cannot).
const bin = join(root, 'node_modules', '.bin', 'paceline');
(existsSync(bin) ? describe : describe.skip)(
  `npx paceline${existsSync(bin) ? '' : ' (skipped: node_modules/.bin/paceline is not linked: run ./scripts/setup.sh, as CI does)'}`,
  () => {
    it('runs the built CLI', async () => {
      const r = await promisify(execFile)('npx', ['--no-install', 'paceline', '--version'], { cwd: root, timeout: 120_000 });
      expect(r.stdout.trim()).toBe(version);
    }, 150_000);
  },
);

describe('OCF_ROOT', () => {
  const META = `<?xml version="1.0"?>
<resource-agent name="Fake"><version>1.0</version>
<longdesc lang="en">test agent</longdesc><shortdesc lang="en">test</shortdesc>
<parameters><parameter name="greeting"><longdesc lang="en">g</longdesc><shortdesc lang="en">what to say</shortdesc><content type="string" default="hello"/></parameter></parameters>
<actions><action name="start" timeout="20s"/><action name="stop" timeout="20s"/><action name="monitor" timeout="20s" interval="10s"/><action name="meta-data" timeout="5s"/></actions>
</resource-agent>`;
  let dir: string;
  const saved = process.env['OCF_ROOT'];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-ocfroot-'));
    await mkdir(join(dir, 'resource.d', 'acme'), { recursive: true });
    await writeFile(join(dir, 'resource.d', 'acme', 'meta.xml'), META);
    const script = join(dir, 'resource.d', 'acme', 'Fake');
    await writeFile(script, '#!/bin/sh\ncase "$1" in\nmeta-data) cat "$(dirname "$0")/meta.xml"; exit 0 ;;\nmonitor) exit 7 ;;\n*) exit 0 ;;\nesac\n');
    await chmod(script, 0o755);
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env['OCF_ROOT'];
    else process.env['OCF_ROOT'] = saved;
    await rm(dir, { recursive: true, force: true });
  });

  it('is where `agent info` and `agent meta-data` find ocf: scripts', async () => {
    process.env['OCF_ROOT'] = dir;
    const info = io();
    expect(await runCli(['agent', 'info', 'ocf:acme:Fake'], info)).toBe(0);
    expect(info.stdout.join('\n')).toContain('greeting');
    const meta = io();
    expect(await runCli(['agent', 'meta-data', 'ocf:acme:Fake'], meta)).toBe(0);
    expect(meta.stdout.join('\n')).toContain('<parameter name="greeting">');
  }, 60_000);

  it('without it, the OCF default is searched (and the script is not found there)', async () => {
    delete process.env['OCF_ROOT'];
    const o = io();
    expect(await runCli(['agent', 'info', 'ocf:acme:Fake'], o)).not.toBe(0);
    expect(o.stderr.join('\n')).toContain('/usr/lib/ocf/resource.d/acme/Fake');
  }, 60_000);
});
