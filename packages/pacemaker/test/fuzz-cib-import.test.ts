/**
 * Fuzz target: the CIB importer, and the scheduler on whatever it imports. Inputs are CIBs of
 * Pacemaker's conformance corpus mutated as text (spans deleted or duplicated, XML punctuation,
 * entities and hostile attribute values inserted, lines swapped) or by attribute (a value replaced
 * by a hostile one: negative counts, huge numbers, durations past the timer limit, backtracking
 * patterns, bad character references). Invariants: importCib returns a configuration and status or
 * throws a ConfigError whose every issue has a place and a sentence; every unsupported or ignored
 * note says what and where; nothing else is thrown; what is imported schedules without throwing.
 * `npm run fuzz -- --target cib-import` runs it longer.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { ConfigError } from '@paceline/model';
import { importCib } from '@paceline/pacemaker';
import { schedule, applyTransition } from '@paceline/scheduler';
import { FuzzTally, fuzzSettings } from '@paceline/testkit';
import { requireCorpus } from './corpus.js';

const NOW = Date.UTC(2026, 10, 22, 10, 0, 0);
const corpus = requireCorpus();
/** The 60 smallest corpus CIBs (quick to import), in a fixed order. */
const seeds = readdirSync(corpus)
  .filter((f) => f.endsWith('.xml'))
  .map((f) => ({ f, size: statSync(join(corpus, f)).size }))
  .sort((a, b) => a.size - b.size || (a.f < b.f ? -1 : 1))
  .slice(0, 60)
  .map(({ f }) => readFileSync(join(corpus, f), 'utf8'));

const HOSTILE_VALUES = [
  '-5',
  '-1',
  '0',
  'INFINITY',
  '-INFINITY',
  '+INFINITY',
  '1e308',
  '99999999999999999999',
  '25d',
  'P30D',
  '2147483648ms',
  'NaN',
  '',
  '^(a+)+$',
  '(?<=a)b',
  '&#0;',
  '&#x110000;',
  '&#xD800;',
  '&#99999999999;',
  '&lt;&gt;&amp;',
  '&bogus;',
  '\u0000',
  'true',
  'no',
  'Master',
  '\n',
  '"',
  "'",
  'x'.repeat(2000),
  'n1',
  'ghost',
  'start',
  'promote',
  'Mandatory',
];
const XML_BITS = [
  '<',
  '>',
  '/>',
  '</',
  '="',
  '"',
  "'",
  '&',
  ';',
  '<!--',
  '-->',
  '<![CDATA[',
  ']]>',
  '<?x ?>',
  '<!DOCTYPE x [<!ENTITY e "e">]>',
  ' ',
  '\n',
  '=',
  'id',
  '<cib>',
  '</cib>',
  '<primitive id="p"/>',
  '<rule id="r" boolean-op="or">',
];

type Edit =
  | { op: 'delete' | 'duplicate'; at: number; len: number }
  | { op: 'insert'; at: number; text: string }
  | { op: 'attr'; pick: number; value: string }
  | { op: 'swap-lines'; a: number; b: number };

const at = fc.double({ min: 0, max: 1, noNaN: true });
const edit: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('delete' as const, 'duplicate' as const), at, len: fc.nat({ max: 200 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('insert' as const), at, text: fc.oneof(fc.constantFrom(...XML_BITS), fc.constantFrom(...HOSTILE_VALUES)) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('attr' as const),
      pick: fc.nat(),
      value: fc.oneof(fc.constantFrom(...HOSTILE_VALUES), fc.string({ maxLength: 8 })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('swap-lines' as const), a: fc.nat(), b: fc.nat() }) },
);

/** Attribute values of the form name="value" in the text, by position. */
const ATTR = /\s[A-Za-z_:-]+="([^"]*)"/g;

function applyEdits(text: string, edits: readonly Edit[]): string {
  let t = text;
  for (const e of edits) {
    if (e.op === 'swap-lines') {
      const lines = t.split('\n');
      const a = e.a % lines.length;
      const b = e.b % lines.length;
      [lines[a], lines[b]] = [lines[b]!, lines[a]!];
      t = lines.join('\n');
    } else if (e.op === 'attr') {
      const all = [...t.matchAll(ATTR)];
      if (all.length === 0) continue;
      const m = all[e.pick % all.length]!;
      const start = m.index! + m[0].length - m[1]!.length - 1;
      t = t.slice(0, start) + e.value.replace(/"/g, '&quot;') + t.slice(start + m[1]!.length);
    } else {
      const i = Math.floor(e.at * t.length);
      if (e.op === 'insert') t = t.slice(0, i) + e.text + t.slice(i);
      else if (e.op === 'delete') t = t.slice(0, i) + t.slice(i + e.len);
      else t = t.slice(0, i + e.len) + t.slice(i, i + e.len) + t.slice(i + e.len);
    }
  }
  return t;
}

const attrEdit = edit.filter((e) => e.op === 'attr');
// Half the inputs change attribute values only, so that most of them still parse and reach the importer's logic.
const input = fc
  .tuple(fc.nat({ max: seeds.length - 1 }), fc.oneof(fc.array(edit, { minLength: 1, maxLength: 5 }), fc.array(attrEdit, { minLength: 1, maxLength: 6 })))
  .map(([i, edits]) => applyEdits(seeds[i]!, edits));

function checkNotes(notes: readonly { path: string; what: string }[], kind: string): void {
  for (const n of notes)
    if (typeof n.path !== 'string' || n.path === '' || typeof n.what !== 'string' || n.what.trim() === '' || /\[object Object\]|undefined/.test(n.what))
      throw new Error(`a ${kind} note without a place or a sentence: ${JSON.stringify(n)}`);
}

const fuzz = fuzzSettings({ runs: 200 });

test(
  'fuzz: cib-import — every CIB is imported with notes or refused with places; what is imported schedules',
  () => {
    const tally = new FuzzTally('cib-import', fuzz);
    fc.assert(
      fc.property(input, (xml) =>
        tally.check(xml, () => {
          let r: ReturnType<typeof importCib>;
          try {
            r = importCib(xml, { source: 'f.xml', defaultNow: NOW });
          } catch (e) {
            if (!(e instanceof ConfigError)) throw e;
            if (e.issues.length === 0 || e.issues.some((i) => typeof i.message !== 'string' || i.message.trim() === ''))
              throw new Error(`a ConfigError without sentences: ${e.message}`);
            if (!e.message.startsWith('f.xml: ')) throw new Error(`the error does not name the file: ${e.message.split('\n')[0]}`);
            return `refused: ${e.code}`;
          }
          checkNotes(r.unsupported, 'unsupported');
          checkNotes(r.ignored, 'ignored');
          const now = r.now ?? NOW;
          const transition = schedule({ config: r.config, status: r.status, now });
          applyTransition(r.config, r.status, transition, now);
          return r.unsupported.length > 0 ? 'imported with unsupported parts, scheduled' : 'imported, scheduled';
        }),
      ),
      { numRuns: fuzz.numRuns, seed: fuzz.seed },
    );
    tally.finish();
  },
  fuzz.timeoutMs,
);
