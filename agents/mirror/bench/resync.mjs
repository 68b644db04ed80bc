#!/usr/bin/env node
// Measures paceline:mirror on this machine: two "nodes" on loopback (rsync daemons on 127.0.0.1),
// N files of SIZE bytes in directories of 100, for each N of a comma-separated list. Beside each
// figure of the agent (change tracking: a journal on each side, pulls of what changed), the same
// operation done by plain rsync over the whole tree (a full scan: what every pull cost before).
// Run after `npm run build`:
//   node agents/mirror/bench/resync.mjs [SIZES=10000] [SIZE=4096]
//   node agents/mirror/bench/resync.mjs 10000,100000,1000000     (the full run: a quiet machine, ~15 GB of disk)
// Goals (issue #15): 100 files changed → replica in sync ≤ 0.5 s at every size; failback with 100
// changed + 50 unmirrored ≤ 1 s (plus the transfer of the changed bytes); an idle pull ~0 CPU.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { invokeAgent, silentLogger, validateParams } from '@paceline/agent-api';
import { ExecaCommandRunner, SystemClock } from '@paceline/runtime';
import { layoutFor, mirrorAgent, MirrorParams, readWorkerStatus } from '@paceline/agent-mirror';

const SIZES = (process.argv[2] ?? '10000').split(',').map(Number);
const SIZE = Number(process.argv[3] ?? 4096);
const INTERVAL = 2000;
const REPEAT = Number(process.env.REPEAT ?? 5); // the default: the primary rings the replica on change, the interval is only the fallback
const runner = new ExecaCommandRunner();
const clock = new SystemClock();
const HZ = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
const port = () =>
  new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;

/** CPU (ms) a process and its reaped children have used: /proc/PID/stat utime+stime+cutime+cstime. */
function cpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .slice(readFileSync(`/proc/${pid}/stat`, 'utf8').lastIndexOf(')') + 2)
      .split(' ');
    return ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1000) / HZ;
  } catch {
    return 0;
  }
}
/** CPU of a process group's members still alive plus what they reaped (tracker + python watcher, worker + rsync clients…). */
function groupCpuMs(pgid) {
  let t = 0;
  for (const d of spawnSync('ps', ['-o', 'pid=', '-g', String(pgid)], { encoding: 'utf8' }).stdout.split('\n')) if (d.trim()) t += cpuMs(Number(d.trim()));
  return t;
}
/** Plain rsync, timed: wall and CPU (client; the daemon's side is read from its process). */
let passwordArgs = [];
function rsyncTimed(args) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S', 'rsync', ...passwordArgs, ...args], { encoding: 'utf8' });
  const [e, u, s] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  if (r.status !== 0 && r.status !== 24) throw new Error(`rsync ${args.join(' ')}: ${r.stderr}`);
  return { wallMs: e * 1000, cpuMs: (u + s) * 1000 };
}

async function benchSize(N, out) {
  const root = await mkdtemp(join(tmpdir(), `mirror-bench-${process.pid}-${N}-`));
  const peers = { serv1: `127.0.0.1:${await port()}`, serv2: `127.0.0.1:${await port()}` };
  // The shared secret both nodes derive the rsync password from (as the cluster key does in a cluster).
  const secretFile = join(root, 'secret');
  await writeFile(secretFile, randomBytes(32), { mode: 0o600 });
  const node = (name) => ({
    name,
    data: join(root, name, 'data'),
    state: join(root, name, 'state'),
    params: { path: join(root, name, 'data'), peers, intervalMs: INTERVAL, secretFile },
  });
  const s1 = node('serv1');
  const s2 = node('serv2');
  const ref = join(root, 'rsync-reference');
  const call = async (n, action) => {
    const v = validateParams(mirrorAgent, n.params, 'data');
    const r = await invokeAgent(mirrorAgent, {
      action,
      params: v.params,
      node: n.name,
      instance: 'data',
      stateDir: n.state,
      run: runner,
      log: silentLogger,
      clock,
      timeoutMs: 3_600_000,
    });
    if (r.outcome !== 'ok' && r.outcome !== 'running-promoted') throw new Error(`${n.name} ${action}: ${r.outcome} ${r.reason}`);
    return r;
  };
  const layout = (n) => layoutFor(MirrorParams.parse(n.params), n.name, n.state);
  const rec = async (n) => JSON.parse(await readFile(join(n.state, 'instance.json'), 'utf8'));
  const syncedAfter = async (n, t, scope) => {
    for (;;) {
      const ws = await readWorkerStatus(layout(n));
      if (ws?.kind === 'synced' && ws.lastSyncStartedAt > t && (!scope || ws.scope === scope)) return ws;
      await sleep(10);
    }
  };
  const body = (i, tag) => `${tag} ${i} `.padEnd(SIZE, 'x');
  const dir = (i) => `d${Math.floor(i / 100)}`;
  const put = async (n, i, tag) => writeFile(join(n.data, dir(i), `f${i}`), body(i, tag));
  /** Waits until every one of these files has this content on n (what a reader there would see). */
  const holds = async (n, ids, tag) => {
    for (const i of ids) while ((await readFile(join(n.data, dir(i), `f${i}`), 'utf8').catch(() => '')) !== body(i, tag)) await sleep(5);
  };
  const rows = [];
  const row = (what, agent, reference = '', note = '') => rows.push([what, agent, reference, note]);
  const url = (n) => `rsync://paceline@${peers[n.name]}/data/`;
  try {
    let t = Date.now();
    for (let i = 0; i < N; i += 100) await mkdir(join(s1.data, dir(i)), { recursive: true });
    for (let i = 0; i < N; i++) await put(s1, i, 'v1');
    process.stderr.write(`${N}: created ${N} files in ${secs(Date.now() - t)}\n`);
    await call(s1, 'start');
    await call(s1, 'promote');
    t = Date.now();
    await call(s2, 'start');
    passwordArgs = [`--password-file=${join(s2.state, 'client.secret')}`]; // the password start derived from the secret
    const first = await syncedAfter(s2, t);
    const r0 = rsyncTimed(['-a', '--delete', url(s1), `${ref}/`]);
    row(`initial sync (${((N * SIZE) / 1048576).toFixed(0)} MiB): start → in sync`, secs(Date.now() - t), `${secs(r0.wallMs)} (plain rsync)`, first.reason);
    // Followed incrementally from here (the primary's tracker may still be setting up its watches).
    for (;;) if ((await syncedAfter(s2, Date.now())).scope === 'incremental') break;

    // Idle: CPU per second of both sides while nothing changes.
    const r1 = await rec(s1);
    const r2 = await rec(s2);
    const sides = () => groupCpuMs(r2.worker.pid) + groupCpuMs(r1.daemon.pid) + groupCpuMs(r1.tracker.pid) + groupCpuMs(r2.tracker.pid);
    const c0 = sides();
    const w0 = Date.now();
    await sleep(5000);
    const idleCpu = ((sides() - c0) / (Date.now() - w0)) * 1000;
    const rIdle = rsyncTimed(['-a', '--delete', url(s1), `${ref}/`]);
    row(
      `idle: CPU per second, both nodes (a pull every ${INTERVAL} ms)`,
      `${idleCpu.toFixed(0)} ms/s`,
      `${rIdle.cpuMs.toFixed(0)} ms client CPU, ${secs(rIdle.wallMs)} per full-scan pull`,
      'worker+rsync clients, daemon+forks, both trackers+watchers',
    );

    // 100 files changed on the primary → all 100 in place on the replica; REPEAT times (a loaded
    // machine scatters single figures): the median, the spread, and where the last round's time went.
    const lags = [];
    const rounds = [];
    for (let rep = 0; rep < REPEAT; rep++) {
      const changed = Array.from({ length: 100 }, (_, k) => Math.floor((k * N) / 100) + rep);
      for (let i of changed) await put(s1, i, `v2.${rep}`);
      t = Date.now();
      await holds(s2, changed, `v2.${rep}`);
      lags.push(Date.now() - t);
      await sleep(300); // the last round's status is written after its pull
      const round = (await readWorkerStatus(layout(s2)))?.round;
      if (round) rounds.push(round);
      await sleep(500);
    }
    lags.sort((a, b) => a - b);
    const r100 = rsyncTimed(['-a', '--delete', url(s1), `${ref}/`]);
    const ws100 = await readWorkerStatus(layout(s2));
    const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const rung = rounds.filter((r) => r.rung);
    const breakdown = rung.length
      ? `; the last rounds (median of ${rung.length}): ${med(rung.map((r) => r.waitMs ?? 0))} ms from ring to round, ${med(rung.map((r) => r.rsyncRuns))} rsync run(s) taking ${med(rung.map((r) => r.rsyncMs))} ms, round ${med(rung.map((r) => r.totalMs))} ms`
      : '';
    row(
      `100 files changed on the primary → replica in sync (median of ${REPEAT}; min–max)`,
      `${secs(lags[Math.floor(lags.length / 2)])}`,
      `${secs(r100.wallMs)} (full-scan pull)`,
      `${secs(lags[0])}–${secs(lags[lags.length - 1])}${breakdown}; ${ws100.reason}`,
    );

    // Failover after a crash: 50 messages written on serv1 that never reached serv2.
    process.kill(-r1.daemon.pid, 'SIGKILL');
    for (let i = 0; i < 50; i++) await put(s1, Math.floor(N / 2) + i, 'unmirrored');
    await sleep(200); // the tracker journals them (its journal is lost anyway: it dies next)
    process.kill(-r1.tracker.pid, 'SIGKILL');
    t = Date.now();
    const fo = await call(s2, 'promote');
    row('failover: promote the replica (primary unreachable)', secs(Date.now() - t), '', fo.reason.slice(0, 70));
    const theirs = Array.from({ length: 100 }, (_, k) => Math.floor((k * N) / 100) + 99);
    for (const i of theirs) await put(s2, i, 'survivor');
    for (let i = 40; i < 50; i++) await put(s2, Math.floor(N / 2) + i, 'conflict');
    // serv1 returns: started (a full scan: it cannot vouch for its copy), it follows serv2 and keeps its 50.
    await call(s1, 'stop');
    t = Date.now();
    await call(s1, 'start');
    const back = await syncedAfter(s1, t);
    row('return: start → following the survivor (full scan: the crash is a gap)', secs(Date.now() - t), '', back.reason.slice(0, 110));
    for (;;) if ((await syncedAfter(s1, Date.now())).scope === 'incremental') break;
    await call(s2, 'demote');
    t = Date.now();
    const fb = await call(s1, 'promote');
    const fbMs = Date.now() - t;
    const rfb = rsyncTimed(['-a', '--delete', '--dry-run', url(s2), `${join(root, 'serv1', 'data')}/`]);
    row(
      'failback: promote home (resync: 100 changed there, 50 unmirrored here, 10 conflicts)',
      secs(fbMs),
      `${secs(rfb.wallMs)} (full-scan compare, no transfer)`,
      fb.reason.replace(/, saved serv1's as [^;]*/g, '').slice(0, 140),
    );
    t = Date.now();
    const conv = await syncedAfter(s2, t);
    row(
      'the new replica converges (its first sync after demote: a plain pull, the new primary vouching that it merged this copy whole)',
      secs(Date.now() - t),
      '',
      (conv.lastFull?.reason ?? conv.reason).slice(0, 100),
    );
  } finally {
    await call(s1, 'stop').catch(() => undefined);
    await call(s2, 'stop').catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
  out.set(N, rows);
}

const results = new Map();
const load = [];
for (const N of SIZES) {
  load.push(loadavg()[0].toFixed(1));
  await benchSize(N, results);
}
load.push(loadavg()[0].toFixed(1));
process.stdout.write(
  `paceline:mirror, ${SIZES.join(', ')} files of ${SIZE} B, replica interval ${INTERVAL} ms; load average during the run ${load.join(' → ')} on ${(await import('node:os')).cpus().length} CPUs\n\n`,
);
for (const [N, rows] of results) {
  process.stdout.write(`## ${N} files\n`);
  for (const [what, agent, ref, note] of rows)
    process.stdout.write(`  ${agent.padStart(10)}  ${what}${ref ? `   [rsync: ${ref}]` : ''}\n              ${note}\n`);
}
if (results.size > 1) {
  const first = SIZES[0];
  const last = SIZES[SIZES.length - 1];
  process.stdout.write(`\n## growth ${first} → ${last} files\n`);
  const a = results.get(first);
  const b = results.get(last);
  for (let k = 0; k < a.length; k++)
    process.stdout.write(
      `  ${a[k][1].padStart(10)} → ${b[k][1].padEnd(10)}  ${a[k][0]}${a[k][2] ? `   [rsync: ${a[k][2].split(' ')[0]} → ${b[k][2].split(' ')[0]} s]` : ''}\n`,
    );
}
