#!/usr/bin/env node
/**
 * Runs many seeded fault schedules of the simulated cluster (packages/daemon/test/sim) through
 * jest, in parallel workers, and prints what they did and any violations with their seeds.
 *
 *   npm run sim:faults -- --seeds 1-5000 [--workers 2] [--faults isolate,flap,skew,replay,clone|all|none] [--keep FILE]
 *
 * --faults mixes optional fault classes into the schedules (see packages/daemon/test/sim/schedule.ts):
 * isolated nodes that keep acting (their monitors and fencing fail), link flaps shorter than the
 * fence delay, separate channel/heartbeat delays with reordering, replayed packets, a cloned node —
 * on top of those `npm test` runs (ENABLED_FAULTS in sim/suite.ts); `--faults none`: base schedules only.
 *
 * --keep FILE keeps every schedule's result (one JSON line each, with the failing ones' reports).
 *
 * A failing seed replays alone with (SIM_FAULTS as it ran):
 *   SIM_SEED=N SIM_FAULTS=LIST node --experimental-vm-modules node_modules/jest/bin/jest.js packages/daemon/test/simulated
 * (SIM_DEBUG=FILE also writes every daemon log line, with its tick, to FILE.)
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function usage(message) {
  if (message) process.stderr.write(`sim-faults: ${message}\n`);
  process.stderr.write('usage: node scripts/sim-faults.mjs [--seeds A-B[,C-D...]] [--workers N] [--faults CLASS,...|all|none] [--keep FILE]\n');
  process.exit(2);
}

const CLASSES = ['isolate', 'flap', 'skew', 'replay', 'clone', 'arbiter', 'slow', 'drop', 'thread']; // FAULT_CLASSES in packages/daemon/test/sim/schedule.ts
let seeds = '1-1000';
let faults = '';
let keep;
let workers = Math.max(1, availableParallelism());
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--seeds') seeds = args[++i] ?? usage('--seeds needs a value');
  else if (a === '--workers') workers = Number(args[++i]);
  else if (a === '--faults') faults = args[++i] ?? usage('--faults needs a value');
  else if (a === '--keep') keep = args[++i] ?? usage('--keep needs a file name');
  else if (a === '--help' || a === '-h') usage();
  else usage(`unknown argument "${a}"`);
}
if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(seeds)) usage(`bad --seeds "${seeds}" (expected e.g. 1-5000 or 1-10,42)`);
if (!(Number.isInteger(workers) && workers >= 1)) usage('--workers must be a positive integer');
for (const c of faults.split(',').filter(Boolean))
  if (c !== 'all' && c !== 'none' && !CLASSES.includes(c)) usage(`unknown fault class "${c}" (classes: ${CLASSES.join(', ')}, all, or none)`);

const dir = mkdtempSync(join(tmpdir(), 'paceline-sim-faults-'));
const stats = join(dir, 'stats.jsonl');
const t0 = Date.now();
process.stdout.write(`running seeds ${seeds}${faults ? ` with fault classes ${faults}` : ''} with ${workers} jest worker(s)...\n`);
const r = spawnSync(
  process.execPath,
  [
    '--experimental-vm-modules',
    '--no-warnings',
    join(root, 'node_modules/jest/bin/jest.js'),
    'packages/daemon/test/simulated',
    '-t',
    'simulated fault schedule',
    `--maxWorkers=${workers}`,
    '--silent',
  ],
  { cwd: root, env: { ...process.env, SIM_SEEDS: seeds, SIM_STATS: stats, SIM_SEED: '', SIM_FAULTS: faults }, encoding: 'utf8', maxBuffer: 1 << 30 },
);
const wall = (Date.now() - t0) / 1000;

if (!existsSync(stats)) {
  process.stderr.write(`jest produced no results (exit ${r.status}):\n${(r.stderr ?? '').slice(-4000)}\n`);
  process.exit(1);
}
const results = readFileSync(stats, 'utf8')
  .trim()
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l));
if (keep) copyFileSync(stats, keep);
rmSync(dir, { recursive: true, force: true });

const sum = (f) => results.reduce((n, x) => n + f(x), 0);
const count = (f) => {
  const m = {};
  for (const x of results) {
    const k = f(x);
    m[k] = (m[k] ?? 0) + 1;
  }
  return m;
};
const refusals = {};
for (const x of results) for (const [k, v] of Object.entries(x.refusals)) refusals[k] = (refusals[k] ?? 0) + v;
const ms = results.map((x) => x.ms).sort((a, b) => a - b);
const failed = results.filter((x) => x.violations.length > 0).sort((a, b) => a.seed - b.seed);
// Seeds asked for that left no result: the run threw or timed out (jest's output says which).
const asked = [];
for (const part of seeds.split(',')) {
  const [a, b = a] = part.split('-').map(Number);
  for (let x = a; x <= b; x++) asked.push(x);
}
const got = new Set(results.map((x) => x.seed));
const missing = asked.filter((x) => !got.has(x));
const fmt = (o) =>
  Object.entries(o)
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

const lines = [
  `schedules run:          ${results.length} (${fmt(count((x) => `${x.nodes} nodes`))}; policy ${fmt(count((x) => x.policy))})`,
  `fault classes:          ${[...new Set(results.map((x) => (x.classes ?? []).join(',') || 'base only'))].join('; ')}`,
  `faults injected:        ${sum((x) => x.faults)} (partitions, loss, delay, heal, power off, clean stop, restart)`,
  `simulated time:         ${((sum((x) => x.ticks) * 50) / 1000 / 3600).toFixed(1)} h (${sum((x) => x.ticks)} ticks of 50 ms)`,
  `updates acknowledged:   ${sum((x) => x.updates.acked)}`,
  `updates refused:        ${sum((x) => x.updates.refused)} (${fmt(refusals)})`,
  `updates indeterminate:  ${sum((x) => x.updates.indeterminate)} (answer lost: may or may not be in effect)`,
  `time per schedule:      mean ${(sum((x) => x.ms) / Math.max(1, results.length)).toFixed(0)} ms, median ${ms[ms.length >> 1] ?? 0} ms, max ${ms[ms.length - 1] ?? 0} ms (one worker)`,
  `wall time:              ${wall.toFixed(0)} s`,
  `violations:             ${sum((x) => x.violations.length)} in ${failed.length} schedules${failed.length ? `: seeds ${failed.map((x) => x.seed).join(', ')}` : ''}`,
  ...(missing.length ? [`no result:              ${missing.length} schedules threw or timed out: seeds ${missing.join(', ')}`] : []),
];
process.stdout.write(`${lines.join('\n')}\n`);
if (failed.length)
  process.stdout.write(
    `replay one with: SIM_SEED=${failed[0].seed}${faults ? ` SIM_FAULTS=${faults}` : ''} node --experimental-vm-modules node_modules/jest/bin/jest.js packages/daemon/test/simulated\n`,
  );
for (const x of failed.slice(0, 5)) process.stdout.write(`\n${x.report ?? x.violations.join('\n')}\n`);
if (failed.length > 5) process.stdout.write(`\n(${failed.length - 5} more failing seeds; replay each with SIM_SEED=N)\n`);
for (const seed of missing.slice(0, 3)) {
  const at = (r.stderr ?? '').indexOf(`simulated fault schedule ${seed}\n`);
  process.stdout.write(`\nseed ${seed} left no result${at >= 0 ? `:\n${r.stderr.slice(at, at + 3000)}` : " (see jest's output)"}\n`);
}
if (results.length === 0 || (r.status !== 0 && failed.length === 0 && missing.length === 0)) {
  process.stderr.write(`jest exited with ${r.status}:\n${(r.stderr ?? '').slice(-4000)}\n`);
  process.exit(1);
}
process.exit(failed.length > 0 || missing.length > 0 ? 1 : 0);
