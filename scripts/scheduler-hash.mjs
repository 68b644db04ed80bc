#!/usr/bin/env node
// A fingerprint of the scheduler's behaviour over the conformance corpus (../shared/conformance/pacemaker),
// for refactors that must not change it: for every case, the transition `schedule()` returns
// (JSON, explanation included), its text renderings (`formatExplanation`, `explainResource` for
// every resource), and the status `applyTransition` leaves, each hashed. Prints the combined hash;
// --save FILE writes the per-case hashes, --compare FILE names the cases whose hash differs from a
// saved run (exit 1 when any does). Run after `npm run build`; it reads the packages' dist.
//
//   node scripts/scheduler-hash.mjs [--dir DIR] [--save FILE] [--compare FILE]
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { importCib, caseNow, DEFAULT_CONFORMANCE_NOW } from '@paceline/pacemaker';
import { schedule, formatExplanation, explainResource, applyTransition } from '@paceline/scheduler';

const root = new URL('..', import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: resolve(root, '../shared/conformance/pacemaker') },
    save: { type: 'string' },
    compare: { type: 'string' },
  },
});
if (!existsSync(values.dir)) {
  console.error(`scheduler-hash: no corpus at ${values.dir} (use --dir)`);
  process.exit(2);
}

const hash = (text) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** Everything the scheduler says about one case, as text. */
function fingerprint(name) {
  const expected = JSON.parse(readFileSync(join(values.dir, `${name}.expected.json`), 'utf8'));
  const xml = readFileSync(join(values.dir, `${name}.xml`), 'utf8');
  const hasFixedTime = expected.effective_time !== null && expected.effective_time !== undefined;
  let imported;
  try {
    imported = importCib(xml, { source: `${name}.xml`, ...(hasFixedTime ? { now: caseNow(expected, undefined) } : {}), defaultNow: DEFAULT_CONFORMANCE_NOW });
  } catch (e) {
    return `import failed: ${e.message}`;
  }
  const now = caseNow(expected, imported);
  let transition;
  try {
    transition = schedule({ config: imported.config, status: imported.status, now });
  } catch (e) {
    return `schedule threw: ${e.message}`;
  }
  const resources = [...new Set(transition.explanation.scores.map((s) => s.resource))].sort();
  let applied;
  try {
    applied = JSON.stringify(applyTransition(imported.config, imported.status, transition, now));
  } catch (e) {
    applied = `apply threw: ${e.message}`;
  }
  return [
    JSON.stringify(transition),
    formatExplanation(transition).join('\n'),
    ...resources.map((r) => explainResource(transition, r).join('\n')),
    applied,
  ].join('\n\u0000\n');
}

const names = readdirSync(values.dir)
  .filter((f) => f.endsWith('.expected.json'))
  .map((f) => f.slice(0, -'.expected.json'.length))
  .sort();
const perCase = {};
for (const name of names) perCase[name] = hash(fingerprint(name));
const all = hash(names.map((n) => `${n} ${perCase[n]}`).join('\n'));
console.log(`scheduler-hash: ${names.length} cases, all=${all}`);
if (values.save) writeFileSync(values.save, `${JSON.stringify({ all, cases: perCase }, null, 1)}\n`);
if (values.compare) {
  const saved = JSON.parse(readFileSync(values.compare, 'utf8'));
  const differ = names.filter((n) => saved.cases[n] !== perCase[n]);
  const missing = Object.keys(saved.cases).filter((n) => !(n in perCase));
  for (const n of differ) console.log(`  differs: ${n}`);
  for (const n of missing) console.log(`  missing: ${n}`);
  console.log(
    differ.length + missing.length === 0 ? 'scheduler-hash: identical to the saved run' : `scheduler-hash: ${differ.length + missing.length} case(s) differ`,
  );
  if (differ.length + missing.length > 0) process.exit(1);
}
