/**
 * Settings and bookkeeping for fuzz targets (fast-check properties over hostile input).
 *
 * A fuzz target runs briefly and deterministically inside `npm test` (a fixed seed, a few hundred
 * runs) and for as long as asked by `npm run fuzz` (scripts/fuzz.mjs), which sets:
 *   PACELINE_FUZZ_RUNS    runs per target
 *   PACELINE_FUZZ_SEED    the seed (the script picks a random one and prints it)
 *   PACELINE_FUZZ_REPORT  a JSONL file each target appends its summary to
 * A tally never stops at the first failure: it counts what every input led to and keeps each
 * distinct failure with the first input that caused it, so a long run reports all it found.
 */
import { appendFileSync } from 'node:fs';
import { TestkitError } from './errors.js';

/** The seed `npm test` uses, so its runs are the same every time. */
export const DEFAULT_FUZZ_SEED = 16;

export interface FuzzSettings {
  readonly numRuns: number;
  readonly seed: number;
  /** The jest timeout for the test (longer when the script asks for many runs). */
  readonly timeoutMs: number;
  /** Where the summary goes (PACELINE_FUZZ_REPORT), if anywhere. */
  readonly report?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

function whole(env: Env, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new TestkitError('TESTKIT_USAGE', `${name}="${v}": write a whole number`);
  return n;
}

/** `runs` (for `npm test`) unless the environment asks for more. */
export function fuzzSettings({ runs }: { runs: number }, env: Env = process.env): FuzzSettings {
  const numRuns = whole(env, 'PACELINE_FUZZ_RUNS') ?? runs;
  const seed = whole(env, 'PACELINE_FUZZ_SEED') ?? DEFAULT_FUZZ_SEED;
  const report = env['PACELINE_FUZZ_REPORT'] || undefined;
  // About 50 ms per run as the worst expected average on a loaded machine, never under a minute.
  return { numRuns, seed, timeoutMs: Math.max(60_000, numRuns * 50), ...(report ? { report } : {}) };
}

export interface FuzzFailure {
  /** The failure's first line with numbers masked, so one bug counts once. */
  readonly key: string;
  readonly count: number;
  /** The first error message in full (first line) and the input that caused it. */
  readonly message: string;
  readonly sample: string;
}

export interface FuzzSummary {
  readonly target: string;
  readonly seed: number;
  readonly runs: number;
  readonly outcomes: Readonly<Record<string, number>>;
  readonly failures: readonly FuzzFailure[];
  readonly slowestMs: number;
  readonly slowestSample: string;
}

const SAMPLE_CHARS = 400;

/** A readable, bounded rendering of an input (strings as JSON, so control characters show). */
export function describeInput(input: unknown): string {
  let text: string;
  try {
    text =
      typeof input === 'string' ? JSON.stringify(input) : (JSON.stringify(input, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(input));
  } catch (e) {
    text = `${String(input)} (not JSON: ${(e as Error).message})`;
  }
  return text.length > SAMPLE_CHARS ? `${text.slice(0, SAMPLE_CHARS)}… (${text.length} chars)` : text;
}

export class FuzzTally {
  private runs = 0;
  private readonly outcomes = new Map<string, number>();
  private readonly failures = new Map<string, { count: number; message: string; sample: string }>();
  private slowestMs = 0;
  private slowestSample = '';

  constructor(
    readonly target: string,
    private readonly settings: Pick<FuzzSettings, 'seed' | 'report'>,
    /** Inputs slower than this are failures (generous: the machine may be loaded). */
    private readonly slowMs = 5000,
  ) {}

  /**
   * Runs `body` on one input: its return value is the outcome counted; an exception is a failure,
   * recorded and not rethrown. Returns true, so it can be a fast-check predicate.
   */
  check<T>(input: T, body: () => string): true {
    this.runs++;
    const t0 = performance.now();
    let outcome: string | undefined;
    try {
      outcome = body();
    } catch (e) {
      const message = (e instanceof Error ? `${e.name}: ${e.message}` : `thrown: ${String(e)}`).split('\n')[0]!;
      this.fail(message, input);
    }
    const ms = performance.now() - t0;
    if (ms > this.slowestMs) {
      this.slowestMs = ms;
      this.slowestSample = describeInput(input);
    }
    if (ms > this.slowMs) this.fail(`slow: an input took more than ${this.slowMs} ms`, input);
    if (outcome !== undefined) this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
    return true;
  }

  private fail(message: string, input: unknown): void {
    const key = message.replace(/\d+/g, 'N').slice(0, 200);
    const f = this.failures.get(key);
    if (f) f.count++;
    else this.failures.set(key, { count: 1, message, sample: describeInput(input) });
  }

  summary(): FuzzSummary {
    return {
      target: this.target,
      seed: this.settings.seed,
      runs: this.runs,
      outcomes: Object.fromEntries([...this.outcomes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      failures: [...this.failures].map(([key, f]) => ({ key, ...f })),
      slowestMs: Math.round(this.slowestMs * 10) / 10,
      slowestSample: this.slowestSample,
    };
  }

  /** Appends the summary to the report file (when the fuzz script asked for one); throws listing every distinct failure. */
  finish(): FuzzSummary {
    const s = this.summary();
    if (this.settings.report) appendFileSync(this.settings.report, `${JSON.stringify(s)}\n`);
    if (s.failures.length > 0) {
      const lines = s.failures.map((f) => `  - ${f.message} (${f.count}×), first input: ${f.sample}`);
      throw new TestkitError(
        'FUZZ_FAILED',
        `fuzz target "${s.target}" (seed ${s.seed}, ${s.runs} runs): ${s.failures.length} distinct failure(s)\n${lines.join('\n')}`,
      );
    }
    return s;
  }
}
