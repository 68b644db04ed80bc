/** The three-way merge planner, table-driven: every combination of local / peer / base for one path. */
import { planMerge, type Entry, type Tree } from '@paceline/agent-mirror';

const e = (sha256: string): Entry => ({ type: 'file', size: sha256.length, mtimeMs: 0, sha256 });
const tree = (files: Record<string, string>, dirs: string[] = []): Tree => ({
  files: new Map(Object.entries(files).map(([k, v]) => [k, e(v)])), dirs: new Set(dirs),
});
const base = (files: Record<string, string>) => new Map(Object.entries(files).map(([k, v]) => [k, e(v)]));

describe('planMerge', () => {
  const cases: Array<[string, Record<string, string>, Record<string, string>, Record<string, string>, string]> = [
    // name, local, peer, base, expected bucket for "f"
    ['identical', { f: 'a' }, { f: 'a' }, { f: 'a' }, 'none'],
    ['identical, both new', { f: 'a' }, { f: 'a' }, {}, 'none'],
    ['peer changed', { f: 'a' }, { f: 'b' }, { f: 'a' }, 'take'],
    ['peer created', {}, { f: 'b' }, {}, 'take'],
    ['peer deleted, local unchanged', { f: 'a' }, {}, { f: 'a' }, 'remove'],
    ['local changed (never mirrored)', { f: 'b' }, { f: 'a' }, { f: 'a' }, 'keepLocal'],
    ['local created (never mirrored: the lost-mail case)', { f: 'b' }, {}, {}, 'keepLocal'],
    ['local deleted, peer unchanged', {}, { f: 'a' }, { f: 'a' }, 'keepLocal'],
    ['both changed differently', { f: 'b' }, { f: 'c' }, { f: 'a' }, 'conflict:both-changed'],
    ['both created differently', { f: 'b' }, { f: 'c' }, {}, 'conflict:both-changed'],
    ['changed here, deleted there', { f: 'b' }, {}, { f: 'a' }, 'conflict:changed-here-deleted-there'],
    ['deleted here, changed there', {}, { f: 'c' }, { f: 'a' }, 'conflict:deleted-here-changed-there'],
    ['both deleted', {}, {}, { f: 'a' }, 'none'],
  ];
  test.each(cases)('%s', (_name, l, r, b, expected) => {
    const plan = planMerge(tree(l), tree(r), base(b));
    const buckets: string[] = [];
    if (plan.take.includes('f')) buckets.push('take');
    if (plan.remove.includes('f')) buckets.push('remove');
    if (plan.keepLocal.includes('f')) buckets.push('keepLocal');
    for (const c of plan.conflicts) buckets.push(`conflict:${c.kind}`);
    const got = buckets.filter((x) => x.startsWith('conflict:'))[0] ?? buckets[0] ?? 'none';
    expect(got).toBe(expected);
    // Nothing is ever both removed and kept, and a conflict never removes.
    expect(plan.remove.filter((p) => plan.conflicts.some((c) => c.path === p))).toEqual([]);
  });

  test('directories the peer has are created; local-only directories stay', () => {
    const plan = planMerge(tree({}, ['keep']), tree({}, ['new', 'new/sub']), new Map());
    expect(plan.mkdirs).toEqual(['new', 'new/sub']);
  });
});
