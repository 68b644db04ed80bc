import { z } from 'zod';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  msec: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  d: 86_400_000,
  us: 0.001,
  usec: 0.001,
};

/**
 * Parses a duration as written in Pacemaker and Paceline configs: a bare number is seconds
 * (Pacemaker's rule), or a number with a unit: `500ms`, `10s`, `2min`, `1h`, `2h30min`. Also accepts the
 * ISO-8601 form `PT10S`. Returns milliseconds, or undefined when the text is not a duration.
 */
export function parseDurationMs(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? text * 1000 : undefined;
  const known = parsed.get(text);
  if (known !== undefined || parsed.has(text)) return known;
  const ms = parseDurationText(text);
  if (parsed.size < MAX_REMEMBERED && text.length <= 64) parsed.set(text, ms);
  return ms;
}

/**
 * Durations already parsed, by their text: a configuration repeats a few ("10s", "20s") on
 * thousands of operations, and the regular expressions below were a large part of importing it.
 */
const parsed = new Map<string, number | undefined>();
const MAX_REMEMBERED = 1024;

function parseDurationText(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  const iso = /^p(?:(\d+)d)?t?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(t);
  if (iso && t !== 'p' && t !== 'pt') {
    const [, d, h, m, s] = iso;
    return ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(m ?? 0)) * 60_000 + Number(s ?? 0) * 1000;
  }
  // One or more number+unit parts: "10s", "500ms", "2h20min"; a bare number is seconds.
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]+)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== t.replace(/\s+/g, '')) return undefined;
  let total = 0;
  for (const [, n, unit] of parts) {
    const factor = UNIT_MS[unit!];
    if (factor === undefined) return undefined;
    total += Number(n) * factor;
  }
  return Math.round(total);
}

/**
 * The longest duration accepted: 2^31 - 1 ms (24 days 20 h 31 min), the longest delay Node's timers
 * wait. Longer values used to overflow them: a 25-day timeout fired after about 1 ms and a 25-day
 * monitor ran hundreds of times a second.
 */
export const MAX_DURATION_MS = 2_147_483_647;

/** A duration in Paceline's units, e.g. `24d 20h 31min 23.647s`. */
export function formatDurationMs(ms: number): string {
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  if (rest > 0 || parts.length === 0) parts.push(rest >= 1000 || rest === 0 ? `${rest / 1000}s` : `${rest}ms`);
  return parts.join(' ');
}

/** A duration field: a number of seconds or a string with a unit; parsed to milliseconds, at most MAX_DURATION_MS. */
export const Duration = z.union([z.number().nonnegative(), z.string()]).transform((v, ctx) => {
  const ms = parseDurationMs(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration (write e.g. 30, "500ms", "10s", "2min")` });
    return z.NEVER;
  }
  if (!(ms <= MAX_DURATION_MS)) {
    ctx.addIssue({
      code: 'custom',
      message: `${typeof v === 'number' ? `${v} s` : `"${v}"`} is too long: a duration may be at most ${formatDurationMs(MAX_DURATION_MS)} (${MAX_DURATION_MS} ms)`,
    });
    return z.NEVER;
  }
  return ms;
});
