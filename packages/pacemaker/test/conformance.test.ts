import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { corpusNames, requireCorpus } from './corpus.js';
import { runConformanceCase, type ConformanceExpected, type ScheduleFn } from '@paceline/pacemaker';

const floor = JSON.parse(readFileSync(new URL('./conformance-floor.json', import.meta.url), 'utf8')) as { tiers: Record<string, number> };

describe('Pacemaker conformance corpus', () => {
  let schedule: ScheduleFn | undefined;
  beforeAll(async () => {
    try {
      const mod = (await import('@paceline/scheduler')) as Record<string, unknown>;
      if (typeof mod['schedule'] === 'function') schedule = mod['schedule'] as ScheduleFn;
    } catch (e) {
      console.log(`conformance.test: scheduler not available (${(e as Error).message.split('\n')[0]})`);
    }
  });

  it('passes at least the recorded floor in every tier', () => {
    const counts: Record<string, { pass: number; total: number }> = {};
    const failing: string[] = [];
    const CORPUS = requireCorpus();
    for (const name of corpusNames(CORPUS)) {
      const expected = JSON.parse(readFileSync(join(CORPUS, `${name}.expected.json`), 'utf8')) as ConformanceExpected;
      const xml = readFileSync(join(CORPUS, `${name}.xml`), 'utf8');
      const o = runConformanceCase(name, xml, expected, schedule);
      const t = String(o.tier);
      const c = (counts[t] ??= { pass: 0, total: 0 });
      c.total++;
      if (o.pass) c.pass++;
      else failing.push(`[tier ${t}] ${name}: ${o.difference}`);
    }
    const below = Object.entries(floor.tiers)
      .filter(([t, min]) => (counts[t]?.pass ?? 0) < min)
      .map(([t, min]) => `tier ${t}: ${counts[t]?.pass ?? 0} < floor ${min}`);
    if (below.length) throw new Error(`conformance below floor: ${below.join('; ')}\nfailing cases:\n${failing.join('\n')}`);
    console.log(
      `conformance: ${Object.entries(counts)
        .map(([t, c]) => `tier ${t} ${c.pass}/${c.total}`)
        .join(', ')}${schedule ? '' : ' (scheduler not available)'}`,
    );
  });
});
