/**
 * Change tracking for real: two instances with rsync daemons on 127.0.0.1 (as mirror.test.ts), the
 * primary's tracker journaling its changes, the replica pulling only those. Needs python3 (the
 * inotify watcher) and the compiled worker and tracker (`npx tsc -b agents/mirror`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, link, lstat, mkdir, open, readdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readWorkerStatus, trackerScript, type WorkerStatus } from '@paceline/agent-mirror';
import { mirrorPairs, put, type MirrorNode } from './pair.js';

const skip = spawnSync('python3', ['--version']).status !== 0 ? 'python3 is not installed (the change tracker needs it)' : undefined;
if (skip) process.stdout.write(`SKIP agents/mirror tracking test: ${skip}\n`);
const maybe = skip ? describe.skip : describe;

const lab = mirrorPairs('mirror-tracking', { timeoutMs: 30_000, intervalMs: 100, scripts: () => [trackerScript()] });
const { pair, call, layout } = lab;
type Node = MirrorNode;
const synced = (n: Node, since: number, timeoutMs = 20_000): Promise<WorkerStatus> => lab.synced(n, since, timeoutMs, 25);
/** Waits until the replica follows the primary's journal (the primary's tracker may still be setting up its watches). */
async function incremental(n: Node): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    if ((await synced(n, Date.now())).scope === 'incremental') return;
    if (Date.now() > until) throw new Error(`${n.name} never synced incrementally`);
  }
}
/** Path → kind, mode, content or link target, and inode group (hard links). */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const inodes = new Map<number, string>();
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(dir, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(dir, r));
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out[`${r}/`] = mode;
        await walk(r);
      } else if (st.isSymbolicLink()) out[r] = `-> ${await readlink(join(dir, r))}`;
      else {
        const first = inodes.get(st.ino);
        if (st.nlink > 1 && first === undefined) inodes.set(st.ino, r);
        out[r] = `${mode} ${await readFile(join(dir, r), 'utf8')}${first ? ` (linked to ${first})` : ''}`;
      }
    }
  };
  await walk('');
  return out;
}

maybe('change tracking: the replica pulls what changed, nothing else', () => {
  beforeAll(() => lab.setUp());
  afterAll(() => lab.tearDown());

  test('renames, deletions, directories, permissions, symbolic and hard links arrive as changes, and only they are pulled', async () => {
    const [a, b] = await pair('kinds');
    for (let i = 0; i < 300; i++) await put(a, `d${i % 10}/f${i}`, `file ${i}`);
    expect((await call(a, 'start')).outcome).toBe('ok');
    expect((await call(a, 'promote')).outcome).toBe('ok');
    const t = Date.now();
    expect((await call(b, 'start')).outcome).toBe('ok');
    // The first sync after start: the whole tree (later rounds, rung by the primary's heartbeat, may already have followed it).
    expect((await synced(b, t)).first?.scope).toBe('full');
    await incremental(b);

    await put(a, 'd0/f0', 'file 0, changed');
    await mkdir(join(a.data, 'new/deep/er'), { recursive: true });
    await put(a, 'new/deep/er/x', 'created with its directories at once');
    await rename(join(a.data, 'd1/f1'), join(a.data, 'd1/f1-renamed'));
    await rename(join(a.data, 'd2'), join(a.data, 'd2-renamed'));
    await rm(join(a.data, 'd3'), { recursive: true });
    await chmod(join(a.data, 'd4/f4'), 0o600);
    await symlink('../d5/f5', join(a.data, 'd4/link-to-f5'));
    await link(join(a.data, 'd6/f6'), join(a.data, 'd6/f6-hardlink'));
    await put(a, "d7/with space, ünïcode & 'quotes'\nand a newline", 'odd name');
    // The replica converges round by round (a round rung by a batch holds what was journaled then).
    const want = await snapshot(a.data);
    const until = Date.now() + 20_000;
    // (a snapshot taken while the worker removes a tree may fail: that is just not yet)
    while (JSON.stringify(await snapshot(b.data).catch(() => undefined)) !== JSON.stringify(want) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50));
    expect(await snapshot(b.data)).toEqual(want);
    const ws = await synced(b, Date.now() - 1);
    // Only the changes crossed: the last pulls applied a few dozen journal lines, not 300 files.
    expect(ws.scope).toBe('incremental');
    const m = await call(b, 'monitor');
    expect(m.reason).toMatch(/in sync with serv1 \(.*lag ≤ \d+(\.\d)? s, 0 B behind/);
  });

  test('a file is never seen half-written on the replica: it arrives when its writer closes it', async () => {
    const [a, b] = await pair('half');
    await put(a, 'mail', 'old, complete');
    expect((await call(a, 'start')).outcome).toBe('ok');
    expect((await call(a, 'promote')).outcome).toBe('ok');
    let t = Date.now();
    expect((await call(b, 'start')).outcome).toBe('ok');
    await synced(b, t);
    await incremental(b); // (a full sync copies whatever it finds, as plain rsync does)
    const full = `new, complete: ${'x'.repeat(100_000)}`;
    const seen = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        seen.add(await readFile(join(b.data, 'mail'), 'utf8').catch(() => 'absent'));
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const fh = await open(join(a.data, 'mail'), 'w');
    await fh.write(full.slice(0, 50_000));
    await new Promise((r) => setTimeout(r, 500)); // several replica rounds while half-written
    await fh.write(full.slice(50_000));
    await fh.close();
    t = Date.now();
    await synced(b, t);
    await new Promise((r) => setTimeout(r, 100));
    watching = false;
    await watcher;
    expect(await readFile(join(b.data, 'mail'), 'utf8')).toBe(full);
    expect([...seen].filter((s) => s !== 'old, complete' && s !== full).map((s) => s.slice(0, 40))).toEqual([]);
  });

  test('a returned node keeps its unmirrored changes while following incrementally; the survivor changing one of them too is a conflict, both kept', async () => {
    const [a, b] = await pair('kept');
    await put(a, 'shared', 'base');
    await put(a, 'gone/old', 'mirrored, then removed on the survivor');
    expect((await call(a, 'start')).outcome).toBe('ok');
    expect((await call(a, 'promote')).outcome).toBe('ok');
    expect((await call(b, 'start')).outcome).toBe('ok');
    await incremental(b);
    // a crashes; what it wrote just before never reached b.
    const rec = JSON.parse(await readFile(join(a.state, 'instance.json'), 'utf8')) as Record<string, { pid: number } | undefined>;
    for (const o of [rec.daemon, rec.tracker])
      if (o)
        try {
          process.kill(-o.pid, 'SIGKILL');
        } catch (e) {
          void e;
        }
    await put(a, 'shared', 'a: never mirrored');
    await put(a, 'mine', 'a: delivered before the crash');
    await put(a, 'gone/mine2', 'a: delivered before the crash, in a directory the survivor then removes');
    expect((await call(b, 'promote')).reason).toContain('unreachable');
    // a returns and follows b (its full merge keeps all three), then b works on.
    expect((await call(a, 'stop')).outcome).toBe('ok');
    expect((await call(a, 'start')).outcome).toBe('ok');
    await incremental(a);
    expect((await call(a, 'monitor')).reason).toContain('3 local change(s) never mirrored');
    await put(b, 'shared', 'b: written during the outage');
    await rm(join(b.data, 'gone'), { recursive: true });
    await put(b, 'new-on-b', 'b');
    const t = Date.now();
    const until = t + 20_000;
    while (
      (await readFile(join(a.data, 'new-on-b'), 'utf8').catch(() => '')) !== 'b' ||
      existsSync(join(a.data, 'gone/old')) ||
      (await readFile(join(a.data, 'shared'), 'utf8')) !== 'b: written during the outage'
    ) {
      if (Date.now() > until) throw new Error(`a did not follow: ${JSON.stringify(await readWorkerStatus(layout(a)))}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    await synced(a, Date.now());
    expect(await readFile(join(a.data, 'mine'), 'utf8')).toBe('a: delivered before the crash');
    expect(await readFile(join(a.data, 'gone/mine2'), 'utf8')).toBe('a: delivered before the crash, in a directory the survivor then removes');
    const saved = (await readdir(join(`${a.data}.mirror`, 'conflicts'))).filter((n) => n.startsWith('shared.serv1.'));
    expect(saved).toHaveLength(1);
    expect(await readFile(join(`${a.data}.mirror`, 'conflicts', saved[0]!), 'utf8')).toBe('a: never mirrored');
    const m = await call(a, 'monitor');
    expect(m.reason).toContain('2 local change(s) never mirrored');
    expect(m.reason).toContain('WARNING 1 conflicting version(s)');
    // Failback: a is promoted home and serves everything; b, following again, converges.
    expect((await call(b, 'demote')).outcome).toBe('ok');
    const home = await call(a, 'promote');
    expect(home.outcome).toBe('ok');
    expect(home.reason).toMatch(/resynchronising from serv2: (nothing changed on serv2|(pulled|merged) \d+ change\(s\))/);
    await synced(b, Date.now());
    await synced(b, Date.now());
    expect(await snapshot(b.data)).toEqual(await snapshot(a.data));
  }, 90_000);

  test('a replica that cannot pull the changes its primary journaled says how many bytes it is behind', async () => {
    // rsync as the replica runs it: the real one, except that pulls from the data module fail while BREAK exists.
    const breakFlag = join(lab.root, 'break-data-pulls');
    const wrapper = join(lab.root, 'rsync-breakable');
    await writeFile(
      wrapper,
      `#!/bin/sh\nfor a in "$@"; do case "$a" in */data/*) [ -e '${breakFlag}' ] && { echo 'rsync error: error in socket IO (code 10)' >&2; exit 10; } ;; esac; done\nexec rsync "$@"\n`,
      { mode: 0o755 },
    );
    const [a, b] = await pair('behind', 100, { rsync: wrapper });
    await put(a, 'f', 'v1');
    expect((await call(a, 'start')).outcome).toBe('ok');
    expect((await call(a, 'promote')).outcome).toBe('ok');
    expect((await call(b, 'start')).outcome).toBe('ok');
    await incremental(b);
    await writeFile(breakFlag, '');
    await put(a, 'big', 'x'.repeat(300_000));
    await put(a, 'small', 'y'.repeat(1000));
    const until = Date.now() + 20_000;
    let m = await call(b, 'monitor');
    while (!/2 change\(s\), 301000 B behind/.test(m.reason ?? '')) {
      if (Date.now() > until) throw new Error(`no bytes behind: ${m.reason}`);
      await new Promise((r) => setTimeout(r, 50));
      m = await call(b, 'monitor');
    }
    expect(m.reason).toMatch(
      /^Unpromoted: not synced for \d+(\.\d)? s \(copy as of .*\); 2 change\(s\), 301000 B behind, the oldest written \d+(\.\d)? s ago: pull of 2 changed path\(s\) from serv1 failed: rsync exit 10/,
    );
    await rm(breakFlag);
    await synced(b, Date.now());
    expect(await readFile(join(b.data, 'small'), 'utf8')).toBe('y'.repeat(1000));
  }, 60_000);

  test("the primary rings the replica: a change arrives long before the replica's next interval", async () => {
    const [a, b] = await pair('doorbell', 30_000);
    await put(a, 'f', 'v1');
    expect((await call(a, 'start')).outcome).toBe('ok');
    expect((await call(a, 'promote')).outcome).toBe('ok');
    expect((await call(b, 'start')).outcome).toBe('ok');
    const until = Date.now() + 60_000;
    // Rounds come only every 30 s unless rung: touch the primary until the replica follows its journal.
    for (let i = 0; (await readWorkerStatus(layout(b)))?.scope !== 'incremental'; i++) {
      if (Date.now() > until) throw new Error('the replica never followed the journal');
      await put(a, 'ping', `${i}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    await new Promise((r) => setTimeout(r, 200));
    const t = Date.now();
    await put(a, 'f', 'v2');
    while ((await readFile(join(b.data, 'f'), 'utf8').catch(() => '')) !== 'v2') {
      if (Date.now() - t > 10_000) throw new Error('not rung: the change waited for the interval');
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(Date.now() - t).toBeLessThan(10_000);
    // The ring carried the journal's new line (signed with the shared secret): the round was one connection, the pull.
    const ws = await synced(b, t - 1);
    expect(ws.applied).toMatchObject({ changes: 1, round: { rung: true, rsyncRuns: 1 } });
    expect(ws.applied?.at).toBeGreaterThan(t);
  }, 90_000);

  test("an idle replica reads its primary's heartbeat instead of polling: no rsync run while nothing changes", async () => {
    // A fallback poll only every 10 s: any rsync run seen while idle would mean the heartbeat (every second) was missing for 10 s.
    const [a, b] = await pair('heartbeat', 10_000);
    await put(a, 'f', 'v1');
    expect((await call(a, 'start')).outcome).toBe('ok');
    expect((await call(a, 'promote')).outcome).toBe('ok');
    expect((await call(b, 'start')).outcome).toBe('ok');
    const until = Date.now() + 60_000;
    let last = '';
    for (let i = 0; (await readWorkerStatus(layout(b)))?.scope !== 'incremental'; i++) {
      if (Date.now() > until) throw new Error('the replica never followed the journal');
      last = `${i}`;
      await put(a, 'ping', last); // rings at once (the 10 s poll would be slow)
      await new Promise((r) => setTimeout(r, 300));
    }
    // The last ping pulled (its round ran an rsync): from then on nothing changes.
    while ((await readFile(join(b.data, 'ping'), 'utf8').catch(() => '')) !== last) {
      if (Date.now() > until) throw new Error('the last ping never arrived');
      await new Promise((r) => setTimeout(r, 20));
    }
    // The first round after it that ran no rsync (the ping's own round may still be writing its status).
    const arrived = Date.now();
    let from = 0;
    while (from === 0) {
      const ws = await readWorkerStatus(layout(b));
      if (ws && ws.at > arrived && ws.round?.rsyncRuns === 0) from = ws.at;
      if (Date.now() > until) throw new Error(`no round without rsync after the last ping: ${JSON.stringify(ws)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // Every round from here on, over 4 s: rung, nothing pulled, no rsync run; the lag stays fresh.
    const rounds = new Map<number, WorkerStatus>();
    while (Date.now() < from + 4000) {
      const ws = await readWorkerStatus(layout(b));
      if (ws) rounds.set(ws.at, ws);
      await new Promise((r) => setTimeout(r, 20));
    }
    const idle = [...rounds.values()].filter((ws) => ws.at > from);
    expect(idle.length).toBeGreaterThanOrEqual(2);
    for (const ws of idle) {
      expect(ws).toMatchObject({ kind: 'synced', scope: 'incremental', round: { rung: true, rsyncRuns: 0 } });
      expect(ws.at - (ws.lastSyncStartedAt ?? 0)).toBeLessThan(3000);
    }
  }, 90_000);

  test('events lost to an inotify overflow make a new journal: the replica rescans once and converges', async () => {
    const [a, b] = await pair('overflow');
    await put(a, 'seed', 'seed');
    expect((await call(a, 'start')).outcome).toBe('ok');
    expect((await call(a, 'promote')).outcome).toBe('ok');
    let t = Date.now();
    expect((await call(b, 'start')).outcome).toBe('ok');
    await synced(b, t);
    await incremental(b);
    const before = JSON.parse(await readFile(join(layout(a).pubDir, 'journal.json'), 'utf8')) as { id: string };
    // Freeze the primary's watcher (our own child process) so the kernel queue overflows.
    const rec = JSON.parse(await readFile(join(a.state, 'instance.json'), 'utf8')) as { tracker: { pid: number } };
    const kids = (await readFile(`/proc/${rec.tracker.pid}/task/${rec.tracker.pid}/children`, 'utf8')).trim().split(/\s+/).map(Number);
    const watcherPid = kids[0]!;
    await mkdir(join(a.data, 'burst')); // watched before the freeze: the burst's events go to the kernel queue
    await new Promise((r) => setTimeout(r, 500));
    process.kill(watcherPid, 'SIGSTOP');
    try {
      for (let i = 0; i < 7000; i++) await writeFile(join(a.data, 'burst', `m${i}`), `${i}`);
    } finally {
      process.kill(watcherPid, 'SIGCONT');
    }
    const until = Date.now() + 20_000;
    for (;;) {
      const now = JSON.parse(await readFile(join(layout(a).pubDir, 'journal.json'), 'utf8')) as { id: string; ready: boolean; lost?: string };
      if (now.id !== before.id && now.ready) {
        expect(now.lost).toMatch(/overflow/);
        break;
      }
      if (Date.now() > until) throw new Error('no new journal after the overflow');
      await new Promise((r) => setTimeout(r, 50));
    }
    t = Date.now();
    await synced(b, t);
    t = Date.now();
    await synced(b, t);
    expect((await readdir(join(b.data, 'burst'))).length).toBe(7000);
    expect(await readFile(join(a.state, 'tracker.log'), 'utf8')).toMatch(/abandoned: inotify queue overflow/);
  }, 60_000);
});
