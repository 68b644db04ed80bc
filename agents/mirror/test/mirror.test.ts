/**
 * paceline:mirror for real: two "nodes" on this machine (serv1, serv2: two data directories, two
 * state directories), each instance running its own rsync daemon on 127.0.0.1 with its own port, the
 * agent's actions called directly. Needs the compiled worker (dist/worker.js): `npx tsc -b agents/mirror`.
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  formatReport,
  invokeAgent,
  silentLogger,
  testAgent,
  validateParams,
  type ActionResult,
  type AgentAction,
  type CommandRunner,
} from '@paceline/agent-api';
import { ExecaCommandRunner, SystemClock } from '@paceline/runtime';
import { mirrorAgent, readWorkerStatus, workerScript, layoutFor, MirrorParams, type WorkerStatus } from '@paceline/agent-mirror';
import { freePort, put } from './pair.js';

const runner = new ExecaCommandRunner();
const clock = new SystemClock();
let root: string;

interface Node {
  name: 'serv1' | 'serv2';
  data: string;
  state: string;
  params: Record<string, unknown>;
}
let serv1: Node;
let serv2: Node;
const started: Node[] = [];

async function call(n: Node, action: AgentAction, run: CommandRunner = runner): Promise<ActionResult> {
  const v = validateParams(mirrorAgent, n.params, 'data');
  if (!v.ok) throw new Error(v.message);
  return invokeAgent(mirrorAgent, {
    action,
    params: v.params,
    node: n.name,
    instance: 'data',
    stateDir: n.state,
    run,
    log: silentLogger,
    clock,
    timeoutMs: 20_000,
    keyFile: join(root, 'cluster.key'),
  });
}
const outcome = async (n: Node, a: AgentAction): Promise<string> => {
  const r = await call(n, a);
  return r.outcome === 'ok' || r.outcome === 'running-promoted' || r.outcome === 'not-running' ? r.outcome : `${r.outcome}: ${r.reason}`;
};

/** Waits until the replica's worker has completed a sync that started after `since` (so it saw every change made before). */
async function synced(n: Node, since: number, timeoutMs = 10_000): Promise<WorkerStatus> {
  const l = layoutFor(MirrorParams.parse(n.params), n.name, n.state);
  if (typeof l === 'string') throw new Error(l);
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ws = await readWorkerStatus(l);
    if (ws && ws.kind === 'synced' && ws.lastSyncStartedAt !== undefined && ws.lastSyncStartedAt > since) return ws;
    if (Date.now() > until) throw new Error(`${n.name} did not sync: ${JSON.stringify(ws)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function listTree(dir: string, rel = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(join(dir, rel))).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    const st = await lstat(join(dir, r));
    if (st.isDirectory()) Object.assign(out, await listTree(dir, r));
    else out[r] = st.isSymbolicLink() ? `-> ${await readlink(join(dir, r))}` : await readFile(join(dir, r), 'utf8');
  }
  return out;
}

/** Two fresh nodes with their own ports and directories. */
async function pair(tag: string, extra: Record<string, unknown> = {}): Promise<[Node, Node]> {
  const peers = { serv1: `127.0.0.1:${await freePort()}`, serv2: `127.0.0.1:${await freePort()}` };
  const mk = (name: 'serv1' | 'serv2'): Node => ({
    name,
    data: join(root, tag, name, 'maildir'),
    state: join(root, tag, name, 'state'),
    params: { path: join(root, tag, name, 'maildir'), peers, intervalMs: 150, ...extra },
  });
  const nodes: [Node, Node] = [mk('serv1'), mk('serv2')];
  started.push(...nodes);
  return nodes;
}

/** Power loss: the node's daemon and worker die at once (SIGKILL), nothing is cleaned up. */
async function crash(n: Node): Promise<void> {
  const rec = JSON.parse(await readFile(join(n.state, 'instance.json'), 'utf8')) as { daemon: { pid: number }; worker?: { pid: number } };
  for (const pid of [rec.daemon.pid, rec.worker?.pid])
    if (pid)
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
  await new Promise((r) => setTimeout(r, 100));
}

beforeAll(async () => {
  if (!existsSync(workerScript())) throw new Error(`the compiled worker ${workerScript()} is missing: run npx tsc -b agents/mirror first`);
  root = await mkdtemp(join(tmpdir(), `mirror-agent-${process.pid}-`));
  // The cluster key the node's daemon runs with (`paceline daemon --key`), as the daemon passes it: every pair authenticates.
  await writeFile(join(root, 'cluster.key'), randomBytes(32), { mode: 0o600 });
  [serv1, serv2] = await pair('main');
});

afterAll(async () => {
  for (const n of started) await call(n, 'stop').catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

describe('paceline:mirror between two rsync daemons on loopback', () => {
  test('passes the agent test kit (alone: the peer is down)', async () => {
    const port = await freePort();
    // The kit passes no cluster key: auth: none (the authenticated pairs are below).
    const report = await testAgent(
      mirrorAgent,
      { path: join(root, 'kit', 'data'), peers: { n1: `127.0.0.1:${port}`, n2: `127.0.0.1:${await freePort()}` }, auth: 'none' },
      {
        runner,
        clock,
        node: 'n1',
        stateDir: join(root, 'kit', 'state'),
        badParams: [
          { path: '/', peers: { a: 'x', b: 'y' } },
          { path: 'rel', peers: { a: 'x', b: 'y' } },
          { path: '/x', peers: { a: 'x' } },
        ],
      },
    );
    expect(formatReport(report)).toContain('all checks passed');
  });

  test('a node that is not in peers is misconfigured', async () => {
    const r = await invokeAgent(mirrorAgent, {
      action: 'start',
      params: MirrorParams.parse(serv1.params),
      node: 'serv9',
      instance: 'data',
      stateDir: join(root, 'x'),
      run: runner,
      log: silentLogger,
      clock,
      timeoutMs: 5000,
    });
    expect(r).toMatchObject({ outcome: 'misconfigured' });
    expect(r.reason).toContain('"serv9" is not in peers');
  });

  test('initial sync: serv1 Promoted with data, serv2 Unpromoted receives it all', async () => {
    await put(serv1, 'cur/1', 'message one');
    await put(serv1, 'cur/2', 'message two');
    await put(serv1, 'new/3', 'message three');
    await put(serv1, "odd/with space, ünïcode & 'quotes'", 'odd name');
    await symlink('../cur/1', join(serv1.data, 'odd/link-to-1'));
    expect(await outcome(serv1, 'start')).toBe('ok');
    expect(await outcome(serv1, 'promote')).toBe('ok');
    expect(await outcome(serv1, 'monitor')).toBe('running-promoted');
    const t = Date.now();
    expect(await outcome(serv2, 'start')).toBe('ok');
    await synced(serv2, t);
    expect(await listTree(serv2.data)).toEqual(await listTree(serv1.data));
    const m = await call(serv2, 'monitor');
    expect(m.outcome).toBe('ok');
    expect(m.reason).toMatch(/in sync with serv1 \(5 files/);
    // The typed report the daemon carries into the status and the metrics.
    expect(m.report?.replica).toMatchObject({ source: 'serv1', state: 'in-sync', reachable: true, bytes: 0, changes: 0 });
    expect(m.report?.replica?.asOf).toBeGreaterThanOrEqual(t);
    expect(await readlink(join(serv2.data, 'odd/link-to-1'))).toBe('../cur/1');
    await rm(join(serv1.data, 'odd'), { recursive: true });
  });

  test('changes on the primary reach the replica (new, changed, deleted); nothing is pushed the other way', async () => {
    await put(serv1, 'new/4', 'message four');
    await put(serv1, 'cur/1', 'message one, flagged');
    await rm(join(serv1.data, 'cur/2'));
    const t = Date.now();
    await synced(serv2, t);
    expect(await listTree(serv2.data)).toEqual(await listTree(serv1.data));
    expect(Object.keys(await listTree(serv2.data))).toEqual(['cur/1', 'new/3', 'new/4']);
    // (The fast path's --delete also removed the emptied directory "odd"; merges never remove directories.)
  });

  test('promote is refused on the replica while the peer is Promoted', async () => {
    const r = await call(serv2, 'promote');
    expect(r.outcome).toBe('generic-error');
    expect(r.reason).toContain('serv1 is still Promoted');
    expect(await outcome(serv2, 'monitor')).toBe('ok'); // still a working replica
  });

  test('failover and return: every file from both sides survives, the crash-time mail is kept, a conflict is saved and reported', async () => {
    // Last mirrored state.
    await put(serv1, 'cur/conflict', 'base version');
    let t = Date.now();
    await synced(serv2, t);
    // serv1 receives a message and changes a file, then crashes before the replica pulls them.
    await put(serv1, 'new/5-crash', 'delivered just before the crash');
    await put(serv1, 'cur/conflict', 'serv1 edit, never mirrored');
    await crash(serv1);
    expect((await call(serv1, 'monitor')).outcome).toBe('failed-promoted');
    // serv2 takes over: promoted with its copy, the service writes there.
    const pr = await call(serv2, 'promote');
    expect(pr.outcome).toBe('ok');
    expect(pr.reason).toContain('serv1 is unreachable');
    await put(serv2, 'new/6-on-survivor', 'delivered to the survivor');
    await put(serv2, 'cur/conflict', 'serv2 edit during the outage');
    await put(serv2, 'cur/1', 'message one, read on serv2');
    await rm(join(serv2.data, 'new/3'));
    // serv1 returns: started Unpromoted, it follows serv2 but keeps its unmirrored changes.
    t = Date.now();
    expect(await outcome(serv1, 'start')).toBe('ok'); // after the reboot (same boot here: start replaces the dead daemon)
    const first = (await synced(serv1, t)).first;
    // Its tracker survived the crash and stopped cleanly at start: the return reads both journals, no full scan (resume.ts).
    expect(first?.scope).toBe('incremental');
    expect(first?.reason).toContain('resumed from its journal, no full scan: 2 path(s) journaled here since the point in common with serv2');
    const back = await call(serv1, 'monitor');
    expect(back.outcome).toBe('ok');
    expect(back.reason).toContain('local change(s) never mirrored');
    // The file both sides changed is detected as soon as serv1 follows serv2 again: serv2's version in place, serv1's saved.
    expect(back.reason).toContain('WARNING 1 conflicting version(s) saved');
    expect(await readFile(join(serv1.data, 'new/5-crash'), 'utf8')).toBe('delivered just before the crash');
    expect(await readFile(join(serv1.data, 'new/6-on-survivor'), 'utf8')).toBe('delivered to the survivor');
    // Failback: the service stops on serv2 (demote), then serv1 is promoted and resynchronises.
    expect(await outcome(serv2, 'demote')).toBe('ok');
    const home = await call(serv1, 'promote');
    expect(home.outcome).toBe('ok');
    expect(home.reason).toContain('resynchronising from serv2');
    expect(home.reason).toContain('1 local changes kept'); // the crash-time mail
    expect(home.reason).toContain('WARNING 1 conflicting version(s) saved');
    const files = await listTree(serv1.data);
    expect(files).toEqual({
      'cur/1': 'message one, read on serv2',
      'cur/conflict': 'serv2 edit during the outage',
      'new/4': 'message four',
      'new/5-crash': 'delivered just before the crash',
      'new/6-on-survivor': 'delivered to the survivor',
    });
    // serv1's edit of the conflicting file is saved, named after the file, the node and the time.
    const conflicts = await listTree(`${serv1.data}.mirror/conflicts`);
    const saved = Object.entries(conflicts).filter(([k]) => k.startsWith('cur/conflict.serv1.'));
    expect(saved.map(([, v]) => v)).toEqual(['serv1 edit, never mirrored']);
    expect(conflicts['CONFLICTS.log']).toContain('cur/conflict: changed on serv1 and on serv2');
    const mon = await call(serv1, 'monitor');
    expect(mon.outcome).toBe('running-promoted');
    expect(mon.reason).toContain('WARNING 1 conflicting version(s)');
    // And serv2, now the replica, converges on the merged copy — without a merge of its own nor a
    // walk of the tree: serv1 publishes that its promotion merged serv2's journal through its last
    // generation (nothing was written on serv2 since, so serv2's copy holds nothing serv1 lacks) and
    // its own journal since it followed serv2 with the local changes it kept: serv2 pulls those paths.
    expect(JSON.parse(await readFile(`${serv1.data}.mirror/pub/status.json`, 'utf8'))).toMatchObject({
      role: 'promoted',
      mergedFrom: { node: 'serv2' },
      followFrom: { paths: ['new/5-crash'] },
    });
    t = Date.now();
    const ws = await synced(serv2, t);
    expect(ws.lastFull).toBeUndefined();
    expect(ws.scope).toBe('incremental');
    expect(await listTree(serv2.data)).toEqual(files);
  });

  test('a second, planned switchover moves nothing unexpected and raises no new conflict', async () => {
    await put(serv1, 'new/7', 'seven');
    const t = Date.now();
    await synced(serv2, t);
    expect(await outcome(serv1, 'demote')).toBe('ok');
    const r = await call(serv2, 'promote');
    expect(r.outcome).toBe('ok');
    expect(r.reason).not.toContain('WARNING');
    expect(await listTree(serv2.data)).toEqual(await listTree(serv1.data));
    // stop is idempotent, monitor then says not running
    expect(await outcome(serv1, 'stop')).toBe('ok');
    expect(await outcome(serv1, 'stop')).toBe('ok');
    expect(await outcome(serv1, 'monitor')).toBe('not-running');
  });

  test('return while the survivor already stopped its service: the conflict is found at promote, and reported there', async () => {
    const [a, b] = await pair('promote-time');
    await put(a, 'cur/x', 'base');
    await put(a, 'cur/y', 'base');
    expect(await outcome(a, 'start')).toBe('ok');
    expect(await outcome(a, 'promote')).toBe('ok');
    let t = Date.now();
    expect(await outcome(b, 'start')).toBe('ok');
    await synced(b, t);
    await put(a, 'cur/x', 'a: never mirrored');
    await put(a, 'new/crash', 'a: delivered before the crash');
    await crash(a);
    expect(await outcome(b, 'promote')).toBe('ok');
    await put(b, 'cur/x', 'b: written during the outage');
    await rm(join(b.data, 'cur/y'));
    await put(b, 'new/b', 'b: delivered to the survivor');
    // The cluster stops the service on b (demote) before a is even started again, then starts and promotes a.
    expect(await outcome(b, 'demote')).toBe('ok');
    t = Date.now();
    expect(await outcome(a, 'start')).toBe('ok');
    const r = await call(a, 'promote');
    expect(r.outcome).toBe('ok');
    expect(r.reason).toMatch(
      /merged 2 files from serv2 .*2 taken, 1 removed, 1 local changes kept; WARNING 1 conflict\(s\).*cur\/x: changed on serv1 and on serv2/,
    );
    expect(await listTree(a.data)).toEqual({
      'cur/x': 'b: written during the outage',
      'new/b': 'b: delivered to the survivor',
      'new/crash': 'a: delivered before the crash',
    });
    const saved = await listTree(`${a.data}.mirror/conflicts`);
    expect(Object.entries(saved).find(([k]) => k.startsWith('cur/x.serv1.'))?.[1]).toBe('a: never mirrored');
    t = Date.now();
    await synced(b, t);
    expect(await listTree(b.data)).toEqual(await listTree(a.data));
  });

  test('secretFile: the daemons require the shared secret; a wrong one is refused; the modules are read-only', async () => {
    const secret = join(root, 'secret');
    await writeFile(secret, 's3cret-for-the-test\n', { mode: 0o600 });
    const [a, b] = await pair('auth', { secretFile: secret });
    await put(a, 'f', 'authenticated copy');
    expect(await outcome(a, 'start')).toBe('ok');
    expect(await outcome(a, 'promote')).toBe('ok');
    const t = Date.now();
    expect(await outcome(b, 'start')).toBe('ok');
    await synced(b, t);
    expect(await readFile(join(b.data, 'f'), 'utf8')).toBe('authenticated copy');
    const port = String((a.params.peers as Record<string, string>).serv1).split(':')[1];
    const wrong = join(root, 'wrong');
    await writeFile(wrong, 'nope\n', { mode: 0o600 });
    const denied = await runner.run('rsync', [`--password-file=${wrong}`, `rsync://paceline@127.0.0.1:${port}/data/`, join(root, 'stolen/')]);
    expect(denied.exitCode).not.toBe(0);
    expect(denied.stderr).toMatch(/auth failed/);
    // The password is derived from the file (never the file itself), kept owner-only in the state directory.
    const password = join(b.state, 'client.secret');
    expect((await stat(password)).mode & 0o777).toBe(0o600);
    expect(await readFile(password, 'utf8')).not.toContain('s3cret-for-the-test');
    // Even with the password, nobody can write into a node's copy through its daemon.
    const pushed = await runner.run('rsync', [`--password-file=${password}`, secret, `rsync://paceline@127.0.0.1:${port}/data/intruder`]);
    expect(pushed.exitCode).not.toBe(0);
    expect(pushed.stderr).toMatch(/read only/);
    expect(existsSync(join(a.data, 'intruder'))).toBe(false);
  });

  test('without secretFile and without the cluster key, start is misconfigured naming the key file; auth: none runs with a warning', async () => {
    const [a] = await pair('nokey');
    const missing = join(root, 'no-such.key');
    const noKey = async (action: AgentAction): Promise<ActionResult> => {
      const v = validateParams(mirrorAgent, a.params, 'data');
      if (!v.ok) throw new Error(v.message);
      return invokeAgent(mirrorAgent, {
        action,
        params: v.params,
        node: a.name,
        instance: 'data',
        stateDir: a.state,
        run: runner,
        log: silentLogger,
        clock,
        timeoutMs: 20_000,
        keyFile: missing,
      });
    };
    for (const action of ['validate', 'start'] as const) {
      const r = await noKey(action);
      expect(r.outcome).toBe('misconfigured');
      expect(r.reason).toContain(`no secretFile, and no cluster key at ${missing}`);
      expect(r.reason).toContain('auth: none');
    }
    expect(await outcome(a, 'monitor')).toBe('not-running');
    const [c, d] = await pair('open', { auth: 'none' });
    await put(c, 'f', 'unauthenticated copy');
    const started = await call(c, 'start');
    expect(started.outcome).toBe('ok');
    expect(started.reason).toContain('WARNING unauthenticated (auth: none)');
    expect(await outcome(c, 'promote')).toBe('ok');
    const t = Date.now();
    expect(await outcome(d, 'start')).toBe('ok');
    await synced(d, t);
    expect(await readFile(join(d.data, 'f'), 'utf8')).toBe('unauthenticated copy');
    expect((await call(d, 'monitor')).reason).toContain('WARNING unauthenticated');
    expect(validateParams(mirrorAgent, { ...c.params, secretFile: join(root, 'secret') }, 'data')).toMatchObject({ ok: false });
  });

  test('a secret file that others can read, or a symbolic link, is refused, naming the file', async () => {
    const loose = join(root, 'loose-secret');
    await writeFile(loose, 'shared\n', { mode: 0o644 });
    await chmod(loose, 0o644);
    const [a] = await pair('loose', { secretFile: loose });
    for (const action of ['validate', 'start'] as const) {
      const r = await call(a, action);
      expect(r.outcome).toBe('misconfigured');
      expect(r.reason).toContain(`secretFile ${loose} has mode 0644: group and others must have no access (run: chmod 600 ${loose})`);
    }
    const link = join(root, 'link-secret');
    await chmod(loose, 0o600);
    await symlink(loose, link);
    const [c] = await pair('linked', { secretFile: link });
    expect((await call(c, 'validate')).reason).toContain('a symbolic link is not accepted');
  });

  // Issue #16, item 10: any local user read a 0600 file through the daemon (root, no authentication).
  const asNobody = process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0;
  (asNobody ? test : test.skip)('a local user without the cluster key cannot read a 0600 file through the daemon (root: runs rsync as nobody)', async () => {
    const [a, b] = await pair('local-user'); // authenticated with the cluster key the daemon passes (AgentContext.keyFile)
    await put(a, 'private/mail', 'for root only');
    await chmod(join(a.data, 'private/mail'), 0o600);
    expect(await outcome(a, 'start')).toBe('ok');
    expect(await outcome(a, 'promote')).toBe('ok');
    const t = Date.now();
    expect(await outcome(b, 'start')).toBe('ok');
    await synced(b, t);
    expect(await readFile(join(b.data, 'private/mail'), 'utf8')).toBe('for root only');
    const port = String((a.params.peers as Record<string, string>).serv1).split(':')[1];
    const drop = join(root, 'drop');
    await mkdir(drop, { recursive: true });
    await chmod(drop, 0o777);
    await chmod(root, 0o755);
    for (const url of [
      `rsync://127.0.0.1:${port}/data/private/mail`,
      `rsync://paceline@127.0.0.1:${port}/data/private/mail`,
      `rsync://127.0.0.1:${port}/meta/status.json`,
    ]) {
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'rsync', '--contimeout=5', url, `${drop}/`], {
        encoding: 'utf8',
        input: '',
        timeout: 20_000,
      });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/auth failed|password/i);
    }
    expect(await readdir(drop)).toEqual([]);
  });

  test('a replica that cannot reach its primary for longer than maxLagMs reports degraded, with how far behind it is', async () => {
    const [a, b] = await pair('lag', { maxLagMs: 1000 });
    expect(await outcome(a, 'start')).toBe('ok');
    expect(await outcome(a, 'promote')).toBe('ok');
    const t = Date.now();
    expect(await outcome(b, 'start')).toBe('ok');
    await synced(b, t);
    expect(await outcome(a, 'stop')).toBe('ok');
    await new Promise((r) => setTimeout(r, 1300));
    const m = await call(b, 'monitor');
    expect(m.outcome).toBe('degraded');
    expect(m.reason).toMatch(/not synced for \d+(\.\d)? s \(copy as of .*\): cannot read serv1's status\.json/);
  });

  test('a promotion whose pull fails after the peer answered is refused, not done with the local copy', async () => {
    const [a, b] = await pair('pull-fails');
    await put(a, 'f', 'v1');
    expect(await outcome(a, 'start')).toBe('ok');
    expect(await outcome(a, 'promote')).toBe('ok');
    const t = Date.now();
    expect(await outcome(b, 'start')).toBe('ok');
    await synced(b, t);
    expect(await outcome(a, 'demote')).toBe('ok');
    await put(a, 'f', 'v2: written just before the switchover');
    // The link breaks between the status check and the data transfer.
    const breaking: CommandRunner = {
      run: (file, args, o) =>
        args.some((x) => x.includes('/data/'))
          ? Promise.resolve({ exitCode: 10, stdout: '', stderr: 'rsync error: error in socket IO (code 10)', timedOut: false, notFound: false })
          : runner.run(file, args, o),
      spawn: (file, args, o) => runner.spawn(file, args, o),
    };
    const r = await call(b, 'promote', breaking);
    expect(r.outcome).toBe('generic-error');
    expect(r.reason).toMatch(/cannot promote: pull (of 1 changed path\(s\) )?from serv1 failed: rsync exit 10.*the peer answered/);
    expect(await outcome(b, 'monitor')).toBe('ok'); // still a replica, its worker resumed
    const again = await call(b, 'promote');
    expect(again.outcome).toBe('ok');
    expect(await readFile(join(b.data, 'f'), 'utf8')).toBe('v2: written just before the switchover');
  });
});
