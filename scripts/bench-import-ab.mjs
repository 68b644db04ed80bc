#!/usr/bin/env node
// The CIB import's cost before and after a change, in the same run and the same load: a saved copy of
// the pacemaker package's build and of the CLI bundle (the reference) and the current ones take
// turns, each measurement in a fresh process, as a user meets them (the first import of a process
// runs before V8 has optimised anything). Per input it prints, for reference and current, the
// least and median CPU time (user + system, collector threads included) of
//   import     reading the file and the first importCib call, in a process that loaded only the package;
//   simulate   the whole `paceline simulate --cib F --format json` run from the CLI bundle;
// and the peak RSS of each, with the ratio current / reference and the load average.
//
//   node scripts/bench-import-ab.mjs --save-ref     copy the current builds as the reference
//   node scripts/bench-import-ab.mjs [--rounds N] [--sizes 16x1000:fail,32x2000:fail,32x5000:cold] [--no-simulate] [--budget N|default]
//
// Both builds run with V8's interrupt budget the CLI gives a one-shot command (packages/cli/src/jit.ts;
// it decides how much of the run is optimised code, so a change can win under one and lose under the
// other), or with --budget N, or V8's own with --budget default.
//
// Inputs come from ../shared/bench/gen-cib.mjs and are kept in .bench-cache/; the reference lives in
// .bench-cache/ref-import/.
import { benchCib } from './lib/bench-cib.mjs';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = new URL('..', import.meta.url).pathname;
const cache = join(root, '.bench-cache');
const refDir = join(cache, 'ref-import');
const { values } = parseArgs({
  options: {
    'save-ref': { type: 'boolean', default: false },
    rounds: { type: 'string', default: '5' },
    sizes: { type: 'string', default: '16x1000:fail,32x2000:fail,32x5000:cold' },
    'no-simulate': { type: 'boolean', default: false },
    budget: { type: 'string' },
  },
});
const budget = values.budget ?? String((await import('../packages/cli/dist/jit.js')).ONE_SHOT_INTERRUPT_BUDGET);
const v8Flags = budget === 'default' ? [] : [`--interrupt-budget=${Number(budget)}`];
const builds = {
  reference: { pacemaker: join(refDir, 'pacemaker', 'dist', 'index.js'), bundle: join(refDir, 'bundle', 'bundled.js') },
  current: { pacemaker: join(root, 'packages', 'pacemaker', 'dist', 'index.js'), bundle: join(root, 'packages', 'cli', 'bundle', 'bundled.js') },
};

if (values['save-ref']) {
  rmSync(refDir, { recursive: true, force: true });
  mkdirSync(join(refDir, 'pacemaker'), { recursive: true });
  cpSync(join(root, 'packages', 'pacemaker', 'dist'), join(refDir, 'pacemaker', 'dist'), { recursive: true });
  cpSync(join(root, 'packages', 'pacemaker', 'package.json'), join(refDir, 'pacemaker', 'package.json'));
  cpSync(join(root, 'packages', 'cli', 'bundle'), join(refDir, 'bundle'), { recursive: true });
  // The bundle reads its package's package.json (the version) beside it.
  cpSync(join(root, 'packages', 'cli', 'package.json'), join(refDir, 'package.json'));
  writeFileSync(join(refDir, 'COMMIT'), execFileSync('git', ['log', '-1', '--format=%h %s'], { cwd: root, encoding: 'utf8' }).slice(0, 100));
  console.log('bench-import-ab: the current pacemaker build and CLI bundle are saved as the reference');
  process.exit(0);
}
for (const f of [...Object.values(builds.reference), ...Object.values(builds.current)])
  if (!existsSync(f)) {
    console.error(`bench-import-ab: ${f} is missing (run npm run build, and --save-ref before the change)`);
    process.exit(2);
  }

// The child: one measurement, printed as JSON. The import child loads the package only; the simulate
// child runs the bundle's command line with an io like the CLI's (stdout discarded).
const IMPORT_CHILD = `
const { readFileSync } = await import('node:fs');
const { isAscii } = await import('node:buffer');
const { importCib } = await import(process.argv[1]);
const t = process.cpuUsage();
const bytes = readFileSync(process.argv[2]);
const r = importCib(isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8'), { defaultNow: Date.UTC(2026, 0, 1) });
const d = process.cpuUsage(t);
globalThis.kept = r;
console.log(JSON.stringify({ cpu: (d.user + d.system) / 1000, rss: process.resourceUsage().maxRSS / 1024 }));`;
const SIMULATE_CHILD = `
const t = process.cpuUsage();
const { readFileSync } = await import('node:fs');
const { isAscii } = await import('node:buffer');
const { runBundled } = await import(process.argv[1]);
const io = { out: () => {}, err: () => {}, now: () => Date.UTC(2026, 0, 1), readFile: (p) => { const b = readFileSync(p); return isAscii(b) ? b.toString('latin1') : b.toString('utf8'); } };
const code = await runBundled(['simulate', '--cib', process.argv[2], '--format', 'json'], io);
const d = process.cpuUsage(t);
if (code !== 0) throw new Error('simulate exited with ' + code);
console.log(JSON.stringify({ cpu: (d.user + d.system) / 1000, rss: process.resourceUsage().maxRSS / 1024 }));`;

function measure(script, module, file) {
  const r = spawnSync(process.execPath, [...v8Flags, '--input-type=module', '-e', script, module, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`measurement failed: ${r.stderr.slice(0, 500)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function input(spec) {
  const [size, variant] = spec.split(':');
  const [nodes, resources] = size.split('x');
  return benchCib(nodes, resources, variant);
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const loadBefore = load();
const jobs = [];
for (const spec of values.sizes.split(',')) {
  const file = input(spec);
  jobs.push({ name: `import ${spec}`, script: IMPORT_CHILD, key: 'pacemaker', file });
  if (!values['no-simulate']) jobs.push({ name: `simulate ${spec}`, script: SIMULATE_CHILD, key: 'bundle', file });
}
const times = new Map(jobs.map((j) => [j.name, { reference: [], current: [] }]));
for (let round = 0; round < Number(values.rounds); round++)
  for (const job of jobs)
    for (const which of round % 2 === 0 ? ['current', 'reference'] : ['reference', 'current'])
      times.get(job.name)[which].push(measure(job.script, builds[which][job.key], job.file));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = (ms) => {
  const cpu = ms.map((m) => m.cpu);
  return { least: Math.min(...cpu), median: median(cpu), rss: Math.max(...ms.map((m) => m.rss)) };
};
const lines = [
  `bench-import-ab: ${values.rounds} rounds, fresh process each, V8 interrupt budget ${budget}; CPU ms least / median, peak RSS MiB; load average ${loadBefore} before, ${load()} after`,
  `reference: ${existsSync(join(refDir, 'COMMIT')) ? readFileSync(join(refDir, 'COMMIT'), 'utf8').trim() : 'saved build'}`,
  'job                        reference                  current                    ratio (least, median, RSS)',
];
for (const [name, t] of times) {
  const [r, c] = [summary(t.reference), summary(t.current)];
  const cell = (s) => `${s.least.toFixed(0)} / ${s.median.toFixed(0)} ms, ${s.rss.toFixed(0)} MiB`.padEnd(27);
  lines.push(`${name.padEnd(26)} ${cell(r)}${cell(c)}${(c.least / r.least).toFixed(2)}, ${(c.median / r.median).toFixed(2)}, ${(c.rss / r.rss).toFixed(2)}`);
}
console.log(lines.join('\n'));
if (process.env.BENCH_IMPORT_OUT) writeFileSync(process.env.BENCH_IMPORT_OUT, `${lines.join('\n')}\n`);
