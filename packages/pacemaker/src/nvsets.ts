/**
 * Reading Pacemaker attribute sets (`meta_attributes`, `instance_attributes`, `utilization`,
 * `cluster_property_set`) the way Pacemaker 2.1.5 does (lib/pengine/rules.c, make_pairs and
 * populate_hash): sets are taken in descending `score` order, sets of equal score LAST in the
 * document first (Pacemaker prepends each set to a list and then sorts it stably), and one special
 * set id may go first. Usually the first value seen for a name wins, so the highest-scored set
 * wins and, among equal scores, the last one in the document; where Pacemaker overwrites (an
 * operation's own meta attributes, a node's transient attributes) the last value seen wins
 * instead. The value `#default` removes an earlier value. Sets guarded by a rule the import cannot
 * decide are reported instead of guessed.
 */
import { evalDateExpression } from './dates.js';
import { childrenOf, resolveRef, type XmlElement } from './xml.js';

export interface ImportIssue {
  /** Where in the CIB, e.g. `configuration/resources/primitive[rsc1]/meta_attributes/restart-type`. */
  readonly path: string;
  /** What could not be carried over, in words. */
  readonly what: string;
}

/** Collects what an import could not carry (`unsupported`) or deliberately skipped (`ignored`). */
export class IssueLog {
  /** Reports XML attributes of `attrs` that are not in `known` (Pacemaker's schema would reject them). */
  unknownAttributes(attrs: Readonly<Record<string, string>>, known: ReadonlySet<string>, path: string, what: string): void {
    for (const k in attrs) if (!known.has(k)) this.ignoredAt(`${path}/@${k}`, `unknown attribute "${k}" on ${what}`);
  }
  readonly unsupported: ImportIssue[] = [];
  readonly ignored: ImportIssue[] = [];
  unsupportedAt(path: string, what: string): void {
    this.unsupported.push({ path, what });
  }
  ignoredAt(path: string, what: string): void {
    this.ignored.push({ path, what });
  }
}

export interface NvValue {
  readonly value: string;
  /** Path of the nvpair, for reporting. */
  readonly path: string;
}

/** Has `parent` a child with one of `tags`? (Most elements have no attribute set of a kind: the common case, kept cheap.) */
export function hasChild(parent: XmlElement | undefined, tags: readonly string[]): boolean {
  if (parent === undefined) return false;
  for (const c of parent.children) if (tags.includes(c.tag)) return true;
  return false;
}

function setScore(e: XmlElement): number {
  const s = e.attrs['score'];
  if (s === undefined) return 0;
  const t = s.trim().toLowerCase();
  if (t === 'infinity' || t === '+infinity') return 1_000_000;
  if (t === '-infinity') return -1_000_000;
  const n = Number.parseInt(t, 10);
  return Number.isFinite(n) ? Math.max(-1_000_000, Math.min(1_000_000, n)) : 0;
}

/**
 * Merges every set with one of `tags` directly under `parent` (plus, optionally, sets from other
 * sources appended after them) into one name → value map.
 */
export function readNvSets(
  parent: XmlElement | undefined,
  tags: readonly string[],
  path: string,
  ids: Map<string, XmlElement>,
  log: IssueLog,
  options: {
    specialFirst?: string;
    /** Later sets replace earlier values (Pacemaker's `overwrite`): the lowest-scored set wins, among equal scores the first in the document. */
    overwrite?: boolean;
    /** Decides sets guarded by rules: true/false, or undefined when the rule cannot be evaluated (reported). */
    ruleEval?: (rules: readonly XmlElement[]) => boolean | undefined;
  } = {},
): Map<string, NvValue> {
  if (!hasChild(parent, tags)) return new Map();
  const sets: { el: XmlElement; score: number; index: number; path: string }[] = [];
  childrenOf(parent, ...tags).forEach((raw, index) => {
    const setPath = `${path}/${raw.tag}[${raw.attrs['id'] ?? raw.attrs['id-ref'] ?? index}]`;
    const el = resolveRef(raw, ids);
    if (!el) {
      log.unsupportedAt(setPath, `attribute set refers to unknown id "${raw.attrs['id-ref']}"`);
      return;
    }
    sets.push({ el, score: setScore(raw.attrs['score'] !== undefined ? raw : el), index, path: setPath });
  });
  const special = options.specialFirst;
  sets.sort((a, b) => {
    if (special !== undefined) {
      const sa = a.el.attrs['id'] === special;
      const sb = b.el.attrs['id'] === special;
      if (sa !== sb) return sa ? -1 : 1;
    }
    return b.score - a.score || b.index - a.index;
  });
  const out = new Map<string, NvValue>();
  const overwrite = options.overwrite === true;
  for (const s of sets) {
    const rules = childrenOf(s.el, 'rule').map((r) => resolveRef(r, ids) ?? r);
    if (rules.length > 0) {
      const verdict = options.ruleEval?.(rules);
      if (verdict === false) continue;
      if (verdict === undefined) {
        log.unsupportedAt(
          `${s.path}/rule`,
          'attribute set guarded by a rule the import cannot decide (no time known, or an unsupported expression); its values were not imported',
        );
        continue;
      }
    }
    for (const nvRaw of childrenOf(s.el, 'nvpair')) {
      const nv = resolveRef(nvRaw, ids) ?? nvRaw;
      const name = nvRaw.attrs['name'] ?? nv.attrs['name'];
      const value = nvRaw.attrs['value'] ?? nv.attrs['value'];
      if (name === undefined || value === undefined) continue;
      if (value.toLowerCase() === '#default') {
        out.delete(name);
        continue;
      }
      if (overwrite || !out.has(name)) out.set(name, { value, path: `${s.path}/${name}` });
    }
  }
  return out;
}

/** What a defaults rule (rsc_expression / op_expression) is evaluated against. */
export interface RuleSubject {
  readonly standard?: string | undefined;
  readonly provider?: string | undefined;
  readonly type?: string | undefined;
  readonly opName?: string | undefined;
  readonly opIntervalMs?: number | undefined;
  /**
   * The node attributes expressions test. Absent = no node, as when Pacemaker evaluates meta
   * attributes, cluster options and node attribute sets: then only not_defined and ne hold.
   */
  readonly nodeAttrs?: Readonly<Record<string, string>> | undefined;
}

/** Pacemaker's compare_attr_expr_vals: type defaults to string, or integer/number for ordering operators. */
function compareValues(l: string | undefined, r: string | undefined, type: string | undefined, op: string): number {
  if (l === undefined || r === undefined) return l === r ? 0 : r === undefined ? 1 : -1;
  const t = (type ?? (['lt', 'lte', 'gt', 'gte'].includes(op) ? (l.includes('.') || r.includes('.') ? 'number' : 'integer') : 'string')).toLowerCase();
  const str = (): number => {
    const a = l.toLowerCase();
    const b = r.toLowerCase();
    return a < b ? -1 : a > b ? 1 : 0;
  };
  if (t === 'integer' || t === 'number') {
    const re = t === 'integer' ? /^\s*[+-]?\d+\s*$/ : /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;
    if (!re.test(l) || !re.test(r)) return str();
    const a = Number(l);
    const b = Number(r);
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (t === 'version') {
    const pa = l.split('.').map((x) => Number.parseInt(x, 10) || 0);
    const pb = r.split('.').map((x) => Number.parseInt(x, 10) || 0);
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
      const d = (pa[i] ?? 0) - (pb[i] ?? 0);
      if (d !== 0) return d < 0 ? -1 : 1;
    }
    return 0;
  }
  return str();
}

/** Pacemaker's accept_attr_expr for a node-attribute expression (value-source is literal here). */
export function evalAttrExpression(e: XmlElement, nodeAttrs: Readonly<Record<string, string>> | undefined): boolean | undefined {
  const attr = e.attrs['attribute'];
  const op = (e.attrs['operation'] ?? '').toLowerCase();
  if (attr === undefined) return false;
  const vs = e.attrs['value-source'];
  if (vs !== undefined && vs !== 'literal') return undefined;
  const l = nodeAttrs?.[attr];
  const r = e.attrs['value'];
  if (op === 'defined') return l !== undefined;
  if (op === 'not_defined') return l === undefined;
  const cmp = compareValues(l, r, e.attrs['type'], op);
  if (op === 'eq') return cmp === 0;
  if (op === 'ne') return cmp !== 0;
  if (l === undefined || r === undefined) return false;
  if (op === 'lt') return cmp < 0;
  if (op === 'lte') return cmp <= 0;
  if (op === 'gt') return cmp > 0;
  if (op === 'gte') return cmp >= 0;
  return undefined;
}

/**
 * Evaluates the rules the import can decide itself: rsc_expression and op_expression (how
 * rsc_defaults / op_defaults target agents and operations), date_expression when the time is
 * known, node-attribute expressions against `subject.nodeAttrs` (or no node, as Pacemaker does
 * outside resource parameters), and nested rules of these. Returns undefined otherwise.
 */
export function evalImportRules(
  rules: readonly XmlElement[],
  subject: RuleSubject,
  ids: Map<string, XmlElement>,
  parseInterval: (v: string) => number | undefined,
  now?: number,
): boolean | undefined {
  const evalRule = (rule: XmlElement): boolean | undefined => {
    const or = (rule.attrs['boolean-op'] ?? 'and').toLowerCase() === 'or';
    const results: (boolean | undefined)[] = [];
    for (const raw of rule.children) {
      const e = resolveRef(raw, ids) ?? raw;
      switch (e.tag) {
        case 'rsc_expression': {
          const a = e.attrs;
          results.push(
            (a['class'] === undefined || a['class'] === subject.standard) &&
              (a['provider'] === undefined || a['provider'] === subject.provider) &&
              (a['type'] === undefined || a['type'] === subject.type),
          );
          break;
        }
        case 'op_expression': {
          if (subject.opName === undefined) return undefined;
          const iv = e.attrs['interval'];
          const ivMs = iv === undefined ? undefined : parseInterval(iv);
          if (iv !== undefined && ivMs === undefined) return undefined;
          results.push(e.attrs['name'] === subject.opName && (ivMs === undefined || ivMs === subject.opIntervalMs));
          break;
        }
        case 'expression':
          results.push(evalAttrExpression(e, subject.nodeAttrs));
          break;
        case 'date_expression':
          if (now === undefined) return undefined;
          results.push(evalDateExpression(e, now));
          break;
        case 'rule':
          results.push(evalRule(e));
          break;
        default:
          return undefined;
      }
    }
    if (results.some((r) => r === undefined)) return undefined;
    if (results.length === 0) return true;
    return or ? results.some(Boolean) : results.every(Boolean);
  };
  let all = true;
  for (const r of rules) {
    const v = evalRule(r);
    if (v === undefined) return undefined;
    all = all && v;
  }
  return all;
}

/** Whether any rule (at any depth) holds an rsc_expression or op_expression. */
export function targetsResources(rules: readonly XmlElement[], ids: Map<string, XmlElement>): boolean {
  const walk = (e: XmlElement): boolean => {
    const r = resolveRef(e, ids) ?? e;
    return r.tag === 'rsc_expression' || r.tag === 'op_expression' || r.children.some(walk);
  };
  return rules.some(walk);
}

/** Whether any rule (at any depth) tests node attributes. */
export function testsNodeAttributes(rules: readonly XmlElement[], ids: Map<string, XmlElement>): boolean {
  const walk = (e: XmlElement): boolean => {
    const r = resolveRef(e, ids) ?? e;
    return r.tag === 'expression' || r.children.some(walk);
  };
  return rules.some(walk);
}
