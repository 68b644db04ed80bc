#!/usr/bin/env node
// npm run bench:scheduler — Paceline's scheduler against Pacemaker's crm_simulate on identical input.
//
// Inputs come from ../shared/bench/gen-cib.mjs (a synthetic CIB: M nodes, N Dummy primitives, groups,
// clones, constraints). For each size and variant (cold start, one node failed) it times:
//   paceline (process): `paceline simulate --cib FILE --format json` as a whole process, CIB in, JSON out;
//   paceline (schedule): the schedule() call alone, in a child process, with its peak RSS;
//   crm_simulate -x FILE -R -Q (scheduler only), where installed, in the same script.
// Options: --sizes 2x10,16x1000   --variants cold,fail   --runs N (median of N, default 3)
//          --reference-limit SECONDS: skip crm_simulate where the README's figure exceeds this (default 20)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
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

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function timeIt(cmd, argv, env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 30 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}): ${String(r.stderr).slice(0, 500)}`);
  return s;
}

const rows = [];
console.log(`bench:scheduler — median of ${runs} run(s); crm_simulate ${hasCrm ? 'installed' : 'NOT installed (reference figures only)'}`);
console.log('size        variant  paceline process  paceline schedule  peak RSS   crm_simulate -R   ratio');
for (const [m, n] of sizes) {
  for (const variant of variants) {
    const file = join(cache, `cib-${m}x${n}-${variant}.xml`);
    if (!existsSync(file))
      execFileSync(process.execPath, [gen, '--nodes', String(m), '--resources', String(n), '--seed', '1', '--variant', variant, '--format', 'xml', '-o', file]);
    const proc = [];
    for (let i = 0; i < runs; i++) proc.push(timeIt(process.execPath, [cli, 'simulate', '--cib', file, '--format', 'json']));
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
      crm = median(t);
    } else if (refSeconds !== undefined) {
      crmNote = ` (README: ${refSeconds} s)`;
    }
    const p = median(proc);
    const row = {
      size: key,
      variant,
      pacelineProcessS: p,
      pacelineScheduleS: inner.scheduleS,
      peakRssMiB: inner.maxRssMiB,
      crmSimulateS: crm,
      ratio: crm ? crm / p : refSeconds ? refSeconds / p : null,
    };
    rows.push(row);
    const ratio = row.ratio ? `${row.ratio.toFixed(1)}x${crm ? '' : ' vs README'}` : '-';
    console.log(
      `${key.padEnd(11)} ${variant.padEnd(8)} ${`${p.toFixed(3)} s`.padStart(16)}  ${`${inner.scheduleS.toFixed(3)} s`.padStart(17)}  ${`${inner.maxRssMiB.toFixed(0)} MiB`.padStart(8)}   ${(crm === null ? `not run${crmNote}` : `${crm.toFixed(3)} s`).padStart(16)}   ${ratio}`,
    );
  }
}
if (args.includes('--json')) console.log(JSON.stringify(rows, null, 1));
