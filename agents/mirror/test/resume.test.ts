/**
 * A start without a full scan (resume.ts): a node whose journal is intact from the last point its
 * copy had in common with the peer reads what changed here since from it, checks the gap while
 * nothing watched by directory ctimes, and merges that with the peer's journal lines. Without its
 * journal, the first round is a full sync and says why. (The return of a crashed primary is in
 * mirror.test.ts; the bench runs it at size.) Real rsync daemons on 127.0.0.1.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invokeAgent, silentLogger, validateParams, type ActionResult, type AgentAction } from '@paceline/agent-api';
import { ExecaCommandRunner, SystemClock } from '@paceline/runtime';
import { layoutFor, mirrorAgent, MirrorParams, readWorkerStatus, workerScript, type WorkerStatus } from '@paceline/agent-mirror';

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
async function synced(n: Node, since: number): Promise<WorkerStatus> {
  const l = layoutFor(MirrorParams.parse(n.params), n.name, n.state);
  if (typeof l === 'string') throw new Error(l);
  const until = Date.now() + 15_000;
  for (;;) {
    const ws = await readWorkerStatus(l);
    if (ws?.kind === 'synced' && (ws.lastSyncStartedAt ?? 0) > since) return ws;
    if (Date.now() > until) throw new Error(`${n.name} did not sync: ${JSON.stringify(ws)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function put(n: Node, rel: string, text: string): Promise<void> {
  await mkdir(join(n.data, rel, '..'), { recursive: true });
  await writeFile(join(n.data, rel), text);
}

beforeAll(async () => {
  if (!existsSync(workerScript())) throw new Error(`the compiled worker ${workerScript()} is missing: run npx tsc -b agents/mirror first`);
  root = await mkdtemp(join(tmpdir(), `mirror-resume-${process.pid}-`));
  await writeFile(join(root, 'cluster.key'), randomBytes(32), { mode: 0o600 });
});

afterAll(async () => {
  for (const n of started) await call(n, 'stop').catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

/** A primary `a` and its replica `b`, in sync, with a few files in two directories. */
async function following(tag: string): Promise<[Node, Node]> {
  const [a, b] = await pair(tag);
  for (const f of ['cur/1', 'cur/2', 'new/3']) await put(a, f, `${f} from a`);
  await must(a, 'start');
  await must(a, 'promote');
  const t = Date.now();
  await must(b, 'start');
  await synced(b, t);
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
    const ws = await synced(b, t);
    expect(ws.scope).toBe('incremental');
    expect(ws.lastFull).toBeUndefined();
    expect(ws.reason).toMatch(
      // A clean stop checks directory ctimes; on a machine so loaded that the tracker's stop outlasts
      // the agent's grace (then SIGKILL: no clean marker), every file's — either way one directory changed.
      /resumed from its journal, no full scan: \d+ path\(s\) journaled here since the point in common with serv1; .*1 directorie\(s\) changed/,
    );
    expect(ws.reason).toContain('1 local changes kept');
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
    const ws = await synced(b, t);
    expect(ws.scope).toBe('full');
    expect(ws.reason).toMatch(/pulled 4 files from serv1 .*a full sync: its last journal is missing or does not match its state/);
    expect(await readFile(join(b.data, 'new/5'), 'utf8')).toBe('written on a while b was stopped');
  }, 90_000);
});
