/**
 * paceline:mirror across a real link: two network namespaces joined by a veth "crossover" cable,
 * each running its instance (rsync daemon and worker) inside its namespace through a runner that
 * prefixes `ip netns exec NS`. Root only; skipped with a printed reason otherwise.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invokeAgent, silentLogger, validateParams, type ActionResult, type AgentAction, type CommandRunner } from '@paceline/agent-api';
import { ExecaCommandRunner, SystemClock } from '@paceline/runtime';
import { layoutFor, mirrorAgent, MirrorParams, readWorkerStatus, workerScript } from '@paceline/agent-mirror';

const skip = ((): string | undefined => {
  if (process.getuid?.() !== 0) return 'not root: the network-namespace mirror test needs root';
  const r = spawnSync('ip', ['netns', 'list']);
  return r.error || r.status !== 0 ? `cannot use network namespaces: ${r.error?.message ?? r.stderr.toString().trim()}` : undefined;
})();
if (skip) process.stdout.write(`SKIP agents/mirror netns test: ${skip}\n`);
const maybe = skip ? describe.skip : describe;

const tag = `mir${process.pid}`;
const ns = { serv1: `${tag}-s1`, serv2: `${tag}-s2` };
const addr = { serv1: '10.99.77.1', serv2: '10.99.77.2' };
const base = new ExecaCommandRunner();
const clock = new SystemClock();
let root: string;

const ip = (...args: string[]): void => {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
};

/** Runs and spawns every command inside the namespace. */
function inNs(name: string): CommandRunner {
  return {
    run: (file, args, o) => base.run('ip', ['netns', 'exec', name, file, ...args], o),
    spawn: (file, args, o) => base.spawn('ip', ['netns', 'exec', name, file, ...args], o),
  };
}

function call(node: 'serv1' | 'serv2', action: AgentAction, extra: { fencedNodes?: string[] } = {}): Promise<ActionResult> {
  const v = validateParams(mirrorAgent, params(node), 'data');
  if (!v.ok) throw new Error(v.message);
  return invokeAgent(mirrorAgent, {
    action,
    params: v.params,
    node,
    instance: 'data',
    stateDir: join(root, node, 'state'),
    run: inNs(ns[node]),
    log: silentLogger,
    clock,
    timeoutMs: 20_000,
    keyFile: join(root, 'cluster.key'),
    ...extra,
  });
}
const params = (node: 'serv1' | 'serv2') => ({ path: join(root, node, 'data'), peers: { serv1: addr.serv1, serv2: addr.serv2 }, port: 8730, intervalMs: 200 });

/** Every file below dir: relative path → content. */
async function listFiles(dir: string, rel = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) Object.assign(out, await listFiles(dir, r));
    else out[r] = await readFile(join(dir, r), 'utf8');
  }
  return out;
}

maybe('paceline:mirror over a veth crossover between two network namespaces', () => {
  beforeAll(async () => {
    if (!existsSync(workerScript())) throw new Error(`the compiled worker ${workerScript()} is missing: run npx tsc -b agents/mirror first`);
    root = await mkdtemp(join(tmpdir(), `mirror-netns-${process.pid}-`));
    // The cluster key the node's daemon runs with (`paceline daemon --key`), as the daemon passes it: every pair authenticates.
    await writeFile(join(root, 'cluster.key'), randomBytes(32), { mode: 0o600 });
    ip('netns', 'add', ns.serv1);
    ip('netns', 'add', ns.serv2);
    const tmp = `mv${process.pid % 100000}`;
    ip('link', 'add', tmp, 'type', 'veth', 'peer', 'name', `${tmp}p`);
    ip('link', 'set', tmp, 'netns', ns.serv1);
    ip('link', 'set', `${tmp}p`, 'netns', ns.serv2);
    for (const [node, dev] of [
      ['serv1', tmp],
      ['serv2', `${tmp}p`],
    ] as const) {
      ip('-n', ns[node], 'link', 'set', 'lo', 'up');
      ip('-n', ns[node], 'link', 'set', dev, 'name', 'xover0');
      ip('-n', ns[node], 'addr', 'add', `${addr[node]}/24`, 'dev', 'xover0');
      ip('-n', ns[node], 'link', 'set', 'xover0', 'up');
    }
  });

  afterAll(async () => {
    for (const n of ['serv1', 'serv2'] as const) await call(n, 'stop').catch(() => undefined);
    for (const n of Object.values(ns)) spawnSync('ip', ['netns', 'del', n]);
    if (root) await rm(root, { recursive: true, force: true });
  });

  test('the replica follows the primary over the crossover; the link cut makes it fall behind; failback loses nothing', async () => {
    await mkdir(join(root, 'serv1', 'data'), { recursive: true });
    await writeFile(join(root, 'serv1', 'data', 'a'), 'from serv1');
    expect((await call('serv1', 'start')).outcome).toBe('ok');
    expect((await call('serv1', 'promote')).outcome).toBe('ok');
    expect((await call('serv2', 'start')).outcome).toBe('ok');
    const l2 = layoutFor(MirrorParams.parse(params('serv2')), 'serv2', join(root, 'serv2', 'state'));
    if (typeof l2 === 'string') throw new Error(l2);
    const waitFor = async (pred: () => Promise<boolean>, what: string): Promise<void> => {
      const until = Date.now() + 10_000;
      while (!(await pred())) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(await readWorkerStatus(l2))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await waitFor(async () => (await readWorkerStatus(l2))?.kind === 'synced', 'the first pull');
    expect(await readFile(join(root, 'serv2', 'data', 'a'), 'utf8')).toBe('from serv1');
    // Cut the crossover: the replica cannot pull; its worker says so.
    ip('-n', ns.serv2, 'link', 'set', 'xover0', 'down');
    await writeFile(join(root, 'serv1', 'data', 'b'), 'written while the link was down');
    await waitFor(async () => (await readWorkerStatus(l2))?.kind === 'unreachable', 'the replica to notice the cut');
    const m = await call('serv2', 'monitor');
    expect(m.outcome).toBe('ok'); // within maxLagMs: behind, and it says so
    expect(m.reason).toMatch(/not synced for/);
    // serv2 takes over without the unmirrored file; serv1 keeps it; the link returns; failback merges.
    expect((await call('serv2', 'promote')).reason).toContain('unreachable');
    await writeFile(join(root, 'serv2', 'data', 'c'), 'written on the survivor');
    expect((await call('serv1', 'demote')).outcome).toBe('ok');
    ip('-n', ns.serv2, 'link', 'set', 'xover0', 'up');
    expect((await call('serv2', 'demote')).outcome).toBe('ok');
    const r = await call('serv1', 'promote');
    expect(r.outcome).toBe('ok');
    expect(r.reason).toContain('resynchronising from serv2');
    for (const [f, text] of [
      ['a', 'from serv1'],
      ['b', 'written while the link was down'],
      ['c', 'written on the survivor'],
    ]) {
      expect(await readFile(join(root, 'serv1', 'data', f!), 'utf8')).toBe(text);
      await waitFor(async () => existsSync(join(root, 'serv2', 'data', f!)), `${f} on serv2`);
    }
  });
  // Issue #16, item 10: the daemon (root, no authentication by default) admitted the node's own
  // address, so any local user read a 0600 file through it. Now only the peer's address is admitted.
  test('a local user on the node cannot read a 0600 file through its own rsync daemon (default parameters)', async () => {
    const secretPath = join(root, 'serv1', 'data', 'private');
    await writeFile(secretPath, 'root only', { mode: 0o600 });
    await chmod(secretPath, 0o600);
    const drop = join(root, 'drop');
    await mkdir(drop, { recursive: true });
    await chmod(drop, 0o777);
    await chmod(root, 0o755);
    const r = spawnSync(
      'ip',
      [
        'netns',
        'exec',
        ns.serv1,
        'setpriv',
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        'rsync',
        '--contimeout=5',
        `rsync://${addr.serv1}:8730/data/private`,
        `${drop}/`,
      ],
      { encoding: 'utf8', input: '', timeout: 20_000 },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Unknown module|access denied/);
    expect(existsSync(join(drop, 'private'))).toBe(false);
  });
  test('a crash of the primary in the middle of a burst of writes: after failover and failback every acknowledged file is served, nothing the replica had is lost', async () => {
    const data = (n: 'serv1' | 'serv2') => join(root, n, 'data');
    const l2 = layoutFor(MirrorParams.parse(params('serv2')), 'serv2', join(root, 'serv2', 'state'));
    const l1 = layoutFor(MirrorParams.parse(params('serv1')), 'serv1', join(root, 'serv1', 'state'));
    if (typeof l2 === 'string' || typeof l1 === 'string') throw new Error('layout');
    const syncedAfter = async (l: typeof l2, since: number, scope?: 'incremental'): Promise<void> => {
      const until = Date.now() + 30_000;
      for (;;) {
        const ws = await readWorkerStatus(l);
        if (ws?.kind === 'synced' && (ws.lastSyncStartedAt ?? 0) > since && (scope === undefined || ws.scope === scope)) return;
        if (Date.now() > until) throw new Error(`no sync: ${JSON.stringify(ws)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    // serv1 is Promoted and serv2 follows its journal (the state the tests above leave).
    await syncedAfter(l2, Date.now(), 'incremental');
    await mkdir(join(data('serv1'), 'burst'), { recursive: true });
    await new Promise((r) => setTimeout(r, 300));
    // The service on serv1 delivers messages: each is acknowledged once written, fsynced and closed.
    const acked: string[] = [];
    let crashed = false;
    const writer = (async () => {
      for (let i = 0; !crashed; i++) {
        const name = `burst/m${i}`;
        const fh = await open(join(data('serv1'), name), 'w');
        await fh.write(`message ${i} `.padEnd(2000, 'x'));
        await fh.sync();
        await fh.close();
        if (!crashed) acked.push(name);
      }
    })();
    await new Promise((r) => setTimeout(r, 700));
    // Power loss on serv1: its daemon, tracker and worker die at once; the service with them.
    const rec = JSON.parse(await readFile(join(root, 'serv1', 'state', 'instance.json'), 'utf8')) as Record<string, { pid: number } | undefined>;
    crashed = true;
    for (const o of [rec.daemon, rec.tracker, rec.worker])
      if (o)
        try {
          process.kill(-o.pid, 'SIGKILL');
        } catch (e) {
          void e;
        }
    await writer;
    expect(acked.length).toBeGreaterThan(10);
    // Failover: serv2 promoted with what it has; the service writes there.
    expect((await call('serv2', 'promote')).reason).toContain('unreachable');
    for (let i = 0; i < 20; i++) await writeFile(join(data('serv2'), `survivor-${i}`), `on serv2 ${i}`);
    const onReplica = await listFiles(data('serv2'));
    // serv1 comes back (started, it follows serv2 and keeps its unmirrored messages), then fails back.
    let t = Date.now();
    expect((await call('serv1', 'start')).outcome).toBe('ok');
    await syncedAfter(l1, t);
    expect((await call('serv2', 'demote')).outcome).toBe('ok');
    const home = await call('serv1', 'promote');
    expect(home.outcome).toBe('ok');
    expect(home.reason).not.toContain('WARNING');
    // The failback resync read serv2's journal since serv1's return, not the tree.
    expect(home.reason).toMatch(/resynchronising from serv2: (nothing changed on serv2|(pulled|merged) \d+ change\(s\))/);
    const served = await listFiles(data('serv1'));
    const missing = acked.filter((f) => served[f] === undefined);
    expect(missing).toEqual([]);
    for (const f of acked) expect(served[f]).toMatch(/^message \d+ x+$/);
    for (const [f, text] of Object.entries(onReplica)) expect([f, served[f]]).toEqual([f, text]);
    // And serv2, the replica again, converges on what serv1 serves.
    t = Date.now();
    await syncedAfter(l2, t);
    await syncedAfter(l2, Date.now());
    expect(await listFiles(data('serv2'))).toEqual(await listFiles(data('serv1')));
  }, 120_000);

  test('power loss of the primary: promote asks the dead peer and waits for the connection to fail; told that the peer was fenced, it promotes at once', async () => {
    const l2 = layoutFor(MirrorParams.parse(params('serv2')), 'serv2', join(root, 'serv2', 'state'));
    if (typeof l2 === 'string') throw new Error(l2);
    // serv1 is Promoted and serv2 follows it (the state the tests above leave).
    const until = Date.now() + 30_000;
    while ((await readWorkerStatus(l2))?.kind !== 'synced') {
      if (Date.now() > until) throw new Error(`no sync: ${JSON.stringify(await readWorkerStatus(l2))}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    await writeFile(join(root, 'serv1', 'data', 'before-the-power-loss'), 'mirrored');
    const t = Date.now();
    while (!((await readWorkerStatus(l2))?.kind === 'synced' && ((await readWorkerStatus(l2))?.lastSyncStartedAt ?? 0) > t)) {
      if (Date.now() > until) throw new Error('no sync after the write');
      await new Promise((r) => setTimeout(r, 25));
    }
    // Power loss: serv1's processes die and its crossover port answers nothing, ARP included.
    const rec = JSON.parse(await readFile(join(root, 'serv1', 'state', 'instance.json'), 'utf8')) as Record<string, { pid: number } | undefined>;
    for (const o of [rec.daemon, rec.tracker, rec.worker])
      if (o)
        try {
          process.kill(-o.pid, 'SIGKILL');
        } catch (e) {
          void e;
        }
    const nft = (...args: string[]): void => {
      const r = spawnSync('ip', ['netns', 'exec', ns.serv1, 'nft', ...args], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`nft ${args.join(' ')}: ${r.stderr}`);
    };
    nft('add', 'table', 'netdev', 'powerloss');
    nft('add', 'chain', 'netdev', 'powerloss', 'in', '{ type filter hook ingress device xover0 priority 0; policy drop; }');
    try {
      // Not told: promote must find out that serv1 is gone, by waiting for the connection to fail.
      let started = Date.now();
      const asked = await call('serv2', 'promote');
      const askedMs = Date.now() - started;
      expect(asked.outcome).toBe('ok');
      expect(asked.reason).toContain('unreachable');
      expect((await call('serv2', 'demote')).outcome).toBe('ok');
      // Told by the daemon that serv1 was fenced: at once, with the local copy.
      started = Date.now();
      const told = await call('serv2', 'promote', { fencedNodes: ['serv1'] });
      const toldMs = Date.now() - started;
      process.stdout.write(`mirror promote after the peer's power loss: ${askedMs} ms asking the dead peer, ${toldMs} ms told it was fenced\n`);
      expect(told.outcome).toBe('ok');
      expect(told.reason).toContain('without asking serv1: it was fenced');
      expect(toldMs).toBeLessThan(askedMs);
      expect(await readFile(join(root, 'serv2', 'data', 'before-the-power-loss'), 'utf8')).toBe('mirrored');
    } finally {
      nft('delete', 'table', 'netdev', 'powerloss');
    }
  }, 120_000);

  test('told that some other node was fenced, promote still asks its live peer (and refuses while the peer is Promoted)', async () => {
    // serv2 is Promoted (the test above); serv1 comes back and follows it; a third node's fencing does not let serv1 skip serv2.
    expect((await call('serv1', 'start')).outcome).toBe('ok');
    const r = await call('serv1', 'promote', { fencedNodes: ['serv3'] });
    expect(r.outcome).not.toBe('ok');
    expect(r.reason).toContain('serv2 is still Promoted');
  }, 60_000);
});
