#!/usr/bin/env node
// npm run bench:scheduler — Paceline's scheduler against Pacemaker's crm_simulate on identical input.
//
// Inputs come from ../shared/bench/gen-cib.mjs (a synthetic CIB: M nodes, N Dummy primitives, groups,
// clones, constraints). For each size and variant (cold start, one node failed) it times:
//   paceline (process): `paceline simulate --cib FILE --format json` as a whole process, CIB in, JSON out;
//   paceline (schedule): the schedule() call alone, in a child process (CPU time, the least of the
//   runs, as for the processes; a later call than the process's first, so V8 has warmed up);
//   crm_simulate -x FILE -R -Q (scheduler only), where installed, in the same script.
// Each process is run under GNU time (/usr/bin/time, Debian's `time`) where installed: its CPU time
// (user + system, the least of the runs) and peak RSS are what the ratio compares, because wall
// time on a shared machine measures the neighbours as much as the program. Without GNU time the
// ratio falls back to wall time (the median of the runs).
// Options: --sizes 2x10,16x1000   --variants cold,fail   --runs N (default 3)
//          --reference-limit SECONDS: skip crm_simulate where the README's figure exceeds this (default 20)
import { benchCib } from './lib/bench-cib.mjs';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const shared = process.env.PACELINE_SHARED ?? join(root, '..', 'shared');
const gen = join(shared, 'bench', 'gen-cib.mjs');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const sizes = opt('sizes', '2x10,2x100,8x500,16x1000,32x2000,32x5000')
  .split(',')
  .map((s) => s.split('x').map(Number));
const variants = opt('variants', 'cold,fail').split(',');
const runs = Number(opt('runs', '3'));
const referenceLimit = Number(opt('reference-limit', '20'));
// Pacemaker 2.1.5 crm_simulate -R medians from ../shared/bench/README.md (seconds), to decide what is worth running.
const REFERENCE = { '2x10': [0.05, 0.06], '2x100': [0.08, 0.07], '8x500': [0.82, 1.0], '16x1000': [14.6, 3.7], '32x2000': [500, 18.9], '32x5000': [5000, 139] };

if (!existsSync(gen)) {
  console.error(`bench:scheduler: ${gen} not found (set PACELINE_SHARED to the shared folder)`);
  process.exit(1);
}
const cache = join(root, '.bench-cache');
mkdirSync(cache, { recursive: true });
const cli = join(root, 'packages', 'cli', 'dist', 'main.js');
const one = join(root, 'scripts', 'bench-schedule-once.mjs');
const hasCrm = spawnSync('crm_simulate', ['--version'], { stdio: 'ignore' }).status === 0;
const GNU_TIME = '/usr/bin/time';
const hasTime = existsSync(GNU_TIME) && spawnSync(GNU_TIME, ['-f', '%U', 'true'], { stdio: 'ignore' }).status === 0;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** One run: wall seconds, and with GNU time the CPU seconds (user + system) and peak RSS (MiB). */
function timeIt(cmd, argv, env) {
  const dir = mkdtempSync(join(tmpdir(), 'pl-time-'));
  const report = join(dir, 'time');
  const [file, args] = hasTime ? [GNU_TIME, ['-o', report, '-f', '%U %S %M', cmd, ...argv]] : [cmd, argv];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 30 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const [user, sys, rssKiB] = hasTime ? readFileSync(report, 'utf8').trim().split('\n').pop().split(' ').map(Number) : [];
  rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}): ${String(r.stderr).slice(0, 500)}`);
  return { wall, cpu: hasTime ? user + sys : null, rssMiB: hasTime ? rssKiB / 1024 : null };
}
/** N runs: median wall time, least CPU time, greatest peak RSS. */
function summarise(runs) {
  return {
    wall: median(runs.map((r) => r.wall)),
    cpu: runs[0].cpu === null ? null : Math.min(...runs.map((r) => r.cpu)),
    rssMiB: runs[0].rssMiB === null ? null : Math.max(...runs.map((r) => r.rssMiB)),
  };
}
const secs = (x) => (x === null ? '-' : `${x.toFixed(2)} s`);
const mib = (x) => (x === null ? '-' : `${x.toFixed(0)} MiB`);
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

const rows = [];
console.log(
  `bench:scheduler — ${runs} run(s) each; crm_simulate ${hasCrm ? 'installed' : 'NOT installed (reference figures only)'}; ` +
    `${hasTime ? 'CPU time = least of the runs, wall = median, RSS = peak' : 'GNU time not installed: wall time only (median)'}; load average ${load()}`,
);
console.log('size        variant  paceline CPU / wall / RSS       schedule() CPU    crm_simulate CPU / wall / RSS    ratio');
for (const [m, n] of sizes) {
  for (const variant of variants) {
    const file = benchCib(m, n, variant);
    const proc = [];
    for (let i = 0; i < runs; i++) proc.push(timeIt(process.execPath, [cli, 'simulate', '--cib', file, '--format', 'json']));
    const p = summarise(proc);
    const inner = JSON.parse(execFileSync(process.execPath, [one, file, String(runs)], { encoding: 'utf8', maxBuffer: 1 << 30 }));
    const key = `${m}x${n}`;
    const refSeconds = REFERENCE[key]?.[variant === 'cold' ? 0 : 1];
    let crm = null;
    let crmNote = '';
    if (hasCrm && (refSeconds === undefined || refSeconds <= referenceLimit)) {
      const shadow = mkdtempSync(join(tmpdir(), 'pl-bench-'));
      const t = [];
      for (let i = 0; i < (refSeconds && refSeconds > 5 ? 1 : runs); i++)
        t.push(timeIt('crm_simulate', ['-x', file, '-R', '-Q'], { CIB_shadow_dir: shadow, LC_ALL: 'C' }));
      rmSync(shadow, { recursive: true, force: true });
      crm = summarise(t);
    } else if (refSeconds !== undefined) {
      crmNote = ` (README: ${refSeconds} s)`;
    }
    const byCpu = crm && crm.cpu !== null && p.cpu !== null;
    const row = {
      size: key,
      variant,
      pacelineCpuS: p.cpu,
      pacelineWallS: p.wall,
      pacelineRssMiB: p.rssMiB,
      pacelineScheduleS: inner.scheduleS,
      pacelineScheduleCpuS: inner.scheduleCpuS,
      crmSimulateCpuS: crm?.cpu ?? null,
      crmSimulateWallS: crm?.wall ?? null,
      crmSimulateRssMiB: crm?.rssMiB ?? null,
      ratio: byCpu ? crm.cpu / p.cpu : crm ? crm.wall / p.wall : refSeconds ? refSeconds / p.wall : null,
      ratioOf: byCpu ? 'cpu' : crm ? 'wall' : refSeconds ? 'README' : null,
      loadAverage: load(),
    };
    rows.push(row);
    const ratio = row.ratio ? `${row.ratio.toFixed(1)}x${row.ratioOf === 'cpu' ? '' : ` (${row.ratioOf})`}` : '-';
    const crmText = crm === null ? `not run${crmNote}` : `${secs(crm.cpu)} / ${secs(crm.wall)} / ${mib(crm.rssMiB)}`;
    console.log(
      `${key.padEnd(11)} ${variant.padEnd(8)} ${`${secs(p.cpu)} / ${secs(p.wall)} / ${mib(p.rssMiB)}`.padEnd(30)}  ${secs(inner.scheduleCpuS).padStart(16)}  ${crmText.padEnd(32)} ${ratio}`,
    );
  }
}
console.log(`load average at the end: ${load()}`);
if (args.includes('--json')) console.log(JSON.stringify(rows, null, 1));
