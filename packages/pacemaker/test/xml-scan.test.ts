/**
 * The XML scanner's start-tag patterns (src/xml-pattern.ts): once a tag has been read twice on the
 * general path, its next elements are matched by one regular expression. Whatever an element is,
 * it must read exactly as on the general path: here each element is parsed once alone (the first
 * of its tag: general path) and once after three elements that gave its tag a pattern, and the two
 * must be equal — values, order, the reader's fields, and the errors.
 */
import { parseXml, XmlSyntaxError, type AttrValue, type LeafReader, type XmlElement } from '../src/xml.js';

const PRIMER = '<a id="p" x="1" y="2"/>'.repeat(3);

/** The element `el` as read alone and as read after PRIMER (the same readers). */
function bothWays(el: string, readers: Record<string, LeafReader<unknown>> = {}, primer = PRIMER): [XmlElement, XmlElement] {
  const alone = parseXml(`<r>${el}</r>`, readers)[0]!.children[0]!;
  const primed = parseXml(`<r>${primer}${el}</r>`, readers)[0]!.children;
  return [primed[primed.length - 1]!, alone];
}

/** The reason an XML text is refused for (its line and column differ with the primer in front). */
function reason(text: string, readers: Record<string, LeafReader<unknown>> = {}): string {
  try {
    parseXml(text, readers);
  } catch (e) {
    if (e instanceof XmlSyntaxError) return e.reason;
    throw e;
  }
  throw new Error(`${text} was accepted`);
}

test.each([
  ['the same attributes', '<a id="q" x="3" y="4"/>'],
  ['with content', '<a id="q" x="3" y="4"><b/>text</a>'],
  ['empty values', '<a id="" x="" y=""/>'],
  ['an entity', '<a id="q" x="&amp;&#65;" y="4"/>'],
  ['a tab, a newline and CR LF (read as spaces)', '<a id="q" x="a\tb" y="c\nd\r\ne"/>'],
  ['single quotes', "<a id='q' x='3' y='4'/>"],
  ['two spaces', '<a id="q"  x="3" y="4"/>'],
  ['a space before />', '<a id="q" x="3" y="4" />'],
  ['spaces around =', '<a id="q" x = "3" y="4"/>'],
  ['another order', '<a x="3" id="q" y="4"/>'],
  ['one attribute fewer', '<a id="q" x="3"/>'],
  ['one more', '<a id="q" x="3" y="4" z="5"/>'],
  ['none', '<a/>'],
  ['a name that starts like a predicted one', '<a idx="q" x="3" y="4"/>'],
  ['__proto__', '<a id="q" x="3" __proto__="z"/>'],
  ['a repeated name', '<a id="q" x="3" x="4"/>'],
  ['< and > in a value', '<a id="q" x="<" y=">"/>'],
])('%s: read as on the general path', (_what, el) => {
  const [primed, alone] = bothWays(el);
  expect(primed).toEqual(alone);
});

test.each([
  ['a.b', 'aXb'],
  ['ab?', 'a'],
  ['a+', 'aa'],
  ['[ab]', 'a'],
  ['a{2}', 'aa'],
])('a name with characters that mean something in a pattern (%s) matches only itself, not %s', (name, other) => {
  const primer = `<b ${name}="1"/>`.repeat(3);
  const [primed, alone] = bothWays(`<b ${other}="2"/>`, {}, primer);
  expect(primed).toEqual(alone);
  expect(primed.attrs).toEqual({ [other]: '2' });
  expect(bothWays(`<b ${name}="3"/>`, {}, primer)[0].attrs).toEqual({ [name]: '3' });
});

test('a tag whose attributes keep changing is still read right after its patterns run out', () => {
  const els = Array.from({ length: 30 }, (_, i) => `<a ${i % 2 ? `id="${i}" x="${i}"` : `x="${i}" id="${i}"`}/>`);
  const read = parseXml(`<r>${els.join('')}</r>`)[0]!.children.map((c) => c.attrs);
  expect(read).toEqual(els.map((_, i) => ({ id: String(i), x: String(i) })));
});

/** A LeafReader that records what it was handed, per field: n (int), s (string), e (empty); z is never read; others by name. */
const READER: LeafReader<string[]> = {
  field: (name) => ({ n: 0, s: 1, e: 2, z: -1 })[name] ?? -2,
  create: () => [],
  set(v: string[], field: number, a: AttrValue) {
    if (field === 0) v.push(`n=${a.int()}`);
    else if (field === 1) v.push(`s=${a.string()}`);
    else if (field === 2) v.push(`e=${a.empty()}`);
    else if (field === -2) v.push(`?${a.name()}`);
  },
};
const READERS = { o: READER as LeafReader<unknown> };
const OPS = '<o n="1" s="x" e="" z="k" w="1"/>'.repeat(3);

test.each([
  ['the same attributes', '<o n="42" s="hello" e="" z="zz" w="2"/>'],
  ['numbers that parseInt reads in part', '<o n="12abc" s="x" e="y" z="zz" w="2"/>'],
  ['a long number, a sign', '<o n="-1234567890123456789" s="x" e="" z="zz" w="2"/>'],
  ['an entity in a value never read', '<o n="1" s="x" e="" z="&bogus;" w="2"/>'],
  ['an entity in a value read', '<o n="1" s="a&lt;b" e="" z="zz" w="2"/>'],
  ['another order', '<o s="x" n="1" e="" z="zz" w="2"/>'],
  ['not self-closing', '<o n="1" s="x" e="" z="zz" w="2"></o>'],
])('a reader: %s read as on the general path', (_what, el) => {
  const [primed, alone] = bothWays(el, READERS, OPS);
  expect(primed).toEqual(alone);
  expect(primed.value).toEqual(alone.value);
});

test.each([
  ['an unterminated value', '<a id="q" x="3 y="4"/>'],
  ['an unterminated tag', '<a id="q" x="3" y="4"'],
  ['a malformed attribute', '<a id="q" x=3 y="4"/>'],
  ['a character reference XML does not allow', '<a id="q" x="&#0;" y="4"/>'],
])('%s: the same error after the tag has a pattern', (_what, el) => {
  expect(reason(`<r>${PRIMER}${el}</r>`)).toEqual(reason(`<r>${el}</r>`));
});

test("a reader's value with a character reference XML does not allow: the same error after the pattern", () => {
  const el = '<o n="1" s="&#0;" e="" z="zz" w="2"/>';
  expect(reason(`<r>${OPS}${el}</r>`, READERS)).toEqual(reason(`<r>${el}</r>`, READERS));
  expect(reason(`<r>${el}</r>`, READERS)).toMatch(/&#0; is not a character XML allows \(in the value of s in <o>\)/);
});

test("a reader's finish: the tree keeps what it returns, on the general path and after the pattern", () => {
  const finishing: LeafReader<string[]> = { ...READER, finish: (v) => v.join(',') };
  const els = parseXml(`<r>${OPS}<o n="7" s="y" e="" z="zz" w="2"/></r>`, { o: finishing as LeafReader<unknown> })[0]!.children;
  expect(els.map((e) => e.value)).toEqual([...Array(3).fill('n=1,s=x,e=true,?w'), 'n=7,s=y,e=true,?w']);
});
