/**
 * Agent modules named by a configuration: found relative to the configuration file or as packages
 * in its node_modules, refused when another user or everyone could change them, checked against the
 * agent contract, and resolved per configuration (the executor's scope).
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentModuleError, AgentRegistry, defineAgent, notRunning, ok } from '@paceline/agent-api';
import { z } from 'zod';
import { ModuleAgentResolver, agentModuleTrustProblems, loadAgentModule, resolveAgentModulePath } from '@paceline/runtime';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'paceline-agent-modules-'));
chmodSync(root, 0o755);
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A folder with node_modules/zod linked to the repository's zod, as an installed agent package would have. */
function folder(): string {
  const dir = join(root, `c${++n}`);
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(join(repo, 'node_modules/zod'), join(dir, 'node_modules/zod'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  return dir;
}

/** An agent module's text: `names` agents that keep a file, in the contract's shape. */
function agentSource(names: readonly string[], extra = ''): string {
  return [
    "import { z } from 'zod';",
    "import { existsSync, writeFileSync, rmSync } from 'node:fs';",
    ...names.map(
      (name) => `export const ${name.replace(/\W/g, '_')} = {
  meta: { name: '${name}', version: '1.0.0', description: 'keeps a file' },
  params: z.strictObject({ path: z.string().describe('the file') }),
  async start(p) { writeFileSync(p.path, 'x'); return { execution: 'done', outcome: 'ok' }; },
  async stop(p) { rmSync(p.path, { force: true }); return { execution: 'done', outcome: 'ok' }; },
  async monitor(p) { return { execution: 'done', outcome: existsSync(p.path) ? 'ok' : 'not-running' }; },
};`,
    ),
    extra,
  ].join('\n');
}

const builtin = defineAgent({
  meta: { name: 'dummy', version: '1', description: 'built in' },
  params: z.object({}),
  start: async () => ok(),
  stop: async () => ok(),
  monitor: async () => notRunning(),
});

test("a relative path is found from the configuration file's folder and its agents are checked and returned", async () => {
  const dir = folder();
  mkdirSync(join(dir, 'agents'));
  writeFileSync(join(dir, 'agents/lock.js'), agentSource(['lock', 'latch']));
  const m = await loadAgentModule('./agents/lock.js', { baseDir: dir });
  expect(m.path).toBe(join(dir, 'agents/lock.js'));
  expect(m.agents.map((a) => a.meta.name)).toEqual(['latch', 'lock']);
  expect(m.agents[1]!.params.safeParse({ path: '/x', pth: 1 }).success).toBe(false); // the module's own strict schema
});

test("a package name is found in node_modules from the configuration file's folder, through its exports", async () => {
  const dir = folder();
  const pkg = join(dir, 'node_modules/@acme/paceline-agents');
  mkdirSync(join(pkg, 'dist'), { recursive: true });
  writeFileSync(
    join(pkg, 'package.json'),
    JSON.stringify({ name: '@acme/paceline-agents', type: 'module', exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } } }),
  );
  writeFileSync(join(pkg, 'dist/index.js'), agentSource(['acme-lock']));
  expect(resolveAgentModulePath('@acme/paceline-agents', dir)).toBe(join(pkg, 'dist/index.js'));
  const m = await loadAgentModule('@acme/paceline-agents', { baseDir: dir });
  expect(m.agents.map((a) => a.meta.name)).toEqual(['acme-lock']);
  // A folder path means the package in it.
  expect(resolveAgentModulePath('./node_modules/@acme/paceline-agents', dir)).toBe(join(pkg, 'dist/index.js'));
});

test('a module that is not there, or not installed, is an error naming the module, the configuration file and what was looked for', async () => {
  const dir = folder();
  const missing = await loadAgentModule('./agents/nope.js', { baseDir: dir, source: 'cluster.yaml' }).catch((e: unknown) => e);
  expect(missing).toBeInstanceOf(AgentModuleError);
  expect((missing as Error).message).toBe(
    `agent module ./agents/nope.js (in cluster.yaml): ${join(dir, 'agents/nope.js')} does not exist (build the module first?)`,
  );
  const pkg = await loadAgentModule('@acme/not-installed', { baseDir: dir }).catch((e: Error) => e.message);
  expect(pkg).toMatch(/^agent module @acme\/not-installed: cannot find package @acme\/not-installed \(is it installed\? looked from /);
  writeFileSync(join(dir, 'src.ts'), 'export {}');
  expect(await loadAgentModule('./src.ts', { baseDir: dir }).catch((e: Error) => e.message)).toContain('is TypeScript: name the built .js file');
  // Beneath the AgentModuleError: a typed error with the module as named and the path looked at.
  const lookup = (spec: string): unknown => {
    try {
      return resolveAgentModulePath(spec, dir);
    } catch (e) {
      return e;
    }
  };
  expect(lookup('./src.ts')).toMatchObject({ name: 'AgentModulePathError', code: 'AGENT_MODULE_NOT_BUILT', spec: './src.ts', path: join(dir, 'src.ts') });
  expect(lookup('./agents')).toMatchObject({ code: 'AGENT_MODULE_NOT_FOUND', path: join(dir, 'agents') });
  expect(lookup('@acme/not-installed')).toMatchObject({ code: 'AGENT_MODULE_NOT_FOUND', spec: '@acme/not-installed', path: dir });
});

test('exports that break the contract are named, one problem each', async () => {
  const dir = folder();
  writeFileSync(
    join(dir, 'broken.js'),
    [
      "import { z } from 'zod';",
      "export const half = { meta: { name: 'half', version: '1', description: 'd' }, params: z.object({}), start() {}, stop() {} };",
      "export const promo = { meta: { name: 'promo', version: '1', description: 'd' }, params: z.object({}), start() {}, stop() {}, monitor() {}, promote() {} };",
      "export const old = { meta: { name: 'old', version: '1', description: 'd' }, params: { safeParse() {} }, start() {}, stop() {}, monitor() {} };",
      "export const notObject = { meta: { name: 'str', version: '1', description: 'd' }, params: z.string(), start() {}, stop() {}, monitor() {} };",
      'export const helper = 42;',
    ].join('\n'),
  );
  const e = await loadAgentModule('./broken.js', { baseDir: dir }).catch((x: AgentModuleError) => x);
  expect(e).toBeInstanceOf(AgentModuleError);
  expect((e as AgentModuleError).problems).toEqual([
    'export half: monitor() is missing',
    'export notObject: params: an agent parameter schema must be a z.object({...}) of named parameters',
    'export old: params is not a zod 4 schema (a zod 3 schema? Paceline needs zod 4)',
    'export promo: promote() without demote()',
  ]);
  writeFileSync(join(dir, 'none.js'), 'export const x = 1;');
  expect(await loadAgentModule('./none.js', { baseDir: dir }).catch((x: Error) => x.message)).toContain('exports no resource agent');
  writeFileSync(join(dir, 'throws.js'), "throw new Error('boom at load');");
  mkdirSync(join(dir, 'cjs'));
  writeFileSync(join(dir, 'cjs/package.json'), '{}');
  writeFileSync(join(dir, 'cjs/a.js'), "import { z } from 'zod';");
  expect(await loadAgentModule('./cjs/a.js', { baseDir: dir }).catch((x: Error) => x.message)).toContain(
    '(an agent module is an ES module: "type": "module" in its package.json, or a .mjs file)',
  );
  expect(await loadAgentModule('./throws.js', { baseDir: dir }).catch((x: Error) => x.message)).toMatch(/importing .*throws\.js failed: boom at load/);
});

test('a module file or folder everyone may write, or another user owns, is refused before it is imported', async () => {
  const dir = folder();
  const file = join(dir, 'open.js');
  writeFileSync(file, `${agentSource(['open'])}\nglobalThis.__pacelineLoaded = true;`);
  chmodSync(file, 0o666);
  const e = await loadAgentModule('./open.js', { baseDir: dir }).catch((x: Error) => x.message);
  expect(e).toContain(`not loaded: ${file} is writable by every user (mode 0666): anyone could change the code Paceline runs (run: chmod o-w ${file})`);
  expect((globalThis as { __pacelineLoaded?: boolean }).__pacelineLoaded).toBeUndefined();
  chmodSync(file, 0o644);
  const sub = join(dir, 'shared');
  mkdirSync(sub);
  writeFileSync(join(sub, 'a.js'), agentSource(['a']));
  chmodSync(sub, 0o777);
  expect(agentModuleTrustProblems(join(sub, 'a.js'))).toEqual([
    `${sub} is writable by every user (mode 0777): anyone could change the code Paceline runs (run: chmod o-w ${sub})`,
  ]);
  chmodSync(sub, 0o1777); // sticky, as /tmp: others cannot replace what is ours
  expect(agentModuleTrustProblems(join(sub, 'a.js'))).toEqual([]);
  // Owned by someone else (not root): that user could change it. Only root can give a file away.
  const uid = process.getuid!();
  if (uid === 0) {
    chownSync(file, 65534, 65534);
    expect(await loadAgentModule('./open.js', { baseDir: dir }).catch((x: Error) => x.message)).toContain(
      `${file} is owned by uid 65534, not by this user (uid 0) or root`,
    );
  }
});

test("the resolver: built-in agents first, then the agents of the scope's modules; a clash or a failed module is said", async () => {
  const dir = folder();
  writeFileSync(join(dir, 'one.js'), agentSource(['lock']));
  writeFileSync(join(dir, 'two.js'), agentSource(['lock', 'latch']));
  writeFileSync(join(dir, 'clash.js'), agentSource(['dummy']));
  const resolver = new ModuleAgentResolver(new AgentRegistry([builtin]), { baseDir: dir, source: 'c.yaml', modules: ['./one.js'] });
  expect(await resolver.resolve('paceline:dummy')).toBe(builtin);
  expect((await resolver.resolve('paceline:lock'))?.meta.name).toBe('lock');
  expect(await resolver.resolve('paceline:latch')).toBeUndefined(); // not in the default modules
  expect((await resolver.resolve('paceline:latch', { modules: ['./two.js'] }))?.meta.name).toBe('latch');
  const both = await resolver.load(['./one.js', './two.js', './clash.js']);
  expect(both.registry.list().map((a) => a.meta.name)).toEqual(['dummy', 'lock']);
  expect(both.origin.get('lock')).toBe('./one.js');
  expect(both.failures.map((f) => [f.index, f.spec, f.error.message])).toEqual([
    [1, './two.js', 'agent module ./two.js (agents[1] of c.yaml): agent "lock" is also given by agent module ./one.js'],
    [2, './clash.js', 'agent module ./clash.js (agents[2] of c.yaml): agent "dummy" has the name of a built-in agent (paceline:dummy): rename it'],
  ]);
  // An agent that is nowhere while a module failed: the failure is the reason.
  await expect(resolver.resolve('paceline:gone', { modules: ['./missing.js'] })).rejects.toThrow(
    `agent module ./missing.js (agents[0] of c.yaml): ${join(dir, 'missing.js')} does not exist`,
  );
  // Installed later: tried again.
  writeFileSync(join(dir, 'missing.js'), agentSource(['gone']));
  expect((await resolver.resolve('paceline:gone', { modules: ['./missing.js'] }))?.meta.name).toBe('gone');
});
