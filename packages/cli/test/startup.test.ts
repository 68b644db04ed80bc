/**
 * Each command loads only its own modules (command-table.ts): checked on the built CLI in a real
 * process, with a module hook that lists every module it loads. `--version` loads neither the
 * model nor zod, `status` and `node` not the daemon nor the scheduler, `simulate` not the daemon
 * nor any agent. Run from dist/ (PACELINE_NO_BUNDLE=1), where each module is its own file. Needs
 * the built CLI (npm test builds first).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const cli = join(repo, 'packages/cli/dist/main.js');
const dir = mkdtempSync(join(tmpdir(), 'paceline-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hook = join(dir, 'hook.mjs');
writeFileSync(hook, 'export async function load(url, context, next) {\n  process.stderr.write(`LOADED ${url}\\n`);\n  return next(url, context);\n}\n');
const register = join(dir, 'register.mjs');
writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hook).href)});\n`);

/** The files under the repository (relative, e.g. packages/model/dist/index.js) that `paceline ARGS` loads. */
function loaded(args: readonly string[]): string[] {
  const r = spawnSync(process.execPath, ['--import', register, cli, ...args], {
    env: { ...process.env, PACELINE_NO_BUNDLE: '1' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status).toBe(0);
  const root = pathToFileURL(repo).href + '/';
  return r.stderr
    .split('\n')
    .filter((l) => l.startsWith(`LOADED ${root}`))
    .map((l) => l.slice(`LOADED ${root}`.length));
}
const under = (files: readonly string[], prefix: string): string[] => files.filter((f) => f.startsWith(prefix));

test('--version loads neither the model nor zod', () => {
  const files = loaded(['--version']);
  expect(under(files, 'packages/cli/dist/')).toContain('packages/cli/dist/version.js');
  expect(under(files, 'packages/model/')).toEqual([]);
  expect(under(files, 'node_modules/zod/')).toEqual([]);
});

test.each([['status'], ['node'], ['resource']])('%s --help loads neither the daemon (only its control client) nor the scheduler', (cmd) => {
  const files = loaded([cmd, '--help']);
  expect(files).toContain('packages/daemon/dist/control.js');
  expect(files).not.toContain('packages/daemon/dist/index.js');
  expect(files).not.toContain('packages/cli/dist/commands/daemon.js');
  expect(under(files, 'packages/scheduler/')).toEqual([]);
  expect(under(files, 'agents/')).toEqual([]);
});

test('simulate --help loads neither the daemon nor any agent', () => {
  const files = loaded(['simulate', '--help']);
  expect(files).toContain('packages/scheduler/dist/index.js');
  expect(under(files, 'packages/daemon/')).toEqual([]);
  expect(under(files, 'agents/')).toEqual([]);
  expect(under(files, 'packages/runtime/')).toEqual([]);
});
