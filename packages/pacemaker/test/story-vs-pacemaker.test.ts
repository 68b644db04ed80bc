/**
 * Differential test of the reference story against the real Pacemaker 2.1.5 scheduler: every
 * chapter's input (configuration + the status before the chapter's transition) is exported to a
 * CIB, run through `crm_simulate -S`, and Pacemaker's Transition Summary and final placement must
 * equal Paceline's (compareConformance). Skipped, with a printed reason, where crm_simulate is
 * not installed.
 *
 * Findings so far (see the report in the commit history): every chapter agrees. In particular
 * "The administrator clears serv1" does NOT fail the Samba mirror back to serv1 in Pacemaker
 * either: the Promoted instance on serv2 has promotion score 309 there (away 10 + the stickiness
 * of the instance and of the colocated samba-svc group pulling the Promoted role) against 99 on
 * serv1 (home 100), and Pacemaker keeps it on serv2 in the following transition too (the settled
 * check below). Failback therefore needs a different configuration, not a scheduler change.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { parseConfigText } from '@paceline/model';
import { schedule } from '@paceline/scheduler';
import { parseStory, replayStory } from '@paceline/cli';
import { compareConformance, crmSimulateResult, exportCib, toConformanceResult } from '@paceline/pacemaker';

const here = dirname(fileURLToPath(import.meta.url));
const example = join(here, '../../../examples/two-node-mutual-failover');

function crmSimulateAvailable(): string | null {
  try {
    execFileSync('crm_simulate', ['--version'], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return `crm_simulate is not installed (${(e as Error).message.split('\n')[0]}); install pacemaker-cli-utils`;
  }
}

const missing = crmSimulateAvailable();
if (missing !== null) console.log(`story-vs-pacemaker: skipped: ${missing}`);
const maybe = missing === null ? describe : describe.skip;

maybe('reference story: Paceline agrees with Pacemaker 2.1.5 chapter by chapter', () => {
  const config = parseConfigText(readFileSync(join(example, 'cluster.yaml'), 'utf8'), 'cluster.yaml');
  const story = parseStory(parseYaml(readFileSync(join(example, 'story.yaml'), 'utf8')), 'story.yaml');
  const chapters = replayStory(config, story);
  const work = mkdtempSync(join(tmpdir(), `paceline-story-${process.pid}-`));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const simulate = (name: string, xml: string) => {
    const file = join(work, `${name}.xml`);
    writeFileSync(file, xml);
    const shadow = mkdtempSync(join(work, 'shadow-'));
    const out = execFileSync('crm_simulate', ['-x', file, '-S', '--output-as=xml'], {
      env: { ...process.env, LC_ALL: 'C', CIB_shadow_dir: shadow },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
    return crmSimulateResult(out);
  };

  chapters.forEach((c, i) => {
    it(`chapter ${i + 1}: ${c.title}`, () => {
      const pacemaker = simulate(`chapter-${i + 1}`, exportCib(config, c.before, { now: c.time }));
      const paceline = toConformanceResult(config, c.before, c.transition);
      expect(compareConformance(pacemaker, paceline, { nodes: true })).toBeNull();
    });
  });

  it('after "The administrator clears serv1" settles, neither scheduler promotes the Samba mirror back home', () => {
    const i = chapters.findIndex((c) => c.title.startsWith('The administrator clears serv1'));
    expect(i).toBeGreaterThanOrEqual(0);
    const c = chapters[i]!;
    const now = c.time + 60_000;
    const pacemaker = simulate('settled', exportCib(config, c.after, { now }));
    const t = schedule({ config, status: c.after, now });
    const paceline = toConformanceResult(config, c.after, t);
    expect(compareConformance(pacemaker, paceline, { nodes: true })).toBeNull();
    expect(pacemaker.resources['samba-data']?.instances).toEqual([
      { node: 'serv1', role: 'Unpromoted' },
      { node: 'serv2', role: 'Promoted' },
    ]);
  });
});
