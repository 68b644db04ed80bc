#!/usr/bin/env node
// Operation-digest test vectors from Pacemaker itself. For every case of the conformance corpus it
// runs `crm_simulate -x CASE.xml -S -O OUT.xml` at info log level and keeps the digests Pacemaker
// computed:
//   - "executed": the op-digest of each operation crm_simulate executed (written to OUT.xml with
//     crm-debug-origin="crm_simulate"): the digest of the parameters the operation ran with;
//   - "recomputed" / "restart": from the scheduler's "Parameters to ... changed: hash was H vs. now C"
//     lines, the digest Pacemaker computed for a history entry whose recorded one (H) differs.
// The result, packages/pacemaker/test/digest-vectors.json, is what the digest test compares
// Paceline's digests with. Run it again after the corpus or the installed Pacemaker changes:
//   node scripts/digest-vectors.mjs [--corpus DIR]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { parseXml } from '../packages/pacemaker/dist/xml.js';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const argv = process.argv.slice(2);
const corpus = argv[0] === '--corpus' && argv[1] ? resolve(argv[1]) : resolve(root, process.env.PACELINE_CONFORMANCE_DIR || '../shared/conformance/pacemaker');
const version = execFileSync('crm_simulate', ['--version'], { encoding: 'utf8' })
  .split('\n')[0]
  .replace(/^Pacemaker /, '')
  .trim();

const CHANGED = /Parameters to (\d+)ms-interval (\S+) action for (\S+) on (\S+) changed: hash was (\S+) vs\. now (\S+) \((\w+):/;

/** The history entries of a CIB file that carry a digest: [node, resource, task, interval, digest, call-id]. */
function history(file) {
  const out = [];
  const visit = (e, node) => {
    if (e.tag === 'node_state') node = e.attrs.uname ?? e.attrs.id;
    if (e.tag === 'lrm_resource')
      for (const op of e.children)
        if (op.tag === 'lrm_rsc_op' && op.attrs['op-digest'] !== undefined)
          out.push([node, e.attrs.id, op.attrs.operation, Number(op.attrs.interval), op.attrs['op-digest'], op.attrs['call-id']]);
    for (const c of e.children) visit(c, node);
  };
  for (const e of parseXml(readFileSync(file, 'utf8'))) visit(e, undefined);
  return out;
}

/**
 * Operations crm_simulate executed: history entries of its output that the input did not have.
 * (Some cases' inputs were themselves written by crm_simulate.) Cancellations are left out: their
 * records only hold the cancelled operation's timeout and are never compared.
 */
function executed(input, output) {
  const before = new Set(history(input).map((h) => h.join(' ')));
  return history(output).filter((h) => !before.has(h.join(' ')) && h[2] !== 'cancel');
}

const work = mkdtempSync(join(tmpdir(), 'paceline-digest-vectors-'));
const vectors = [];
let failed = 0;
try {
  const names = readdirSync(corpus)
    .filter((f) => f.endsWith('.xml'))
    .map((f) => f.slice(0, -4))
    .sort();
  for (const name of names) {
    const out = join(work, `${name}.out.xml`);
    // crm_simulate logs to stderr; -VVVV reaches the info level of the digest comparison.
    const run = spawnSync('crm_simulate', ['-x', join(corpus, `${name}.xml`), '-S', '-O', out, '-VVVV'], {
      env: { ...process.env, LC_ALL: 'C', CIB_shadow_dir: work },
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
      maxBuffer: 256 * 1024 * 1024,
      timeout: 120_000,
    });
    const log = run.stderr ?? '';
    const seen = new Set();
    for (const line of log.split('\n')) {
      const m = CHANGED.exec(line);
      if (!m) continue;
      const [, interval, task, rsc, node, was, now, kind] = m;
      const v = [name, node, rsc, task, Number(interval), now, kind === 'restart' ? 'restart' : 'recomputed', was];
      const key = v.join(' ');
      if (!seen.has(key)) (vectors.push(v), seen.add(key));
    }
    try {
      for (const [node, rsc, task, interval, digest] of executed(join(corpus, `${name}.xml`), out))
        vectors.push([name, node, rsc, task, interval, digest, 'executed']);
    } catch {
      failed++;
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const file = join(root, 'packages/pacemaker/test/digest-vectors.json');
const body = vectors.map((v) => `    [${v.map((x) => JSON.stringify(x)).join(', ')}]`).join(',\n');
// Written as the repository's Prettier style has it, so that format:check passes on a fresh run.
const text = `{\n  "pacemaker": ${JSON.stringify(version)},\n  "columns": ["case", "node", "resource", "task", "interval", "digest", "source", "recorded"],\n  "vectors": [\n${body}\n  ]\n}\n`;
writeFileSync(file, await prettier.format(text, { ...(await prettier.resolveConfig(file)), filepath: file }));
const by = (s) => vectors.filter((v) => v[6] === s).length;
console.log(
  `digest-vectors: Pacemaker ${version}, ${vectors.length} vectors (${by('executed')} executed, ${by('recomputed')} recomputed, ${by('restart')} restart)` +
    `${failed ? `; ${failed} case(s) without output` : ''} → packages/pacemaker/test/digest-vectors.json`,
);
