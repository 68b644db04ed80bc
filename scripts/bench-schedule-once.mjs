#!/usr/bin/env node
// Child process of bench-scheduler.mjs: imports a CIB, then times schedule() alone — wall time (the
// median of N runs) and CPU time (the least, as the whole-process figures) — and reports this
// process's peak RSS. Prints one JSON line.
import { readFileSync } from 'node:fs';
import { importCib } from '@paceline/pacemaker';
import { schedule } from '@paceline/scheduler';

const [file, runsText = '3'] = process.argv.slice(2);
const xml = readFileSync(file, 'utf8');
const t0 = process.hrtime.bigint();
const { config, status, now } = importCib(xml, { source: file, defaultNow: Date.UTC(2026, 0, 1) });
const importS = Number(process.hrtime.bigint() - t0) / 1e9;
const times = [];
const cpus = [];
let actions = 0;
for (let i = 0; i < Number(runsText); i++) {
  const t = process.hrtime.bigint();
  const c = process.cpuUsage();
  const tr = schedule({ config, status, now: now ?? Date.UTC(2026, 0, 1) });
  const used = process.cpuUsage(c);
  times.push(Number(process.hrtime.bigint() - t) / 1e9);
  cpus.push((used.user + used.system) / 1e6);
  actions = tr.actions.length;
}
times.sort((a, b) => a - b);
const scheduleCpuS = Math.min(...cpus);
console.log(
  JSON.stringify({ importS, scheduleS: times[Math.floor(times.length / 2)], scheduleCpuS, actions, maxRssMiB: process.resourceUsage().maxRSS / 1024 }),
);
