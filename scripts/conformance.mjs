#!/usr/bin/env node
// Runs the Pacemaker scheduler conformance corpus (../shared/conformance/pacemaker by default):
// for each case, import NAME.xml, schedule once at the case's "now", compare with
// NAME.expected.json by the README's rules. Prints pass counts per tier and every failing case
// with its first difference. Always exits 0 (the floor is enforced by a test, not here).
//
//   node scripts/conformance.mjs [--dir DIR] [--case NAME]... [--tier N] [--verbose] [--json] [--nodes] [--features]
//   --nodes     also compare node flags (secondary)     --features  failures counted by feature tag
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = new URL('..', import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: resolve(root, '../shared/conformance/pacemaker') },
    case: { type: 'string', multiple: true },
    tier: { type: 'string' },
    verbose: { type: 'boolean', short: 'v', default: false },
    json: { type: 'boolean', default: false },
    nodes: { type: 'boolean', default: false },
    features: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('usage: node scripts/conformance.mjs [--dir DIR] [--case NAME]... [--tier N] [--verbose] [--json] [--nodes] [--features]');
  process.exit(0);
}

const pacemaker = await import('@paceline/pacemaker');
let schedule;
let schedulerProblem = 'scheduler not available';
try {
  const s = await import('@paceline/scheduler');
  if (typeof s.schedule === 'function') schedule = s.schedule;
  else schedulerProblem = 'scheduler not available (@paceline/scheduler does not export schedule yet)';
} catch (e) {
  schedulerProblem = `scheduler not available (${e.message.split('\n')[0]})`;
}

const dir = values.dir;
if (!existsSync(dir)) {
  console.error(`conformance: no corpus at ${dir} (use --dir)`);
  process.exit(0);
}
let names = readdirSync(dir)
  .filter((f) => f.endsWith('.expected.json'))
  .map((f) => f.slice(0, -'.expected.json'.length))
  .sort();
if (values.case?.length) {
  const unknown = values.case.filter((c) => !names.includes(c));
  if (unknown.length) console.error(`conformance: unknown case(s): ${unknown.join(', ')}`);
  names = names.filter((n) => values.case.includes(n));
}
const tierFilter = values.tier === undefined ? undefined : Number(values.tier);

const outcomes = [];
const started = process.hrtime.bigint();
for (const name of names) {
  const expected = JSON.parse(readFileSync(join(dir, `${name}.expected.json`), 'utf8'));
  if (tierFilter !== undefined && expected.tier !== tierFilter) continue;
  const xml = readFileSync(join(dir, `${name}.xml`), 'utf8');
  const t0 = process.hrtime.bigint();
  let outcome = pacemaker.runConformanceCase(name, xml, expected, schedule);
  if (!schedule && outcome.difference === 'scheduler not available') outcome = { ...outcome, difference: schedulerProblem };
  if (outcome.pass && values.nodes && outcome.actual) {
    const d = pacemaker.compareConformance(expected, outcome.actual, { nodes: true });
    if (d !== null) outcome = { ...outcome, pass: false, difference: d };
  }
  outcomes.push({ ...outcome, ms: Number(process.hrtime.bigint() - t0) / 1e6, expected });
}
const totalMs = Number(process.hrtime.bigint() - started) / 1e6;

const tiers = [...new Set(outcomes.map((o) => o.tier))].sort();
const perTier = Object.fromEntries(
  tiers.map((t) => {
    const list = outcomes.filter((o) => o.tier === t);
    return [t, { pass: list.filter((o) => o.pass).length, total: list.length }];
  }),
);

if (values.json) {
  console.log(
    JSON.stringify(
      {
        dir,
        scheduler: schedule ? 'available' : schedulerProblem,
        tiers: perTier,
        cases: outcomes.map((o) => ({
          name: o.name,
          tier: o.tier,
          pass: o.pass,
          ms: Math.round(o.ms * 10) / 10,
          ...(o.difference ? { difference: o.difference } : {}),
          ...(o.error ? { error: true } : {}),
          ...(values.verbose && !o.pass ? { expected: { resources: o.expected.resources, actions: o.expected.actions }, actual: o.actual ?? null } : {}),
        })),
      },
      null,
      1,
    ),
  );
  process.exit(0);
}

if (!schedule) console.log(`conformance: ${schedulerProblem}; every case fails until it is.`);
const fmtActions = (list) => (list ?? []).map((a) => `      ${pacemaker.describeAction(a)}`).join('\n') || '      (none)';
const fmtResources = (res) =>
  Object.entries(res ?? {})
    .map(([id, r]) => `      ${id}: ${r.instances.length ? r.instances.map((i) => `${i.role}@${i.node}`).join(' ') : 'stopped'}`)
    .join('\n');
for (const o of outcomes.filter((x) => !x.pass)) {
  console.log(`FAIL [tier ${o.tier}] ${o.name}: ${o.difference}`);
  if (values.verbose) {
    console.log(`    expected actions:\n${fmtActions(o.expected.actions)}`);
    console.log(`    actual actions:\n${o.actual ? fmtActions(o.actual.actions) : '      (no result)'}`);
    console.log(`    expected placement:\n${fmtResources(o.expected.resources)}`);
    console.log(`    actual placement:\n${o.actual ? fmtResources(o.actual.resources) : '      (no result)'}`);
  }
}
if (values.features) {
  const byFeature = new Map();
  for (const o of outcomes)
    for (const f of o.expected.features ?? []) {
      const e = byFeature.get(f) ?? { fail: 0, total: 0, cases: [] };
      e.total++;
      if (!o.pass) {
        e.fail++;
        e.cases.push(o.name);
      }
      byFeature.set(f, e);
    }
  console.log('\nfailures by feature (fail/total):');
  for (const [f, e] of [...byFeature].filter(([, e]) => e.fail > 0).sort((a, b) => b[1].fail - a[1].fail || (a[0] < b[0] ? -1 : 1)))
    console.log(
      `  ${f.padEnd(28)} ${String(e.fail).padStart(3)}/${String(e.total).padEnd(4)} ${e.cases.slice(0, 6).join(' ')}${e.cases.length > 6 ? ' ...' : ''}`,
    );
}
console.log('');
for (const t of tiers) {
  const { pass, total } = perTier[t];
  console.log(`tier ${t}: ${pass}/${total} pass (${total ? ((100 * pass) / total).toFixed(1) : '0.0'}%)`);
}
const pass = outcomes.filter((o) => o.pass).length;
console.log(`all: ${pass}/${outcomes.length} pass in ${(totalMs / 1000).toFixed(2)} s`);
process.exit(0);
