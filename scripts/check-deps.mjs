#!/usr/bin/env node
// Enforces the architecture's dependency direction. Each workspace package may import only the
// @paceline packages listed for it below, must declare them in package.json, and must reference
// them in tsconfig.json. A new package must be added here: its place in the layering is a decision.
// Inside a package, modules must not import each other in a cycle (issue #12: a cycle makes the
// order modules are evaluated in depend on which one is loaded first); `import type` and
// `export type` lines are erased at build time and do not count.
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const ALLOWED = {
  '@paceline/model': [],
  '@paceline/scheduler': ['model'],
  '@paceline/membership': ['model'],
  '@paceline/agent-api': ['model'],
  '@paceline/testkit': ['model', 'membership', 'agent-api'],
  '@paceline/executor': ['model', 'agent-api'],
  '@paceline/ocf': ['model', 'agent-api'],
  '@paceline/pacemaker': ['model', 'scheduler'],
  '@paceline/runtime': ['model', 'agent-api', 'membership'],
  '@paceline/daemon': ['model', 'scheduler', 'membership', 'agent-api', 'executor', 'runtime', 'ocf', 'agent-*'],
  '@paceline/observe': ['model', 'agent-api', 'executor', 'daemon'],
  '@paceline/cli': ['model', 'scheduler', 'pacemaker', 'membership', 'agent-api', 'executor', 'runtime', 'ocf', 'daemon', 'observe', 'testkit', 'agent-*'],
  'agent-*': ['model', 'agent-api'],
  // The live lab (npm run lab): drives built daemons from outside, reads their status; its
  // namespaces are the tests' (@paceline/testkit/netns); its errors are PacelineErrors (model).
  '@paceline/lab': ['model', 'daemon', 'testkit'],
};

const root = new URL('..', import.meta.url).pathname;
const problems = [];
const pkgDirs = ['packages', 'agents'].flatMap((d) =>
  existsSync(join(root, d))
    ? readdirSync(join(root, d))
        .map((n) => join(root, d, n))
        .filter((p) => existsSync(join(p, 'package.json')))
    : [],
);

function rule(name) {
  if (ALLOWED[name]) return ALLOWED[name];
  if (name.startsWith('@paceline/agent-')) return ALLOWED['agent-*'];
  return undefined;
}
function allows(list, dep) {
  const short = dep.replace('@paceline/', '');
  return list.includes(short) || (short.startsWith('agent-') && short !== 'agent-api' && list.includes('agent-*'));
}
function* files(dir) {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (/\.(ts|mts)$/.test(n)) yield p;
  }
}

for (const dir of pkgDirs) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const list = rule(pkg.name);
  const rel = relative(root, dir);
  if (!list) {
    problems.push(`${rel}: package ${pkg.name} has no place in scripts/check-deps.mjs (add it to ALLOWED)`);
    continue;
  }
  const declared = new Set(Object.keys(pkg.dependencies ?? {}));
  const tsconfig = JSON.parse(readFileSync(join(dir, 'tsconfig.json'), 'utf8'));
  const refs = new Set((tsconfig.references ?? []).map((r) => r.path.replace(/^(\.\.\/)+/, '')));
  const srcDir = join(dir, 'src');
  if (!existsSync(srcDir)) continue;
  for (const f of files(srcDir)) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)['"](@paceline\/[a-z0-9-]+)(?:\/[a-z0-9/-]+)?['"]/g)) {
      const dep = m[1];
      const where = relative(root, f);
      if (dep === pkg.name) continue;
      if (!allows(list, dep)) problems.push(`${where}: ${pkg.name} must not import ${dep} (allowed: ${list.join(', ') || 'nothing'})`);
      if (!declared.has(dep)) problems.push(`${where}: imports ${dep} but ${rel}/package.json does not declare it`);
      const depDir =
        dep === '@paceline/agent-api' ? 'packages/agent-api' : dep.startsWith('@paceline/agent-') ? `agents/${dep.slice(16)}` : `packages/${dep.slice(10)}`;
      if (!refs.has(depDir)) problems.push(`${where}: imports ${dep} but ${rel}/tsconfig.json has no reference to ${depDir}`);
    }
  }
}
/** Runtime import cycles among a package's own modules (Tarjan's strongly connected components). */
function importCycles(srcDir) {
  const graph = new Map();
  for (const f of files(srcDir)) {
    const deps = [];
    for (const m of readFileSync(f, 'utf8').matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?\bfrom\s+'(\.{1,2}\/[^']+)'/gms)) {
      if (m[1]) continue;
      deps.push(normalize(join(dirname(f), m[2].replace(/\.js$/, '.ts'))));
    }
    graph.set(normalize(f), deps);
  }
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const cycles = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) !== index.get(v)) return;
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) cycles.push(component);
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}
for (const dir of pkgDirs) {
  const srcDir = join(dir, 'src');
  if (!existsSync(srcDir)) continue;
  for (const cycle of importCycles(srcDir))
    problems.push(
      `${relative(root, dir)}: modules import each other in a cycle: ${cycle
        .map((f) => relative(srcDir, f))
        .sort()
        .join(', ')}`,
    );
}

const unique = [...new Set(problems)];
if (unique.length) {
  console.error(`check-deps: ${unique.length} layering problem(s):\n${unique.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`check-deps: ${pkgDirs.length} packages respect the dependency direction`);
