/**
 * Differential test of the reference story against the real Pacemaker 2.1.5 scheduler: every
 * chapter's input (configuration + the status before the chapter's transition) is exported to a
 * CIB, run through `crm_simulate -S`, and Pacemaker's Transition Summary and final placement must
 * equal Paceline's (compareConformance). Skipped, with a printed reason, where crm_simulate is
 * not installed.
 *
 * Each chapter may run several transitions (the coordinator re-runs the scheduler until nothing
 * is left); every round's input is checked.
 *
 * Finding: with the home Promoted preference at 100 (away 10), "The administrator clears serv1"
 * did not fail the Samba mirror back in Pacemaker 2.1.5 either: the Promoted instance on serv2 had
 * promotion score 309 there (away 10 + the stickiness of the instance and of the colocated
 * samba-svc group pulling the Promoted role) against 99 on serv1. The reference cluster now uses
 * 1000 for home, and both schedulers fail back.
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
      expect(c.rounds.length).toBeGreaterThan(0);
      c.rounds.forEach((r, k) => {
        const pacemaker = simulate(`chapter-${i + 1}-round-${k + 1}`, exportCib(config, r.before, { now: c.time }));
        const paceline = toConformanceResult(config, r.before, r.transition);
        expect({ round: k + 1, difference: compareConformance(pacemaker, paceline, { nodes: true }) }).toEqual({ round: k + 1, difference: null });
      });
    });
  });

  it('"The administrator clears serv1": Pacemaker, like Paceline, brings the Samba mirror back to Promoted on serv1', () => {
    const c = chapters.find((x) => x.title.startsWith('The administrator clears serv1'));
    expect(c).toBeDefined();
    const placements = c!.rounds.map(
      (r, k) => simulate(`clear-round-${k + 1}`, exportCib(config, r.before, { now: c!.time })).resources['samba-data']?.instances,
    );
    expect(placements[placements.length - 1]).toEqual([
      { node: 'serv1', role: 'Promoted' },
      { node: 'serv2', role: 'Unpromoted' },
    ]);
    // Settled: nothing left to do for either scheduler.
    const settled = simulate('clear-settled', exportCib(config, c!.after, { now: c!.time }));
    const again = schedule({ config, status: c!.after, now: c!.time });
    expect(settled.actions).toEqual([]);
    expect(compareConformance(settled, toConformanceResult(config, c!.after, again), { nodes: true })).toBeNull();
  });
});
