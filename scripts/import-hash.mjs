#!/usr/bin/env node
// A fingerprint of the CIB importer, for changes that must not alter what it produces: every CIB of
// the conformance corpus (../shared/conformance/pacemaker), each also damaged in a few fixed ways
// (cut short, one character replaced by markup), and the bench's CIBs (../shared/bench/gen-cib.mjs,
// kept in .bench-cache/) go through `importCib`; the result as JSON (key order included: later
// stages iterate it) or the error (class, code, message, issues) is hashed per input. Prints the
// combined hash; --save FILE writes the per-input hashes, --compare FILE names the inputs whose
// hash differs from a saved run (exit 1 when any does). Run after `npm run build`; it reads dist.
//
//   node scripts/import-hash.mjs [--dir DIR] [--save FILE] [--compare FILE] [--no-bench]
import { benchCib } from './lib/bench-cib.mjs';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { importCib, caseNow, DEFAULT_CONFORMANCE_NOW } from '@paceline/pacemaker';

const root = new URL('..', import.meta.url).pathname;
const shared = process.env.PACELINE_SHARED ?? resolve(root, '..', 'shared');
const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: join(shared, 'conformance', 'pacemaker') },
    save: { type: 'string' },
    compare: { type: 'string' },
    'no-bench': { type: 'boolean', default: false },
  },
});
if (!existsSync(values.dir)) {
  console.error(`import-hash: no corpus at ${values.dir} (use --dir)`);
  process.exit(2);
}

const hash = (text) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** What importCib makes of one text, as text. */
function fingerprint(xml, options) {
  try {
    return JSON.stringify(importCib(xml, options));
  } catch (e) {
    return JSON.stringify({ error: e.constructor.name, code: e.code, message: e.message, issues: e.issues });
  }
}

/** Fixed damage at a position chosen from the name (the same every run). */
function damaged(name, xml) {
  const at = (salt) => Number.parseInt(hash(`${salt}${name}`).slice(0, 8), 16) % Math.max(1, xml.length);
  const put = (p, s) => xml.slice(0, p) + s + xml.slice(p + 1);
  return {
    cut: xml.slice(0, at('cut')),
    lt: put(at('lt'), '<'),
    quote: put(at('quote'), '"'),
    amp: put(at('amp'), '&'),
    slash: put(at('slash'), '/'),
  };
}

const perCase = {};
const names = readdirSync(values.dir)
  .filter((f) => f.endsWith('.expected.json'))
  .map((f) => f.slice(0, -'.expected.json'.length))
  .sort();
for (const name of names) {
  const expected = JSON.parse(readFileSync(join(values.dir, `${name}.expected.json`), 'utf8'));
  const xml = readFileSync(join(values.dir, `${name}.xml`), 'utf8');
  const fixed = expected.effective_time !== null && expected.effective_time !== undefined;
  const options = { source: `${name}.xml`, ...(fixed ? { now: caseNow(expected, undefined) } : {}), defaultNow: DEFAULT_CONFORMANCE_NOW };
  perCase[name] = hash(fingerprint(xml, options));
  for (const [how, text] of Object.entries(damaged(name, xml))) perCase[`${name} (${how})`] = hash(fingerprint(text, options));
}
if (!values['no-bench']) {
  const cache = join(root, '.bench-cache');
  mkdirSync(cache, { recursive: true });
  for (const [size, variant] of [
    ['16x1000', 'cold'],
    ['16x1000', 'fail'],
    ['32x2000', 'fail'],
    ['32x5000', 'cold'],
  ]) {
    const [nodes, resources] = size.split('x');
    const file = benchCib(nodes, resources, variant);
    perCase[`bench ${size} ${variant}`] = hash(fingerprint(readFileSync(file, 'latin1'), { source: file, defaultNow: DEFAULT_CONFORMANCE_NOW }));
  }
}
const keys = Object.keys(perCase);
const all = hash(keys.map((n) => `${n} ${perCase[n]}`).join('\n'));
console.log(`import-hash: ${keys.length} inputs, all=${all}`);
if (values.save) writeFileSync(values.save, `${JSON.stringify({ all, cases: perCase }, null, 1)}\n`);
if (values.compare) {
  const saved = JSON.parse(readFileSync(values.compare, 'utf8'));
  const differ = keys.filter((n) => n in saved.cases && saved.cases[n] !== perCase[n]);
  const missing = Object.keys(saved.cases).filter((n) => !(n in perCase));
  for (const n of differ) console.log(`  differs: ${n}`);
  for (const n of missing) console.log(`  missing: ${n}`);
  console.log(
    differ.length + missing.length === 0 ? 'import-hash: identical to the saved run' : `import-hash: ${differ.length + missing.length} input(s) differ`,
  );
  if (differ.length + missing.length > 0) process.exit(1);
}
