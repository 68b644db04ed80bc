#!/usr/bin/env node
// Failover time on this machine: two `paceline daemon` processes on 127.0.0.1 (two links each),
// one dummy resource at home on serv1. Each trial starts both daemons fresh, waits until the
// resource runs on serv1, kills serv1's daemon with SIGKILL, and measures the time until the
// resource's state file appears on serv2 (what the dummy agent's monitor checks: the resource is
// running there). Variants: the default settings (fence policy, fencing by a stub command), the
// fast profile, and "hang": serv1's daemon is stopped with SIGSTOP instead, so its port stays open
// and serv2 hears nothing at all, as after a power loss or a cut cable. After a SIGKILL the host
// answers heartbeats with ICMP port unreachable, which proves the daemon dead, so the survivor
// fences without the fence-race delay; after a hang it cannot tell, and waits the delay (1 s).
// Usage: npm run build && node scripts/bench-failover-local.mjs [--trials 20] [--variant default|fast|hang|hang-fast]...
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'packages/cli/dist/main.js');
if (!existsSync(cli)) {
  console.error(`${cli} is not built: run npm run build first`);
  process.exit(2);
}
const { controlRequest } = await import(join(root, 'packages/daemon/dist/index.js'));

const args = process.argv.slice(2);
const trials = Number(args[args.indexOf('--trials') + 1] || 20) || 20;
const VARIANTS = {
  default: { label: 'defaults (profile default, policy fence), daemon killed (SIGKILL)', flags: [], signal: 'SIGKILL' },
  fast: { label: 'profile fast, daemon killed (SIGKILL)', flags: ['--profile', 'fast'], signal: 'SIGKILL' },
  hang: { label: 'defaults, daemon hung (SIGSTOP: silence, as a power loss)', flags: [], signal: 'SIGSTOP' },
  'hang-fast': { label: 'profile fast, daemon hung (SIGSTOP)', flags: ['--profile', 'fast'], signal: 'SIGSTOP' },
};
const chosen = args.flatMap((a, i) => (a === '--variant' ? [args[i + 1]] : []));
const variants = chosen.length ? chosen : ['default', 'fast', 'hang'];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function bindable(port) {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}
async function freePorts(n) {
  for (;;) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = await bindable(base + i);
    if (ok) return base;
  }
}
async function waitFor(what, check, timeoutMs = 20000, everyMs = 20) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

async function trial(dir, flags, signal) {
  const base = await freePorts(8);
  const yaml = `properties: { clusterName: bench, stonithEnabled: false }
defaults: { resource: { stickiness: 0 } }
nodes:
  - { name: serv1, addresses: { lan: "127.0.0.1:${base}", crossover: "127.0.0.1:${base + 2}" } }
  - { name: serv2, addresses: { lan: "127.0.0.1:${base + 4}", crossover: "127.0.0.1:${base + 6}" } }
resources:
  - { type: primitive, id: web, agent: "paceline:dummy", ops: [ { name: monitor, interval: 1s } ] }
constraints:
  - { type: location, id: web-home, resource: web, node: serv1, score: 100 }
`;
  writeFileSync(join(dir, 'cluster.yaml'), yaml);
  const procs = {};
  for (const node of ['serv1', 'serv2']) {
    const log = openSync(join(dir, `${node}.log`), 'w');
    procs[node] = spawn(
      process.execPath,
      [
        cli,
        'daemon',
        '--config',
        join(dir, 'cluster.yaml'),
        '--node',
        node,
        '--state-dir',
        join(dir, node),
        '--key',
        join(dir, 'key'),
        '--fence-command',
        '/bin/true',
        '--log-level',
        'warn',
        ...flags,
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
  }
  const onSurvivor = join(dir, 'serv2', 'resources', 'serv2', 'web', 'dummy.state');
  try {
    await waitFor('web on serv1', async () => {
      const r = await controlRequest(join(dir, 'serv2'), { cmd: 'status' }, 2000);
      const r1 = await controlRequest(join(dir, 'serv1'), { cmd: 'status' }, 2000);
      return (
        r.data.mayRun &&
        r1.data.mayRun &&
        r.data.resources.some((x) => x.resource === 'web' && x.node === 'serv1' && x.role !== 'Stopped') &&
        r.data.lastTransition?.state !== 'running'
      );
    });
    await sleep(300);
    const t0 = process.hrtime.bigint();
    procs.serv1.kill(signal);
    await waitFor('web on serv2', () => existsSync(onSurvivor), 20000, 1);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  } finally {
    for (const p of Object.values(procs)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await Promise.all(Object.values(procs).map((p) => (p.exitCode !== null || p.signalCode !== null ? null : new Promise((r) => p.once('exit', r)))));
  }
}

const summary = [];
for (const v of variants) {
  const spec = VARIANTS[v];
  if (!spec) {
    console.error(`unknown variant ${v} (${Object.keys(VARIANTS).join(', ')})`);
    process.exit(2);
  }
  const times = [];
  for (let i = 0; i < trials; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'paceline-bench-failover-'));
    try {
      spawnSync(process.execPath, [cli, 'keygen', join(dir, 'key')]);
      const ms = await trial(dir, spec.flags, spec.signal);
      times.push(ms);
      process.stderr.write(`${v} trial ${i + 1}/${trials}: ${ms.toFixed(0)} ms\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  times.sort((a, b) => a - b);
  const median = times.length % 2 ? times[(times.length - 1) / 2] : (times[times.length / 2 - 1] + times[times.length / 2]) / 2;
  summary.push({
    variant: v,
    label: spec.label,
    trials: times.length,
    medianMs: Math.round(median),
    maxMs: Math.round(times[times.length - 1]),
    minMs: Math.round(times[0]),
  });
}
console.log("Failover after the active node's daemon dies or hangs (time until the resource runs on the survivor), 127.0.0.1:");
for (const s of summary) console.log(`  ${s.label}: median ${s.medianMs} ms, max ${s.maxMs} ms, min ${s.minMs} ms (${s.trials} trials)`);
console.log(JSON.stringify(summary));
