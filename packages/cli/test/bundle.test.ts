/**
 * The CLI's bundle (packages/cli/src/bundle.ts, scripts/bundle-cli.mjs): the commands and
 * `--version` run from it give byte for byte what the modules in dist/ give — the version found
 * beside it, CIBs, configurations with agent modules and `paceline:` agents, explain, demo, and the
 * control commands without a daemon to answer —
 * and it is used only while it is current. Real processes: the built CLI with and without the
 * bundle (PACELINE_NO_BUNDLE=1). Needs the built CLI and bundle (npm test builds first).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { BUNDLED_FIRST_ARGS, bundleIsCurrent } from '../src/bundle.js';
import { VERSION_FLAGS } from '../src/command-table.js';
import { BUNDLED_COMMANDS } from '../src/bundled.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const cli = join(repo, 'packages/cli/dist/main.js');
const corpus = process.env['PACELINE_CONFORMANCE_DIR'] || join(repo, '../shared/conformance/pacemaker');
const root = mkdtempSync(join(tmpdir(), 'paceline-bundle-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

if (!bundleIsCurrent()) throw new Error('packages/cli/bundle is not built or older than dist/: run npm run build (npm test does)');

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}
function run(args: readonly string[], bundle: boolean): Run {
  const env = { ...process.env, PACELINE_NO_BUNDLE: bundle ? '0' : '1' };
  const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
/** The bundled run, after checking that it equals the run from dist/. */
function same(args: readonly string[]): Run {
  const bundled = run(args, true);
  expect(bundled).toEqual(run(args, false));
  return bundled;
}

test('the bundle runs exactly the bundled commands and the version flags', () => {
  expect([...BUNDLED_FIRST_ARGS].sort()).toEqual([...BUNDLED_COMMANDS.flatMap(([names]) => names), ...VERSION_FLAGS].sort());
});

test.each([['--version'], ['-V']])('%s from the bundle prints the CLI package version', (flag) => {
  const version = (JSON.parse(readFileSync(join(repo, 'packages/cli/package.json'), 'utf8')) as { version: string }).version;
  expect(same([flag])).toEqual({ status: 0, stdout: `${version}\n`, stderr: '' });
});

test.each(['group1', 'params-4', 'promoted-0', 'clone-anon-failcount'])('simulate --cib %s.xml: the same result and warnings', (name) => {
  const file = join(corpus, `${name}.xml`);
  expect(same(['simulate', '--cib', file, '--format', 'json']).status).toBe(0);
  expect(same(['simulate', '--cib', file, '--show-scores']).status).toBe(0);
});

test('simulate and explain with an agent module and a paceline: agent: found, and their parameters checked', () => {
  const dir = join(root, 'etc');
  mkdirSync(join(dir, 'agents'), { recursive: true });
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(join(repo, 'node_modules/zod'), join(dir, 'node_modules/zod'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(
    join(dir, 'agents/lock.js'),
    `import { z } from 'zod';
const done = (outcome) => ({ execution: 'done', outcome });
export const agents = [{
  meta: { name: 'lock', version: '1.0.0', description: 'Holds a lock' },
  params: z.strictObject({ path: z.string().startsWith('/') }),
  async start() { return done('ok'); },
  async stop() { return done('ok'); },
  async monitor() { return done('not-running'); },
}];
`,
  );
  const config = (lockParams: Record<string, unknown>, dummyParams: Record<string, unknown>): string => {
    const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(
      file,
      stringify({
        agents: ['./agents/lock.js'],
        properties: { stonithEnabled: false },
        nodes: [{ name: 'a' }, { name: 'b' }],
        resources: [
          { type: 'primitive', id: 'l', agent: 'paceline:lock', params: lockParams },
          { type: 'primitive', id: 'd', agent: 'paceline:dummy', params: dummyParams },
        ],
      }),
    );
    return file;
  };
  const good = config({ path: '/run/l' }, {});
  expect(same(['simulate', '-c', good]).stdout).toMatch(/Start\s+l\s+\( a \)/);
  expect(same(['explain', 'l', '-c', good]).status).toBe(0);
  const bad = same(['simulate', '-c', config({ pth: '/run/l' }, { nosuch: 1 })]);
  expect(bad.status).toBe(2);
  expect(bad.stderr).toContain('did you mean "path"?');
  expect(bad.stderr).toContain('resources[1].params.nosuch');
  expect(same(['simulate', '-c', join(dir, 'missing.yaml')]).status).not.toBe(0);
});

test('demo replays the reference story the same way', () => {
  expect(same(['demo', join(repo, 'examples/two-node-mutual-failover')]).status).toBe(0);
});

test("the bundle holds zod's English messages and no other locale (scripts/bundle-cli.mjs)", () => {
  const dir = join(repo, 'packages/cli/bundle');
  const text = readdirSync(dir)
    .filter((f) => f.endsWith('.js'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
  const locales = [...text.matchAll(/^\/\/ node_modules\/zod\/v4\/locales\/([^/\n]+)$/gm)].map((m) => m[1]);
  expect(locales).toEqual(['en.js']);
});

test('status, node and resource without a daemon: the same error', () => {
  const stateDir = join(root, 'no-daemon');
  for (const args of [['status'], ['node', 'standby', 'a'], ['resource', 'move', 'r', '--node', 'a']]) {
    const r = same([...args, '--state-dir', stateDir]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('cannot reach the daemon');
  }
});

test('the bundle is current only while no input is newer than it (a tsc -b without the bundle step)', () => {
  const dir = join(root, 'bundle');
  mkdirSync(dir);
  writeFileSync(join(dir, 'bundled.js'), '');
  writeFileSync(join(dir, 'stamp.json'), JSON.stringify({ inputs: ['input.tsbuildinfo', 'not-shipped.tsbuildinfo'] }));
  writeFileSync(join(dir, 'input.tsbuildinfo'), '');
  const url = pathToFileURL(`${dir}/`);
  utimesSync(join(dir, 'input.tsbuildinfo'), 1000, 1000);
  utimesSync(join(dir, 'bundled.js'), 2000, 2000);
  expect(bundleIsCurrent(url)).toBe(true);
  utimesSync(join(dir, 'input.tsbuildinfo'), 3000, 3000);
  expect(bundleIsCurrent(url)).toBe(false);
  rmSync(join(dir, 'stamp.json'));
  expect(bundleIsCurrent(url)).toBe(false);
});
