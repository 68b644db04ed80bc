/**
 * A small, order-preserving element tree for the CIB, plus its `id-ref` resolution. The CIB
 * depends on element order (resources are allocated in configuration order, attribute sets are
 * read first-wins), so order is kept.
 *
 * The parser is a single-pass scanner for the XML the CIB uses (elements, attributes, comments,
 * processing instructions, CDATA and text, which is skipped). It replaced fast-xml-parser here
 * because parsing dominated `CIB in, JSON out` on large clusters (a 10 MB, 16-node/1,000-resource
 * CIB: several times faster); malformed input still gets an error with its line and column.
 */
export interface XmlElement {
  readonly tag: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
}

interface Building {
  tag: string;
  attrs: Record<string, string>;
  children: Building[];
}

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

const NAME = /[^\s/>=]+/y;
const ENTITY = /&(?:#(\d+)|#x([0-9a-fA-F]+)|(lt|gt|amp|quot|apos));/g;
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** XML attribute-value normalisation: literal tabs and newlines read as spaces; entities decoded. */
const SPECIAL = /[&\t\n\r]/;

/** A character reference to something XML does not allow as a character (NUL, a surrogate, past U+10FFFF). */
class BadCharacterReference extends Error {}

/** XML's Char production: what a character reference may name. */
function isXmlChar(c: number): boolean {
  return c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

function decode(raw: string): string {
  if (!SPECIAL.test(raw)) return raw;
  const v = raw.replace(/\r\n|[\t\n\r]/g, ' ');
  if (!v.includes('&')) return v;
  return v.replace(ENTITY, (m, dec: string | undefined, hex: string | undefined, named: string | undefined) => {
    if (named !== undefined) return NAMED[named]!;
    const code = dec !== undefined ? Number(dec) : Number.parseInt(hex!, 16);
    if (!isXmlChar(code)) throw new BadCharacterReference(`${m} is not a character XML allows`);
    return String.fromCodePoint(code);
  });
}

function isName(name: string): boolean {
  if (name.length === 0) return false;
  for (let k = 0; k < name.length; k++) {
    const c = name.charCodeAt(k);
    // whitespace, quotes, <, >, /
    if (c <= 32 || c === 34 || c === 39 || c === 60 || c === 62 || c === 47) return false;
  }
  return true;
}

/** Shared by every element without children (most CIB elements, e.g. operation records); never mutated. */
const NO_CHILDREN: Building[] = [];

/** Parses XML text into its top-level elements; throws XmlSyntaxError for malformed input. */
export function parseXml(text: string): XmlElement[] {
  const fail = (pos: number, message: string, limit = false): never => {
    let line = 1;
    let lineStart = 0;
    for (let k = text.indexOf('\n'); k >= 0 && k < pos; k = text.indexOf('\n', k + 1)) {
      line++;
      lineStart = k + 1;
    }
    throw new XmlSyntaxError(message, line, pos - lineStart + 1, limit);
  };
  const roots: Building[] = [];
  const stack: Building[] = [];
  let i = 0;
  for (;;) {
    const lt = text.indexOf('<', i);
    if (lt < 0) break;
    const c = text.charCodeAt(lt + 1);
    if (c === 33 /* ! */) {
      let close: string;
      if (text.startsWith('<!--', lt)) close = '-->';
      else if (text.startsWith('<![CDATA[', lt)) close = ']]>';
      else close = '>';
      const end = text.indexOf(close, lt + 2);
      if (end < 0) fail(lt, 'unterminated comment, CDATA section or declaration');
      i = end + close.length;
      continue;
    }
    if (c === 63 /* ? */) {
      const end = text.indexOf('?>', lt + 2);
      if (end < 0) fail(lt, 'unterminated processing instruction');
      i = end + 2;
      continue;
    }
    if (c === 47 /* / */) {
      const end = text.indexOf('>', lt + 2);
      if (end < 0) fail(lt, 'unterminated end tag');
      const name = text.slice(lt + 2, end).trim();
      const open = stack.pop();
      if (!open) fail(lt, `</${name}> closes nothing`);
      if (open!.tag !== name) fail(lt, `</${name}> does not match <${open!.tag}>`);
      i = end + 1;
      continue;
    }
    NAME.lastIndex = lt + 1;
    const m = NAME.exec(text);
    if (!m) fail(lt, 'an element name must follow "<"');
    const el: Building = { tag: m![0], attrs: {}, children: NO_CHILDREN };
    let j = NAME.lastIndex;
    let selfClosing = false;
    for (;;) {
      let ch = text.charCodeAt(j);
      while (ch === 32 || ch === 10 || ch === 9 || ch === 13) ch = text.charCodeAt(++j);
      if (ch === 62 /* > */) {
        j++;
        break;
      }
      if (ch === 47 /* / */ && text.charCodeAt(j + 1) === 62) {
        selfClosing = true;
        j += 2;
        break;
      }
      if (j >= text.length) fail(lt, `<${el.tag}> is not terminated`);
      const eq = text.indexOf('=', j);
      if (eq < 0) fail(j, `malformed attribute in <${el.tag}>`);
      const name = text.slice(j, eq).trimEnd();
      let q = eq + 1;
      let qc = text.charCodeAt(q);
      while (qc === 32 || qc === 10 || qc === 9 || qc === 13) qc = text.charCodeAt(++q);
      if ((qc !== 34 && qc !== 39) || !isName(name)) fail(j, `malformed attribute in <${el.tag}>`);
      const end = text.indexOf(qc === 34 ? '"' : "'", q + 1);
      if (end < 0) fail(q, `unterminated attribute value in <${el.tag}>`);
      if (name !== '__proto__') {
        try {
          el.attrs[name] = decode(text.slice(q + 1, end));
        } catch (e) {
          if (!(e instanceof BadCharacterReference)) throw e;
          fail(q + 1, `${e.message} (in the value of ${name} in <${el.tag}>)`);
        }
      }
      j = end + 1;
    }
    const parent = stack[stack.length - 1];
    if (!parent) roots.push(el);
    else if (parent.children === NO_CHILDREN) parent.children = [el];
    else parent.children.push(el);
    if (!selfClosing) {
      if (stack.length >= MAX_XML_DEPTH) fail(lt, `<${el.tag}> is nested more than ${MAX_XML_DEPTH} elements deep (a CIB needs fewer than 20)`, true);
      stack.push(el);
    }
    i = j;
  }
  if (stack.length > 0) fail(text.length, `<${stack[stack.length - 1]!.tag}> is never closed`);
  return roots;
}

export function child(e: XmlElement, tag: string): XmlElement | undefined {
  return e.children.find((c) => c.tag === tag);
}

export function childrenOf(e: XmlElement | undefined, ...tags: string[]): XmlElement[] {
  if (!e) return [];
  return e.children.filter((c) => tags.includes(c.tag));
}

/** Every element with an `id` in the tree (first wins), for `id-ref` resolution. */
export function indexIds(root: XmlElement): Map<string, XmlElement> {
  const map = new Map<string, XmlElement>();
  const walk = (e: XmlElement): void => {
    const id = e.attrs['id'];
    if (id !== undefined && e.attrs['id-ref'] === undefined && !map.has(`${e.tag}#${id}`)) map.set(`${e.tag}#${id}`, e);
    e.children.forEach(walk);
  };
  walk(root);
  return map;
}

/**
 * Replaces an element that only refers to another (`<operations id-ref="x"/>`, `<rule id-ref>`,
 * `<meta_attributes id-ref>`) by the element it names (same tag). Returns undefined when the
 * reference is dangling.
 */
export function resolveRef(e: XmlElement, ids: Map<string, XmlElement>): XmlElement | undefined {
  const ref = e.attrs['id-ref'];
  if (ref === undefined) return e;
  return ids.get(`${e.tag}#${ref}`);
}

/** Pacemaker's crm_is_true: yes/true/on/y/1, case-insensitive. */
export function isTrue(v: string | undefined): boolean {
  return v !== undefined && ['true', 'on', 'yes', 'y', '1'].includes(v.trim().toLowerCase());
}

/** A boolean value Pacemaker understands, or undefined if the text is not one. */
export function parseBool(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  const t = v.trim().toLowerCase();
  if (['true', 'on', 'yes', 'y', '1'].includes(t)) return true;
  if (['false', 'off', 'no', 'n', '0'].includes(t)) return false;
  return undefined;
}
