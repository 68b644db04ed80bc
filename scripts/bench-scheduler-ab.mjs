#!/usr/bin/env node
// The scheduler's cost before and after a change, measured in the same process and the same load:
// a saved copy of a scheduler build (the reference) and the current build take turns on the same
// inputs, and each call's CPU time (user + system) is recorded, after a full garbage collection. Prints the median and least per
// job and the ratio current / reference, with the load average. On a shared machine the least
// medians are the steadier figure; an unchanged build measured against itself shows the noise. CPU
// time is the whole process's, so it includes the collector's background threads.
//
//   node scripts/bench-scheduler-ab.mjs --save-ref          copy packages/scheduler/dist as the reference
//   node scripts/bench-scheduler-ab.mjs [--rounds N]        compare (after `npm run build`)
//
// Jobs: schedule() (with JSON.stringify, which builds the explanation) on ../shared/bench's
// 16 nodes x 1,000 resources, cold and with a node failed; applyTransition on the failed one; and
// every case of the conformance corpus once. The reference lives in .bench-cache/ref-scheduler.
import { benchCib } from './lib/bench-cib.mjs';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { importCib, caseNow, DEFAULT_CONFORMANCE_NOW } from '@paceline/pacemaker';

const root = new URL('..', import.meta.url).pathname;
const shared = process.env.PACELINE_SHARED ?? resolve(root, '..', 'shared');
const cache = join(root, '.bench-cache');
const refDir = join(cache, 'ref-scheduler');
const { values } = parseArgs({ options: { 'save-ref': { type: 'boolean', default: false }, rounds: { type: 'string', default: '9' } } });

if (values['save-ref']) {
  rmSync(refDir, { recursive: true, force: true });
  mkdirSync(refDir, { recursive: true });
  cpSync(join(root, 'packages', 'scheduler', 'dist'), join(refDir, 'dist'), { recursive: true });
  cpSync(join(root, 'packages', 'scheduler', 'package.json'), join(refDir, 'package.json'));
  console.log('bench-scheduler-ab: the current scheduler build is saved as the reference');
  process.exit(0);
}
if (!existsSync(join(refDir, 'dist', 'index.js'))) {
  console.error('bench-scheduler-ab: no reference yet (run with --save-ref before the change)');
  process.exit(2);
}

const current = await import('@paceline/scheduler');
const reference = await import(pathToFileURL(join(refDir, 'dist', 'index.js')).href);
const DEFAULT_NOW = Date.UTC(2026, 0, 1);

function benchInput(variant) {
  const file = benchCib(16, 1000, variant);
  const i = importCib(readFileSync(file, 'utf8'), { source: file, defaultNow: DEFAULT_NOW });
  return { config: i.config, status: i.status, now: i.now ?? DEFAULT_NOW };
}

function corpusInputs() {
  const dir = join(shared, 'conformance', 'pacemaker');
  if (!existsSync(dir)) return [];
  const out = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.expected.json'))) {
    const name = f.slice(0, -'.expected.json'.length);
    const expected = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    const fixed = expected.effective_time !== null && expected.effective_time !== undefined;
    try {
      const i = importCib(readFileSync(join(dir, `${name}.xml`), 'utf8'), {
        ...(fixed ? { now: caseNow(expected, undefined) } : {}),
        defaultNow: DEFAULT_CONFORMANCE_NOW,
      });
      out.push({ config: i.config, status: i.status, now: caseNow(expected, i) });
    } catch (e) {
      void e; // a case that does not import is not timed
    }
  }
  return out;
}

// A full collection before each timed call, so that one call does not pay for the garbage of the one before.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc');
const cpuMs = (f) => {
  collectGarbage();
  const t = process.cpuUsage();
  f();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / 1000;
};
const cold = benchInput('cold');
const fail = benchInput('fail');
const corpus = corpusInputs();
const jobs = {
  'schedule 16x1000 cold': (s) => cpuMs(() => JSON.stringify(s.schedule(cold))),
  'schedule 16x1000 fail': (s) => cpuMs(() => JSON.stringify(s.schedule(fail))),
  'apply 16x1000 fail': (s) => {
    const t = s.schedule(fail);
    return cpuMs(() => s.applyTransition(fail.config, fail.status, t, fail.now));
  },
  [`corpus (${corpus.length} cases)`]: (s) =>
    cpuMs(() => {
      for (const c of corpus) {
        try {
          JSON.stringify(s.schedule(c));
        } catch (e) {
          void e; // a case the scheduler refuses costs what it cost
        }
      }
    }),
};
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const loadBefore = load();
const times = Object.fromEntries(Object.keys(jobs).map((k) => [k, { reference: [], current: [] }]));
for (let round = 0; round < Number(values.rounds); round++)
  for (const [name, job] of Object.entries(jobs)) {
    const order = round % 2 === 0 ? ['current', 'reference'] : ['reference', 'current'];
    for (const which of order) times[name][which].push(job(which === 'current' ? current : reference));
  }
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`bench-scheduler-ab: ${values.rounds} rounds, CPU ms per call; load average ${loadBefore} before, ${load()} after`);
console.log('job                         reference median / least   current median / least   ratio (median, least)');
for (const [name, t] of Object.entries(times)) {
  const [rm, rl, cm, cl] = [median(t.reference), Math.min(...t.reference), median(t.current), Math.min(...t.current)];
  console.log(
    `${name.padEnd(27)} ${`${rm.toFixed(1)} / ${rl.toFixed(1)}`.padStart(25)} ${`${cm.toFixed(1)} / ${cl.toFixed(1)}`.padStart(24)}   ${(cm / rm).toFixed(2)}, ${(cl / rl).toFixed(2)}`,
  );
}
