/**
 * Scores, as Pacemaker users know them: integers where ±INFINITY is ±1,000,000 and
 * arithmetic saturates. -INFINITY wins over +INFINITY ("can never run here" beats "must").
 */
export const INFINITY = 1_000_000;

export type Score = number;

/** Clamp any number into the score range, rounding toward zero like Pacemaker's integer scores. */
export function clampScore(n: number): Score {
  if (Number.isNaN(n)) return 0;
  if (n >= INFINITY) return INFINITY;
  if (n <= -INFINITY) return -INFINITY;
  return Math.trunc(n);
}

/** Saturating addition: -INFINITY dominates, then +INFINITY, otherwise the clamped sum. */
export function addScores(a: Score, b: Score): Score {
  if (a <= -INFINITY || b <= -INFINITY) return -INFINITY;
  if (a >= INFINITY || b >= INFINITY) return INFINITY;
  return clampScore(a + b);
}

/** Parses "INFINITY", "+INFINITY", "-INFINITY", "inf", "-inf", integers and decimals; undefined if not a score. */
export function parseScore(text: string | number): Score | undefined {
  if (typeof text === 'number') return Number.isFinite(text) ? clampScore(text) : text > 0 ? INFINITY : -INFINITY;
  const t = text.trim();
  const lower = t.toLowerCase();
  if (lower === 'infinity' || lower === '+infinity' || lower === 'inf' || lower === '+inf') return INFINITY;
  if (lower === '-infinity' || lower === '-inf') return -INFINITY;
  if (!/^[+-]?\d+(\.\d+)?$/.test(t)) return undefined;
  return clampScore(Number(t));
}

/** The text a user would write for a score. */
export function formatScore(s: Score): string {
  if (s >= INFINITY) return 'INFINITY';
  if (s <= -INFINITY) return '-INFINITY';
  return String(s);
}
