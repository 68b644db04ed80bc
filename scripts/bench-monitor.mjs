#!/usr/bin/env node
// npm run bench:monitor — the CPU cost of keeping 200 resources monitored every 10 s:
// in-process Paceline agents (dummy; ip inside a network namespace when root) versus the same
// number of forked OCF monitors (ocf:heartbeat:Dummy; IPaddr2 inside a namespace when root) run
// through the OCF bridge.
//
// Each mode runs the real schedule (200 resources, evenly staggered, a monitor never overlapping
// the previous one of the same resource) for a bounded window at a compressed interval
// (10 s / SCALE), measures this process's CPU (process.cpuUsage) plus its reaped children's
// (/proc/self/stat cutime + cstime), and scales the CPU per monitor back to 200 resources every
// 10 s, printed as % of one core. Stops by itself; namespaces are removed on exit.
//
// Options: --window SECONDS per mode (default 5), --resources N (default 200),
//          --interval SECONDS real-world interval to project to (default 10), --json.
// Needs a build first (npm run bench:monitor does `npm run build` before this script).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const need = ['packages/ocf/dist/index.js', 'packages/agent-api/dist/index.js', 'agents/dummy/dist/index.js', 'agents/ip/dist/index.js'];
for (const f of need) {
  if (!existsSync(join(root, f))) {
    console.error(`bench-monitor: ${f} is missing; run npm run build first`);
    process.exit(2);
  }
}
const { loadOcfAgent, createProcessRunner, prefixRunner, systemClock } = await import(join(root, 'packages/ocf/dist/index.js'));
const { invokeAgent, silentLogger, validateParams } = await import(join(root, 'packages/agent-api/dist/index.js'));
const { dummy } = await import(join(root, 'agents/dummy/dist/index.js'));
const { ipAgent } = await import(join(root, 'agents/ip/dist/index.js'));

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : dflt;
};
const WINDOW_MS = opt('window', 5) * 1000;
const N = opt('resources', 200);
const REAL_INTERVAL_MS = opt('interval', 10) * 1000;
const JSON_OUT = args.includes('--json');

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const isRoot = process.getuid?.() === 0;
const work = mkdtempSync(join(tmpdir(), 'paceline-bench-monitor-'));
const NS = `plbench${process.pid}`;
let nsCreated = false;

function cleanup() {
  if (nsCreated) spawnSync('ip', ['netns', 'del', NS]);
  nsCreated = false;
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

/** CPU ms of this process plus its reaped children. */
function cpuMs() {
  const self = process.cpuUsage();
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): cutime is field 16, cstime field 17.
  const children = (Number(fields[13]) + Number(fields[14])) * (1000 / CLK_TCK);
  return { self: (self.user + self.system) / 1000, children };
}

/**
 * 200 resources, resource i first monitored at i * interval / N, then every interval after its
 * previous monitor was due (skipping a beat if the previous one is still running).
 */
async function runMode({ name, agent, params, run, scale, stateDirOf }) {
  const intervalMs = REAL_INTERVAL_MS / scale;
  const parsed = params.map((p) => {
    const r = validateParams(agent, p, name);
    if (!r.ok) throw new Error(`${name}: ${r.message}`);
    return r.params;
  });
  const results = { ok: 0, other: 0, skipped: 0, firstProblem: undefined };
  const cpu0 = cpuMs();
  const t0 = performance.now();
  const end = t0 + WINDOW_MS;
  let started = 0;
  await new Promise((resolveAll) => {
    let live = N;
    const finishOne = () => (--live === 0 ? resolveAll() : undefined);
    for (let i = 0; i < N; i++) {
      let due = t0 + (i * intervalMs) / N;
      const tick = async () => {
        if (performance.now() >= end) return finishOne();
        started++;
        const r = await invokeAgent(agent, {
          action: 'monitor', params: parsed[i], node: 'bench', instance: `r${i}`, stateDir: stateDirOf(i),
          run, log: silentLogger, clock: systemClock, timeoutMs: 20_000, interval: REAL_INTERVAL_MS,
        });
        if (r.execution === 'done' && r.outcome === 'ok') results.ok++;
        else {
          results.other++;
          results.firstProblem ??= `${r.execution}/${r.outcome}: ${r.reason ?? ''}`;
        }
        due += intervalMs;
        const now = performance.now();
        while (due < now) {
          due += intervalMs;
          results.skipped++;
        }
        if (due >= end) return finishOne();
        setTimeout(tick, due - now);
      };
      setTimeout(tick, due - t0);
    }
  });
  const elapsed = performance.now() - t0;
  const cpu1 = cpuMs();
  const self = cpu1.self - cpu0.self;
  const children = cpu1.children - cpu0.children;
  const monitors = results.ok + results.other;
  const perMonitor = (self + children) / Math.max(1, monitors);
  const projectedPct = (perMonitor * N * 100) / REAL_INTERVAL_MS;
  return {
    name, scale, intervalMs, windowMs: Math.round(elapsed), monitors, started, skipped: results.skipped,
    failures: results.other, firstProblem: results.firstProblem,
    cpuSelfMs: Math.round(self), cpuChildrenMs: Math.round(children),
    cpuPerMonitorMs: perMonitor, windowCorePct: ((self + children) * 100) / elapsed, projectedPct,
  };
}

function sh(file, a) {
  return execFileSync(file, a, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

const run = createProcessRunner();
const modes = [];
let netnsExecMs;

// 1. In-process paceline:dummy (a state file per resource).
{
  const dirs = Array.from({ length: N }, (_, i) => join(work, 'dummy', `r${i}`));
  for (const d of dirs) mkdirSync(d, { recursive: true });
  const params = dirs.map(() => ({}));
  for (let i = 0; i < N; i++) {
    await invokeAgent(dummy, { action: 'start', params: validateParams(dummy, {}).params, node: 'bench', instance: `r${i}`, stateDir: dirs[i], run, log: silentLogger, clock: systemClock, timeoutMs: 20_000 });
  }
  modes.push({ name: 'paceline:dummy (in-process)', kind: 'in-process', agent: dummy, params, run, scale: 20, stateDirOf: (i) => dirs[i] });
}

// 2. Forked ocf:heartbeat:Dummy through the bridge.
if (existsSync('/usr/lib/ocf/resource.d/heartbeat/Dummy')) {
  const rsc = join(work, 'rsc');
  mkdirSync(rsc, { recursive: true });
  const ocfDummy = await loadOcfAgent('ocf:heartbeat:Dummy', { run, rscTmp: rsc });
  const params = Array.from({ length: N }, () => ({}));
  for (let i = 0; i < N; i++) {
    const r = await invokeAgent(ocfDummy, { action: 'start', params: {}, node: 'bench', instance: `r${i}`, stateDir: rsc, run, log: silentLogger, clock: systemClock, timeoutMs: 20_000 });
    if (r.outcome !== 'ok') throw new Error(`ocf:heartbeat:Dummy start failed: ${r.reason}`);
  }
  modes.push({ name: 'ocf:heartbeat:Dummy (forked)', kind: 'forked', agent: ocfDummy, params, run, scale: 4, stateDirOf: () => rsc });
} else {
  console.error('bench-monitor: resource-agents is not installed: no forked OCF Dummy mode');
}

// 3 and 4. The ip agent and IPaddr2 on 200 addresses in a namespace (root only).
if (isRoot) {
  sh('ip', ['netns', 'add', NS]);
  nsCreated = true;
  sh('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  sh('ip', ['-n', NS, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p']);
  sh('ip', ['-n', NS, 'link', 'set', 'eth0p', 'up']);
  sh('ip', ['-n', NS, 'link', 'set', 'eth0', 'up']);
  const addr = (i) => `10.234.${(i + 1) >> 8}.${(i + 1) & 255}`;
  const batch = Array.from({ length: N }, (_, i) => `addr add ${addr(i)}/32 dev eth0`).join('\n');
  execFileSync('ip', ['-n', NS, '-batch', '-'], { input: `${batch}\n` });
  // The forked OCF script runs wholly inside the namespace (`ip netns exec NS script`, one extra
  // exec per monitor, measured below). The in-process ip agent's own `ip` commands use `ip -n NS`,
  // which costs what a plain `ip` would on the node itself.
  const nsRun = prefixRunner(run, ['ip', 'netns', 'exec', NS]);
  const ipRun = { run: (file, a, o) => (file === 'ip' ? run.run('ip', ['-n', NS, ...a], o) : nsRun.run(file, a, o)) };
  const c0 = cpuMs();
  for (let i = 0; i < 50; i++) await run.run('ip', ['netns', 'exec', NS, 'true']);
  const c1 = cpuMs();
  netnsExecMs = (c1.self - c0.self + c1.children - c0.children) / 50;
  const ipParams = Array.from({ length: N }, (_, i) => ({ address: addr(i), cidrNetmask: 32, interface: 'eth0' }));
  modes.push({ name: 'paceline:ip (in-process, one ip per monitor)', kind: 'in-process', agent: ipAgent, params: ipParams, run: ipRun, scale: 4, stateDirOf: () => work });
  if (existsSync('/usr/lib/ocf/resource.d/heartbeat/IPaddr2')) {
    const rsc = join(work, 'rsc-ip');
    mkdirSync(rsc, { recursive: true });
    const ipaddr2 = await loadOcfAgent('ocf:heartbeat:IPaddr2', { run, rscTmp: rsc });
    const params = Array.from({ length: N }, (_, i) => ({ ip: addr(i), cidr_netmask: 32, nic: 'eth0' }));
    modes.push({ name: 'ocf:heartbeat:IPaddr2 (forked)', kind: 'forked', agent: ipaddr2, params, run: nsRun, scale: 1, stateDirOf: () => rsc });
  }
} else {
  console.error('bench-monitor: not root: skipping the ip / IPaddr2 modes (they need a network namespace)');
}

const results = [];
for (const m of modes) {
  if (!JSON_OUT) process.stderr.write(`measuring ${m.name} for ${WINDOW_MS / 1000} s at 1/${m.scale} of the interval...\n`);
  results.push({ ...(await runMode(m)), kind: m.kind });
}
cleanup();

const fmt = (x, d = 2) => x.toFixed(d);
const byName = (s) => results.find((r) => r.name.startsWith(s));
const ratios = [];
for (const [inproc, forked] of [['paceline:dummy', 'ocf:heartbeat:Dummy'], ['paceline:ip', 'ocf:heartbeat:IPaddr2'], ['paceline:dummy', 'ocf:heartbeat:IPaddr2']]) {
  const a = byName(inproc);
  const b = byName(forked);
  if (a && b) ratios.push({ inProcess: a.name, forked: b.name, ratio: b.projectedPct / a.projectedPct });
}
const goal = byName('paceline:dummy');
const summary = {
  netnsExecCpuMs: netnsExecMs,
  resources: N, intervalSeconds: REAL_INTERVAL_MS / 1000, windowSeconds: WINDOW_MS / 1000, clockTicks: CLK_TCK,
  modes: results, ratios,
  goal: goal ? { text: `in-process monitoring of ${N} resources every ${REAL_INTERVAL_MS / 1000} s under 1% of one core`, pct: goal.projectedPct, met: goal.projectedPct < 1 } : undefined,
};
if (JSON_OUT) {
  console.log(JSON.stringify(summary, null, 2));
} else {
  console.log(`\nCPU cost of monitoring ${N} resources every ${REAL_INTERVAL_MS / 1000} s (projected from ${WINDOW_MS / 1000} s windows at a compressed interval)\n`);
  const head = ['mode', 'monitors', 'failed', 'CPU/monitor', '% of one core'];
  const rows = results.map((r) => [r.name, String(r.monitors), String(r.failures), `${fmt(r.cpuPerMonitorMs, 3)} ms`, `${fmt(r.projectedPct, 3)} %`]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  console.log('');
  for (const r of ratios) console.log(`forked ${r.forked} costs ${fmt(r.ratio, 1)}x ${r.inProcess}`);
  if (netnsExecMs !== undefined) console.log(`(the forked IPaddr2 figure includes entering the test namespace: ${fmt(netnsExecMs, 3)} ms CPU per ip netns exec)`);
  for (const r of results) if (r.failures) console.log(`note: ${r.name}: ${r.failures} monitors did not return ok (first: ${r.firstProblem})`);
  if (summary.goal) console.log(`\ngoal: ${summary.goal.text}: ${fmt(summary.goal.pct, 3)} % -> ${summary.goal.met ? 'met' : 'NOT met'}`);
}
process.exitCode = results.some((r) => r.failures > 0) ? 1 : 0;
