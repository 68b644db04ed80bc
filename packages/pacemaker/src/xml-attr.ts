/**
 * Attributes for the XML scanner (xml-scan.ts): value decoding (entities, whitespace
 * normalisation), the checks on names, what the scanner remembers per tag, and the LeafReader
 * interface through which one kind of element is read straight from the text into a value.
 */
import type { TagPattern } from './xml-pattern.js';

/** A character that ends a name in NAME (for the predicted path: one character). */
const NAME_END = /[\s/>=]/;
const ENTITY = /&(?:#(\d+)|#x([0-9a-fA-F]+)|(lt|gt|amp|quot|apos));/g;
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** A character reference to something XML does not allow as a character (NUL, a surrogate, past U+10FFFF). */
export class BadCharacterReference extends Error {}

/** XML's Char production: what a character reference may name. */
function isXmlChar(c: number): boolean {
  return c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

/** XML attribute-value normalisation: literal tabs and newlines read as spaces; entities decoded. */
export function decode(raw: string): string {
  const v = raw.replace(/\r\n|[\t\n\r]/g, ' ');
  if (!v.includes('&')) return v;
  return v.replace(ENTITY, (m, dec: string | undefined, hex: string | undefined, named: string | undefined) => {
    if (named !== undefined) return NAMED[named]!;
    const code = dec !== undefined ? Number(dec) : Number.parseInt(hex!, 16);
    if (!isXmlChar(code)) throw new BadCharacterReference(`${m} is not a character XML allows`);
    return String.fromCodePoint(code);
  });
}

/** V8 cuts a substring of 13 characters or more as a slice: a view that keeps the whole text alive. */
const SLICE_MIN_LENGTH = 13;
/** Never written: looking a key up in it is what makes V8 keep the key as its own string. */
const OWNED: Record<string, unknown> = Object.create(null) as Record<string, unknown>;

/**
 * `s` as a string of its own rather than a slice of the CIB text, for a value the model keeps
 * after the import. A value the scanner cuts out (`text.slice`, a regular expression's capture) is
 * a slice when it is 13 characters or longer, and one slice kept in the model keeps the whole text
 * alive until the process ends: the operation records' digests and keys kept the 98 MB text of
 * 32 × 5,000 one node failed through the whole scheduler run. Looking a string up as a property
 * key makes V8 internalise it: the slice becomes a reference to its own flat copy in V8's string
 * table (equal values share that copy), and the collector lets go of the text. Same value, same
 * identity for `===`; only memory changes.
 */
export function ownString<T extends string | undefined>(s: T): T {
  if (s !== undefined && s.length >= SLICE_MIN_LENGTH) void OWNED[s];
  return s;
}

export function isName(name: string): boolean {
  if (name.length === 0) return false;
  for (let k = 0; k < name.length; k++) {
    const c = name.charCodeAt(k);
    // whitespace, quotes, <, >, /
    if (c <= 32 || c === 34 || c === 39 || c === 60 || c === 62 || c === 47) return false;
  }
  return true;
}

export const isSpace = (c: number): boolean => c === 32 || c === 10 || c === 9 || c === 13;

/** Does a name predicted at `pos` end there (the character after it is one NAME stops at)? */
export function endsName(text: string, pos: number): boolean {
  const c = text.charCodeAt(pos);
  if (c === 32 || c === 62 || c === 47 || c === 61 || c === 10 || c === 9 || c === 13) return true;
  return c > 127 || c === 11 || c === 12 ? NAME_END.test(text[pos]!) : false;
}

/**
 * Reads one kind of element straight from the text into a value of its own (the CIB importer's
 * operation records), instead of an attribute map: an attribute nobody reads is skipped without
 * cutting out its value, numbers are read in place. The element stays in the tree, with no
 * attributes and the reader's value as `value`.
 */
export interface LeafReader<T> {
  /**
   * The field an attribute name sets: any number the reader chooses (asked once per name and
   * position, not per element); a negative one when the reader never reads the attribute's value
   * (it may read its name), IGNORED_FIELD when it does nothing with the attribute at all (`set`
   * may then not be called).
   */
  field(name: string): number;
  create(): T;
  /** The element's value once all its attributes are read (what the tree keeps); the value itself when absent. */
  finish?(value: T): unknown;
  /** One attribute of the element, in document order. `attr` is valid only during the call. */
  set(value: T, field: number, attr: AttrValue): void;
  /**
   * Optional: for a start tag that lists exactly these attributes (their fields, and each one's
   * capture group in the tag's pattern: 0 when its value is not read), a function that reads a
   * match into the value at once, as the `set` of each attribute in turn would; undefined when it
   * cannot (then `set` is called per attribute). xml-pattern.ts asks once per pattern.
   */
  compile?(fields: readonly number[], groups: readonly number[]): MatchReader<T> | undefined;
}

/**
 * LeafReader.compile's answer: reads the captures of one matched start tag into `value` (declared
 * as a method, so that a reader of one kind of value is a reader of values, as LeafReader's `set`).
 */
export type MatchReader<T> = { read(value: T, m: RegExpExecArray, attr: CapturedValues): void }['read'];

/** The captured values as a MatchReader reads them. */
export interface CapturedValues {
  /** The value of the attribute at `position` (captured as `value`), as AttrValue.string() gives it. */
  stringAt(position: number, value: string): string;
}

/** LeafReader.field's answer for an attribute the reader does nothing with. */
export const IGNORED_FIELD = -1;

/** An attribute as a LeafReader sees it. */
export interface AttrValue {
  /** The value, decoded. */
  string(): string;
  /** Number.parseInt(value, 10). */
  int(): number;
  /** Is the value empty? */
  empty(): boolean;
  /** The attribute's name. */
  name(): string;
}

/** Everything the scanner remembers about one tag: the names and values last seen, per position. */
export interface TagState {
  readonly tag: string;
  readonly names: string[];
  readonly values: (string | undefined)[];
  /** The value before the last one, per position (records alternate: a start's digest, a monitor's, …). */
  readonly previous: (string | undefined)[];
  readonly fields: number[];
  readonly reader: LeafReader<unknown> | undefined;
  /** The start tag this tag's elements had last time, as one regular expression (xml-pattern.ts). */
  pattern: TagPattern | undefined;
  /** Patterns made for this tag so far (a tag whose attributes keep changing stops getting them). */
  patterns: number;
  /** Elements of this tag read on the general path, and their attributes the last time. */
  generic: number;
  count: number;
}

/** What AttrText reads values through: the scanner. */
export interface ValueSource {
  readonly text: string;
  valueAt(start: number, end: number, state: TagState, position: number, name: string): string;
}

/** An attribute value where it stands in the text, for a LeafReader; one instance, moved along. */
export class AttrText implements AttrValue {
  start = 0;
  end = 0;
  /** The value's position in its tag and the tag's state, for `string()`'s reuse of equal values. */
  position = 0;
  state: TagState | undefined;
  constructor(private readonly scanner: ValueSource) {}

  /** The value, decoded; the same string as last time when it has not changed. */
  string(): string {
    return this.scanner.valueAt(this.start, this.end, this.state!, this.position, this.name());
  }

  /** Number.parseInt(value, 10), without cutting the value out when it is plain digits. */
  int(): number {
    const text = this.scanner.text;
    const stop = Math.min(this.end, this.start + 15);
    let n = 0;
    let k = this.start;
    for (; k < stop; k++) {
      const c = text.charCodeAt(k);
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
    }
    // Digits up to the end, or up to a character that ends the number (not a digit, not an entity).
    if (k > this.start && (k === this.end || (k < stop && text.charCodeAt(k) !== 38))) return n;
    return Number.parseInt(this.string(), 10);
  }

  /** Is the value empty? */
  empty(): boolean {
    return this.start === this.end;
  }

  /** The attribute's name. */
  name(): string {
    return this.state!.names[this.position]!;
  }
}
