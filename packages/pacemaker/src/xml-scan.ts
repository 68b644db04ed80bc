/**
 * The XML scanner behind `parseXml`: one pass over the text, for the XML the CIB uses (elements,
 * attributes, comments, processing instructions, CDATA and text, which is skipped). It replaced
 * fast-xml-parser because parsing dominated `CIB in, JSON out` on large clusters; malformed input
 * gets an error with its line and column.
 *
 * A CIB is very regular: siblings share their tag, and elements with the same tag list the same
 * attributes in the same order (a 10 MB status section is 17,000 `lrm_rsc_op` with 19 attributes
 * each). The scanner therefore predicts each name — the previous tag at the same depth, the
 * attribute names the tag had last time — and checks the prediction with one comparison instead
 * of cutting out and hashing a new string; whatever it does not predict takes the general path.
 * Attribute values are searched for characters that need decoding (`&`, tab, CR, LF) through the
 * position of the next one in the text, found once and reused, not per value. From its second
 * element on, a tag's start tags are matched by one regular expression made from the last one
 * (xml-pattern.ts), the general path taking whatever it does not match.
 */
import type { XmlElement } from './xml.js';
import { AttrText, BadCharacterReference, decode, endsName, isName, isSpace, ownString, type LeafReader, type TagState } from './xml-attr.js';
import { applyMatch, CapturedAttr, makePattern, MAX_PATTERNS } from './xml-pattern.js';

/**
 * Elements nested deeper than this are refused: a CIB needs fewer than twenty levels, and every
 * walk over the tree (id index, resources, rules) may then recurse safely.
 */
export const MAX_XML_DEPTH = 256;

/** Raised for input that is not well-formed XML (`limit`: well-formed, perhaps, but past MAX_XML_DEPTH). */
export class XmlSyntaxError extends Error {
  constructor(
    /** What is wrong, without the position. */
    readonly reason: string,
    readonly line: number,
    readonly column: number,
    readonly limit = false,
  ) {
    super(`line ${line}, column ${column}: ${reason}`);
    this.name = 'XmlSyntaxError';
  }
}

interface Building {
  tag: string;
  attrs: Record<string, string>;
  children: Building[];
  value: unknown;
}

const NAME = /[^\s/>=]+/y;

/** Shared by every element without children (most CIB elements, e.g. operation records); never mutated. */
const NO_CHILDREN: Building[] = [];
/** The attributes of every element a LeafReader reads; never mutated. */
const NO_ATTRS: Record<string, string> = Object.freeze({}) as Record<string, string>;
/** indexOf's answer, with "not found" as a position past every other. */
const found = (at: number): number => (at < 0 ? Number.MAX_SAFE_INTEGER : at);

/** One parse: the text, where the scan is, the open elements and the predictions. */
class XmlScanner {
  private readonly roots: Building[] = [];
  private readonly stack: Building[] = [];
  /** The tag last opened at each depth. */
  private readonly lastTag: (string | undefined)[] = [];
  /** Per tag (the predicted string itself). */
  private readonly tags = new Map<string, TagState>();
  private readonly attr = new AttrText(this);
  private readonly captured = new CapturedAttr();
  /** Positions of the next `&`, LF, CR and tab at or after the last value looked at. */
  private nextAmp = -1;
  private nextLf = -1;
  private nextCr = -1;
  private nextTab = -1;

  constructor(
    readonly text: string,
    private readonly readers: Readonly<Record<string, LeafReader<unknown>>>,
  ) {}

  fail(pos: number, message: string, limit = false): never {
    const text = this.text;
    let line = 1;
    let lineStart = 0;
    for (let k = text.indexOf('\n'); k >= 0 && k < pos; k = text.indexOf('\n', k + 1)) {
      line++;
      lineStart = k + 1;
    }
    throw new XmlSyntaxError(message, line, pos - lineStart + 1, limit);
  }

  run(): Building[] {
    const text = this.text;
    let i = 0;
    for (;;) {
      const lt = text.indexOf('<', i);
      if (lt < 0) break;
      const c = text.charCodeAt(lt + 1);
      if (c === 33 /* ! */) i = this.skipDeclaration(lt);
      else if (c === 63 /* ? */) {
        const end = text.indexOf('?>', lt + 2);
        if (end < 0) this.fail(lt, 'unterminated processing instruction');
        i = end + 2;
      } else if (c === 47 /* / */) i = this.closeElement(lt);
      else i = this.openElement(lt);
    }
    const stack = this.stack;
    if (stack.length > 0) this.fail(text.length, `<${stack[stack.length - 1]!.tag}> is never closed`);
    return this.roots;
  }

  /** `<!-- … -->`, `<![CDATA[ … ]]>` or `<!DOCTYPE …>` at `lt`; returns the position after it. */
  private skipDeclaration(lt: number): number {
    const text = this.text;
    let close: string;
    if (text.startsWith('<!--', lt)) close = '-->';
    else if (text.startsWith('<![CDATA[', lt)) close = ']]>';
    else close = '>';
    const end = text.indexOf(close, lt + 2);
    if (end < 0) this.fail(lt, 'unterminated comment, CDATA section or declaration');
    return end + close.length;
  }

  private closeElement(lt: number): number {
    const text = this.text;
    const open = this.stack.pop();
    if (open !== undefined && text.startsWith(open.tag, lt + 2) && text.charCodeAt(lt + 2 + open.tag.length) === 62) return lt + 3 + open.tag.length;
    const end = text.indexOf('>', lt + 2);
    if (end < 0) this.fail(lt, 'unterminated end tag');
    const name = text.slice(lt + 2, end).trim();
    if (!open) this.fail(lt, `</${name}> closes nothing`);
    if (open!.tag !== name) this.fail(lt, `</${name}> does not match <${open!.tag}>`);
    return end + 1;
  }

  /** The start tag at `lt`: the element goes into the tree; returns the position after the tag. */
  private openElement(lt: number): number {
    const text = this.text;
    const stack = this.stack;
    const depth = stack.length;
    let tag = this.lastTag[depth];
    let j: number;
    if (tag !== undefined && text.startsWith(tag, lt + 1) && endsName(text, lt + 1 + tag.length)) j = lt + 1 + tag.length;
    else {
      NAME.lastIndex = lt + 1;
      const m = NAME.exec(text);
      if (!m) this.fail(lt, 'an element name must follow "<"');
      tag = m![0];
      j = NAME.lastIndex;
      this.lastTag[depth] = tag;
    }
    let state = this.tags.get(tag);
    if (state === undefined) {
      const reader = Object.hasOwn(this.readers, tag) ? this.readers[tag] : undefined;
      this.tags.set(tag, (state = { tag, names: [], values: [], previous: [], fields: [], reader, pattern: undefined, patterns: 0, generic: 0, count: 0 }));
    }
    const el: Building = { tag, attrs: state.reader ? NO_ATTRS : {}, children: NO_CHILDREN, value: state.reader?.create() };
    j = this.readTag(el, state, j, lt);
    if (state.reader?.finish !== undefined) el.value = state.reader.finish(el.value);
    const selfClosing = j < 0;
    const parent = stack[depth - 1];
    if (!parent) this.roots.push(el);
    else if (parent.children === NO_CHILDREN) parent.children = [el];
    else parent.children.push(el);
    if (selfClosing) return -j;
    if (depth >= MAX_XML_DEPTH) this.fail(lt, `<${tag}> is nested more than ${MAX_XML_DEPTH} elements deep (a CIB needs fewer than 20)`, true);
    stack.push(el);
    return j;
  }

  /**
   * The attributes, by the tag's pattern when it matches (xml-pattern.ts), else on the general path,
   * after which the tag gets a pattern for what it read (from its second element on). Returns what
   * readAttributes returns.
   */
  private readTag(el: Building, state: TagState, j: number, lt: number): number {
    const p = state.pattern;
    if (p !== undefined) {
      const regex = p.regex;
      regex.lastIndex = j;
      const m = regex.exec(this.text);
      if (m !== null) {
        applyMatch(m, p, state, el.attrs, el.value, this.captured);
        return m[p.close] === '/' ? -regex.lastIndex : regex.lastIndex;
      }
    }
    const end = this.readAttributes(el, state, j, lt);
    if (++state.generic >= 2 && state.patterns < MAX_PATTERNS) {
      state.patterns++;
      state.pattern = makePattern(state, state.count);
    }
    return end;
  }

  /**
   * Attributes from `j` to the end of the tag into `el.attrs` (or its reader's value); returns
   * the position after `>`, negated after `/>`.
   */
  private readAttributes(el: Building, state: TagState, j: number, lt: number): number {
    const text = this.text;
    const { names, fields, reader } = state;
    for (let k = 0; ; k++) {
      let ch = text.charCodeAt(j);
      while (isSpace(ch)) ch = text.charCodeAt(++j);
      if (ch === 62 /* > */ || (ch === 47 /* / */ && text.charCodeAt(j + 1) === 62)) {
        state.count = k;
        return ch === 62 ? j + 1 : -(j + 2);
      }
      if (j >= text.length) this.fail(lt, `<${el.tag}> is not terminated`);
      // The name: as predicted (then only whitespace may come before "="), else cut out and checked.
      let name = names[k];
      let eq = -1;
      if (name !== undefined && text.startsWith(name, j)) {
        eq = j + name.length;
        while (isSpace(text.charCodeAt(eq))) eq++;
        if (text.charCodeAt(eq) !== 61) eq = -1;
      }
      if (eq < 0) {
        eq = text.indexOf('=', j);
        if (eq < 0) this.fail(j, `malformed attribute in <${el.tag}>`);
        name = text.slice(j, eq).trimEnd();
        if (!isName(name)) this.fail(j, `malformed attribute in <${el.tag}>`);
        names[k] = name;
        state.values[k] = undefined;
        state.previous[k] = undefined;
        if (reader) fields[k] = reader.field(name);
      }
      let q = eq + 1;
      let qc = text.charCodeAt(q);
      while (isSpace(qc)) qc = text.charCodeAt(++q);
      if (qc !== 34 && qc !== 39) this.fail(j, `malformed attribute in <${el.tag}>`);
      const end = text.indexOf(qc === 34 ? '"' : "'", q + 1);
      if (end < 0) this.fail(q, `unterminated attribute value in <${el.tag}>`);
      if (name === '__proto__') {
        // Never a key (it would set the prototype); stays in `names` only so that the positions line up.
      } else if (reader) {
        const attr = this.attr;
        attr.start = q + 1;
        attr.end = end;
        attr.position = k;
        attr.state = state;
        reader.set(el.value, fields[k]!, attr);
      } else el.attrs[name!] = this.valueAt(q + 1, end, state, k, name!, true);
      j = end + 1;
    }
  }

  /**
   * The attribute value between `start` and `end`, decoded. A plain value equal to one of the last
   * two this attribute had is that string again, not a new one (operation records alternate: a
   * start's digest, then a monitor's; one string each instead of one per record). A new value for
   * an element's attributes (`own`) is a string of its own (ownString), not a slice of the text:
   * whatever the model keeps of it must not keep the text alive.
   */
  valueAt(start: number, end: number, state: TagState, position: number, name: string, own = false): string {
    const text = this.text;
    if (this.nextAmp < start) this.nextAmp = found(text.indexOf('&', start));
    if (this.nextLf < start) this.nextLf = found(text.indexOf('\n', start));
    if (this.nextCr < start) this.nextCr = found(text.indexOf('\r', start));
    if (this.nextTab < start) this.nextTab = found(text.indexOf('\t', start));
    const values = state.values;
    if (this.nextAmp >= end && this.nextLf >= end && this.nextCr >= end && this.nextTab >= end) {
      const last = values[position];
      if (last !== undefined && last.length === end - start && text.startsWith(last, start)) return last;
      const previous = state.previous;
      const before = previous[position];
      previous[position] = last;
      if (before !== undefined && before.length === end - start && text.startsWith(before, start)) return (values[position] = before);
      const value = text.slice(start, end);
      return (values[position] = own ? ownString(value) : value);
    }
    values[position] = undefined;
    try {
      return decode(text.slice(start, end));
    } catch (e) {
      if (!(e instanceof BadCharacterReference)) throw e;
      return this.fail(start, `${e.message} (in the value of ${name} in <${state.tag}>)`);
    }
  }
}

/**
 * Parses XML text into its top-level elements; throws XmlSyntaxError for malformed input.
 * Elements whose tag has a reader in `readers` are read by it (see LeafReader).
 */
export function parseXml(text: string, readers: Readonly<Record<string, LeafReader<unknown>>> = {}): XmlElement[] {
  return new XmlScanner(text, readers).run();
}
