/**
 * Two versions of a file with the same size and modification times in the same second are two
 * versions. rsync's quick check compares mtimes in whole seconds unless told otherwise
 * (`--modify-window=-1`), so without it a replica skipped a rewrite of the same size made within
 * the second of the version it had, and a merge's staging pull (`--link-dest`) took the peer's
 * version of a file changed on both sides for the local one: the conflict went unseen and the
 * survivor's write was lost (the bench's failback found 0 or 5 of its 10 conflicts). The mtimes
 * are set explicitly here, so the tests do not depend on how fast the machine is.
 * Real rsync daemons on 127.0.0.1; needs the compiled worker (`npx tsc -b agents/mirror`).
 */
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mirrorPairs, type MirrorNode } from './pair.js';

const lab = mirrorPairs('mirror-quick');
const { pair, must, synced } = lab;
type Node = MirrorNode;

/** Writes `text` to `rel` with this modification time (seconds since the epoch, fractions kept). */
async function putAt(n: Node, rel: string, text: string, mtime: number): Promise<void> {
  await mkdir(join(n.data, rel, '..'), { recursive: true });
  await writeFile(join(n.data, rel), text);
  await utimes(join(n.data, rel), mtime, mtime);
}

/** A whole second in the past: both versions of a file get mtimes inside it. */
const second = (): number => Math.floor(Date.now() / 1000) - 60;

beforeAll(() => lab.setUp());
afterAll(() => lab.tearDown());

describe('paceline:mirror: versions of the same size within one second', () => {
  test('a replica takes a rewrite of the same size made within the second of the version it holds', async () => {
    const [a, b] = await pair('replica');
    const s = second();
    await putAt(a, 'cur/m', 'version one', s + 0.1);
    await must(a, 'start');
    await must(a, 'promote');
    let t = Date.now();
    await must(b, 'start');
    await synced(b, t);
    expect(await readFile(join(b.data, 'cur/m'), 'utf8')).toBe('version one');
    t = Date.now();
    await putAt(a, 'cur/m', 'version two', s + 0.6); // same length, same second
    await new Promise((r) => setTimeout(r, 100)); // journaled
    await synced(b, t + 100);
    expect(await readFile(join(b.data, 'cur/m'), 'utf8')).toBe('version two');
  }, 60_000);

  test('a file changed on both sides with the same size in the same second is a conflict: the survivor’s version in place, the other saved', async () => {
    const [a, b] = await pair('merge');
    const s = second();
    await putAt(a, 'cur/x', 'base version', s - 5);
    await must(a, 'start');
    await must(a, 'promote');
    let t = Date.now();
    await must(b, 'start');
    await synced(b, t);
    // a writes and crashes before b pulls (its daemon dies first); b takes over and writes the same file.
    const rec = JSON.parse(await readFile(join(a.state, 'instance.json'), 'utf8')) as { daemon: { pid: number }; tracker?: { pid: number } };
    process.kill(-rec.daemon.pid, 'SIGKILL');
    await putAt(a, 'cur/x', 'a: unmirrored', s + 0.1);
    if (rec.tracker) process.kill(-rec.tracker.pid, 'SIGKILL');
    await must(b, 'promote');
    await putAt(b, 'cur/x', 'b: survivor!!', s + 0.6); // the same length as a's
    // a returns and follows b: its merge must see two different versions.
    t = Date.now();
    await must(a, 'stop');
    await must(a, 'start');
    await synced(a, t);
    expect(await readFile(join(a.data, 'cur/x'), 'utf8')).toBe('b: survivor!!');
    const conflicts = join(`${a.data}.mirror`, 'conflicts', 'cur');
    const saved = (await readdir(conflicts)).filter((f) => f.startsWith('x.serv1.'));
    expect(saved).toHaveLength(1);
    expect(await readFile(join(conflicts, saved[0]!), 'utf8')).toBe('a: unmirrored');
    // Failback: b's version stays where it is, and b follows it.
    await must(b, 'demote');
    const home = await must(a, 'promote');
    expect(home.reason).not.toContain('conflict(s)'); // found and saved at the return already
    t = Date.now();
    await synced(b, t);
    expect(await readFile(join(b.data, 'cur/x'), 'utf8')).toBe('b: survivor!!');
  }, 60_000);
});
