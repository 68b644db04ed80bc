#!/usr/bin/env node
// Checks that every workspace package can be published and installed on its own (docs/library.md,
// "Versioning"). For each package that is not private:
//   - the same version as the root, MIT, a LICENSE identical to the root's, a README.md,
//     `repository` (the root's URL and the package's directory), the root's `engines`, `files`,
//     `publishConfig.access: public`;
//   - @paceline dependencies as `^VERSION` (never "*": one tarball alone must install), and only on
//     packages that publish;
//   - zod as a peer dependency with the range below, also for the CLI (one zod per program: two
//     copies of zod 4 make tsc compare their types structurally, slowly enough to run out of
//     memory; npm 7 and later install a missing peer, also for `npm install -g` and npx);
//   - no dependency that nothing imports, no import of a package that is not declared (imports
//     are read from src/**/*.ts and from the emitted dist/**/*.d.ts, which users compile against);
//   - `exports` entries with `types` and `default` under dist/, and the sources shipped when the
//     build writes source or declaration maps (a map must not point at a file the tarball lacks).
// Private packages are listed with the reason they do not publish.
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createRequire } from 'node:module';

/** The zod versions Paceline works with: ZOD_PEER_RANGE in packages/model/src/zod-check.ts (docs/library.md, "zod"). */
const ZOD_PEER_RANGE = /ZOD_PEER_RANGE = '([^']+)'/.exec(readFileSync(new URL('../packages/model/src/zod-check.ts', import.meta.url), 'utf8'))[1];

/**
 * The packages that do not publish, and why. (@paceline/testkit does publish: the CLI's demo runs
 * on its MembershipHarness, and its simulated clock and network are what users test their own
 * embedding with. The built-in agents publish as the packages a cluster names.)
 */
const PRIVATE = {
  '@paceline/lab': "the project's live test rig (npm run lab): root, network namespaces and the reference cluster's real services; nothing to build on",
};

const root = new URL('..', import.meta.url).pathname;
const ts = createRequire(join(root, 'package.json'))('typescript');
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const rootLicense = readFileSync(join(root, 'LICENSE'), 'utf8');
const base = JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8')).compilerOptions;
const writesMaps = base.sourceMap === true || base.declarationMap === true;

const problems = [];
const privates = [];
const dirs = ['packages', 'agents'].flatMap((d) =>
  readdirSync(join(root, d))
    .map((n) => join(root, d, n))
    .filter((p) => existsSync(join(p, 'package.json'))),
);
const pkgs = new Map(
  dirs.map((dir) => {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    return [pkg.name, { dir, rel: relative(root, dir), pkg }];
  }),
);

function* walk(dir, test) {
  if (!existsSync(dir)) return;
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) yield* walk(p, test);
    else if (test(n)) yield p;
  }
}

/** Bare package names a file imports (import, export from, import(), require() and createRequire()('x')). */
function importedPackages(file) {
  const text = readFileSync(file, 'utf8');
  const specs = ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
  for (const m of text.matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)|createRequire\([^)]*\)\(\s*['"]([^'"]+)['"]/g)) specs.push(m[1] ?? m[2]);
  return specs
    .filter((s) => !s.startsWith('.') && !s.startsWith('/') && !s.startsWith('node:'))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]));
}

const builtins = new Set(createRequire(import.meta.url)('node:module').builtinModules);

for (const [name, { dir, rel, pkg }] of pkgs) {
  const where = `${rel}/package.json`;
  if (pkg.private) {
    if (!PRIVATE[name]) problems.push(`${where}: a private package must be listed, with the reason, in PRIVATE in scripts/check-packages.mjs`);
    privates.push(name);
    continue;
  }
  if (PRIVATE[name]) problems.push(`${where}: listed as private in scripts/check-packages.mjs but not "private": true`);
  const say = (msg) => problems.push(`${where}: ${msg}`);
  if (pkg.version !== rootPkg.version) say(`version ${pkg.version} differs from the root's ${rootPkg.version} (the packages are versioned together)`);
  if (pkg.license !== 'MIT') say('"license" must be "MIT"');
  if (!existsSync(join(dir, 'LICENSE'))) say('no LICENSE file (copy the root LICENSE)');
  else if (readFileSync(join(dir, 'LICENSE'), 'utf8') !== rootLicense) say('LICENSE differs from the root LICENSE');
  if (!existsSync(join(dir, 'README.md'))) say('no README.md');
  const repo = pkg.repository ?? {};
  if (repo.type !== 'git' || repo.url !== rootPkg.repository?.url || repo.directory !== rel)
    say(`"repository" must be { "type": "git", "url": "${rootPkg.repository?.url}", "directory": "${rel}" }`);
  if (pkg.engines?.node !== rootPkg.engines.node) say(`"engines" must be { "node": "${rootPkg.engines.node}" } as the root's`);
  if (pkg.type !== 'module') say('"type" must be "module" (Paceline is ESM only)');
  if (pkg.publishConfig?.access !== 'public') say('"publishConfig" must be { "access": "public" } (a scoped package is private on npm otherwise)');
  const files = pkg.files ?? [];
  if (!files.includes('dist')) say('"files" must list "dist"');
  if (writesMaps && !files.includes('src')) say('"files" must list "src": the build writes source and declaration maps that point at it');

  // Exports: every entry typed, nothing outside dist/.
  const exp = pkg.exports;
  if (!exp || typeof exp !== 'object') say('no "exports" map');
  else
    for (const [key, target] of Object.entries(exp)) {
      if (key === './package.json') continue;
      if (typeof target !== 'object' || !target.types || !target.default) {
        say(`exports["${key}"] must have "types" and "default"`);
        continue;
      }
      for (const t of [target.types, target.default]) if (!t.startsWith('./dist/')) say(`exports["${key}"] points outside dist/: ${t}`);
    }

  // Dependencies: ranges, peers, used and declared.
  const deps = pkg.dependencies ?? {};
  const peers = pkg.peerDependencies ?? {};
  const optional = pkg.optionalDependencies ?? {};
  for (const [dep, range] of Object.entries({ ...deps, ...peers })) {
    if (!dep.startsWith('@paceline/')) continue;
    const target = pkgs.get(dep);
    if (!target) {
      say(`depends on ${dep}, which is not a workspace package`);
      continue;
    }
    if (target.pkg.private) say(`depends on ${dep}, which is private and does not publish`);
    if (range !== `^${target.pkg.version}`) say(`"${dep}": "${range}" must be "^${target.pkg.version}"`);
  }
  if (deps.zod) say(`zod must be a peer dependency ("peerDependencies": { "zod": "${ZOD_PEER_RANGE}" }), not a dependency`);
  const imported = new Set([
    ...[...walk(join(dir, 'src'), (n) => /\.(ts|mts)$/.test(n))].flatMap(importedPackages),
    ...[...walk(join(dir, 'dist'), (n) => n.endsWith('.d.ts'))].flatMap(importedPackages),
  ]);
  if (imported.has('zod') && peers.zod !== ZOD_PEER_RANGE) say(`imports zod: "peerDependencies" must have "zod": "${ZOD_PEER_RANGE}"`);
  for (const dep of Object.keys({ ...deps, ...peers, ...optional }))
    if (!imported.has(dep)) say(`"${dep}" is declared but nothing in src/ or the declarations imports it`);
  for (const dep of imported)
    if (dep !== pkg.name && !builtins.has(dep) && !(dep in deps) && !(dep in peers) && !(dep in optional))
      say(`src/ or the declarations import "${dep}", which is not a dependency`);
}

if (problems.length) {
  console.error(`check-packages: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`check-packages: ${pkgs.size - privates.length} packages publishable; private: ${privates.map((p) => `${p} (${PRIVATE[p]})`).join('; ')}`);
