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
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invokeAgent, silentLogger, validateParams, type ActionResult, type AgentAction } from '@paceline/agent-api';
import { ExecaCommandRunner, SystemClock } from '@paceline/runtime';
import { layoutFor, mirrorAgent, MirrorParams, readWorkerStatus, workerScript } from '@paceline/agent-mirror';

const runner = new ExecaCommandRunner();
const clock = new SystemClock();
let root: string;
const started: Node[] = [];

interface Node {
  name: 'serv1' | 'serv2';
  data: string;
  state: string;
  params: Record<string, unknown>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function pair(tag: string): Promise<[Node, Node]> {
  const peers = { serv1: `127.0.0.1:${await freePort()}`, serv2: `127.0.0.1:${await freePort()}` };
  const mk = (name: 'serv1' | 'serv2'): Node => ({
    name,
    data: join(root, tag, name, 'data'),
    state: join(root, tag, name, 'state'),
    params: { path: join(root, tag, name, 'data'), peers, intervalMs: 150 },
  });
  const nodes: [Node, Node] = [mk('serv1'), mk('serv2')];
  started.push(...nodes);
  return nodes;
}

async function call(n: Node, action: AgentAction): Promise<ActionResult> {
  const v = validateParams(mirrorAgent, n.params, 'data');
  if (!v.ok) throw new Error(v.message);
  return invokeAgent(mirrorAgent, {
    action,
    params: v.params,
    node: n.name,
    instance: 'data',
    stateDir: n.state,
    run: runner,
    log: silentLogger,
    clock,
    timeoutMs: 20_000,
    keyFile: join(root, 'cluster.key'),
  });
}
async function must(n: Node, action: AgentAction): Promise<ActionResult> {
  const r = await call(n, action);
  if (r.outcome !== 'ok' && r.outcome !== 'running-promoted') throw new Error(`${n.name} ${action}: ${r.outcome} ${r.reason}`);
  return r;
}

/** Waits until the replica has completed a sync that began after `since`. */
async function synced(n: Node, since: number): Promise<void> {
  const l = layoutFor(MirrorParams.parse(n.params), n.name, n.state);
  if (typeof l === 'string') throw new Error(l);
  const until = Date.now() + 15_000;
  for (;;) {
    const ws = await readWorkerStatus(l);
    if (ws?.kind === 'synced' && (ws.lastSyncStartedAt ?? 0) > since) return;
    if (Date.now() > until) throw new Error(`${n.name} did not sync: ${JSON.stringify(ws)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Writes `text` to `rel` with this modification time (seconds since the epoch, fractions kept). */
async function putAt(n: Node, rel: string, text: string, mtime: number): Promise<void> {
  await mkdir(join(n.data, rel, '..'), { recursive: true });
  await writeFile(join(n.data, rel), text);
  await utimes(join(n.data, rel), mtime, mtime);
}

/** A whole second in the past: both versions of a file get mtimes inside it. */
const second = (): number => Math.floor(Date.now() / 1000) - 60;

beforeAll(async () => {
  if (!existsSync(workerScript())) throw new Error(`the compiled worker ${workerScript()} is missing: run npx tsc -b agents/mirror first`);
  root = await mkdtemp(join(tmpdir(), `mirror-quick-${process.pid}-`));
  await writeFile(join(root, 'cluster.key'), randomBytes(32), { mode: 0o600 });
});

afterAll(async () => {
  for (const n of started) await call(n, 'stop').catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

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
