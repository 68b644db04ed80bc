// The scenario resync.mjs runs at each size: two mirror instances on loopback, the initial sync,
// idle CPU, the lag of 100 changed files, a crash of the primary with 50 unmirrored writes,
// failover, writes on the survivor (10 of them to files the crashed node also wrote), the return,
// the failback (100 changed on the survivor, 40 unmirrored kept), the new replica's first sync, a
// clean stop and start of the replica while the primary writes 100 — then every file's content on
// both nodes.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { invokeAgent, silentLogger, validateParams } from '@paceline/agent-api';
import { ExecaCommandRunner, SystemClock } from '@paceline/runtime';
import { layoutFor, mirrorAgent, MirrorParams, readWorkerStatus } from '@paceline/agent-mirror';

const runner = new ExecaCommandRunner();
const clock = new SystemClock();
const HZ = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;
const freePort = () =>
  new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });

/** A reason without the conflicts' messages and paths (they name every file). */
const short = (reason) =>
  reason
    .replace(/(WARNING \d+ conflict\(s\)), see .*?(?=; resumed|; a full sync|$)/, '$1')
    .replace(/ saved under \S+ \(see CONFLICTS.log; remove them once reviewed\)/, '');

/** CPU (ms) a process and its reaped children have used: /proc/PID/stat utime+stime+cutime+cstime. */
function cpuMs(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
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

/** The files: N of SIZE bytes, f<i> in d<i/100>; a file's content says who wrote it last (its tag). */
class Files {
  constructor(N, size) {
    this.N = N;
    this.size = size;
    /** Tag of each file's last write, where not the initial 'v1'. */
    this.want = new Map();
  }
  dir = (i) => `d${Math.floor(i / 100)}`;
  rel = (i) => `${this.dir(i)}/f${i}`;
  body = (i, tag) => `${tag} ${i} `.padEnd(this.size, 'x');
  /** The initial tree, written in one tight synchronous loop (an await per file costs more than the write). */
  create(root) {
    for (let i = 0; i < this.N; i += 100) mkdirSync(join(root, this.dir(i)), { recursive: true });
    for (let i = 0; i < this.N; i++) writeFileSync(join(root, this.rel(i)), this.body(i, 'v1'));
  }
  async put(root, i, tag) {
    await writeFile(join(root, this.rel(i)), this.body(i, tag));
    this.want.set(i, tag);
  }
  /** Waits until every one of these files has this content under root (what a reader there would see). */
  async holds(root, ids, tag) {
    for (const i of ids) while ((await readFile(join(root, this.rel(i)), 'utf8').catch(() => '')) !== this.body(i, tag)) await sleep(5);
  }
  /**
   * What is wrong with the copy under root: files missing or extra, contents not the last write
   * (every file up to 200,000; above, every file written after the initial tree and 1,000 others).
   */
  check(root, node) {
    const problems = [];
    let count = 0;
    for (const d of readdirSync(root)) for (const f of readdirSync(join(root, d))) if (/^f\d+$/.test(f) && this.dir(Number(f.slice(1))) === d) count++;
    if (count !== this.N) problems.push(`${node}: ${count} files where ${this.N} belong`);
    const ids =
      this.N <= 200_000
        ? Array.from({ length: this.N }, (_, i) => i)
        : [...this.want.keys(), ...Array.from({ length: 1000 }, (_, k) => k * Math.floor(this.N / 1000))];
    for (const i of ids) {
      const tag = this.want.get(i) ?? 'v1';
      let got;
      try {
        got = readFileSync(join(root, this.rel(i)), 'utf8');
      } catch (e) {
        got = `(${e.code})`;
      }
      if (got !== this.body(i, tag)) problems.push(`${node}: ${this.rel(i)} is "${got.slice(0, 24).trimEnd()}", not "${tag} ${i}"`);
    }
    return problems;
  }
  /** The conflicts directory must hold exactly node's version of each of these files, saved once. */
  checkConflicts(dir, node, saved) {
    const problems = [];
    const found = new Map();
    const walk = (d, rel) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name), rel ? `${rel}/${e.name}` : e.name);
        else if (!(rel === '' && e.name === 'CONFLICTS.log')) found.set(rel ? `${rel}/${e.name}` : e.name, readFileSync(join(d, e.name), 'utf8'));
      }
    };
    try {
      walk(dir, '');
    } catch (e) {
      if (e.code !== 'ENOENT') throw e;
    }
    for (const [i, tag] of saved) {
      const hits = [...found].filter(([k]) => k.startsWith(`${this.rel(i)}.${node}.`));
      if (hits.length !== 1) problems.push(`${node}: ${hits.length} saved version(s) of ${this.rel(i)}, 1 expected`);
      else if (hits[0][1] !== this.body(i, tag)) problems.push(`${node}: the saved ${hits[0][0]} is not its "${tag}" version`);
    }
    if (found.size !== saved.size) problems.push(`${node}: ${found.size} saved version(s) in ${dir}, ${saved.size} expected`);
    return problems;
  }
}

/** Two nodes of one mirror on loopback, driven through the agent as the daemon would. */
async function makeCluster(root, interval) {
  const peers = { serv1: `127.0.0.1:${await freePort()}`, serv2: `127.0.0.1:${await freePort()}` };
  // The shared secret both nodes derive the rsync password from (as the cluster key does in a cluster).
  const secretFile = join(root, 'secret');
  await writeFile(secretFile, randomBytes(32), { mode: 0o600 });
  const node = (name) => ({
    name,
    data: join(root, name, 'data'),
    state: join(root, name, 'state'),
    conflicts: join(root, name, 'data.mirror', 'conflicts'),
    params: { path: join(root, name, 'data'), peers, intervalMs: interval, secretFile },
  });
  const c = { s1: node('serv1'), s2: node('serv2'), ref: join(root, 'rsync-reference') };
  c.call = async (n, action) => {
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
  c.layout = (n) => layoutFor(MirrorParams.parse(n.params), n.name, n.state);
  c.rec = async (n) => JSON.parse(await readFile(join(n.state, 'instance.json'), 'utf8'));
  /** The worker's first successful sync that began after t (of this scope, if given). */
  c.syncedAfter = async (n, t, scope) => {
    for (;;) {
      const ws = await readWorkerStatus(c.layout(n));
      if (ws?.kind === 'synced' && ws.lastSyncStartedAt > t && (!scope || ws.scope === scope)) return ws;
      await sleep(10);
    }
  };
  c.url = (n) => `rsync://paceline@${peers[n.name]}/data/`;
  /** Plain rsync, timed: wall and client CPU. */
  c.rsync = (args) => {
    const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S', 'rsync', `--password-file=${join(c.s2.state, 'client.secret')}`, ...args], { encoding: 'utf8' });
    const [e, u, s] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
    if (r.status !== 0 && r.status !== 24) throw new Error(`rsync ${args.join(' ')}: ${r.stderr}`);
    return { wallMs: e * 1000, cpuMs: (u + s) * 1000 };
  };
  return c;
}

async function initialSync(c, files, row) {
  const { s1, s2 } = c;
  let t = Date.now();
  files.create(s1.data);
  process.stderr.write(`${files.N}: created ${files.N} files in ${secs(Date.now() - t)}\n`);
  await c.call(s1, 'start');
  await c.call(s1, 'promote');
  t = Date.now();
  await c.call(s2, 'start');
  const first = await c.syncedAfter(s2, t);
  const inSync = Date.now() - t;
  const r0 = c.rsync(['-a', '--delete', c.url(s1), `${c.ref}/`]);
  row(
    `initial sync (${((files.N * files.size) / 1048576).toFixed(0)} MiB): start → in sync`,
    secs(inSync),
    `${secs(r0.wallMs)} (plain rsync)`,
    first.first?.reason ?? first.reason,
  );
  // Followed incrementally from here (the primary's tracker may still be setting up its watches).
  for (;;) if ((await c.syncedAfter(s2, Date.now())).scope === 'incremental') break;
}

async function idle(c, opts, row) {
  const r1 = await c.rec(c.s1);
  const r2 = await c.rec(c.s2);
  const parts = {
    'serv2 worker+rsync': r2.worker.pid,
    'serv1 daemon+forks': r1.daemon.pid,
    'serv1 tracker+watcher': r1.tracker.pid,
    'serv2 tracker+watcher': r2.tracker.pid,
  };
  const sample = () => Object.fromEntries(Object.entries(parts).map(([k, pid]) => [k, groupCpuMs(pid)]));
  // Steady state: a Node process's heap reducer runs a few full collections in its first seconds
  // (8–20 ms each), which at 10,000 files (the trackers started seconds ago) would be most of the window.
  await sleep(opts.idleSettleMs ?? 10_000);
  const c0 = sample();
  const w0 = Date.now();
  await sleep(opts.idleMs);
  const c1 = sample();
  const window = Date.now() - w0;
  const per = (k) => ((c1[k] - c0[k]) / window) * 1000;
  const idleCpu = Object.keys(parts).reduce((t, k) => t + per(k), 0);
  const rIdle = c.rsync(['-a', '--delete', c.url(c.s1), `${c.ref}/`]);
  row(
    `idle: CPU per second, both nodes (over ${secs(opts.idleMs)}; the replica polls only without the primary's heartbeat for ${opts.interval} ms)`,
    `${idleCpu.toFixed(1)} ms/s`,
    `${rIdle.cpuMs.toFixed(0)} ms client CPU, ${secs(rIdle.wallMs)} per full-scan pull`,
    Object.keys(parts)
      .map((k) => `${k} ${per(k).toFixed(1)}`)
      .join(', '),
  );
}

/** 100 files changed on the primary → all 100 in place on the replica; REPEAT times (a loaded machine scatters single figures). */
async function lag(c, files, opts, row) {
  const lags = [];
  const rounds = [];
  const N = files.N;
  for (let rep = 0; rep < opts.repeat; rep++) {
    const changed = Array.from({ length: 100 }, (_, k) => Math.floor((k * N) / 100) + rep);
    for (const i of changed) await files.put(c.s1.data, i, `v2.${rep}`);
    const t = Date.now();
    await files.holds(c.s2.data, changed, `v2.${rep}`);
    lags.push(Date.now() - t);
    await sleep(300); // the last round's status is written after its pull
    const round = (await readWorkerStatus(c.layout(c.s2)))?.applied?.round;
    if (round) rounds.push(round);
    await sleep(500);
  }
  lags.sort((a, b) => a - b);
  const r100 = c.rsync(['-a', '--delete', c.url(c.s1), `${c.ref}/`]);
  const ws100 = await readWorkerStatus(c.layout(c.s2));
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rung = rounds.filter((r) => r.rung);
  const breakdown = rung.length
    ? `; the last rounds (median of ${rung.length}): ${med(rung.map((r) => r.waitMs ?? 0))} ms from ring to round, ${med(rung.map((r) => r.rsyncRuns))} rsync run(s) taking ${med(rung.map((r) => r.rsyncMs))} ms, round ${med(rung.map((r) => r.totalMs))} ms`
    : '';
  row(
    `100 files changed on the primary → replica in sync (median of ${opts.repeat}; min–max)`,
    `${secs(lags[Math.floor(lags.length / 2)])}`,
    `${secs(r100.wallMs)} (full-scan pull)`,
    `${secs(lags[0])}–${secs(lags[lags.length - 1])}${breakdown}; the last pull: ${ws100.applied?.changes} change(s), ${ws100.applied?.bytes} B`,
  );
}

/**
 * A crash of the primary with 50 writes it never mirrored, failover, 100 writes on the survivor
 * plus 10 to files the crashed node also wrote (conflicts), the return, the failback. Returns the
 * conflicts expected on serv1 (file → the version of it saved there) and what was wrong with the counts.
 */
async function failoverAndBack(c, files, row) {
  const { s1, s2 } = c;
  const N = files.N;
  const r1 = await c.rec(s1);
  process.kill(-r1.daemon.pid, 'SIGKILL');
  for (let i = 0; i < 50; i++) await files.put(s1.data, Math.floor(N / 2) + i, 'unmirrored');
  await sleep(200); // the tracker journals them (its journal is lost anyway: it dies next)
  process.kill(-r1.tracker.pid, 'SIGKILL');
  let t = Date.now();
  const fo = await c.call(s2, 'promote');
  row('failover: promote the replica (primary unreachable)', secs(Date.now() - t), '', fo.reason.slice(0, 70));
  for (let k = 0; k < 100; k++) await files.put(s2.data, Math.floor((k * N) / 100) + 99, 'survivor');
  const saved = new Map();
  for (let i = 40; i < 50; i++) {
    saved.set(Math.floor(N / 2) + i, 'unmirrored');
    await files.put(s2.data, Math.floor(N / 2) + i, 'conflict');
  }
  // serv1 returns: started, it follows serv2 and keeps its 50.
  await c.call(s1, 'stop');
  t = Date.now();
  await c.call(s1, 'start');
  const back = (await c.syncedAfter(s1, t)).first;
  row('return: start → following the survivor', secs(Date.now() - t), '', short(back.reason));
  const problems = [];
  // Counts exact: the return's merge takes the survivor's 110, keeps serv1's 40 and finds the 10 conflicts.
  if (!/110 taken, 0 removed, 40 local changes kept; WARNING 10 conflict\(s\)/.test(back.reason)) problems.push(`return: ${back.reason.slice(0, 200)}`);
  for (;;) if ((await c.syncedAfter(s1, Date.now())).scope === 'incremental') break;
  // The service still runs on serv2 and writes 100 more; then it stops (demote) and serv1 is promoted
  // at once. serv1's worker would take the 100 within a fraction of a second, leaving the failback
  // nothing to do; it is stopped first (killed, as a worker that fell behind), so that the failback
  // takes all 100 — the issue's hard case — beside the 40 unmirrored changes it keeps.
  process.kill(-(await c.rec(s1)).worker.pid, 'SIGKILL');
  for (let k = 0; k < 100; k++) await files.put(s2.data, Math.floor((k * N) / 100) + 98, 'survivor2');
  await c.call(s2, 'demote');
  t = Date.now();
  const fb = await c.call(s1, 'promote');
  const fbMs = Date.now() - t;
  const rfb = c.rsync(['-a', '--delete', '--dry-run', c.url(s2), `${s1.data}/`]);
  row(
    'failback: promote home (resync: 100 changed there, 40 unmirrored kept here)',
    secs(fbMs),
    `${secs(rfb.wallMs)} (full-scan compare, no transfer)`,
    short(fb.reason),
  );
  if (!/pulled 100 change\(s\)|merged 100 change\(s\)|100 taken/.test(fb.reason)) problems.push(`failback: ${fb.reason.slice(0, 200)}`);
  t = Date.now();
  const conv = await c.syncedAfter(s2, t);
  row('the new replica converges (its first sync after demote)', secs(Date.now() - t), '', short(conv.first?.reason ?? conv.reason));
  return { saved, problems };
}

/**
 * The replica stopped cleanly (maintenance) while the primary writes 100 files, then started: its
 * first round reads both journals (a ctime per directory for the gap) instead of walking the tree.
 */
async function cleanRestart(c, files, row) {
  const { s1, s2 } = c;
  const N = files.N;
  // The replica has just pulled (its first round after demote): a directory written within resume's
  // 1 s ctime margin before the stop counts as changed in the gap and is merged whole. A replica idle
  // for more than that before its maintenance is the usual case measured here.
  await sleep(1500);
  await c.call(s2, 'stop');
  for (let k = 0; k < 100; k++) await files.put(s1.data, Math.floor((k * N) / 100) + 97, 'while-stopped');
  const t = Date.now();
  await c.call(s2, 'start');
  const back = (await c.syncedAfter(s2, t)).first;
  await files.holds(
    s2.data,
    Array.from({ length: 100 }, (_, k) => Math.floor((k * N) / 100) + 97),
    'while-stopped',
  );
  const ms = Date.now() - t;
  const r = c.rsync(['-a', '--delete', '--dry-run', c.url(s1), `${s2.data}/`]);
  row(
    'replica restart after a clean stop (100 changed there meanwhile): start → in sync',
    secs(ms),
    `${secs(r.wallMs)} (full-scan compare, no transfer)`,
    short(back.reason),
  );
  return /resumed from its journal/.test(back.reason) ? [] : [`clean restart: not resumed: ${back.reason.slice(0, 200)}`];
}

/** One size: the rows of figures, and what is wrong with the contents at the end (nothing, when it works). */
export async function benchSize(N, opts) {
  const root = await mkdtemp(join(opts.dir, `mirror-bench-${process.pid}-${N}-`));
  const c = await makeCluster(root, opts.interval);
  const files = new Files(N, opts.size);
  const rows = [];
  const row = (what, agent, reference = '', note = '') => {
    rows.push([what, agent, reference, note]);
    // As measured (a large size runs long): the same line the summary prints.
    process.stderr.write(`${N}: ${agent.padStart(10)}  ${what}${reference ? `   [rsync: ${reference}]` : ''}\n              ${note}\n`);
  };
  try {
    await initialSync(c, files, row);
    await idle(c, opts, row);
    await lag(c, files, opts, row);
    const { saved, problems: counts } = await failoverAndBack(c, files, row);
    const restart = await cleanRestart(c, files, row);
    // The new replica holds what the new primary serves, once its worker has taken the last round.
    await c.syncedAfter(c.s2, Date.now(), 'incremental');
    const problems = [
      ...counts,
      ...restart,
      ...files.check(c.s1.data, 'serv1'),
      ...files.checkConflicts(c.s1.conflicts, 'serv1', saved),
      ...files.check(c.s2.data, 'serv2'),
      ...files.checkConflicts(c.s2.conflicts, 'serv2', new Map()),
    ];
    return { rows, problems };
  } finally {
    await c.call(c.s1, 'stop').catch(() => undefined);
    await c.call(c.s2, 'stop').catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
}
