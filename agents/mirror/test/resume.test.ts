/**
 * A start without a full scan (resume.ts): a node whose journal is intact from the last point its
 * copy had in common with the peer reads what changed here since from it, checks the gap while
 * nothing watched by directory ctimes, and merges that with the peer's journal lines. Without its
 * journal, the first round is a full sync and says why. (The return of a crashed primary is in
 * mirror.test.ts; the bench runs it at size.) Real rsync daemons on 127.0.0.1.
 */
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gapCheck, gapCheckFiles } from '@paceline/agent-mirror';
import { ExecaCommandRunner } from '@paceline/runtime';
import { mirrorPairs, put, type MirrorNode } from './pair.js';

const lab = mirrorPairs('mirror-resume');
const { pair, must, synced } = lab;
type Node = MirrorNode;

beforeAll(() => lab.setUp());
afterAll(() => lab.tearDown());

/** A primary `a` and its replica `b`, in sync, with a few files in two directories. */
async function following(tag: string): Promise<[Node, Node]> {
  const [a, b] = await pair(tag);
  for (const f of ['cur/1', 'cur/2', 'new/3']) await put(a, f, `${f} from a`);
  await must(a, 'start');
  await must(a, 'promote');
  const t = Date.now();
  await must(b, 'start');
  await synced(b, t);
  // A start checks the gap from the journal's caught-up time less a 1 s margin (resume.ts): let the
  // initial sync's top-level entries grow older than that, as they are on any replica that ran for
  // more than a second. (On a quiet machine the whole setup fitted inside the margin, the top
  // directory looked changed, and the start fell back to a full sync.)
  await new Promise((r) => setTimeout(r, 1500));
  // Followed incrementally (its position records its own journal: the point a restart resumes from).
  const t2 = Date.now();
  await put(a, 'cur/2', 'cur/2 changed on a');
  await synced(b, t2);
  return [a, b];
}

describe('paceline:mirror: a start resumes from its journal', () => {
  test('a replica stopped cleanly and started again: no full scan; what the primary wrote meanwhile arrives, what was created here while stopped is kept', async () => {
    const [a, b] = await following('clean');
    await must(b, 'stop');
    await put(a, 'new/4', 'written on a while b was stopped');
    await put(b, 'cur/local', 'created on b while it was stopped'); // its directory's ctime tells
    const t = Date.now();
    await must(b, 'start');
    // Its first round (later ones, rung by the primary's heartbeat, may already have followed it).
    const ws = await synced(b, t);
    expect(ws.first?.scope).toBe('incremental');
    expect(ws.lastFull).toBeUndefined();
    expect(ws.first?.reason).toMatch(
      // A clean stop checks directory ctimes; on a machine so loaded that the tracker's stop outlasts
      // the agent's grace (then SIGKILL: no clean marker), every file's — either way one directory changed.
      /resumed from its journal, no full scan: \d+ path\(s\) journaled here since the point in common with serv1; .*1 directorie\(s\) changed/,
    );
    expect(ws.first?.reason).toContain('1 local changes kept');
    expect(await readFile(join(b.data, 'new/4'), 'utf8')).toBe('written on a while b was stopped');
    expect(await readFile(join(b.data, 'cur/2'), 'utf8')).toBe('cur/2 changed on a');
    expect(await readFile(join(b.data, 'cur/local'), 'utf8')).toBe('created on b while it was stopped');
    // And it follows on incrementally.
    const t2 = Date.now();
    await put(a, 'cur/1', 'cur/1 changed on a after the restart');
    await synced(b, t2);
    expect(await readFile(join(b.data, 'cur/1'), 'utf8')).toBe('cur/1 changed on a after the restart');
  }, 90_000);

  test('without its journal the first round is a full sync, and says why', async () => {
    const [a, b] = await following('nojournal');
    await must(b, 'stop');
    await rm(`${b.data}.mirror/pub/journal.json`);
    await put(a, 'new/5', 'written on a while b was stopped');
    const t = Date.now();
    await must(b, 'start');
    // Its first round (later ones, rung by the primary's heartbeat, may already have followed it).
    const first = (await synced(b, t)).first;
    expect(first?.scope).toBe('full');
    expect(first?.reason).toMatch(/pulled 4 files from serv1 .*a full sync: its last journal is missing or does not match its state/);
    expect(await readFile(join(b.data, 'new/5'), 'utf8')).toBe('written on a while b was stopped');
  }, 90_000);
});

describe('the unwatched gap after an unclean stop: a ctime per file', () => {
  test('find(1) and the Node walk find the same changed files and directories, and neither enters a changed directory', async () => {
    const root = join(lab.root, 'gap', 'data');
    for (const f of ['a/old', 'b/old', 'c/d/old', 'e/old']) await put({ name: 'serv1', data: root, state: '', params: {} }, f, 'before');
    await new Promise((r) => setTimeout(r, 50));
    const since = Date.now();
    await new Promise((r) => setTimeout(r, 50));
    await writeFile(join(root, 'a/old'), 'rewritten in place'); // only its own inode says so
    await mkdir(join(root, 'c/d/new')); // c/d changed: merged whole, not entered
    await writeFile(join(root, 'c/d/new/f'), 'x');
    await symlink('old', join(root, 'e/link')); // e changed
    const byNode = gapCheck(root, since, true);
    const byFind = await gapCheckFiles(new ExecaCommandRunner(), root, since);
    expect(byNode).toEqual({ dirs: expect.arrayContaining(['c/d', 'e']), files: ['a/old'] });
    if (typeof byNode === 'string' || typeof byFind === 'string' || byFind === undefined) throw new Error('no check');
    expect({ dirs: [...byFind.dirs].sort(), files: [...byFind.files].sort() }).toEqual({ dirs: [...byNode.dirs].sort(), files: [...byNode.files].sort() });
    expect(byNode.dirs).toHaveLength(2);
  });
});
