/** The one loader for YAML/JSON text (issue 16, item 14): hostile text is a ConfigError with a line and column. */
import { ConfigError, MAX_ALIAS_COUNT, parseConfigText, parseDocumentText, parseStatusText } from '@paceline/model';

function problem(text: string, parse: (t: string, s: string) => unknown = parseConfigText): ConfigError {
  try {
    parse(text, 'c.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw new Error(`not a ConfigError: ${(e as Error).name}: ${(e as Error).message}`);
  }
  throw new Error('accepted');
}

/** Ten anchors, each a list of ten aliases of the previous: 10^10 leaves once expanded. */
const aliasBomb = [
  'a0: &a0 [x, x, x, x, x, x, x, x, x, x]',
  ...Array.from({ length: 9 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]`),
].join('\n');

describe('parseDocumentText', () => {
  it('refuses an alias bomb, saying where the aliases start', () => {
    const e = problem(aliasBomb);
    expect(e.code).toBe('PARSE_FAILED');
    expect(e.message).toBe(
      `c.yaml: 1 problem found\n  - line 2, column 10: aliases expand to too much (more than ${MAX_ALIAS_COUNT} expansions): refused as a possible alias bomb`,
    );
    // a few aliases are fine
    expect(parseDocumentText('a: &x [1, 2]\nb: *x\nc: *x\n')).toEqual({ a: [1, 2], b: [1, 2], c: [1, 2] });
  });

  it('names an alias to an anchor that does not exist', () => {
    expect(problem('a: 1\nb: *nowhere\n').message).toMatch(/line 2, column 4: Unresolved alias .*nowhere/);
  });

  it('refuses NUL bytes and other control characters with their line and column', () => {
    expect(problem('nodes:\n  - name: n1\n# a comment \u0000 here\n').message).toBe(
      'c.yaml: 1 problem found\n  - line 3, column 13: a NUL byte is not allowed in a configuration file (is it a binary file?)',
    );
    expect(problem('a: b\u0007\n').message).toMatch(/line 1, column 5: the control character U\+0007 is not allowed/);
    // tabs, CR LF and non-ASCII text are fine
    expect(parseDocumentText('a:\t"é ✓"\r\nb: 2\r\n')).toEqual({ a: 'é ✓', b: 2 });
  });

  it("refuses a NUL written as an escape, naming the field (it would reach an agent's parameters)", () => {
    const text = 'nodes: [{ name: n1 }]\nresources:\n  - { type: primitive, id: p, agent: "paceline:dummy", params: { path: "/tmp/a\\0b" } }\n';
    expect(problem(text).message).toBe('c.yaml: 1 problem found\n  - resources[0].params.path: contains a NUL character (\\0), which no field accepts');
    expect(problem('"a\\0b": 1\n').message).toMatch(/a\\0b: a key contains a NUL character/);
  });

  it('reports malformed YAML once per problem, with the position out of the message', () => {
    const e = problem('nodes: [\n  {name: a\n');
    expect(e.code).toBe('PARSE_FAILED');
    for (const i of e.issues) expect(i.path).toMatch(/^line \d+, column \d+$/);
    expect(e.issues[0]!.message).not.toMatch(/at line/);
    expect(problem('a: 1\na: 2\n').message).toMatch(/line 2, column 1: Map keys must be unique/);
    expect(problem('a: 1\n---\nb: 2\n').message).toMatch(/line 2, column 1: Source contains multiple documents/);
  });

  it('refuses deep nesting with one clear line, whether the parser or the depth limit stops it', () => {
    for (const depth of [100, 20_000]) {
      const e = problem(`${'['.repeat(depth)}${']'.repeat(depth)}`);
      expect(e.issues).toHaveLength(1);
      expect(e.issues[0]!.message).toMatch(/^nested too deeply/);
    }
  });

  it('is the loader of status files too', () => {
    expect(problem(aliasBomb, parseStatusText).message).toMatch(/alias bomb/);
    expect(parseDocumentText('')).toEqual({});
  });
});

describe('durations are bounded (issue 16, item 5)', () => {
  const cfg = (op: string, extra = '') => `nodes: [{ name: n1 }]\n${extra}resources:\n  - { type: primitive, id: p, agent: "paceline:dummy", ops: [${op}] }\n`;
  it('refuses a duration past 2^31 - 1 ms with the path and the maximum; 1e308 s is not Infinity', () => {
    expect(problem(cfg('{ name: start, timeout: 25d }')).message).toBe(
      'c.yaml: 1 problem found\n  - resources[0].ops[0].timeout: "25d" is too long: a duration may be at most 24d 20h 31min 23.647s (2147483647 ms)',
    );
    expect(problem(cfg('{ name: monitor, interval: 1e308 }')).issues).toEqual([
      { path: 'resources[0].ops[0].interval', message: '1e+308 s is too long: a duration may be at most 24d 20h 31min 23.647s (2147483647 ms)' },
    ]);
    expect(problem(cfg('{ name: monitor, interval: 10s }', 'defaults: { resource: { failureTimeout: PT600H } }\n')).issues.map((i) => i.path)).toEqual([
      'defaults.resource.failureTimeout',
    ]);
    expect(problem(cfg('{ name: monitor, interval: .inf }')).issues.map((i) => i.path)).toEqual(['resources[0].ops[0].interval']);
  });

  it('accepts the maximum itself', () => {
    const c = parseConfigText(cfg('{ name: start, timeout: "24d 20h 31min 23.647s" }, { name: monitor, interval: 24d }'));
    const p = c.resources[0]!;
    expect(p.type === 'primitive' && p.ops.map((o) => o.timeout ?? o.interval)).toEqual([2_147_483_647, 2_073_600_000]);
  });
});
