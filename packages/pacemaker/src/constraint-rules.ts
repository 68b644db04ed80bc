/**
 * Rules of location constraints (`rule`, `expression`, `date_expression` and the rest) → the
 * model's rule inputs, and the roles and scores constraints name.
 */
import { parseScore } from '@paceline/model';
import { mapRole, type ConfigContext } from './config.js';
import { parsePacemakerDate } from './dates.js';
import { childrenOf, resolveRef, type XmlElement } from './xml.js';

type Obj = Record<string, unknown>;

/** A role a constraint names; null (and reported) when it names none a constraint can (then the constraint is skipped). */
export function constraintRole(v: string | undefined, path: string, ctx: ConfigContext): string | undefined | null {
  if (v === undefined) return undefined;
  const r = mapRole(v);
  if (r === undefined || r === 'Stopped') {
    ctx.log.unsupportedAt(path, `role "${v}" is not a role a constraint can name; constraint skipped`);
    return null;
  }
  return r;
}

/** The score as written (trimmed), undefined when it is not a score. */
export function scoreText(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  return parseScore(v) === undefined ? undefined : v.trim();
}

function importExpression(e: XmlElement, path: string, ctx: ConfigContext): Obj | undefined {
  switch (e.tag) {
    case 'expression': {
      const attribute = e.attrs['attribute'];
      const op = e.attrs['operation'];
      if (attribute === undefined || op === undefined || !['lt', 'gt', 'lte', 'gte', 'eq', 'ne', 'defined', 'not_defined'].includes(op)) {
        ctx.log.unsupportedAt(path, `expression with attribute "${attribute}" and operation "${op}" is not valid`);
        return undefined;
      }
      const out: Obj = { kind: 'attribute', attribute, op };
      if (e.attrs['value'] !== undefined) out['value'] = e.attrs['value'];
      const type = e.attrs['type'];
      if (type !== undefined) {
        const t = type === 'int' ? 'integer' : type;
        if (['string', 'integer', 'number', 'version'].includes(t)) out['valueType'] = t;
        else ctx.log.unsupportedAt(`${path}/@type`, `expression type "${type}" is not known; compared as text`);
      }
      const vs = e.attrs['value-source'];
      if (vs !== undefined) {
        if (['literal', 'param', 'meta'].includes(vs)) out['valueSource'] = vs;
        else ctx.log.unsupportedAt(`${path}/@value-source`, `value-source "${vs}" is not known`);
      }
      return out;
    }
    case 'date_expression': {
      const op = e.attrs['operation'] ?? 'in_range';
      if (!['in_range', 'gt', 'lt', 'date_spec'].includes(op)) {
        ctx.log.unsupportedAt(path, `date expression operation "${op}" is not known`);
        return undefined;
      }
      const out: Obj = { kind: 'date', op };
      // Pacemaker's date forms (ordinal "2005-001", week dates, "YYYY-MM-DD hh:mm:ss -05:00") are
      // written as canonical ISO-8601 UTC so that any consumer reads the same instant.
      for (const k of ['start', 'end'] as const) {
        const v = e.attrs[k];
        if (v === undefined) continue;
        const ms = parsePacemakerDate(v);
        if (ms === undefined) {
          ctx.log.unsupportedAt(`${path}/@${k}`, `"${v}" is not a date Pacemaker understands; expression skipped`);
          return undefined;
        }
        out[k] = new Date(ms).toISOString();
      }
      const numbers = (el: XmlElement | undefined): Record<string, number> => {
        const r: Record<string, number> = {};
        for (const [k, v] of Object.entries(el?.attrs ?? {})) if (k !== 'id' && /^[+-]?\d+$/.test(v)) r[k] = Number(v);
        return r;
      };
      const texts = (el: XmlElement | undefined): Record<string, string> => {
        const r: Record<string, string> = {};
        for (const [k, v] of Object.entries(el?.attrs ?? {})) if (k !== 'id') r[k] = v;
        return r;
      };
      const duration = childrenOf(e, 'duration')[0];
      if (duration) out['duration'] = numbers(duration);
      const spec = childrenOf(e, 'date_spec')[0];
      if (spec) out['spec'] = texts(spec);
      return out;
    }
    case 'rule':
      return importRule(e, path, ctx, true);
    default:
      ctx.log.unsupportedAt(path, `<${e.tag}> is not valid in a location rule`);
      return undefined;
  }
}

/** A location rule (or a nested one: no score of its own) → the model's rule input; undefined when it is skipped. */
export function importRule(raw: XmlElement, path: string, ctx: ConfigContext, nested: boolean): Obj | undefined {
  const rule = resolveRef(raw, ctx.ids);
  if (!rule) {
    ctx.log.unsupportedAt(path, `rule refers to unknown id "${raw.attrs['id-ref']}"`);
    return undefined;
  }
  const out: Obj = { kind: 'rule', booleanOp: (rule.attrs['boolean-op'] ?? 'and').toLowerCase() === 'or' ? 'or' : 'and' };
  if (rule.attrs['id'] !== undefined) out['id'] = rule.attrs['id'];
  const score = rule.attrs['score'];
  if (score !== undefined && !nested) {
    const s = scoreText(score);
    if (s === undefined) ctx.log.unsupportedAt(`${path}/@score`, `"${score}" is not a score`);
    else out['score'] = s;
  }
  if (rule.attrs['score-attribute'] !== undefined && !nested) out['scoreAttribute'] = rule.attrs['score-attribute'];
  if (rule.attrs['role'] !== undefined) {
    const r = constraintRole(rule.attrs['role'], `${path}/@role`, ctx);
    if (r === null) return undefined;
    if (r !== undefined) out['role'] = r;
  }
  const expressions: Obj[] = [];
  rule.children.forEach((c, i) => {
    const e = importExpression(c, `${path}/${c.tag}[${c.attrs['id'] ?? i}]`, ctx);
    if (e) expressions.push(e);
  });
  out['expressions'] = expressions;
  return out;
}
