/**
 * Rule evaluation against a node's attributes (Pacemaker rule semantics): attribute expressions
 * with string/integer/number/version comparisons, defined/not_defined, nested rules joined by
 * and/or, and date expressions evaluated at `now`.
 */
import type { Rule, RuleExpression } from '@paceline/model';

export interface RuleContext {
  readonly attributes: ReadonlyMap<string, string>;
  readonly now: number;
  /** Resource parameters / meta for value-source=param|meta. */
  readonly params?: Readonly<Record<string, unknown>>;
  readonly meta?: Readonly<Record<string, unknown>>;
}

export function evaluateRule(rule: Rule, ctx: RuleContext): boolean {
  const results = rule.expressions.map((e) => evaluateExpression(e, ctx));
  if (results.length === 0) return rule.booleanOp === 'and';
  return rule.booleanOp === 'or' ? results.some(Boolean) : results.every(Boolean);
}

function evaluateExpression(e: RuleExpression, ctx: RuleContext): boolean {
  if (e.kind === 'rule') return evaluateRule(e, ctx);
  if (e.kind === 'date') return evaluateDate(e, ctx.now);
  const actual = ctx.attributes.get(e.attribute);
  if (e.op === 'defined') return actual !== undefined;
  if (e.op === 'not_defined') return actual === undefined;
  let expected = e.value;
  if (e.valueSource === 'param') expected = stringOf(ctx.params?.[e.value ?? '']);
  else if (e.valueSource === 'meta') expected = stringOf(ctx.meta?.[e.value ?? '']);
  if (actual === undefined || expected === undefined) {
    // Pacemaker: a missing side compares below a present one; two missing sides are equal.
    const same = actual === undefined && expected === undefined;
    return e.op === 'eq' ? same : e.op === 'ne' ? !same : false;
  }
  const type = e.valueType ?? (looksNumeric(actual) && looksNumeric(expected) && e.op !== 'eq' && e.op !== 'ne' ? 'number' : 'string');
  const cmp = compare(actual, expected, type);
  switch (e.op) {
    case 'eq':
      return cmp === 0;
    case 'ne':
      return cmp !== 0;
    case 'lt':
      return cmp < 0;
    case 'lte':
      return cmp <= 0;
    case 'gt':
      return cmp > 0;
    case 'gte':
      return cmp >= 0;
    default:
      return false;
  }
}

function stringOf(v: unknown): string | undefined {
  return v === undefined || v === null ? undefined : String(v);
}

function looksNumeric(s: string): boolean {
  return /^[+-]?\d+(\.\d+)?$/.test(s.trim());
}

function compare(a: string, b: string, type: string): number {
  if (type === 'integer' || type === 'number') {
    const x = Number(a);
    const y = Number(b);
    if (Number.isNaN(x) || Number.isNaN(y)) return a < b ? -1 : a > b ? 1 : 0;
    return x === y ? 0 : x < y ? -1 : 1;
  }
  if (type === 'version') {
    const xs = a.split('.').map(Number);
    const ys = b.split('.').map(Number);
    for (let i = 0; i < Math.max(xs.length, ys.length); i++) {
      const d = (xs[i] ?? 0) - (ys[i] ?? 0);
      if (d !== 0) return d < 0 ? -1 : 1;
    }
    return 0;
  }
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x === y ? 0 : x < y ? -1 : 1;
}

function evaluateDate(e: Extract<RuleExpression, { kind: 'date' }>, now: number): boolean {
  const start = e.start !== undefined ? parseDate(e.start) : undefined;
  let end = e.end !== undefined ? parseDate(e.end) : undefined;
  if (end === undefined && start !== undefined && e.duration) end = start + durationMs(e.duration);
  switch (e.op) {
    case 'gt':
      return start !== undefined && now > start;
    case 'lt':
      return end !== undefined && now < end;
    case 'in_range':
      return (start === undefined || now >= start) && (end === undefined || now <= end);
    case 'date_spec':
      return e.spec ? matchesDateSpec(e.spec, now) : false;
  }
}

function durationMs(d: Record<string, number>): number {
  const unit: Record<string, number> = {
    years: 365 * 86_400_000,
    months: 30 * 86_400_000,
    weeks: 7 * 86_400_000,
    days: 86_400_000,
    hours: 3_600_000,
    minutes: 60_000,
    seconds: 1000,
  };
  return Object.entries(d).reduce((sum, [k, v]) => sum + (unit[k] ?? 0) * v, 0);
}

function matchesDateSpec(spec: Record<string, string>, now: number): boolean {
  const d = new Date(now);
  const values: Record<string, number> = {
    hours: d.getUTCHours(),
    minutes: d.getUTCMinutes(),
    seconds: d.getUTCSeconds(),
    monthdays: d.getUTCDate(),
    weekdays: d.getUTCDay() === 0 ? 7 : d.getUTCDay(),
    months: d.getUTCMonth() + 1,
    years: d.getUTCFullYear(),
    yeardays: Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1,
  };
  for (const [field, range] of Object.entries(spec)) {
    const v = values[field];
    if (v === undefined) continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(range.trim());
    if (!m) return false;
    const lo = Number(m[1]);
    const hi = m[2] !== undefined ? Number(m[2]) : lo;
    if (v < lo || v > hi) return false;
  }
  return true;
}

/**
 * Dates as Pacemaker writes them ("2019-09-05 12:00:00", ISO 8601). A date without a zone is read
 * as UTC so that the result never depends on the machine's time zone.
 */
function parseDate(text: string): number | undefined {
  let t = text.trim().replace(' ', 'T');
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) t += 'T00:00:00';
  if (!/(Z|[+-]\d{2}:?\d{2})$/.test(t)) t += 'Z';
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}
