#!/usr/bin/env node
// npm run bench:monitor — the CPU cost of keeping 200 resources monitored every 10 s:
// in-process Paceline agents (dummy; ip inside a network namespace when root) versus the same
// number of forked OCF monitors (ocf:heartbeat:Dummy; IPaddr2 inside a namespace when root) run
// through the OCF bridge. Then the service agents (root only): paceline:httpd (nginx, Apache) and
// paceline:bind against ocf:heartbeat:nginx / apache / named, each pair monitoring the same real
// daemon on loopback; rows are listed in scripts/bench-monitor-services.mjs (add yours there).
//
// Each mode runs the daemon's path — the executor's RecurringMonitors over 200 resources whose
// monitors are evenly staggered — for a bounded window, measures this process's CPU
// (process.cpuUsage) plus its reaped children's (/proc/self/stat cutime + cstime), less the
// process's idle cost, and projects the CPU per monitor to 200 resources every 10 s, printed as %
// of one core. By default every mode runs the real 10 s schedule: compressing the interval
// (--scale) is quicker but flatters in-process agents, whose per-monitor cost includes waking the
// event loop and libuv's thread pool, cheaper when monitors come densely. Stops by itself;
// namespaces and temporary files are removed on exit.
//
// Options: --window SECONDS per mode (default 5), --resources N (default 200),
//          --interval SECONDS real-world interval to project to (default 10),
//          --scale K run every mode at interval/K (default 1: the real schedule),
//          --service-resources N monitored instances per service mode (default 20: a forked
//          monitor of a real service costs tens of ms, and the machine is shared),
//          --only TEXT[,TEXT...] run only the modes whose name contains one of the TEXTs, --json.
// Needs a build first (npm run bench:monitor does `npm run build` before this script).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const need = [
  'packages/ocf/dist/index.js',
  'packages/agent-api/dist/index.js',
  'packages/executor/dist/index.js',
  'packages/model/dist/index.js',
  'agents/dummy/dist/index.js',
  'agents/ip/dist/index.js',
];
for (const f of need) {
  if (!existsSync(join(root, f))) {
    console.error(`bench-monitor: ${f} is missing; run npm run build first`);
    process.exit(2);
  }
}
const { loadOcfAgent, createProcessRunner, prefixRunner, systemClock } = await import(join(root, 'packages/ocf/dist/index.js'));
const { invokeAgent, silentLogger, validateParams, AgentRegistry } = await import(join(root, 'packages/agent-api/dist/index.js'));
const { RecurringMonitors } = await import(join(root, 'packages/executor/dist/index.js'));
const { ClusterConfig } = await import(join(root, 'packages/model/dist/index.js'));
const { dummy } = await import(join(root, 'agents/dummy/dist/index.js'));
const { ipAgent } = await import(join(root, 'agents/ip/dist/index.js'));

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : dflt;
};
const WINDOW_MS = opt('window', 10) * 1000;
const N = opt('resources', 200);
const REAL_INTERVAL_MS = opt('interval', 10) * 1000;
const JSON_OUT = args.includes('--json');
const SCALE = opt('scale', undefined);
const onlyAt = args.indexOf('--only');
const ONLY = onlyAt >= 0 ? args[onlyAt + 1]?.split(',').filter(Boolean) : undefined;
const SERVICE_N = opt('service-resources', 20);

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const isRoot = process.getuid?.() === 0;
const work = mkdtempSync(join(tmpdir(), 'paceline-bench-monitor-'));
const NS = `plbench${process.pid}`;
let nsCreated = false;
/** Stops the service daemons the bench started (run before cleanup, also on a failed run). */
const stopAtExit = [];

/** State directories of the service daemons started: killed (whole process group) if still recorded at exit. */
const serviceStates = [];

function cleanup() {
  for (const st of serviceStates.splice(0)) {
    try {
      const { pid } = JSON.parse(readFileSync(join(st, 'daemon.json'), 'utf8'));
      process.kill(-pid, 'SIGKILL');
    } catch (e) {
      void e; // stopped already (no record), or gone
    }
  }
  if (nsCreated) spawnSync('ip', ['netns', 'del', NS]);
  nsCreated = false;
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

/** Is a mode selected by --only (a comma-separated list of name fragments)? */
const wanted = (name) => !ONLY || ONLY.some((t) => name.includes(t));

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
 * The daemon's own path: the executor's RecurringMonitors runs every resource's monitor operation
 * (interval 10 s / scale) through the agent registry. Resources are added one by one across the
 * first interval so their monitors are evenly staggered; CPU is measured over the window after that.
 */
async function runMode({ name, agent, params, run, scale, before }) {
  const n = params.length;
  const intervalMs = REAL_INTERVAL_MS / scale;
  for (const p of params) {
    const r = validateParams(agent, p, name);
    if (!r.ok) throw new Error(`${name}: ${r.message}`);
  }
  const config = ClusterConfig.parse({
    nodes: [{ name: 'bench' }],
    resources: params.map((p, i) => ({
      type: 'primitive',
      id: `r${i}`,
      agent: agentRef(agent),
      params: p,
      ops: [{ name: 'monitor', interval: `${intervalMs}ms`, timeout: '20s' }],
    })),
  });
  const registry = new AgentRegistry(agentRef(agent).startsWith('ocf:') ? [] : [agent]);
  if (agentRef(agent).startsWith('ocf:')) registry.addResolver('ocf', () => agent);
  const monitors = new RecurringMonitors({
    agents: registry,
    config,
    node: 'bench',
    runner: run,
    clock: systemClock,
    logger: silentLogger,
    stateRoot: join(work, 'state'),
  });
  const counts = { ok: 0, other: 0, firstProblem: undefined };
  monitors.on('action-finished', (e) => {
    if (e.succeeded) counts.ok++;
    else {
      counts.other++;
      counts.firstProblem ??= `${e.result.execution}/${e.result.outcome}: ${e.result.reason ?? ''}`;
    }
  });
  const targets = params.map((_, i) => ({ instance: `r${i}`, role: 'Started' }));
  if (before) await before();
  for (let k = 1; k <= n; k++) {
    monitors.update(targets.slice(0, k));
    await systemClock.sleep(intervalMs / n);
  }
  const done0 = counts.ok + counts.other;
  const failed0 = counts.other;
  const cpu0 = cpuMs();
  const t0 = performance.now();
  await systemClock.sleep(WINDOW_MS);
  const cpu1 = cpuMs();
  const elapsed = performance.now() - t0;
  const done = counts.ok + counts.other - done0;
  const failures = counts.other - failed0;
  await monitors.dispose();
  const self = cpu1.self - cpu0.self;
  const children = cpu1.children - cpu0.children;
  // What the process costs doing nothing (timers idle, GC) is not the monitors' cost.
  const net = Math.max(0, self + children - idleRate * elapsed);
  const perMonitor = net / Math.max(1, done);
  const grossPerMonitor = (self + children) / Math.max(1, done);
  return {
    name,
    resources: n,
    scale,
    intervalMs,
    windowMs: Math.round(elapsed),
    monitors: done,
    failures,
    firstProblem: counts.firstProblem,
    cpuSelfMs: Math.round(self),
    cpuChildrenMs: Math.round(children),
    idleMs: Math.round(idleRate * elapsed),
    cpuPerMonitorMs: perMonitor,
    grossCpuPerMonitorMs: grossPerMonitor,
    windowCorePct: ((self + children) * 100) / elapsed,
    projectedPct: (perMonitor * n * 100) / REAL_INTERVAL_MS,
  };
}

/** How configs refer to an agent. */
function agentRef(agent) {
  return agent.meta.name.startsWith('ocf:') ? agent.meta.name : `paceline:${agent.meta.name}`;
}

function sh(file, a) {
  return execFileSync(file, a, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

const run = createProcessRunner();
const modes = [];
let netnsExecMs;

// 1. In-process paceline:dummy (a state file per resource).
{
  const dirs = Array.from({ length: N }, (_, i) => join(work, 'state', 'bench', `r${i}`));
  for (const d of dirs) mkdirSync(d, { recursive: true });
  const params = dirs.map(() => ({}));
  for (let i = 0; i < N; i++) {
    await invokeAgent(dummy, {
      action: 'start',
      params: validateParams(dummy, {}).params,
      node: 'bench',
      instance: `r${i}`,
      stateDir: dirs[i],
      run,
      log: silentLogger,
      clock: systemClock,
      timeoutMs: 20_000,
    });
  }
  modes.push({ name: 'paceline:dummy (in-process)', kind: 'in-process', agent: dummy, params, run, scale: 1 });
}

// 2. Forked ocf:heartbeat:Dummy through the bridge.
if (existsSync('/usr/lib/ocf/resource.d/heartbeat/Dummy')) {
  const rsc = join(work, 'rsc');
  mkdirSync(rsc, { recursive: true });
  const ocfDummy = await loadOcfAgent('ocf:heartbeat:Dummy', { run, rscTmp: rsc });
  const params = Array.from({ length: N }, () => ({}));
  for (let i = 0; i < N; i++) {
    const r = await invokeAgent(ocfDummy, {
      action: 'start',
      params: {},
      node: 'bench',
      instance: `r${i}`,
      stateDir: rsc,
      run,
      log: silentLogger,
      clock: systemClock,
      timeoutMs: 20_000,
    });
    if (r.outcome !== 'ok') throw new Error(`ocf:heartbeat:Dummy start failed: ${r.reason}`);
  }
  modes.push({ name: 'ocf:heartbeat:Dummy (forked)', kind: 'forked', agent: ocfDummy, params, run, scale: 1 });
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
  modes.push({ name: 'paceline:ip (in-process, one ip per monitor)', kind: 'in-process', agent: ipAgent, params: ipParams, run: ipRun, scale: 1 });
  if (existsSync('/usr/lib/ocf/resource.d/heartbeat/IPaddr2')) {
    const rsc = join(work, 'rsc-ip');
    mkdirSync(rsc, { recursive: true });
    const ipaddr2 = await loadOcfAgent('ocf:heartbeat:IPaddr2', { run, rscTmp: rsc });
    const params = Array.from({ length: N }, (_, i) => ({ ip: addr(i), cidr_netmask: 32, nic: 'eth0' }));
    modes.push({ name: 'ocf:heartbeat:IPaddr2 (forked)', kind: 'forked', agent: ipaddr2, params, run: nsRun, scale: 1 });
  }
} else {
  console.error('bench-monitor: not root: skipping the ip / IPaddr2 modes (they need a network namespace)');
}

// 5. Service agents against the nearest Pacemaker agents (root: the daemons drop privileges).
const { SERVICE_ROWS, freePort } = await import(join(root, 'scripts/bench-monitor-services.mjs'));
// Daemons that drop privileges (www-data, bind) must reach their files under the work folder.
chmodSync(work, 0o755);
const serviceNotes = [];
const servicePairs = [];
for (const row of isRoot ? SERVICE_ROWS : []) {
  const pName = `paceline:${row.name} (in-process)`;
  const oName = `${row.ocf} (forked)`;
  if (!wanted(pName) && !wanted(oName)) continue;
  const missing = row.programs.filter((p) => !['/usr/sbin', '/usr/bin', '/sbin', '/bin'].some((d) => existsSync(join(d, p))));
  if (missing.length) {
    serviceNotes.push(`${row.name}: skipped, ${missing.join(', ')} not installed`);
    continue;
  }
  const dir = join(work, `svc-${modes.length}`);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const s = await row.setup({ dir, port: await freePort(), root });
  if (s.skip) {
    serviceNotes.push(`${row.name}: skipped, ${s.skip}`);
    continue;
  }
  const masterState = join(dir, 'state');
  const invoke = (action) =>
    invokeAgent(s.agent, {
      action,
      params: validateParams(s.agent, s.params).params,
      node: 'bench',
      instance: 'svc',
      stateDir: masterState,
      run,
      log: silentLogger,
      clock: systemClock,
      timeoutMs: 60_000,
    });
  const started = await invoke('start');
  if (started.outcome !== 'ok') {
    serviceNotes.push(`${row.name}: skipped, the daemon did not start: ${started.reason}`);
    continue;
  }
  serviceStates.push(masterState);
  stopAtExit.push(() => invoke('stop'));
  // Every monitored instance finds "our" daemon, as after its own start.
  const adopt = () => {
    for (let i = 0; i < SERVICE_N; i++) {
      const d = join(work, 'state', 'bench', `r${i}`);
      mkdirSync(d, { recursive: true });
      copyFileSync(join(masterState, 'daemon.json'), join(d, 'daemon.json'));
    }
  };
  const params = Array.from({ length: SERVICE_N }, () => s.params);
  const rsc = join(dir, 'rsc');
  mkdirSync(rsc, { recursive: true });
  const ocfAgent = existsSync(`/usr/lib/ocf/resource.d/heartbeat/${row.ocf.split(':')[2]}`)
    ? await loadOcfAgent(row.ocf, { run, rscTmp: rsc, ...(s.ocfEnv ? { env: s.ocfEnv } : {}) })
    : undefined;
  modes.push({ name: pName, kind: 'in-process', agent: s.agent, params, run, scale: 1, before: adopt, service: true });
  if (ocfAgent)
    modes.push({ name: oName, kind: 'forked', agent: ocfAgent, params: Array.from({ length: SERVICE_N }, () => s.ocfParams), run, scale: 1, service: true });
  else if (!s.compare) serviceNotes.push(`${row.name}: ${row.ocf} is not installed (resource-agents): no forked row`);
  if (s.compare)
    modes.push({
      name: s.compare.name,
      kind: 'forked',
      agent: s.compare.agent,
      params: Array.from({ length: SERVICE_N }, () => s.compare.params),
      run,
      scale: 1,
      service: true,
    });
  servicePairs.push([pName, ocfAgent ? oName : (s.compare?.name ?? oName)]);
  if (s.note) serviceNotes.push(s.note);
}

// The idle cost of this process (same window, nothing scheduled), subtracted from every mode.
const idle0 = cpuMs();
const idleT0 = performance.now();
await systemClock.sleep(Math.min(WINDOW_MS, 5000));
const idle1 = cpuMs();
const idleRate = (idle1.self - idle0.self + idle1.children - idle0.children) / (performance.now() - idleT0);
const loadAvg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

const results = [];
for (const m of modes.filter((x) => wanted(x.name))) {
  if (SCALE) m.scale = SCALE;
  if (!JSON_OUT) process.stderr.write(`measuring ${m.name} for ${WINDOW_MS / 1000} s at 1/${m.scale} of the interval...\n`);
  results.push({ ...(await runMode(m)), kind: m.kind });
}
for (const stop of stopAtExit.splice(0)) await stop();
cleanup();

const fmt = (x, d = 2) => x.toFixed(d);
const byName = (s) => results.find((r) => r.name.startsWith(s));
const ratios = [];
for (const [a, b] of servicePairs) {
  const x = results.find((r) => r.name === a);
  const y = results.find((r) => r.name === b);
  if (x && y) ratios.push({ inProcess: x.name, forked: y.name, ratio: y.cpuPerMonitorMs / x.cpuPerMonitorMs });
}
for (const [inproc, forked] of [
  ['paceline:dummy', 'ocf:heartbeat:Dummy'],
  ['paceline:ip', 'ocf:heartbeat:IPaddr2'],
  ['paceline:dummy', 'ocf:heartbeat:IPaddr2'],
]) {
  const a = byName(inproc);
  const b = byName(forked);
  if (a && b) ratios.push({ inProcess: a.name, forked: b.name, ratio: b.projectedPct / a.projectedPct });
}
const goal = byName('paceline:dummy');
const summary = {
  netnsExecCpuMs: netnsExecMs,
  idleCorePct: idleRate * 100,
  loadAverage: loadAvg,
  resources: N,
  intervalSeconds: REAL_INTERVAL_MS / 1000,
  windowSeconds: WINDOW_MS / 1000,
  clockTicks: CLK_TCK,
  modes: results,
  ratios,
  goal: goal
    ? {
        text: `in-process monitoring of ${N} resources every ${REAL_INTERVAL_MS / 1000} s under 1% of one core`,
        pct: goal.projectedPct,
        met: goal.projectedPct < 1,
      }
    : undefined,
};
if (JSON_OUT) {
  console.log(JSON.stringify(summary, null, 2));
} else {
  console.log(`\nCPU cost of monitoring ${N} resources every ${REAL_INTERVAL_MS / 1000} s (measured over ${WINDOW_MS / 1000} s per mode)\n`);
  const head = ['mode', 'resources', 'interval', 'monitors', 'failed', 'CPU/monitor', '% of one core'];
  const rows = results.map((r) => [
    r.name,
    String(r.resources),
    `${r.intervalMs} ms`,
    String(r.monitors),
    String(r.failures),
    `${fmt(r.cpuPerMonitorMs, 3)} ms`,
    `${fmt(r.projectedPct, 3)} %`,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  console.log('');
  console.log(`(CPU per monitor is this process plus its children, less its idle cost of ${fmt(idleRate * 100, 3)} % of a core; load average ${loadAvg})`);
  for (const r of ratios) console.log(`forked ${r.forked} costs ${fmt(r.ratio, 1)}x ${r.inProcess}`);
  if (netnsExecMs !== undefined && byName('ocf:heartbeat:IPaddr2'))
    console.log(`(the forked IPaddr2 figure includes entering the test namespace: ${fmt(netnsExecMs, 3)} ms CPU per ip netns exec)`);
  for (const n of serviceNotes) console.log(`(${n})`);
  for (const r of results) if (r.failures) console.log(`note: ${r.name}: ${r.failures} monitors did not return ok (first: ${r.firstProblem})`);
  if (summary.goal) console.log(`\ngoal: ${summary.goal.text}: ${fmt(summary.goal.pct, 3)} % -> ${summary.goal.met ? 'met' : 'NOT met'}`);
}
process.exitCode = results.some((r) => r.failures > 0) ? 1 : 0;
