/**
 * A small, order-preserving element tree for the CIB, plus its `id-ref` resolution. The CIB
 * depends on element order (resources are allocated in configuration order, attribute sets are
 * read first-wins), so order is kept. The parser is in xml-scan.ts.
 */
export interface XmlElement {
  readonly tag: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** What a LeafReader built from the element's attributes (then `attrs` is empty); undefined otherwise. */
  readonly value?: unknown;
}

export { AttrText, IGNORED_FIELD, ownString, type AttrValue, type LeafReader } from './xml-attr.js';
export { MAX_XML_DEPTH, XmlSyntaxError, parseXml } from './xml-scan.js';

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
