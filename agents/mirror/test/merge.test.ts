/** The three-way merge planner, table-driven: every combination of local / peer / base for one path. */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyMerge, planMerge, scanTree, trimLog, type Entry, type Tree } from '@paceline/agent-mirror';

const e = (sha256: string): Entry => ({ type: 'file', size: sha256.length, mtimeMs: 0, sha256 });
const tree = (files: Record<string, string>, dirs: string[] = []): Tree => ({
  files: new Map(Object.entries(files).map(([k, v]) => [k, e(v)])),
  dirs: new Set(dirs),
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

describe('applyMerge on real directories', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `mirror-merge-${process.pid}-`));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const write = async (root: string, files: Record<string, string>): Promise<void> => {
    for (const [p, text] of Object.entries(files)) {
      await mkdir(join(root, p, '..'), { recursive: true });
      await writeFile(join(root, p), text);
    }
  };

  test("a file here where the peer has a directory, and the reverse: the peer's kind wins, the local one is saved", async () => {
    const data = join(dir, 'data');
    const staging = join(dir, 'staging');
    const conflictsDir = join(dir, 'conflicts');
    await write(data, { x: 'local file x', 'z/w': 'local file in directory z', same: 'same' });
    await write(staging, { 'x/y': 'peer file in directory x', z: 'peer file z', same: 'same' });
    const plan = planMerge(await scanTree(data), await scanTree(staging), new Map());
    const r = await applyMerge(plan, { data, staging, conflictsDir, node: 'serv1', peer: 'serv2', now: Date.UTC(2026, 0, 5, 8, 0, 0) });
    expect(await readFile(join(data, 'x/y'), 'utf8')).toBe('peer file in directory x');
    expect(await readFile(join(data, 'z'), 'utf8')).toBe('peer file z');
    expect(await readFile(join(conflictsDir, 'x.serv1.2026-01-05T08-00-00Z'), 'utf8')).toBe('local file x');
    expect(await readFile(join(conflictsDir, 'z.serv1.2026-01-05T08-00-00Z/w'), 'utf8')).toBe('local file in directory z');
    expect(r.conflicts.map((c) => `${c.kind} ${c.path}`).sort()).toEqual(['type-clash x', 'type-clash z']);
    expect(await readFile(join(conflictsDir, 'CONFLICTS.log'), 'utf8')).toContain('x: a file on serv1 but a directory on serv2');
  });
});

test('trimLog keeps the daemon log bounded: the tail goes to FILE.1, the file starts again', async () => {
  const dir = await mkdtemp(join(tmpdir(), `mirror-log-${process.pid}-`));
  try {
    const log = join(dir, 'rsyncd.log');
    await writeFile(log, `${'x'.repeat(2000)}\nlast line\n`);
    await trimLog(log, 4096);
    expect((await readFile(log, 'utf8')).length).toBe(2011);
    await trimLog(log, 1000);
    expect(await readFile(log, 'utf8')).toBe('');
    expect(await readFile(`${log}.1`, 'utf8')).toMatch(/x+\nlast line\n$/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
