#!/usr/bin/env node
/**
 * Runs the fuzz targets (every `test/fuzz-*.test.ts`: the configuration loader, the CIB importer,
 * the daemon's message decoder …) for longer than `npm test` does, with a random seed, and prints
 * what each tried: runs, what the inputs led to, the slowest input, and every distinct failure with
 * the first input that caused it.
 *
 *   npm run fuzz -- [--runs N] [--seed S] [--target NAME] [--workers N]
 *
 * --runs     runs per target (default 20000; `npm test` runs a few hundred with seed 16)
 * --seed     replay a run (the seed is printed at the start and the end)
 * --target   only the test files whose name contains NAME (e.g. config-loader, cib-import)
 * Exit 0 when no target failed, 1 otherwise.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomInt } from 'node:crypto';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function usage(message) {
  if (message) process.stderr.write(`fuzz: ${message}\n`);
  process.stderr.write('usage: node scripts/fuzz.mjs [--runs N] [--seed S] [--target NAME] [--workers N]\n');
  process.exit(2);
}

let runs = 20000;
let seed = randomInt(1, 2 ** 31 - 1);
let target = '';
let workers = 2;
const args = process.argv.slice(2);
const whole = (name, v) => {
  if (v === undefined || !/^\d+$/.test(v)) usage(`${name} needs a whole number`);
  return Number(v);
};
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--runs') runs = whole('--runs', args[++i]);
  else if (a === '--seed') seed = whole('--seed', args[++i]);
  else if (a === '--target') target = args[++i] ?? usage('--target needs a name');
  else if (a === '--workers') workers = whole('--workers', args[++i]);
  else if (a === '--help' || a === '-h') usage();
  else usage(`unknown argument "${a}"`);
}
if (runs < 1 || workers < 1) usage('--runs and --workers must be at least 1');
if (!/^[a-z0-9-]*$/.test(target)) usage(`--target "${target}": letters, digits and - only`);

const dir = mkdtempSync(join(tmpdir(), 'paceline-fuzz-'));
const report = join(dir, 'report.jsonl');
const t0 = Date.now();
process.stdout.write(`fuzz: seed ${seed}, ${runs} runs per target${target ? `, targets matching "${target}"` : ''}, ${workers} jest worker(s)\n`);
const r = spawnSync(
  process.execPath,
  [
    '--experimental-vm-modules',
    '--no-warnings',
    join(root, 'node_modules/jest/bin/jest.js'),
    `test/fuzz-${target}`,
    '-t',
    'fuzz:',
    `--maxWorkers=${workers}`,
    '--silent',
  ],
  {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    env: { ...process.env, PACELINE_FUZZ_RUNS: String(runs), PACELINE_FUZZ_SEED: String(seed), PACELINE_FUZZ_REPORT: report },
  },
);
const wall = ((Date.now() - t0) / 1000).toFixed(1);
const results = existsSync(report)
  ? readFileSync(report, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
  : [];
rmSync(dir, { recursive: true, force: true });

if (results.length === 0) {
  process.stderr.write(`fuzz: no target reported (jest exit ${r.status}):\n${(r.stderr ?? '').slice(-4000)}\n`);
  process.exit(1);
}
let failed = 0;
for (const x of results.sort((a, b) => a.target.localeCompare(b.target))) {
  process.stdout.write(`\n${x.target}: ${x.runs} inputs, slowest ${x.slowestMs} ms\n`);
  const width = Math.max(...Object.keys(x.outcomes).map((k) => k.length), 0);
  for (const [k, v] of Object.entries(x.outcomes)) process.stdout.write(`  ${k.padEnd(width)}  ${v}\n`);
  if (x.failures.length === 0) process.stdout.write('  distinct failures: none\n');
  else {
    failed++;
    process.stdout.write(`  distinct failures: ${x.failures.length}\n`);
    for (const f of x.failures) process.stdout.write(`  - ${f.message} (${f.count}×)\n    first input: ${f.sample}\n`);
  }
  process.stdout.write(`  slowest input: ${x.slowestSample}\n`);
}
// A target that threw before its tally finished (a crash of the test itself) shows only in jest's output.
if (r.status !== 0 && failed === 0) process.stdout.write(`\njest exited ${r.status} with no failure in the tallies:\n${(r.stderr ?? '').slice(-4000)}\n`);
process.stdout.write(
  `\nfuzz: ${results.length} target(s), ${results.reduce((n, x) => n + x.runs, 0)} inputs in ${wall} s, seed ${seed}: ${failed ? `${failed} target(s) FAILED` : 'no failures'}\n`,
);
process.exit(failed > 0 || r.status !== 0 ? 1 : 0);
