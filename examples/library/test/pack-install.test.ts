/**
 * Paceline as npm users get it: `npm pack` every publishable workspace, install the tarballs into a
 * scratch project, compile this example (src/) there with a strict tsconfig and run it — a
 * configuration built with the builder, scheduled and explained, a what-if, a custom agent through
 * the agent test kit, two embedded daemons on loopback — and `paceline --version` from the
 * installed CLI.
 *
 * Offline: our packages come from the tarballs, never a registry. Third-party packages come from
 * the npm cache, which `npm ci` in this repository filled (CI runs it in scripts/setup.sh): the
 * scratch project gets a lockfile made from the repository's, so `npm ci --offline` needs no
 * registry metadata and installs exactly the versions tested here. When the cache lacks a package
 * (a cleaned cache), the test says so and skips; anything else that fails is a failure.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('..', import.meta.url));

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  bin?: Record<string, string>;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}
interface LockEntry {
  version?: string;
  link?: boolean;
  resolved?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}
interface Packed {
  name: string;
  filename: string;
  files: { path: string }[];
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

/** The workspaces that publish: name → directory (relative to the root). */
function publishable(): Map<string, string> {
  const out = new Map<string, string>();
  for (const top of ['packages', 'agents'])
    for (const n of readdirSync(join(ROOT, top)).sort()) {
      const file = join(ROOT, top, n, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = readJson<Manifest>(file);
      if (!pkg.private) out.set(pkg.name, `${top}/${n}`);
    }
  return out;
}

function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd, timeout: timeoutMs, maxBuffer: 64 << 20, env: { ...process.env, npm_config_update_notifier: 'false' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) + (err && code === 1 && err.killed ? `\n(killed after ${timeoutMs} ms)` : '') });
      },
    );
  });
}

/**
 * A lockfile for the scratch project: our packages from the tarballs, every third-party package
 * they need (and zod, @types/node) at the version, path and integrity the repository's lockfile
 * has. Resolution follows node's: the nearest node_modules up from the dependent.
 */
function scratchLock(
  project: Manifest & { dependencies: Record<string, string> },
  tarballDir: string,
  tarballs: Map<string, string>,
  dirs: Map<string, string>,
): unknown {
  const rootLock = readJson<{ packages: Record<string, LockEntry> }>(join(ROOT, 'package-lock.json'));
  const all = rootLock.packages;
  const dirToName = new Map([...dirs].map(([name, dir]) => [dir, name]));
  const out: Record<string, unknown> = { '': { name: project.name, version: project.version, dependencies: project.dependencies } };
  const locate = (from: string, dep: string): string | undefined => {
    for (let at = from; ;) {
      const candidate = `${at ? `${at}/` : ''}node_modules/${dep}`;
      if (all[candidate]) return candidate;
      if (!at) return undefined;
      const i = at.lastIndexOf('/node_modules/');
      at = i >= 0 ? at.slice(0, i) : '';
    }
  };
  /** Where an entry of the repository's tree goes in the scratch tree (a workspace's nested node_modules under its package). */
  const target = (path: string): string => {
    for (const [dir, name] of dirToName) if (path.startsWith(`${dir}/`)) return `node_modules/${name}${path.slice(dir.length)}`;
    return path;
  };
  const seen = new Set<string>();
  const visit = (from: string, deps: Record<string, string>, optional: ReadonlySet<string>): void => {
    for (const dep of Object.keys(deps)) {
      if (dirs.has(dep)) continue; // ours: from its tarball
      const path = locate(from, dep);
      if (!path) {
        if (optional.has(dep)) continue;
        throw new Error(`package-lock.json has no ${dep} reachable from ${from || 'the root'}: run npm install in the repository`);
      }
      if (seen.has(path)) continue;
      seen.add(path);
      const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = all[path]!;
      out[target(path)] = entry;
      const optionalPeers = new Set(
        Object.entries(entry.peerDependenciesMeta ?? {})
          .filter(([, m]) => m.optional)
          .map(([n]) => n),
      );
      visit(
        path,
        { ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies },
        new Set([...Object.keys(entry.optionalDependencies ?? {}), ...optionalPeers]),
      );
    }
  };
  for (const [name, dir] of dirs) {
    const pkg = readJson<Manifest>(join(ROOT, dir, 'package.json'));
    const file = tarballs.get(name)!;
    out[`node_modules/${name}`] = {
      version: pkg.version,
      resolved: `file:../tarballs/${file}`,
      integrity: `sha512-${createHash('sha512')
        .update(readFileSync(join(tarballDir, file)))
        .digest('base64')}`,
      license: pkg.license,
      ...(pkg.bin ? { bin: pkg.bin } : {}),
      ...(pkg.dependencies ? { dependencies: pkg.dependencies } : {}),
      ...(pkg.optionalDependencies ? { optionalDependencies: pkg.optionalDependencies } : {}),
      ...(pkg.peerDependencies ? { peerDependencies: pkg.peerDependencies } : {}),
      ...(pkg.engines ? { engines: pkg.engines } : {}),
    };
    visit(dir, { ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies }, new Set(Object.keys(pkg.optionalDependencies ?? {})));
  }
  visit('', Object.fromEntries(Object.entries(project.dependencies).filter(([d]) => !dirs.has(d))), new Set());
  return { name: project.name, version: project.version, lockfileVersion: 3, requires: true, packages: out };
}

/** The scratch area: tarballs/ and app/ side by side. */
let scratch: string;
let skipReason: string | undefined;
let packed: Packed[] = [];
let installSeconds = 0;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'paceline-pack-'));
  const tarballDir = join(scratch, 'tarballs');
  const app = join(scratch, 'app');
  mkdirSync(tarballDir);
  const dirs = publishable();
  for (const [name, dir] of dirs)
    if (!existsSync(join(ROOT, dir, 'dist', 'index.js'))) throw new Error(`${name} is not built (${dir}/dist/index.js): run npm run build first`);

  const pack = await run(
    'npm',
    ['pack', ...[...dirs.keys()].flatMap((n) => ['-w', n]), '--pack-destination', tarballDir, '--json', '--ignore-scripts'],
    ROOT,
    120_000,
  );
  if (pack.code !== 0) throw new Error(`npm pack failed:\n${pack.stderr}`);
  packed = JSON.parse(pack.stdout) as Packed[];
  const tarballs = new Map(packed.map((p) => [p.name, p.filename.replace(/^@/, '').replace('/', '-')]));
  for (const [name, file] of tarballs) if (!existsSync(join(tarballDir, file))) throw new Error(`npm pack wrote no ${file} for ${name}`);

  const project = {
    name: 'paceline-pack-install',
    version: '1.0.0',
    private: true,
    type: 'module',
    dependencies: {
      ...Object.fromEntries([...tarballs].map(([name, file]) => [name, `file:../tarballs/${file}`])),
      zod: readJson<Manifest>(join(ROOT, 'node_modules', 'zod', 'package.json')).version,
      '@types/node': readJson<Manifest>(join(ROOT, 'node_modules', '@types', 'node', 'package.json')).version,
    },
  };
  cpSync(join(EXAMPLE, 'src'), join(app, 'src'), { recursive: true });
  cpSync(join(EXAMPLE, 'tsconfig.json'), join(app, 'tsconfig.json'));
  writeFileSync(join(app, 'package.json'), JSON.stringify(project, null, 2));
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify(scratchLock(project, tarballDir, tarballs, dirs), null, 2));

  const t0 = Date.now();
  const install = await run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], app, 180_000);
  installSeconds = (Date.now() - t0) / 1000;
  if (install.code !== 0) {
    if (/ENOTCACHED/.test(install.stderr)) {
      const what = /request to (\S+) failed/.exec(install.stderr)?.[1] ?? 'a third-party package';
      skipReason = `the npm cache lacks ${what} (npm ci in the repository fills it; this test installs offline by design)`;
      process.stderr.write(`skipping the pack-and-install test: ${skipReason}\n`);
      return;
    }
    throw new Error(`npm ci --offline in the scratch project failed:\n${install.stderr}`);
  }
}, 300_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('every tarball has its licence, readme, typed entry points and the sources its maps name, and no tests', () => {
  expect(packed.map((p) => p.name).sort()).toEqual([...publishable().keys()].sort());
  for (const p of packed) {
    const files = new Set(p.files.map((f) => f.path));
    const dir = publishable().get(p.name)!;
    const manifest = readJson<Manifest & { exports: Record<string, { types?: string; default?: string } | string> }>(join(ROOT, dir, 'package.json'));
    const missing: string[] = ['LICENSE', 'README.md', 'package.json'].filter((f) => !files.has(f));
    for (const target of Object.values(manifest.exports))
      for (const f of typeof target === 'string' ? [target] : [target.types, target.default]) if (f && !files.has(normalize(f))) missing.push(f);
    for (const f of files) {
      const compiled = /^dist\/(.*)\.(js|d\.ts)$/.exec(f);
      if (compiled && !files.has(`src/${compiled[1]}.ts`)) missing.push(`src/${compiled[1]}.ts (${f} is stale build output: npm run build prunes it)`);
      if (!f.endsWith('.map')) continue;
      const map = readJson<{ sources: string[] }>(join(ROOT, dir, f));
      for (const s of map.sources) {
        const source = relative('.', normalize(join(dirname(f), s)));
        if (!files.has(source)) missing.push(`${source} (named by ${f})`);
      }
    }
    expect({ package: p.name, missing }).toEqual({ package: p.name, missing: [] });
    expect([...files].filter((f) => /(^|\/)test\//.test(f) || f.endsWith('.tsbuildinfo'))).toEqual([]);
  }
});

test('a strict TypeScript program compiles against the installed packages and runs: builder, schedule, explain, what-if, test kit, an embedded two-node cluster', async () => {
  if (skipReason) return void process.stderr.write(`skipped: ${skipReason}\n`);
  const app = join(scratch, 'app');
  // The packages resolve from the scratch project's node_modules only: nothing of this repository is on the path.
  expect(existsSync(join(app, 'node_modules', '@paceline', 'scheduler', 'dist', 'index.d.ts'))).toBe(true);
  const t0 = Date.now();
  const tsc = await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], app, 240_000);
  const compileSeconds = (Date.now() - t0) / 1000;
  expect(tsc.stdout + tsc.stderr).toBe('');
  const main = await run(process.execPath, [join(app, 'dist', 'main.js')], app, 120_000);
  if (main.code !== 0) throw new Error(`the example program failed:\n${main.stderr}`);
  const out = JSON.parse(main.stdout.trim().split('\n').pop()!) as {
    placed: string;
    why: string[];
    afterFailure: string;
    testkit: string;
    params: string[];
    cluster: { before: string; after: string; movedMs: number };
  };
  expect(out.placed).toBe('serv1');
  expect(out.why).toContain('  location flag-home: 100');
  expect(out.afterFailure).toBe('serv2');
  expect(out.testkit).toBe('agent marker: all checks passed');
  expect(out.params).toEqual(['dir: string', 'text?: string']);
  expect(out.cluster).toMatchObject({ before: 'serv1 active', after: 'serv2 active' });
  process.stderr.write(
    `pack-and-install: npm ci ${installSeconds.toFixed(1)} s, tsc ${compileSeconds.toFixed(1)} s, flag moved in ${out.cluster.movedMs} ms\n`,
  );
}, 300_000);

test('the installed CLI runs: paceline --version', async () => {
  if (skipReason) return void process.stderr.write(`skipped: ${skipReason}\n`);
  const bin = join(scratch, 'app', 'node_modules', '.bin', 'paceline');
  const r = await run(bin, ['--version'], join(scratch, 'app'), 60_000);
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toContain(readJson<Manifest>(join(ROOT, 'packages', 'cli', 'package.json')).version);
}, 60_000);
