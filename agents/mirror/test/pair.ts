/**
 * The harness the mirror's live tests share (quickcheck, resume, tracking): pairs of
 * `paceline:mirror` instances with real rsync daemons on 127.0.0.1, driven through the agent API as
 * the daemon drives them, under one scratch root with a cluster key. Call `setUp` in `beforeAll`
 * and `tearDown` in `afterAll` (it stops every instance started and removes the root).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invokeAgent, silentLogger, validateParams, type ActionResult, type AgentAction } from '@paceline/agent-api';
import { ExecaCommandRunner, SystemClock } from '@paceline/runtime';
import { layoutFor, mirrorAgent, MirrorParams, readWorkerStatus, workerScript, type WorkerStatus } from '@paceline/agent-mirror';

export interface MirrorNode {
  readonly name: 'serv1' | 'serv2';
  readonly data: string;
  readonly state: string;
  readonly params: Record<string, unknown>;
}

export interface MirrorPairOptions {
  /** Each action's timeout (default 20 s). */
  readonly timeoutMs?: number;
  /** The instances' `intervalMs` unless `pair` is given one (default 150). */
  readonly intervalMs?: number;
  /** Compiled scripts that must exist (default: the worker). */
  readonly scripts?: () => readonly string[];
}

/** A TCP port free on 127.0.0.1 now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Writes `text` to `rel` in a node's data, making its directories. */
export async function put(n: MirrorNode, rel: string, text: string): Promise<void> {
  await mkdir(join(n.data, rel, '..'), { recursive: true });
  await writeFile(join(n.data, rel), text);
}

export function mirrorPairs(prefix: string, options: MirrorPairOptions = {}) {
  const runner = new ExecaCommandRunner();
  const clock = new SystemClock();
  const started: MirrorNode[] = [];
  let root = '';

  const call = (n: MirrorNode, action: AgentAction): Promise<ActionResult> => {
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
      timeoutMs: options.timeoutMs ?? 20_000,
      keyFile: join(root, 'cluster.key'),
    });
  };
  const layout = (n: MirrorNode) => {
    const l = layoutFor(MirrorParams.parse(n.params), n.name, n.state);
    if (typeof l === 'string') throw new Error(l);
    return l;
  };
  return {
    /** The scratch root (valid after `setUp`). */
    get root(): string {
      return root;
    },
    async setUp(): Promise<void> {
      for (const script of options.scripts?.() ?? [workerScript()])
        if (!existsSync(script)) throw new Error(`the compiled ${script} is missing: run npx tsc -b agents/mirror first`);
      root = await mkdtemp(join(tmpdir(), `${prefix}-${process.pid}-`));
      // The cluster key the node's daemon runs with (`paceline daemon --key`), as the daemon passes it: every pair authenticates.
      await writeFile(join(root, 'cluster.key'), randomBytes(32), { mode: 0o600 });
    },
    async tearDown(): Promise<void> {
      for (const n of started) await call(n, 'stop').catch(() => undefined);
      if (root) await rm(root, { recursive: true, force: true });
    },
    /** serv1 and serv2 under `tag`, each the other's peer on a free port. */
    async pair(tag: string, intervalMs = options.intervalMs ?? 150, extra: Record<string, unknown> = {}): Promise<[MirrorNode, MirrorNode]> {
      const peers = { serv1: `127.0.0.1:${await freePort()}`, serv2: `127.0.0.1:${await freePort()}` };
      const mk = (name: 'serv1' | 'serv2'): MirrorNode => ({
        name,
        data: join(root, tag, name, 'data'),
        state: join(root, tag, name, 'state'),
        params: { path: join(root, tag, name, 'data'), peers, intervalMs, ...extra },
      });
      const nodes: [MirrorNode, MirrorNode] = [mk('serv1'), mk('serv2')];
      started.push(...nodes);
      return nodes;
    },
    call,
    /** `call`, and an error unless it answered ok (or running-promoted). */
    async must(n: MirrorNode, action: AgentAction): Promise<ActionResult> {
      const r = await call(n, action);
      if (r.outcome !== 'ok' && r.outcome !== 'running-promoted') throw new Error(`${n.name} ${action}: ${r.outcome} ${r.reason}`);
      return r;
    },
    layout,
    /** Waits until the replica has completed a sync that began after `since`. */
    async synced(n: MirrorNode, since: number, timeoutMs = 15_000, everyMs = 50): Promise<WorkerStatus> {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const ws = await readWorkerStatus(layout(n));
        if (ws?.kind === 'synced' && (ws.lastSyncStartedAt ?? 0) > since) return ws;
        if (Date.now() > until) throw new Error(`${n.name} did not sync: ${JSON.stringify(ws)}`);
        await new Promise((r) => setTimeout(r, everyMs));
      }
    },
  };
}
