/** Codes for everything the model layer can reject (ZOD_VERSION: the program loads a zod that is not zod 4). */
export type ModelErrorCode = 'CONFIG_INVALID' | 'STATUS_INVALID' | 'PARSE_FAILED' | 'ZOD_VERSION';

/** One problem found in user input, with the path where it is. */
export interface ConfigIssue {
  /** Where the problem is, e.g. `resources[2].ops[0].interval` or `constraints.loc-web` */
  readonly path: string;
  /** A sentence a human understands. */
  readonly message: string;
}

/** Base class for Paceline errors: a stable `code` plus the underlying `cause`. */
export class PacelineError<C extends string = string> extends Error {
  constructor(
    readonly code: C,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Raised when configuration or status input is rejected; lists every issue found, not only the first. */
export class ConfigError extends PacelineError<ModelErrorCode> {
  constructor(
    readonly issues: readonly ConfigIssue[],
    readonly source?: string,
    code: ModelErrorCode = 'CONFIG_INVALID',
  ) {
    super(code, formatIssues(issues, source));
  }
}

export function formatIssues(issues: readonly ConfigIssue[], source?: string): string {
  const head = `${source ? `${source}: ` : ''}${issues.length} problem${issues.length === 1 ? '' : 's'} found`;
  return [head, ...issues.map((i) => `  - ${i.path || '(top level)'}: ${i.message}`)].join('\n');
}

/** Renders a path as `resources[0].ops[1].interval`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}
