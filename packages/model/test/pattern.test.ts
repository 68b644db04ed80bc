/**
 * User-supplied patterns are RE2 syntax, matched in linear time (issue 16, item 4): no pattern can
 * block the event loop, and validation accepts exactly what the scheduler can match.
 */
import { MAX_PATTERN_LENGTH, compileResourcePattern, validateConfig } from '@paceline/model';

const test_ = (pattern: string, id: string): boolean => {
  const c = compileResourcePattern(pattern);
  if (!c.ok) throw new Error(c.message);
  return c.test(id);
};

describe('compileResourcePattern', () => {
  it('matches anywhere unless anchored; a leading "!" inverts; RE2 flags and classes work', () => {
    expect(test_('web', 'my-web-1')).toBe(true);
    expect(test_('^web', 'my-web-1')).toBe(false);
    expect(test_('!^web', 'my-web-1')).toBe(true);
    expect(test_('(?i)^WEB', 'web-1')).toBe(true);
    expect(test_('^db\\d+$', 'db12')).toBe(true);
    expect(test_('^(samba|cyrus)-', 'cyrus-ip')).toBe(true);
  });

  it('takes linear time on the patterns that make a backtracking engine take forever', () => {
    const t0 = performance.now();
    // JavaScript's RegExp needs ~2^40 steps for the first; these all finish in milliseconds.
    expect(test_('^(a+)+$', `${'a'.repeat(40)}-`)).toBe(false);
    expect(test_('^(a|aa)*$', `${'a'.repeat(100_000)}-`)).toBe(false);
    expect(test_('^(x+x+)+y$', 'x'.repeat(5_000))).toBe(false);
    expect(test_('(.*a){20}', 'a'.repeat(200))).toBe(true);
    // generous: a loaded machine; a backtracking engine would not finish at all
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it('refuses what RE2 cannot match in linear time, or a pattern that is no pattern, with the reason', () => {
    const reason = (p: string): string => {
      const c = compileResourcePattern(p);
      if (c.ok) throw new Error(`accepted ${p}`);
      return c.message;
    };
    expect(reason('(a')).toBe('not a valid pattern (RE2 syntax; no backreferences or lookaround): missing closing ): `(a`');
    expect(reason('(a)\\1')).toMatch(/invalid escape sequence: `\\1`/);
    expect(reason('(?<=a)b')).toMatch(/not a valid pattern/);
    expect(reason('(?!a)b')).toMatch(/not a valid pattern/);
    expect(reason('a{1001}')).toMatch(/invalid repeat count/);
    expect(reason('a'.repeat(MAX_PATTERN_LENGTH + 1))).toBe(
      `a pattern may be at most ${MAX_PATTERN_LENGTH} characters long (this one has ${MAX_PATTERN_LENGTH + 1})`,
    );
  });
});

describe('config validation of resourcePattern', () => {
  const config = (resourcePattern: string) => ({
    nodes: [{ name: 'n1' }],
    resources: [{ type: 'primitive', id: 'web', agent: 'paceline:dummy' }],
    constraints: [{ type: 'location', id: 'pat', resourcePattern, node: 'n1', score: 10 }],
  });

  it('refuses lookaround and backreferences (JavaScript accepts them, the linear-time engine cannot match them)', () => {
    expect(validateConfig(config('(?<=w)eb')).issues).toEqual([
      { path: 'constraints[0].resourcePattern', message: expect.stringMatching(/^not a valid pattern \(RE2 syntax/) },
    ]);
    expect(validateConfig(config('(w)\\1')).issues.map((i) => i.path)).toEqual(['constraints[0].resourcePattern']);
  });

  it('accepts a pattern a backtracking engine chokes on: it is harmless here', () => {
    expect(validateConfig(config('^(a+)+$')).issues).toEqual([]);
  });
});
