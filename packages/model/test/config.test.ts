import { ConfigError, INFINITY, addScores, parseConfig, parseConfigText, parseDurationMs, parseScore, validateConfig } from '@paceline/model';

describe('scores', () => {
  it.each([
    ['INFINITY', INFINITY],
    ['+INFINITY', INFINITY],
    ['-INFINITY', -INFINITY],
    ['-inf', -INFINITY],
    ['100', 100],
    ['-5', -5],
    ['2000000', INFINITY],
    ['abc', undefined],
    ['', undefined],
  ])('parseScore(%p) = %p', (text, expected) => expect(parseScore(text)).toBe(expected));

  it('saturates, and -INFINITY beats +INFINITY', () => {
    expect(addScores(INFINITY, -INFINITY)).toBe(-INFINITY);
    expect(addScores(INFINITY, 5)).toBe(INFINITY);
    expect(addScores(999_999, 999_999)).toBe(INFINITY);
    expect(addScores(-10, 3)).toBe(-7);
  });
});

describe('durations', () => {
  it.each([
    [30, 30_000],
    ['30', 30_000],
    ['500ms', 500],
    ['10s', 10_000],
    ['2min', 120_000],
    ['1h', 3_600_000],
    ['PT10S', 10_000],
    ['2h20min', 8_400_000],
    ['1m 30s', 90_000],
    ['ten', undefined],
    ['10 parsecs', undefined],
    ['5x', undefined],
  ])('parseDurationMs(%p) = %p', (text, expected) => expect(parseDurationMs(text)).toBe(expected));
});

describe('configuration', () => {
  const base = {
    nodes: [{ name: 'serv1' }, { name: 'serv2' }],
    resources: [
      { type: 'primitive', id: 'ip', agent: 'paceline:ip', params: { address: '10.0.0.10' }, ops: [{ name: 'monitor', interval: '10s' }] },
      { type: 'group', id: 'g', members: [{ type: 'primitive', id: 'a', agent: 'ocf:heartbeat:Dummy' }] },
    ],
    constraints: [{ type: 'location', id: 'ip-home', resource: 'ip', node: 'serv1', score: 'INFINITY' }],
  };

  it('applies defaults and parses units', () => {
    const c = parseConfig(base);
    expect(c.properties.symmetricCluster).toBe(true);
    expect(c.resources[0]).toMatchObject({ ops: [{ name: 'monitor', interval: 10_000, enabled: true }] });
    expect(c.constraints[0]).toMatchObject({ score: INFINITY });
  });

  it('reports every problem at once, each with its path', () => {
    const bad = {
      ...base,
      resources: [...base.resources, { type: 'primitive', id: 'a', agent: 'ocf:heartbeat:Dummy' }],
      constraints: [
        { type: 'location', id: 'l1', resource: 'nope', node: 'serv1', score: 10 },
        { type: 'colocation', id: 'c1', resource: 'ip', withResource: 'ghost', score: 'INFINITY' },
        { type: 'order', id: 'o1', first: 'ip', then: 'g' },
        { type: 'order', id: 'o2', first: 'g', then: 'ip' },
      ],
    };
    const r = validateConfig(bad);
    expect(r.config).toBeUndefined();
    const text = r.issues.map((i) => `${i.path}: ${i.message}`);
    expect(text).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^resources\[2\]: resource id "a" is already used at resources\[1\]\.members\[0\]/),
        expect.stringMatching(/^constraints\[0\]\.resource: .*"nope"/),
        expect.stringMatching(/^constraints\[1\]\.withResource: .*"ghost"/),
        expect.stringMatching(/cycle .*o1, o2|cycle .*o2, o1/),
      ]),
    );
  });

  it('rejects a score that is not a number, naming the path', () => {
    const r = validateConfig({ constraints: [{ type: 'location', id: 'l', resource: 'x', node: 'n', score: 'lots' }] });
    expect(r.issues).toContainEqual({ path: 'constraints[0].score', message: expect.stringContaining('"lots" is not a score') });
  });

  it('rejects unknown fields', () => {
    const r = validateConfig({ nodes: [{ name: 'n1', colour: 'red' }] });
    expect(r.issues).toContainEqual({ path: 'nodes[0]', message: 'unknown field "colour"' });
  });

  it('reads YAML and reports syntax errors with a line', () => {
    expect(parseConfigText('nodes:\n  - name: serv1\n').nodes[0]!.name).toBe('serv1');
    expect(() => parseConfigText('nodes: [\n', 'cluster.yaml')).toThrow(ConfigError);
    try {
      parseConfigText('nodes: [\n', 'cluster.yaml');
    } catch (e) {
      expect((e as ConfigError).message).toMatch(/^cluster\.yaml: 1 problem found\n {2}- line \d+, column \d+: /);
    }
  });
});
