/**
 * Every command loads the agent modules a configuration names, the same way (relative to the
 * configuration file): config validate (parameters checked by the module's own zod schema),
 * simulate, explain, agent list / info / test with --config; agent info / test also take
 * MODULE#AGENT. A module that fails to load is an error naming the module and the file.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { runCli, type CliIo } from '@paceline/cli';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const root = mkdtempSync(join(tmpdir(), 'paceline-modules-cli-'));
chmodSync(root, 0o755);
afterAll(() => rmSync(root, { recursive: true, force: true }));

function io(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l), readFile: (p) => readFileSync(p, 'utf8'), now: () => 0 };
}

const dir = join(root, 'etc');
mkdirSync(join(dir, 'agents'), { recursive: true });
mkdirSync(join(dir, 'node_modules'));
symlinkSync(join(repo, 'node_modules/zod'), join(dir, 'node_modules/zod'));
writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
writeFileSync(
  join(dir, 'agents/locks.js'),
  `import { z } from 'zod';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
const done = (outcome) => ({ execution: 'done', outcome });
const fileAgent = (name, description) => ({
  meta: { name, version: '2.1.0', description },
  params: z.strictObject({ path: z.string().startsWith('/').describe('the lock file'), owner: z.string().default('cluster').describe('who holds it') }),
  async start(p) { writeFileSync(p.path, p.owner); return done('ok'); },
  async stop(p) { rmSync(p.path, { force: true }); return done('ok'); },
  async monitor(p) { return done(existsSync(p.path) ? 'ok' : 'not-running'); },
});
export const agents = [fileAgent('lock', 'Holds a lock file'), fileAgent('latch', 'Holds a latch file')];
`,
);
const config = (params: Record<string, unknown>, agents = ['./agents/locks.js']): string => {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    stringify({
      agents,
      properties: { stonithEnabled: false },
      nodes: [{ name: 'a' }, { name: 'b' }],
      resources: [{ type: 'primitive', id: 'l', agent: 'paceline:lock', params }],
    }),
  );
  return file;
};

test("config validate loads the modules and checks parameters with the module's own schema", async () => {
  const ok = io();
  expect(await runCli(['config', 'validate', config({ path: '/run/l' })], ok)).toBe(0);
  expect(ok.stdout.join('\n')).toContain('valid (2 nodes, 1 resources');
  const typo = io();
  const file = config({ path: 'relative', ownr: 'me' });
  expect(await runCli(['config', 'validate', file], typo)).toBe(2);
  expect(typo.stderr.join('\n')).toContain('- resources[0].params.ownr: unknown parameter of paceline:lock (did you mean "owner"?)');
  expect(typo.stderr.join('\n')).toContain('- resources[0].params.path: Invalid string: must start with "/"');
});

test('a module that fails to load stops every command that needs it, naming the module and the file', async () => {
  const file = config({ path: '/run/l' }, ['./agents/lock.js']);
  const want = `- agents[0]: agent module "./agents/lock.js": ${join(dir, 'agents/lock.js')} does not exist (build the module first?)`;
  for (const argv of [
    ['config', 'validate', file],
    ['simulate', '-c', file],
    ['explain', 'l', '-c', file],
    ['agent', 'list', '--config', file],
  ]) {
    const o = io();
    expect(await runCli(argv, o)).toBe(2);
    expect(o.stderr.join('\n')).toContain(`${file}: 1 problem found`);
    expect(o.stderr.join('\n')).toContain(want);
  }
});

test('simulate and explain plan with the module agents', async () => {
  const file = config({ path: '/run/l' });
  const sim = io();
  expect(await runCli(['simulate', '-c', file], sim)).toBe(0);
  expect(sim.stdout.join('\n')).toMatch(/l\s+\(paceline:lock\)\s+Stopped/);
  expect(sim.stdout.join('\n')).toMatch(/Start\s+l\s+\( a \)/);
  const bad = io();
  expect(await runCli(['simulate', '-c', config({ pth: '/run/l' })], bad)).toBe(2);
  expect(bad.stderr.join('\n')).toContain('did you mean "path"?');
});

test('agent list / info / test with --config, and agent info / test with MODULE#AGENT', async () => {
  const file = config({ path: '/run/l' });
  const list = io();
  expect(await runCli(['agent', 'list', '--config', file], list)).toBe(0);
  expect(list.stdout.find((l) => l.startsWith('paceline:lock '))).toMatch(/2\.1\.0\s+Holds a lock file\s+\(module \.\/agents\/locks\.js\)$/);
  expect(list.stdout.some((l) => l.startsWith('paceline:latch '))).toBe(true);
  expect(list.stdout.some((l) => l.startsWith('paceline:dummy '))).toBe(true);
  const info = io();
  expect(await runCli(['agent', 'info', 'paceline:latch', '--config', file], info)).toBe(0);
  expect(info.stdout[0]).toBe('latch 2.1.0: Holds a latch file');
  expect(info.stdout.join('\n')).toMatch(/owner\s+string\s+cluster\s+who holds it/);
  const bare = io();
  expect(await runCli(['agent', 'info', 'paceline:latch'], bare)).toBe(2);
  expect(bare.stderr.join('\n')).toContain('MODULE#AGENT, or --config FILE');
  const byModule = io();
  expect(await runCli(['agent', 'info', `${join(dir, 'agents/locks.js')}#lock`], byModule)).toBe(0);
  expect(byModule.stdout[0]).toBe('lock 2.1.0: Holds a lock file');
  const several = io();
  expect(await runCli(['agent', 'info', join(dir, 'agents/locks.js')], several)).toBe(1);
  expect(several.stderr.join('\n')).toContain('has several agents (latch, lock): name one');
  const t = io();
  expect(await runCli(['agent', 'test', `${join(dir, 'agents/locks.js')}#latch`, '--param', `path=${join(root, 'latch')}`], t)).toBe(0);
  expect(t.stdout.at(-1)).toBe('agent latch: all checks passed');
  const t2 = io();
  expect(await runCli(['agent', 'test', 'paceline:lock', '--config', file, '--param', `path=${join(root, 'lock')}`], t2)).toBe(0);
  expect(t2.stdout.at(-1)).toBe('agent lock: all checks passed');
});

test("agent export-ocf --config exports an agent of the configuration's modules as an OCF script", async () => {
  const file = config({ path: '/run/l' });
  const out = join(root, 'ra');
  const o = io();
  expect(await runCli(['agent', 'export-ocf', 'paceline:latch', '--config', file, '--out', out], o)).toBe(0);
  expect(o.stdout[0]).toBe(`wrote ${join(out, 'latch')} (OCF agent "latch") and ${join(out, 'latch.metadata.xml')}`);
  const shim = readFileSync(join(out, 'latch'), 'utf8');
  expect(shim).toContain(JSON.stringify(pathToFileURL(join(dir, 'agents/locks.js')).href));
  expect(readFileSync(join(out, 'latch.metadata.xml'), 'utf8')).toContain('<resource-agent name="latch"');
});
