/**
 * `paceline agent init NAME` writes an agent package that builds and passes: the test runs init
 * (the built CLI), gives the package the dependencies `npm install` would (links to this
 * repository's agent-api, zod, @types/node and typescript), builds it with tsc under its own strict
 * tsconfig, runs its own `npm test` (the agent test kit under node --test), then `paceline agent
 * test` and `agent info` against the built package, and a cluster configuration that names it.
 * Skipped with a reason when the CLI is not built.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

const repo = process.cwd();
const cli = join(repo, 'packages/cli/dist/main.js');
const built = existsSync(cli);
if (!built) process.stderr.write(`skipping the agent init test: ${cli} is not built (run npm run build)\n`);
const maybe = built ? test : test.skip;

const root = mkdtempSync(join(tmpdir(), 'paceline-agent-init-'));
chmodSync(root, 0o755);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const run = (file: string, args: string[], cwd: string): { code: number | null; out: string } => {
  const r = spawnSync(file, args, { cwd, encoding: 'utf8', timeout: 240_000, env: { ...process.env, npm_config_update_notifier: 'false' } });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
};
const paceline = (cwd: string, ...args: string[]): { code: number | null; out: string } => run(process.execPath, [cli, ...args], cwd);

maybe(
  'agent init writes a package that builds, passes its own test and `paceline agent test`, and a cluster can load',
  async () => {
    const init = paceline(root, 'agent', 'init', 'door-lock', '--package', '@acme/paceline-door-lock');
    expect(init.code).toBe(0);
    const dir = join(root, 'paceline-agent-door-lock');
    expect(init.out).toContain(`in ${dir}`);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    expect(pkg['name']).toBe('@acme/paceline-door-lock');
    const apiVersion = (JSON.parse(readFileSync(join(repo, 'packages/agent-api/package.json'), 'utf8')) as { version: string }).version;
    expect(pkg['peerDependencies']).toEqual({ '@paceline/agent-api': `^${apiVersion}`, zod: expect.stringMatching(/^\^4\./) });
    for (const f of ['src/index.ts', 'test/agent.test.ts', 'README.md', 'tsconfig.json', '.gitignore']) expect(existsSync(join(dir, f))).toBe(true);
    // Not over an existing package.
    const again = paceline(root, 'agent', 'init', 'door-lock');
    expect(again.code).toBe(2);
    expect(again.out).toContain('exists and is not empty');
    expect(paceline(root, 'agent', 'init', 'Door Lock').out).toContain('agent name "Door Lock": use lower-case letters');

    // What `npm install` would give it: this repository's packages.
    const nm = join(dir, 'node_modules');
    mkdirSync(join(nm, '@paceline'), { recursive: true });
    mkdirSync(join(nm, '@types'), { recursive: true });
    mkdirSync(join(nm, '.bin'));
    symlinkSync(join(repo, 'packages/agent-api'), join(nm, '@paceline/agent-api'));
    symlinkSync(join(repo, 'node_modules/zod'), join(nm, 'zod'));
    symlinkSync(join(repo, 'node_modules/@types/node'), join(nm, '@types/node'));
    symlinkSync(join(repo, 'node_modules/typescript'), join(nm, 'typescript'));
    symlinkSync(join(repo, 'node_modules/typescript/bin/tsc'), join(nm, '.bin/tsc'));

    // Its own test script: tsc under its strict tsconfig, then the test kit under node --test.
    const npmTest = run('npm', ['test', '--silent'], dir);
    expect(npmTest.out).toMatch(/# pass 1/);
    expect(npmTest.code).toBe(0);
    expect(existsSync(join(dir, 'dist/src/index.js'))).toBe(true);
    expect(existsSync(join(dir, 'dist/src/index.d.ts'))).toBe(true);

    // paceline agent test / info against the built package (the folder means its exports).
    const held = join(root, 'held');
    const t = paceline(dir, 'agent', 'test', './#door-lock', '--param', `path=${held}`);
    expect(t.out).toContain('agent door-lock: all checks passed');
    expect(t.code).toBe(0);
    const info = paceline(dir, 'agent', 'info', './#door-lock');
    expect(info.out).toMatch(/^door-lock 0\.1\.0: Holds a file while active/);
    expect(info.out).toMatch(/path\s+string\s+yes\s+yes\s+The file this resource holds while active/);

    // A cluster configuration next to it names the package folder; its schema checks the parameters.
    const config = join(root, 'cluster.yaml');
    writeFileSync(
      config,
      stringify({
        agents: ['./paceline-agent-door-lock'],
        properties: { stonithEnabled: false },
        nodes: [{ name: 'a' }],
        resources: [{ type: 'primitive', id: 'door', agent: 'paceline:door-lock', params: { path: held, contents: 'x' } }],
      }),
    );
    const validate = paceline(root, 'config', 'validate', config);
    expect(validate.code).toBe(2);
    expect(validate.out).toContain('resources[0].params.contents: unknown parameter of paceline:door-lock (did you mean "content"?)');
    writeFileSync(config, readFileSync(config, 'utf8').replace('contents: x', 'content: x'));
    const sim = paceline(root, 'simulate', '-c', config);
    expect(sim.out).toMatch(/Start\s+door\s+\( a \)/);
    expect(sim.code).toBe(0);
  },
  300_000,
);
