/**
 * The reference story: semantic checks on every chapter, plus the reviewed golden transcript
 * (expected/timeline.txt). After an intended change, rewrite it with UPDATE_GOLDEN=1 and review the diff.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { parseConfigText, type InstancePlacement, type Transition } from '@paceline/model';
import { parseStory, renderTimeline, replayStory } from '@paceline/cli';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..');
const config = parseConfigText(readFileSync(join(dir, 'cluster.yaml'), 'utf8'), 'cluster.yaml');
const story = parseStory(parseYaml(readFileSync(join(dir, 'story.yaml'), 'utf8')), 'story.yaml');
const chapters = replayStory(config, story);

const where = (placement: readonly InstancePlacement[], resource: string): string[] =>
  placement
    .filter((p) => p.resource === resource && p.node !== null)
    .map((p) => `${p.node}:${p.role}`)
    .sort();
/** A chapter's result: the placement after its last transition, every summary line, and the transitions. */
const chapter = (i: number) => {
  const c = chapters[i]!;
  const transitions = c.rounds.map((r) => r.transition);
  return { placement: transitions[transitions.length - 1]!.placement, summary: transitions.flatMap((t) => t.summary), transitions };
};
/** The one transition of chapter i that contains an action matching the predicate. */
const transitionWith = (i: number, pred: (a: Transition['actions'][number]) => boolean): Transition => {
  const t = chapter(i).transitions.find((x) => x.actions.some(pred));
  if (!t) throw new Error(`no transition of chapter ${i} has the action`);
  return t;
};

describe('two-node mutual failover story', () => {
  it('has the chapters of the story', () => {
    expect(chapters.map((c) => c.title)).toEqual(story.chapters.map((c) => c.title));
  });

  it('both up: Samba and its data at home on serv1, Cyrus on serv2, shared services on both', () => {
    const p = chapter(0).placement;
    expect(where(p, 'samba')).toEqual(['serv1:Started']);
    expect(where(p, 'samba-ip')).toEqual(['serv1:Started']);
    expect(where(p, 'samba-data')).toEqual(['serv1:Promoted', 'serv2:Unpromoted']);
    expect(where(p, 'cyrus')).toEqual(['serv2:Started']);
    expect(where(p, 'cyrus-data')).toEqual(['serv1:Unpromoted', 'serv2:Promoted']);
    for (const shared of ['httpd', 'bind', 'radius', 'sendmail']) expect(where(p, shared)).toEqual(['serv1:Started', 'serv2:Started']);
  });

  it('serv1 lost: it is fenced and serv2 takes over all of its services', () => {
    const t = chapter(1);
    expect(t.summary).toContainEqual(expect.objectContaining({ action: 'fence', node: 'serv1' }));
    expect(where(t.placement, 'samba')).toEqual(['serv2:Started']);
    expect(where(t.placement, 'samba-mac')).toEqual(['serv2:Started']);
    expect(where(t.placement, 'samba-data')).toEqual(['serv2:Promoted']);
    expect(where(t.placement, 'cyrus')).toEqual(['serv2:Started']);
  });

  it('serv1 back but quarantined: nothing runs on it', () => {
    const t = chapter(2);
    expect(t.placement.filter((p) => p.node === 'serv1')).toEqual([]);
    expect(where(t.placement, 'samba')).toEqual(['serv2:Started']);
  });

  it('serv1 cleared: Samba stops on serv2, data is resynchronised (promoted) on serv1, then Samba starts at home', () => {
    expect(where(chapter(3).placement, 'samba')).toEqual(['serv1:Started']);
    expect(where(chapter(3).placement, 'samba-data')).toEqual(['serv1:Promoted', 'serv2:Unpromoted']);
    const t = transitionWith(3, (a) => a.kind === 'promote' && a.primitive === 'samba-data');
    const id = (kind: string, resource: string, node: string): string => {
      const a = t.actions.find((x) => x.kind === kind && x.primitive === resource && x.node === node);
      if (!a) throw new Error(`no ${kind} ${resource} on ${node} in ${t.actions.map((x) => x.id).join(', ')}`);
      return a.id;
    };
    // before(a, b): a path of edges leads from a to b
    const before = (a: string, b: string): boolean => {
      const seen = new Set<string>();
      const stack = [a];
      while (stack.length) {
        const x = stack.pop()!;
        if (x === b) return true;
        if (seen.has(x)) continue;
        seen.add(x);
        for (const e of t.edges) if (e.before === x) stack.push(e.after);
      }
      return false;
    };
    const stopSamba = id('stop', 'samba', 'serv2');
    const promoteHome = id('promote', 'samba-data', 'serv1');
    const startSamba = id('start', 'samba', 'serv1');
    expect(before(stopSamba, id('demote', 'samba-data', 'serv2'))).toBe(true);
    expect(before(stopSamba, promoteHome)).toBe(true);
    expect(before(promoteHome, startSamba)).toBe(true);
  });

  it('Samba recovers in place twice, then migration-threshold moves it to serv2', () => {
    expect(chapter(4).summary).toEqual([expect.objectContaining({ action: 'recover', resource: 'samba', from: 'serv1', to: 'serv1' })]);
    expect(chapter(5).summary).toEqual([expect.objectContaining({ action: 'recover', resource: 'samba', from: 'serv1', to: 'serv1' })]);
    expect(where(chapter(6).placement, 'samba')).toEqual(['serv2:Started']);
    expect(where(chapter(6).placement, 'samba-data')).toEqual(['serv1:Unpromoted', 'serv2:Promoted']);
  });

  it('losing the crossover link moves nothing: membership reports the link down and keeps both members', () => {
    expect(chapter(7).summary).toEqual([]);
    expect(chapters[7]!.membership.join('\n')).toMatch(/link-down node=serv2 link=crossover/);
    expect(chapters[7]!.membership.join('\n')).not.toMatch(/node-lost/);
  });

  it('when the fail count expires, Samba returns home with its data', () => {
    expect(where(chapter(8).placement, 'samba')).toEqual(['serv1:Started']);
    expect(where(chapter(8).placement, 'samba-data')).toEqual(['serv1:Promoted', 'serv2:Unpromoted']);
  });

  it('prints the reviewed timeline', () => {
    const text = `${renderTimeline(config, chapters).join('\n')}\n`;
    const golden = join(dir, 'expected', 'timeline.txt');
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, text);
    expect(text).toBe(readFileSync(golden, 'utf8'));
  });
});
