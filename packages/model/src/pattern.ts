/**
 * Regular expressions written by users (a location constraint's `resourcePattern`, Pacemaker's
 * rsc-pattern) are compiled with RE2's syntax and matched by re2js, a linear-time engine: the
 * time a match takes grows with the pattern and the id, never exponentially, so no pattern can
 * block the event loop (JavaScript's own RegExp backtracks: `^(a+)+$` against 29 a's and one
 * other character takes minutes). RE2's syntax is POSIX extended syntax, which Pacemaker uses,
 * plus Perl classes (\d \w \s) and flags ((?i)); it has no backreferences and no lookaround.
 */
import { createRequire } from 'node:module';
import type { RE2JS } from 're2js';

/** re2js, loaded the first time a pattern is compiled (most configurations have none); its CommonJS build loads synchronously. */
let re2Lib: typeof import('re2js') | undefined;
const re2 = (): typeof import('re2js') => (re2Lib ??= createRequire(import.meta.url)('re2js') as typeof import('re2js'));

/** Longest pattern accepted: a resource pattern is a short expression over ids. */
export const MAX_PATTERN_LENGTH = 500;

export type CompiledPattern = { readonly ok: true; readonly test: (id: string) => boolean } | { readonly ok: false; readonly message: string };

/**
 * Compiles a resource pattern: matched anywhere in the id unless anchored (`^…$`); a leading `!`
 * inverts it (Pacemaker's rule). Never throws: a pattern that is not valid RE2 syntax gives the reason.
 */
export function compileResourcePattern(pattern: string): CompiledPattern {
  if (pattern.length > MAX_PATTERN_LENGTH)
    return { ok: false, message: `a pattern may be at most ${MAX_PATTERN_LENGTH} characters long (this one has ${pattern.length})` };
  const invert = pattern.startsWith('!');
  let re: RE2JS;
  try {
    re = re2().RE2JS.compile(invert ? pattern.slice(1) : pattern);
  } catch (e) {
    // re2js: "error parsing regexp: missing closing ): `(a`"
    const reason = (e as Error).message.replace(/^error parsing regexp: /, '');
    return { ok: false, message: `not a valid pattern (RE2 syntax; no backreferences or lookaround): ${reason}` };
  }
  return { ok: true, test: (id) => re.test(id) !== invert };
}
