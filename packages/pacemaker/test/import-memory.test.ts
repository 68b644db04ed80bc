/**
 * What the import keeps lets go of the CIB text (xml-attr.ts, ownString): a value V8 cuts out of a
 * string of 13 characters or more is a slice that keeps the whole text alive, and the operation
 * records' digests and keys kept a 98 MB text through the scheduler run. Checked in a real
 * process with the collector exposed, on a 4 MB CIB read as the CLI reads it (plain ASCII as
 * latin1: Node keeps a string that large outside V8's heap, where `process.memoryUsage().external`
 * counts it). Needs the built package (npm test builds first).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'index.js');
const dir = mkdtempSync(join(tmpdir(), 'paceline-import-memory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One node's status: `n` resources with a start and a monitor each, every digest and key distinct and longer than 13 characters. */
function cib(n: number): string {
  const hex = (i: number, salt: number): string => ((i * 2654435761 + salt) >>> 0).toString(16).padStart(8, '0').repeat(4);
  const ops: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `resource-with-a-long-name-${i}`;
    const op = (action: string, interval: number, call: number, salt: number): string =>
      `<lrm_rsc_op id="${id}_${action}_${interval}" operation_key="${id}_${action}_${interval}" operation="${action}" crm_feature_set="3.16.1" transition-key="${call}:1:0:00000000-0000-4000-8000-00000000be4c" call-id="${call}" rc-code="0" op-status="0" interval="${interval}" last-rc-change="1700000000" op-digest="${hex(i, salt)}"/>`;
    ops.push(
      `<lrm_resource id="${id}" type="Dummy" class="ocf" provider="pacemaker">${op('start', 0, 2 * i + 1, 1)}${op('monitor', 10000, 2 * i + 2, 2)}</lrm_resource>`,
    );
  }
  return `<cib crm_feature_set="3.16.1" epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config/><nodes><node id="1" uname="node01"/></nodes><resources/><constraints/></configuration><status><node_state id="1" uname="node01" in_ccm="true" crmd="online" join="member" expected="member"><lrm id="1"><lrm_resources>${ops.join('\n')}</lrm_resources></lrm></node_state></status></cib>`;
}

const CHILD = `
const { readFileSync } = await import('node:fs');
const { importCib } = await import(process.argv[1]);
let text = readFileSync(process.argv[2]).toString('latin1');
const size = text.length;
const result = importCib(text, { defaultNow: Date.UTC(2026, 0, 1) });
if (process.argv[3] !== 'keep') text = undefined;
const settle = async () => { for (let k = 0; k < 3; k++) { gc(); await new Promise((r) => setTimeout(r, 20)); } };
await settle();
const records = (JSON.stringify(result.status).match(/"digest"/g) ?? []).length;
console.log(JSON.stringify({ size, external: process.memoryUsage().external, records, kept: text === undefined ? 0 : text.length }));`;

function run(file: string, keep: boolean): { size: number; external: number; records: number } {
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', CHILD, pathToFileURL(pkg).href, file, keep ? 'keep' : 'drop'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { size: number; external: number; records: number };
}

test('the imported records keep no slice of the CIB text', () => {
  const file = join(dir, 'cib.xml');
  writeFileSync(file, cib(6000));
  // The measure itself: with the text still referenced, it is counted.
  const kept = run(file, true);
  expect(kept.size).toBeGreaterThan(4_000_000);
  expect(kept.external).toBeGreaterThan(kept.size);
  // Dropped by its reader, the text goes although the result holds 12,000 records with their digests and keys.
  const dropped = run(file, false);
  expect(dropped.records).toBe(12_000);
  expect(kept.external - dropped.external).toBeGreaterThan(0.9 * dropped.size);
}, 240_000);
