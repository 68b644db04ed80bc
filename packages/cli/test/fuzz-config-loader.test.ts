/**
 * Fuzz target: the configuration loader every command uses (read → YAML → validation), and the
 * scheduler on whatever it accepts. Inputs are real configurations (the reference cluster and the
 * scheduler's scenarios) mutated as text (bytes deleted, duplicated, YAML punctuation and hostile
 * scalars inserted) or as structure (a field replaced by a hostile value or by another part of the
 * document, an element dropped, constraints added). Invariants: the loader answers with a config or
 * a ConfigError whose every issue has a place and a sentence; a syntax problem says `line L,
 * column C`; nothing else is thrown; an accepted configuration schedules without throwing, fast.
 * `npm run fuzz -- --target config-loader` runs it longer.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parse as parseYaml, stringify } from 'yaml';
import { ConfigError, parseConfigText } from '@paceline/model';
import { applyTransition, schedule } from '@paceline/scheduler';
import { FuzzTally, fuzzSettings } from '@paceline/testkit';
import type { CliIo } from '@paceline/cli';
import { loadConfigDocument, loadStatus } from '../src/load.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const scenarios = join(root, 'packages/scheduler/test/scenarios');
const seeds: string[] = [
  readFileSync(join(root, 'examples/two-node-mutual-failover/cluster.yaml'), 'utf8'),
  ...readdirSync(scenarios)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => stringify((parseYaml(readFileSync(join(scenarios, f), 'utf8')) as { config: unknown }).config)),
];
const seedDocs = seeds.map((s) => parseYaml(s) as unknown);
const NOW = Date.UTC(2026, 10, 22, 10, 0, 0);

/** Values that have hurt, or could hurt, a loader or what runs after it. */
const HOSTILE_TEXT = [
  '1e308',
  '-1',
  '25d',
  '24d',
  '2147483648ms',
  '99999999999999999999',
  '.inf',
  '-.inf',
  '.nan',
  'INFINITY',
  '-INFINITY',
  '"^(a+)+$"',
  '"(a|a)*b"',
  '"(?<=a)b"',
  '"\\\\1"',
  '"[z-a]"',
  '"\\0"',
  '*x',
  '&x',
  '!!binary aGk=',
  '!!set {a}',
  '!custom 1',
  '~',
  '""',
  '[]',
  '{}',
  '<<',
  '__proto__',
  'constructor',
  '"$(reboot)"',
  '"; rm -rf /"',
  '0x1F',
  '1_000',
  'yes',
  '- -',
  ': :',
  '"\\uD800"',
  'é',
  '\t',
  '\r\n',
  '"' + 'a'.repeat(3000) + '"',
];
const HOSTILE_VALUES: unknown[] = [
  1e308,
  -1,
  2 ** 31,
  2 ** 53,
  -0,
  0.5,
  Number.MAX_SAFE_INTEGER,
  '25d',
  '1e308',
  '^(a+)+$',
  '(x+x+)+y',
  '',
  ' ',
  'x'.repeat(3000),
  null,
  [],
  {},
  true,
  'INFINITY',
  '-INFINITY',
  'Mandatory',
  'Optional',
  'start',
  'promote',
  '\u0000',
  'a\u0000b',
];
const YAML_CHARS = [...':-[]{}&*!|>\'"#%@`,?\n\t \\0123456789aZ.'];

type Edit = { op: 'delete' | 'duplicate'; at: number; len: number } | { op: 'insert'; at: number; text: string } | { op: 'swap-lines'; a: number; b: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constantFrom('delete' as const, 'duplicate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), len: fc.nat({ max: 60 }) }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    text: fc.oneof(
      fc.constantFrom(...HOSTILE_TEXT),
      fc.string({ unit: fc.constantFrom(...YAML_CHARS), maxLength: 12 }),
      fc.string({ unit: 'binary', maxLength: 4 }),
    ),
  }),
  fc.record({ op: fc.constant('swap-lines' as const), a: fc.nat(), b: fc.nat() }),
);

function applyEdits(text: string, edits: readonly Edit[]): string {
  let t = text;
  for (const e of edits) {
    if (e.op === 'swap-lines') {
      const lines = t.split('\n');
      const a = e.a % lines.length;
      const b = e.b % lines.length;
      [lines[a], lines[b]] = [lines[b]!, lines[a]!];
      t = lines.join('\n');
      continue;
    }
    const at = Math.floor(e.at * t.length);
    if (e.op === 'insert') t = t.slice(0, at) + e.text + t.slice(at);
    else if (e.op === 'delete') t = t.slice(0, at) + t.slice(at + e.len);
    else t = t.slice(0, at + e.len) + t.slice(at, at + e.len) + t.slice(at + e.len);
  }
  return t;
}

type Path = (string | number)[];
/** Every path in a plain document, iteratively. */
function paths(doc: unknown): Path[] {
  const out: Path[] = [];
  const stack: { v: unknown; p: Path }[] = [{ v: doc, p: [] }];
  while (stack.length) {
    const { v, p } = stack.pop()!;
    if (p.length) out.push(p);
    if (Array.isArray(v)) v.forEach((x, i) => stack.push({ v: x, p: [...p, i] }));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) stack.push({ v: x, p: [...p, k] });
  }
  return out;
}
const getAt = (doc: unknown, p: Path): unknown => p.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)?.[k], doc);

type Change =
  | { op: 'set'; pick: number; value: unknown }
  | { op: 'copy'; pick: number; from: number }
  | { op: 'drop'; pick: number }
  | { op: 'add-constraint'; c: Record<string, unknown> };

const ids = fc.constantFrom('web', 'db', 'samba', 'samba-svc', 'cyrus', 'mirror-samba', 'httpd-clone', 'a', 'b', 'c', 'serv1', 'nope');
const constraint: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record(
    {
      type: fc.constant('order'),
      id: fc.string({ minLength: 1, maxLength: 5, unit: fc.constantFrom('o', 'x', '1') }),
      first: ids,
      then: ids,
      firstAction: fc.constantFrom('start', 'promote', 'stop'),
      kind: fc.constantFrom('Mandatory', 'Optional', 'Serialize'),
    },
    { requiredKeys: ['type', 'id'] },
  ),
  fc.record({
    type: fc.constant('order'),
    id: fc.constant('oset'),
    sets: fc.array(fc.record({ resources: fc.array(ids, { minLength: 1, maxLength: 3 }), sequential: fc.boolean() }, { requiredKeys: ['resources'] }), {
      minLength: 1,
      maxLength: 3,
    }),
  }),
  fc.record({
    type: fc.constant('location'),
    id: fc.constant('lpat'),
    resourcePattern: fc.constantFrom('^(a+)+$', 'web.*', '(', '^samba', '(?:x|x)*y'),
    node: fc.constantFrom('serv1', 'n1'),
    score: fc.constantFrom(100, 'INFINITY', '-INFINITY'),
  }),
  fc.record({ type: fc.constant('colocation'), id: fc.constant('col'), resource: ids, withResource: ids, score: fc.constantFrom('INFINITY', -50, 1e308) }),
);
const change: fc.Arbitrary<Change> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), pick: fc.nat(), value: fc.oneof(fc.constantFrom(...HOSTILE_VALUES), fc.anything({ maxDepth: 2 })) }),
  fc.record({ op: fc.constant('copy' as const), pick: fc.nat(), from: fc.nat() }),
  fc.record({ op: fc.constant('drop' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('add-constraint' as const), c: constraint }),
);

function applyChanges(seed: unknown, changes: readonly Change[]): string {
  const doc = structuredClone(seed) as Record<string, unknown>;
  for (const c of changes) {
    if (c.op === 'add-constraint') {
      const list = Array.isArray(doc['constraints']) ? doc['constraints'] : (doc['constraints'] = []);
      (list as unknown[]).push(c.c);
      continue;
    }
    const all = paths(doc);
    if (all.length === 0) continue;
    const p = all[c.pick % all.length]!;
    const parent = getAt(doc, p.slice(0, -1)) as Record<string | number, unknown> | unknown[];
    const key = p[p.length - 1]!;
    if (c.op === 'set') (parent as Record<string | number, unknown>)[key] = c.value;
    else if (c.op === 'copy') (parent as Record<string | number, unknown>)[key] = structuredClone(getAt(doc, all[c.from % all.length]!));
    else if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete (parent as Record<string | number, unknown>)[key];
  }
  return stringify(doc, { aliasDuplicateObjects: false });
}

const input: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.nat({ max: seeds.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 6 })).map(([i, edits]) => applyEdits(seeds[i]!, edits)),
  fc.tuple(fc.nat({ max: seeds.length - 1 }), fc.array(change, { minLength: 1, maxLength: 5 })).map(([i, changes]) => applyChanges(seedDocs[i], changes)),
  fc.string({ unit: fc.constantFrom(...YAML_CHARS), maxLength: 80 }),
);

function fakeIo(text: string): CliIo {
  return {
    out: () => {},
    err: () => {},
    readFile: (p) => {
      if (p !== 'f.yaml') throw new Error(`unexpected read ${p}`);
      return text;
    },
    now: () => NOW,
  };
}

function checkIssues(e: ConfigError): void {
  if (e.issues.length === 0) throw new Error('a ConfigError with no issues');
  for (const i of e.issues) {
    if (typeof i.path !== 'string' || typeof i.message !== 'string' || i.message.trim() === '')
      throw new Error(`an issue without a sentence: ${JSON.stringify(i)}`);
    if (/\[object Object\]|received undefined/.test(i.message)) throw new Error(`an unreadable issue: ${i.message}`);
  }
  if (!e.message.startsWith('f.yaml: ')) throw new Error(`the error does not name the file: ${e.message.split('\n')[0]}`);
  if (e.code === 'PARSE_FAILED' && !e.issues.some((i) => /^line \d+, column \d+$/.test(i.path) || i.path === '' || /^[a-z(]/i.test(i.path)))
    throw new Error(`a parse error with no position: ${e.message}`);
}

const fuzz = fuzzSettings({ runs: 250 });

test(
  'fuzz: config loader — every input is a config or a ConfigError with places; accepted ones schedule',
  () => {
    const tally = new FuzzTally('config-loader', fuzz);
    fc.assert(
      fc.property(input, (text) =>
        tally.check(text, () => {
          const io = fakeIo(text);
          let loaded: ReturnType<typeof loadConfigDocument>;
          try {
            loaded = loadConfigDocument(io, 'f.yaml');
          } catch (e) {
            if (!(e instanceof ConfigError)) throw e;
            checkIssues(e);
            return `rejected: ${e.code}`;
          }
          const { result } = loaded;
          // The commands that throw instead (simulate, explain, witness) must agree with config validate.
          let thrown: unknown;
          try {
            parseConfigText(text, 'f.yaml');
          } catch (e) {
            thrown = e;
          }
          if (!result.config) {
            if (!(thrown instanceof ConfigError)) throw new Error('config validate refused what parseConfigText accepted');
            checkIssues(thrown);
            return 'rejected: CONFIG_INVALID';
          }
          if (thrown !== undefined) throw new Error(`config validate accepted what parseConfigText refused: ${(thrown as Error).message}`);
          const status = loadStatus(io, result.config);
          const transition = schedule({ config: result.config, status, now: NOW });
          applyTransition(result.config, status, transition, NOW);
          return 'accepted and scheduled';
        }),
      ),
      { numRuns: fuzz.numRuns, seed: fuzz.seed },
    );
    tally.finish();
  },
  fuzz.timeoutMs,
);
