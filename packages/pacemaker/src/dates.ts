/**
 * Pacemaker's ISO-8601 dates and date expressions, for rules the import must decide itself
 * (attribute sets guarded by date rules). Dates without a zone are UTC, as crm_simulate reads
 * them in a UTC environment.
 */
import type { XmlElement } from './xml.js';

const DATE_RE = /^(\d{4})(?:-(\d{2})-(\d{2})|-(\d{3})|-W(\d{2})-(\d))?(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:\.\d+)?)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/;

const DAY = 86_400_000;

/** Parses a Pacemaker date ("2005-001", "2019-09-23 18:00:00 -05:00", "2005-W03-4T12", ...) to epoch ms. */
export function parsePacemakerDate(text: string): number | undefined {
  const m = DATE_RE.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, yday, week, wday, hh, mm, ss, zone] = m;
  const year = Number(y);
  let base: number;
  if (mo !== undefined) base = Date.UTC(year, Number(mo) - 1, Number(d));
  else if (yday !== undefined) base = Date.UTC(year, 0, 1) + (Number(yday) - 1) * DAY;
  else if (week !== undefined) {
    const jan4 = Date.UTC(year, 0, 4);
    const jan4Weekday = (new Date(jan4).getUTCDay() + 6) % 7; // Monday = 0
    base = jan4 - jan4Weekday * DAY + (Number(week) - 1) * 7 * DAY + (Number(wday) - 1) * DAY;
  } else base = Date.UTC(year, 0, 1);
  let ms = base + (Number(hh ?? 0) * 3600 + Number(mm ?? 0) * 60 + Number(ss ?? 0)) * 1000;
  if (zone !== undefined && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offset = (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0)) * 60_000;
    ms -= sign * offset;
  }
  return Number.isFinite(ms) ? ms : undefined;
}

/** Adds a Pacemaker duration (years, months, weeks, days, hours, minutes, seconds) to a date. */
export function addDuration(ms: number, d: Readonly<Record<string, string>>): number | undefined {
  const num = (k: string): number | undefined => {
    const v = d[k];
    if (v === undefined) return 0;
    return /^[+-]?\d+$/.test(v.trim()) ? Number(v) : undefined;
  };
  const [years, months, weeks, days, hours, minutes, seconds] = ['years', 'months', 'weeks', 'days', 'hours', 'minutes', 'seconds'].map(num);
  if ([years, months, weeks, days, hours, minutes, seconds].some((x) => x === undefined)) return undefined;
  const t = new Date(ms);
  t.setUTCFullYear(t.getUTCFullYear() + years!, t.getUTCMonth() + months!);
  return t.getTime() + (((weeks! * 7 + days!) * 24 + hours!) * 3600 + minutes! * 60 + seconds!) * 1000;
}

function inRange(value: number, spec: string): boolean | undefined {
  const m = /^\s*(\d*)\s*(?:-\s*(\d*)\s*)?$/.exec(spec);
  if (!m) return undefined;
  const lo = m[1] === '' ? -Infinity : Number(m[1]);
  const hi = m[2] === undefined ? lo : m[2] === '' ? Infinity : Number(m[2]);
  return value >= lo && value <= hi;
}

/** ISO week-numbering year and week of a UTC instant. */
function isoWeek(ms: number): { weekyear: number; week: number } {
  const d = new Date(ms);
  const weekday = (d.getUTCDay() + 6) % 7;
  const thursday = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) + (3 - weekday) * DAY;
  const weekyear = new Date(thursday).getUTCFullYear();
  const week = Math.floor((thursday - Date.UTC(weekyear, 0, 1)) / (7 * DAY)) + 1;
  return { weekyear, week };
}

/** Does `now` match a date_spec (every given field within its range)? undefined for fields it cannot judge. */
export function matchesDateSpec(now: number, spec: Readonly<Record<string, string>>): boolean | undefined {
  const d = new Date(now);
  const { weekyear, week } = isoWeek(now);
  const fields: Record<string, number> = {
    years: d.getUTCFullYear(),
    months: d.getUTCMonth() + 1,
    monthdays: d.getUTCDate(),
    hours: d.getUTCHours(),
    minutes: d.getUTCMinutes(),
    seconds: d.getUTCSeconds(),
    yeardays: Math.floor((now - Date.UTC(d.getUTCFullYear(), 0, 1)) / DAY) + 1,
    weekyears: weekyear,
    weeks: week,
    weekdays: ((d.getUTCDay() + 6) % 7) + 1,
  };
  for (const [k, v] of Object.entries(spec)) {
    if (k === 'id') continue;
    const value = fields[k];
    if (value === undefined) return undefined;
    const r = inRange(value, v);
    if (r === undefined) return undefined;
    if (!r) return false;
  }
  return true;
}

/** Pacemaker's date_expression: in_range (inclusive; end or start+duration), gt, lt, date_spec. */
export function evalDateExpression(e: XmlElement, now: number): boolean | undefined {
  const op = e.attrs['operation'] ?? 'in_range';
  const start = e.attrs['start'] === undefined ? undefined : parsePacemakerDate(e.attrs['start']);
  const endText = e.attrs['end'];
  let end = endText === undefined ? undefined : parsePacemakerDate(endText);
  if ((e.attrs['start'] !== undefined && start === undefined) || (endText !== undefined && end === undefined)) return undefined;
  switch (op) {
    case 'in_range': {
      const duration = e.children.find((c) => c.tag === 'duration');
      if (end === undefined && duration && start !== undefined) end = addDuration(start, duration.attrs);
      if (start === undefined && end === undefined) return undefined;
      return (start === undefined || now >= start) && (end === undefined || now <= end);
    }
    case 'gt':
      return start === undefined ? undefined : now > start;
    case 'lt':
      return end === undefined ? undefined : now < end;
    case 'date_spec': {
      const spec = e.children.find((c) => c.tag === 'date_spec');
      return spec ? matchesDateSpec(now, spec.attrs) : undefined;
    }
    default:
      return undefined;
  }
}
