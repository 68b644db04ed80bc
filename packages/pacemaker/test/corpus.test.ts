/**
 * The conformance corpus is found relative to the repository and its absence is an error, so the
 * conformance floor is checked on every clone that has `../shared` beside it (issue 16, item 19).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { REPO_ROOT, corpusDir, corpusNames, requireCorpus } from './corpus.js';

describe('the conformance corpus location', () => {
  it('is ../shared/conformance/pacemaker beside the repository unless PACELINE_CONFORMANCE_DIR says otherwise', () => {
    expect(corpusDir({})).toBe(resolve(REPO_ROOT, '../shared/conformance/pacemaker'));
    expect(corpusDir({ PACELINE_CONFORMANCE_DIR: '/elsewhere/corpus' })).toBe('/elsewhere/corpus');
    expect(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).toContain('"name": "paceline"');
  });

  it('fails loudly, naming the folder, when the corpus is missing or empty', () => {
    const empty = mkdtempSync(join(tmpdir(), 'paceline-no-corpus-'));
    try {
      expect(() => requireCorpus(join(empty, 'absent'))).toThrow(/conformance corpus is not at .*absent.*PACELINE_CONFORMANCE_DIR/);
      expect(() => corpusNames(empty)).toThrow(/conformance corpus is not at/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('is there on this clone, with its 345 cases', () => {
    expect(corpusNames().length).toBeGreaterThanOrEqual(345);
  });
});

describe('the repository names no machine folder outside itself', () => {
  // Absolute folders of a particular machine (the pattern is built so this file does not match it).
  const machinePath = new RegExp(`['"\`(\\s](/${'work'}/|/${'home'}/[a-z]|/${'root'}/)`);
  const skip = new Set(['node_modules', 'dist', '.git']);
  function* files(dir: string): Generator<string> {
    for (const n of readdirSync(dir)) {
      if (skip.has(n)) continue;
      const p = join(dir, n);
      if (statSync(p).isDirectory()) yield* files(p);
      else if (/\.(ts|mts|mjs|js|md|json|yaml|sh)$/.test(n) && !n.endsWith('.tsbuildinfo')) yield p;
    }
  }

  it('in code, tests, scripts and docs', () => {
    const hits: string[] = [];
    for (const top of ['packages', 'agents', 'scripts', 'docs', 'examples']) {
      for (const f of files(join(REPO_ROOT, top))) {
        readFileSync(f, 'utf8')
          .split('\n')
          .forEach((line, i) => {
            if (machinePath.test(line)) hits.push(`${relative(REPO_ROOT, f)}:${i + 1}: ${line.trim().slice(0, 120)}`);
          });
      }
    }
    expect(hits).toEqual([]);
  });
});
