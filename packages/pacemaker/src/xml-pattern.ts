/**
 * Start tags read with one regular expression. A CIB's elements of one tag list the same attributes
 * in the same order (a 10 MB status section is 17,000 `lrm_rsc_op` with nineteen each), so after
 * the scanner's general path has read an element, its tag gets a pattern for exactly that start
 * tag: each attribute ` NAME="VALUE"` in turn, then `>` or `/>`. The next element of the tag is
 * matched by the pattern in one call into V8's regular-expression engine (machine code from the
 * second call on, whatever tier the JavaScript around it runs in: a command that reads one CIB and
 * ends runs mostly unoptimised JavaScript), its values cut out by the engine.
 *
 * A pattern matches only what the general path reads the same way: one space before each name, the
 * names predicted, `="`, and values without a character that needs decoding (`&`, tab, CR, LF) —
 * values a LeafReader never reads may hold anything but `"`. Anything else does not match and takes
 * the general path, so what is read and every error are the general path's.
 */
import { IGNORED_FIELD, ownString, type AttrValue, type CapturedValues, type MatchReader, type TagState } from './xml-attr.js';

export interface TagPattern {
  /** Sticky; from just after the tag's name to just after its `>`. */
  readonly regex: RegExp;
  /** The attributes' names and their LeafReader fields, in order (the tag's state may move on to others). */
  readonly names: readonly string[];
  readonly fields: readonly number[];
  /** Per attribute, its capture group, or 0 when its value is not read. */
  readonly groups: readonly number[];
  /** The group that holds "/" for a self-closing tag. */
  readonly close: number;
  /** The reader's own function for the whole match, when it has one (LeafReader.compile). */
  readonly read: MatchReader<unknown> | undefined;
}

/** Patterns made per tag at most: a tag whose attributes keep changing is left to the general path. */
export const MAX_PATTERNS = 8;

const escape = (name: string): string => name.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
/** A value the general path takes as it stands. */
const PLAIN = '([^"&\\t\\n\\r]*)';
/** A value nobody reads. */
const UNREAD = '[^"]*';

/** The pattern for the first `count` attributes `state` names (the ones the element just read had); undefined for `__proto__`. */
export function makePattern(state: TagState, count: number): TagPattern | undefined {
  const { names, fields, reader } = state;
  let source = '';
  const groups: number[] = [];
  let group = 1;
  for (let k = 0; k < count; k++) {
    const name = names[k]!;
    if (name === '__proto__') return undefined;
    const read = reader === undefined || fields[k]! >= 0;
    source += ` ${escape(name)}="${read ? PLAIN : UNREAD}"`;
    groups.push(read ? group++ : 0);
  }
  const read = reader?.compile?.(fields.slice(0, count), groups);
  return { regex: new RegExp(`${source}(/?)>`, 'y'), names: names.slice(0, count), fields: fields.slice(0, count), groups, close: group, read };
}

/** A captured attribute value, for a LeafReader; one instance, moved along. */
export class CapturedAttr implements AttrValue, CapturedValues {
  value = '';
  position = 0;
  names: readonly string[] = [];
  state: TagState | undefined;

  /** The value; an equal string the attribute had before when there is one (as the scanner's valueAt). */
  string(): string {
    return shared(this.state!, this.position, this.value);
  }
  int(): number {
    return Number.parseInt(this.value, 10);
  }
  empty(): boolean {
    return this.value === '';
  }
  name(): string {
    return this.names[this.position]!;
  }
  stringAt(position: number, value: string): string {
    return shared(this.state!, position, value);
  }
}

/** `s`, or an equal string this attribute had in one of the last two elements; a new one its own string when `own` (ownString). */
function shared(state: TagState, k: number, s: string, own = false): string {
  const values = state.values;
  const last = values[k];
  if (last === s) return last;
  const previous = state.previous;
  const before = previous[k];
  previous[k] = last;
  if (before === s) return (values[k] = before);
  return (values[k] = own ? ownString(s) : s);
}

/**
 * A matched start tag's attributes into `attrs`, or through the tag's reader into `value`, in
 * document order (a reader is not called for attributes it ignores: IGNORED_FIELD).
 */
export function applyMatch(m: RegExpExecArray, p: TagPattern, state: TagState, attrs: Record<string, string>, value: unknown, attr: CapturedAttr): void {
  const reader = state.reader;
  const { names, fields, groups } = p;
  if (reader === undefined) {
    for (let k = 0; k < groups.length; k++) attrs[names[k]!] = shared(state, k, m[groups[k]!]!, true);
    return;
  }
  attr.names = names;
  attr.state = state;
  if (p.read !== undefined) {
    p.read(value, m, attr);
    return;
  }
  for (let k = 0; k < groups.length; k++) {
    const field = fields[k]!;
    if (field === IGNORED_FIELD) continue;
    const g = groups[k]!;
    attr.value = g === 0 ? '' : m[g]!;
    attr.position = k;
    reader.set(value, field, attr);
  }
}
