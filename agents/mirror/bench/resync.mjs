#!/usr/bin/env node
// Measures paceline:mirror on this machine: two "nodes" on loopback (rsync daemons on 127.0.0.1),
// N files of SIZE bytes in directories of 100, for each N of a comma-separated list. Beside each
// figure of the agent (change tracking: a journal on each side, pulls of what changed), the same
// operation done by plain rsync over the whole tree (a full scan: what every pull cost before).
// After the failback it checks every file's content on both nodes (each write of either side is
// there, the survivor's version of a conflict in place and the other saved) and exits non-zero
// when one is wrong. Run after `npm run build`:
//   node agents/mirror/bench/resync.mjs [SIZES=10000] [SIZE=4096]
//   BENCH_DIR=/dev/shm node agents/mirror/bench/resync.mjs 10000,100000,1000000   (tmpfs: ~13 GB at 1M)
// Environment: REPEAT (lag repetitions, 7), BENCH_DIR (where the trees go, the temp dir), IDLE_MS
// (the idle CPU window, 5000), ROUNDS (the whole scenario this many times per size, for hunting
// rare failures: figures of the last round are printed, failures of every round).
// Goals (issue #15): 100 files changed → replica in sync ≤ 0.5 s at every size; failback with 100
// changed + 50 unmirrored ≤ 1 s (plus the transfer of the changed bytes); an idle pull ~0 CPU.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import { benchSize } from './scenario.mjs';

const SIZES = (process.argv[2] ?? '10000').split(',').map(Number);
const opts = {
  size: Number(process.argv[3] ?? 4096),
  repeat: Number(process.env.REPEAT ?? 7),
  dir: process.env.BENCH_DIR ?? tmpdir(),
  idleMs: Number(process.env.IDLE_MS ?? 10000),
  interval: 2000,
};
const ROUNDS = Number(process.env.ROUNDS ?? 1);

const results = new Map();
const load = [];
let failures = 0;
for (const N of SIZES) {
  for (let round = 1; round <= ROUNDS; round++) {
    load.push(loadavg()[0].toFixed(1));
    const r = await benchSize(N, opts);
    results.set(N, r.rows);
    if (r.problems.length > 0) failures++;
    process.stderr.write(
      `${N}: round ${round}/${ROUNDS}: ${r.problems.length === 0 ? 'contents checked, all correct' : `WRONG:\n  ${r.problems.slice(0, 20).join('\n  ')}`}\n`,
    );
  }
}
load.push(loadavg()[0].toFixed(1));
const fsType = execFileSync('stat', ['-f', '-c', '%T', opts.dir], { encoding: 'utf8' }).trim();
process.stdout.write(
  `paceline:mirror, ${SIZES.join(', ')} files of ${opts.size} B on ${fsType} (${opts.dir}), replica interval ${opts.interval} ms; ` +
    `load average during the run ${load.join(' → ')} on ${cpus().length} CPUs; ${ROUNDS * SIZES.length - failures}/${ROUNDS * SIZES.length} round(s) with every content right\n\n`,
);
for (const [N, rows] of results) {
  process.stdout.write(`## ${N} files\n`);
  for (const [what, agent, ref, note] of rows)
    process.stdout.write(`  ${agent.padStart(10)}  ${what}${ref ? `   [rsync: ${ref}]` : ''}\n              ${note}\n`);
}
/** A reference's figure with its unit ("0.57 s (plain rsync)" → "0.57 s", "40 ms client CPU, …" → "40 ms client CPU"). */
const first3 = (ref) => ref.split(/ \(|, /)[0];
if (results.size > 1) {
  const first = SIZES[0];
  const last = SIZES[SIZES.length - 1];
  process.stdout.write(`\n## growth ${first} → ${last} files\n`);
  const a = results.get(first);
  const b = results.get(last);
  for (let k = 0; k < a.length; k++)
    process.stdout.write(
      `  ${a[k][1].padStart(10)} → ${b[k][1].padEnd(10)}  ${a[k][0]}${a[k][2] ? `   [rsync: ${first3(a[k][2])} → ${first3(b[k][2])}]` : ''}\n`,
    );
}
process.exit(failures > 0 ? 1 : 0);
