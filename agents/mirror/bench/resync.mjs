#!/usr/bin/env node
// Measures paceline:mirror on this machine: two "nodes" on loopback (rsync daemons on 127.0.0.1),
// N files of SIZE bytes. Run after `npx tsc -b agents/mirror packages/runtime`:
//   node agents/mirror/bench/resync.mjs [N=10000] [SIZE=4096]
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invokeAgent, silentLogger, validateParams } from '@paceline/agent-api';
import { ExecaCommandRunner, SystemClock } from '@paceline/runtime';
import { layoutFor, mirrorAgent, MirrorParams, readWorkerStatus } from '@paceline/agent-mirror';

const N = Number(process.argv[2] ?? 10000);
const SIZE = Number(process.argv[3] ?? 4096);
const runner = new ExecaCommandRunner();
const clock = new SystemClock();
const root = await mkdtemp(join(tmpdir(), `mirror-bench-${process.pid}-`));
const port = () => new Promise((res) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
const peers = { serv1: `127.0.0.1:${await port()}`, serv2: `127.0.0.1:${await port()}` };
const node = (name) => ({ name, data: join(root, name, 'data'), state: join(root, name, 'state'), params: { path: join(root, name, 'data'), peers, intervalMs: 500 } });
const s1 = node('serv1');
const s2 = node('serv2');
const call = async (n, action) => {
  const v = validateParams(mirrorAgent, n.params, 'data');
  const r = await invokeAgent(mirrorAgent, { action, params: v.params, node: n.name, instance: 'data', stateDir: n.state, run: runner, log: silentLogger, clock, timeoutMs: 600_000 });
  if (r.outcome !== 'ok' && r.outcome !== 'running-promoted') throw new Error(`${n.name} ${action}: ${r.outcome} ${r.reason}`);
  return r;
};
const layout = (n) => layoutFor(MirrorParams.parse(n.params), n.name, n.state);
const syncedAfter = async (n, t) => {
  for (;;) {
    const ws = await readWorkerStatus(layout(n));
    if (ws?.kind === 'synced' && ws.lastSyncStartedAt > t) return ws;
    await new Promise((r) => setTimeout(r, 20));
  }
};
const body = (i, tag) => `${tag} ${i} `.padEnd(SIZE, 'x');
const put = async (n, i, tag) => { const d = join(n.data, `d${i % 100}`); await mkdir(d, { recursive: true }); await writeFile(join(d, `f${i}`), body(i, tag)); };
const rows = [];
const time = async (what, f) => { const t = Date.now(); const extra = await f(); rows.push([what, Date.now() - t, extra ?? '']); };
try {
  for (let i = 0; i < N; i++) await put(s1, i, 'v1');
  await call(s1, 'start');
  await call(s1, 'promote');
  await time(`initial sync of ${N} files (${(N * SIZE / 1048576).toFixed(0)} MiB): replica start → in sync`, async () => { const t = Date.now(); await call(s2, 'start'); return (await syncedAfter(s2, t)).reason; });
  await time('one replica pull with nothing changed (worker loop)', async () => (await syncedAfter(s2, Date.now())).reason);
  await time('100 files changed on the primary → replica in sync', async () => { for (let i = 0; i < 100; i++) await put(s1, i, 'v2'); return (await syncedAfter(s2, Date.now())).reason; });
  for (let i = 100; i < 150; i++) await put(s1, i, 'crash');
  const rec = JSON.parse(await readFile(join(s1.state, 'instance.json'), 'utf8'));
  for (const pid of [rec.daemon.pid]) process.kill(-pid, 'SIGKILL');
  await time('failover: promote the replica (primary unreachable)', async () => (await call(s2, 'promote')).reason.slice(0, 60));
  for (let i = 200; i < 300; i++) await put(s2, i, 'survivor');
  for (let i = 140; i < 150; i++) await put(s2, i, 'conflict');
  await call(s2, 'demote');
  await call(s1, 'stop');
  await call(s1, 'start');
  await time(`failback: promote home = three-way resync (${N} files, 100 changed there, 50 unmirrored here, 10 conflicts)`, async () => (await call(s1, 'promote')).reason.replace(/; WARNING 10 conflicting.*$/, '').replace(/, saved serv1's as [^;]*/g, '').slice(0, 160));
  await time('the new replica converges on the merged copy', async () => (await syncedAfter(s2, Date.now())).reason);
  for (const [what, ms, extra] of rows) process.stdout.write(`${String(ms).padStart(7)} ms  ${what}\n           ${extra}\n`);
} finally {
  await call(s1, 'stop').catch(() => undefined);
  await call(s2, 'stop').catch(() => undefined);
  await rm(root, { recursive: true, force: true });
}
