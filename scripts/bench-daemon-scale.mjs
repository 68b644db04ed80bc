#!/usr/bin/env node
// npm run bench:daemon:scale — two Paceline daemons at scale (issue 13), on loopback or in network namespaces.
//
// Two processes (scripts/bench-daemon-scale-node.mjs), one daemon each, the built-in dummy agent,
// N resources (default 1,000) with a recurring monitor, half at home on each node (location 100).
// Measured from outside, in this order:
//   placed      from both daemons up to every resource running at home (the coordinator's view)
//   CPU         each daemon's CPU during placement, and the coordinator's per transition; how long its
//               main thread waited for a core meanwhile (/proc/self/schedstat: on a loaded machine
//               most of the wall time), and the daemon messages it sent
//   at rest     over --rest seconds once placed: UDP bytes sent per second and CPU per node (the
//               nodes' event-loop delay probe, a 10 ms timer, is off meanwhile: it cost 0.4 % of a core)
//   status      `status` through the control socket (as `paceline status --json` asks), median of 20
//   failover    the fault on serv2 (--fault: kill -9 by default) → every resource running on serv1
//               (detection is tickMs × deadTicks), with serv1's CPU and its wait for a core meanwhile, and
//               its timeline from serv1's own events (below)
// and, per phase and node, the event loop's largest delay and the peers lost (heartbeats are sent
// from the event loop: a delay beyond the detection time loses the peer).
//
// Output (the Pacemaker comparison, scripts/bench-daemon-scale-pacemaker.mjs, prints beside it): a
// title line (resources, monitor interval, membership settings and detection time, load average at
// start → end, cores), then a Markdown table `| measure | serv1 (coordinator) | serv2 |` with these
// rows, in this order: cold placement (ms, transitions) · CPU during placement (ms; per transition) ·
// placement: waiting for a core, daemon messages sent ·
// placement: event loop's largest delay, peers lost · at rest: bytes sent per second (packets/s) ·
// at rest: CPU (% of a core) · at rest: peers lost (the delay probe is off then) · at rest: resident
// memory · status over the control socket (median / max of 20 ms, bytes, in-process ms) · serv2
// killed (or lost, hung: --fault) → all running on serv1 (ms, transitions, CPU), then the failover's breakdown,
// the goal's verdict (≤ detection + 1 s) and, in namespaces, the safety verdict. --json adds every figure as JSON.
// Options: --resources N  --monitor SECONDS (default 10)  --rest SECONDS (default 10)  --timeout SECONDS (each wait; default 600)  --json
//          --failover-timeout SECONDS: the wait for the failover (default 60); past it the bench prints where
//              the survivor stands (its status, its failover timeline so far, its last WARN/ERROR lines, the fence
//              calls) — also to DIR/stall.json with BENCH_LOG=DIR — and fails
//          --settle SECONDS: wait between placement and the at-rest window (default 2)
//          --membership JSON: membership settings for both daemons, e.g. '{"deadTicks":20}' (default: the default profile)
//          --fault kill|lost|hang|isolated: what happens to serv2 (default kill):
//              kill  SIGKILL of serv2 (on loopback, or in namespaces with --netns: its host answers on,
//                    ICMP port unreachable: the easy case)
//              lost  serv2 goes silent, as at a power loss: every process in its namespace frozen
//                    (SIGSTOP) and its switch port and both ends of the crossover down at one instant
//                    (implies --netns)
//              hang  every process in serv2's namespace frozen, links up (implies --netns)
//              isolated  serv2's switch port and both ends of the crossover down, serv2 running (cut
//                    cables; implies --netns): serv1 must fence it, and serv2 must not fence serv1
//          --netns: the daemons in network namespaces (root; scripts/lib/scale-lab.mjs): the reference
//              two-server setup — a LAN bridge and a crossover cable, fencing through the stub power
//              switch of bench-failover-vip.mjs (reached over the LAN), the `paceline witness` arbiter
//              on the LAN (the recommended setup; --no-witness without it). Not root: skipped, saying why.
//          --lose serv2|serv1: the node lost (default serv2; serv1 is the coordinator, whose loss also
//              moves the coordination and, without a witness, costs the survivor the fence-race delay)
//          --observe SECONDS (namespaces): how long after the failover the survivor is watched (default 2)
// In namespaces the failover is broken down from the survivor's own events (wall clock, t0 = the
// fault): peer lost (detection), vote granted, fence call began / ended (the stub's log), fencing
// confirmed, first start (the failover's transition under way), last start done, last transition
// done; and checked: serv2 powered off (by serv1's fence call) before serv1 started anything, serv2's
// processes never ran again (killed by the fence while frozen), serv1 never a fencing target,
// each of serv2's resources started once on serv1, all N still running there after --observe.
// Only loopback traffic, or traffic inside the namespaces it made; the daemons' state directories
// (under TMPDIR: TMPDIR=/dev/shm puts them on tmpfs) and the namespaces are removed at the end.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlRequest } from '@paceline/daemon';
import { generateKey } from '@paceline/runtime';
import { failoverLines, failoverTimeline, safetyChecks } from './lib/scale-failover.mjs';
import { scaleNodes } from './lib/scale-nodes.mjs';

const VALUED = ['resources', 'monitor', 'rest', 'settle', 'timeout', 'failover-timeout', 'membership', 'fault', 'observe', 'lose'];
const FLAGS = ['json', 'netns', 'no-witness'];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const name = args[i].replace(/^--/, '');
  if (!args[i].startsWith('--') || ![...VALUED, ...FLAGS].includes(name)) {
    console.error(`bench-daemon-scale: unknown option ${args[i]} (--${[...VALUED, ...FLAGS].join(', --')})`);
    process.exit(2);
  }
  if (VALUED.includes(name)) i++;
}
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const N = Number(opt('resources', '1000'));
const monitorS = Number(opt('monitor', '10'));
const restS = Number(opt('rest', '10'));
const settleS = Number(opt('settle', '2'));
const observeS = Number(opt('observe', '2'));
const fault = opt('fault', 'kill');
if (!['kill', 'lost', 'hang', 'isolated'].includes(fault)) {
  console.error(`bench-daemon-scale: --fault must be kill, lost, hang or isolated, got ${fault}`);
  process.exit(2);
}
const victim = opt('lose', 'serv2');
if (!['serv1', 'serv2'].includes(victim)) {
  console.error(`bench-daemon-scale: --lose must be serv1 or serv2, got ${victim}`);
  process.exit(2);
}
const survivor = victim === 'serv1' ? 'serv2' : 'serv1';
const netns = args.includes('--netns') || fault !== 'kill';
const withWitness = netns && !args.includes('--no-witness');
const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..');
// In namespaces: root and `ip`, or a stated reason and exit 0; cleans up on every way out.
const nsLab = netns ? await import('./lib/ns-lab.mjs') : undefined;
if (nsLab) await nsLab.requireLab('bench-daemon-scale --netns', 'network namespaces and veth links', [['ip', ['-V']]], repoRoot);
const root = mkdtempSync(join(tmpdir(), 'paceline-bench-scale-'));
nsLab?.live.dirs.push(root);
const lab = nsLab ? (await import('./lib/scale-lab.mjs')).openScaleLab(root) : undefined;

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
async function freePorts(count) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await bindable(base + i);
    if (ok) return base;
  }
  throw new Error('no free UDP ports on 127.0.0.1');
}

const base = lab ? 0 : await freePorts(8);
const addresses = lab?.addresses ?? {
  serv1: { lan: `127.0.0.1:${base}`, crossover: `127.0.0.1:${base + 2}` },
  serv2: { lan: `127.0.0.1:${base + 4}`, crossover: `127.0.0.1:${base + 6}` },
};
const ids = Array.from({ length: N }, (_, i) => `r${String(i).padStart(4, '0')}`);
const config = {
  properties: { clusterName: 'scale', stonithEnabled: false, noQuorumPolicy: 'ignore' },
  nodes: ['serv1', 'serv2'].map((name) => ({ name, addresses: addresses[name] })),
  resources: ids.map((id) => ({ type: 'primitive', id, agent: 'paceline:dummy', ops: [{ name: 'monitor', interval: `${monitorS}s` }] })),
  constraints: ids.map((id, i) => ({ type: 'location', id: `${id}-home`, resource: id, node: i % 2 === 0 ? 'serv1' : 'serv2', score: 100 })),
};
const configFile = join(root, 'cluster.json');
writeFileSync(configFile, JSON.stringify(config));
const keyFile = join(root, 'key');
const key = lab ? (await generateKey(keyFile)).toString('hex') : randomBytes(32).toString('hex');
const membership = opt('membership', undefined);
const placeTimeoutS = Number(opt('timeout', '600'));
const failoverTimeoutS = Number(opt('failover-timeout', '60'));
if (membership !== undefined) process.env.BENCH_MEMBERSHIP = JSON.stringify(JSON.parse(membership));
if (lab) process.env.BENCH_FENCE = lab.fenceCommand;
const witness = withWitness ? await lab.startWitness(join(repoRoot, 'packages/cli/dist/main.js'), keyFile, configFile) : undefined;
if (witness) process.env.BENCH_ARBITER = lab.witnessAddress;

// The two node processes and the questions the bench asks them (scripts/lib/scale-nodes.mjs).
const { children, start, ask, stats, probe, endPhase } = scaleNodes({
  spawn: (node, argv, execArgv) => {
    const script = join(here, 'bench-daemon-scale-node.mjs');
    return lab ? lab.spawnNode(node, [...execArgv, script, ...argv]) : fork(script, argv, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  },
  args: (node) => [node, configFile, join(root, node), key],
  stateDir: (node) => join(root, node),
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, check, timeoutMs, everyMs = 250) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
/**
 * serv1's status once a transition has ended there since the last one read (or 5 s went by), else
 * undefined: a status read while resources move makes the daemon read its whole status again (tens
 * of ms at 1,000 resources), which polling it every half second added to the placement measured.
 */
let lastRead = { done: -1, at: 0 };
async function settledStatus(node = 'serv1') {
  const light = await stats(node, true);
  if (light.transitionsDone === lastRead.done && Date.now() - lastRead.at < 5000) return undefined;
  lastRead = { done: light.transitionsDone, at: Date.now() };
  return stats(node);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const settled = (s) => s.lastTransition !== null && s.lastTransition.state !== 'running';

const result = { resources: N, monitorS, fault, lost: victim, netns, witness: witness !== undefined, loadavgStart: loadavg()[0] };
try {
  const t0 = Date.now();
  await Promise.all([start('serv1'), start('serv2')]);
  const up = Date.now();
  const at0 = { serv1: await stats('serv1'), serv2: await stats('serv2') };
  const cpu0 = { serv1: at0.serv1.cpuMs, serv2: at0.serv2.cpuMs };
  const placed = await until(
    'every resource at home',
    async () => {
      const s = await settledStatus();
      await stats('serv2', true);
      if (s === undefined) return undefined;
      if (process.env.BENCH_VERBOSE)
        console.error(
          JSON.stringify({
            t: Date.now() - up,
            running: s.running,
            members: s.members,
            coordinator: s.coordinator,
            last: s.lastTransition,
            warnings: s.warnings,
            loopDelayMaxMs: Math.round(s.loopDelayMaxMs),
            lost: s.lost,
          }),
        );
      return s.running.serv1 === N / 2 && s.running.serv2 === N / 2 && settled(s) ? s : undefined;
    },
    placeTimeoutS * 1000,
  );
  const placedAt = Date.now();
  const p2 = await stats('serv2');
  result.placement = endPhase();
  result.startMs = up - t0;
  result.placedMs = placedAt - up;
  result.transitionsToPlace = placed.lastTransition.id;
  result.placeCpuMs = { serv1: placed.cpuMs - cpu0.serv1, serv2: p2.cpuMs - cpu0.serv2 };
  result.coordinatorCpuPerTransitionMs = result.placeCpuMs.serv1 / Math.max(1, placed.lastTransition.id);
  const delta = (field, a, b) => (a[field] === null || b[field] === null ? null : a[field] - b[field]);
  result.placeWaitMs = { serv1: delta('runDelayMs', placed, at0.serv1), serv2: delta('runDelayMs', p2, at0.serv2) };
  result.placeMessages = { serv1: placed.messages - at0.serv1.messages, serv2: p2.messages - at0.serv2.messages };
  result.coordinator = placed.coordinator;

  await sleep(settleS * 1000); // let the last reports and monitors settle (and the code warm up)
  // The event-loop delay probe (a 10 ms timer in each node) is off while the CPU at rest is measured.
  probe(false);
  const a1 = await stats('serv1');
  const a2 = await stats('serv2');
  endPhase();
  await sleep(restS * 1000);
  const b1 = await stats('serv1', true);
  const b2 = await stats('serv2', true);
  result.restPhase = endPhase();
  probe(true);
  const b2status = await stats('serv2');
  result.rest = {
    seconds: restS,
    bytesPerSecond: { serv1: (b1.sent.bytes - a1.sent.bytes) / restS, serv2: (b2.sent.bytes - a2.sent.bytes) / restS },
    packetsPerSecond: { serv1: (b1.sent.packets - a1.sent.packets) / restS, serv2: (b2.sent.packets - a2.sent.packets) / restS },
    cpuPercent: { serv1: (b1.cpuMs - a1.cpuMs) / (restS * 10), serv2: (b2.cpuMs - a2.cpuMs) / (restS * 10) },
    rssMiB: { serv1: b1.rssMiB, serv2: b2.rssMiB },
  };

  const latencies = [];
  let statusBytes = 0;
  for (let i = 0; i < 20; i++) {
    const t = process.hrtime.bigint();
    const r = await controlRequest(children.get('serv2').stateDir, { cmd: 'status' });
    latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
    statusBytes = JSON.stringify(r.data).length;
  }
  result.status = { medianMs: median(latencies), maxMs: Math.max(...latencies), bytes: statusBytes, inProcessMs: b2status.statusMs };

  const before = await stats(survivor);
  endPhase();
  lastRead = { done: before.transitionsDone, at: Date.now() };
  if (witness) await sleep(witness.readyAt - Date.now()); // a fresh witness holds its votes back for a while
  await ask(survivor, 'mark'); // the survivor's failover timeline starts
  const lost = children.get(victim).child;
  let k;
  if (lab) {
    const pids = lab.pids(victim);
    if (!pids.includes(lost.pid)) throw new Error(`${victim}'s daemon (pid ${lost.pid}) is not among the processes of its namespace (${pids.join(' ')})`);
    k = lab.inject(fault, victim, pids);
  } else {
    k = Date.now();
    lost.kill('SIGKILL');
  }
  const after = await until(
    `all ${N} on ${survivor}`,
    async () => {
      const s = await settledStatus(survivor);
      return s !== undefined && s.running[survivor] === N && settled(s) ? s : undefined;
    },
    failoverTimeoutS * 1000,
    50, // the light question is a few bytes over IPC: a fine poll keeps the bench's own figure close to the daemon's
  ).catch(async (e) => {
    // A stalled failover: where the survivor stands, before everything is removed.
    const { diagnosis } = await ask(survivor, 'diagnose');
    const text = JSON.stringify({ error: e.message, faultAt: k, fenceCalls: lab?.fenceCalls(), [survivor]: diagnosis }, null, 1);
    if (process.env.BENCH_LOG) writeFileSync(join(process.env.BENCH_LOG, 'stall.json'), text);
    console.error(`the failover stalled; ${survivor}'s state:\n${text}`);
    throw e;
  });
  result.failoverMs = Date.now() - k;
  result.failover = endPhase();
  result.failoverCpuMs = after.cpuMs - before.cpuMs;
  result.failoverWaitMs = delta('runDelayMs', after, before);
  result.warnings = [...placed.warnings, ...after.warnings].slice(0, 5);
  const { timeline } = await ask(survivor, 'timeline');
  result.failoverTransitions = timeline.transitionsDone.length;
  result.timeline = failoverTimeline(timeline, k, lab?.fenceCalls() ?? [], survivor, victim);
  if (lab) {
    await sleep(observeS * 1000);
    const s = await stats(survivor);
    const exit = await Promise.race([new Promise((r) => lost.once('exit', (_c, sig) => r(sig))), sleep(1000).then(() => lost.signalCode)]);
    result.safety = safetyChecks({
      timeline,
      t0: k,
      calls: lab.fenceCalls(),
      N,
      runningAfter: s.running[survivor] ?? 0,
      survivor,
      victim,
      lostExit: exit ?? lost.signalCode,
      lostPids: lab.pids(victim),
    });
  }
} finally {
  // BENCH_LOG=DIR keeps the stub power switch's log and the witness's there too.
  if (process.env.BENCH_LOG)
    for (const f of ['fence-calls.log', 'witness.log']) if (existsSync(join(root, f))) copyFileSync(join(root, f), join(process.env.BENCH_LOG, f));
  for (const { child } of children.values()) if (child.connected) child.send({ cmd: 'exit' });
  await sleep(process.env.BENCH_NODE_ARGS ? 3000 : 100);
  for (const { child } of children.values()) child.kill('SIGKILL');
  await sleep(200);
  rmSync(root, { recursive: true, force: true });
  nsLab?.cleanup();
}
result.loadavgEnd = loadavg()[0];

const f = (x, d = 0) => (typeof x === 'number' ? x.toFixed(d) : String(x));
const m = membership !== undefined ? JSON.parse(membership) : {};
const detectionMs = (m.tickMs ?? 50) * (m.deadTicks ?? 6);
const phaseCell = (p, node, probeOff = false) => `${probeOff ? 'probe off' : `${f(p?.loopDelayMaxMs[node] ?? 0)} ms`}, ${p?.lost[node] ?? 0} lost`;
console.log(
  `bench:daemon:scale — ${N} dummy resources (monitor every ${monitorS} s), ${lab ? `two daemons in network namespaces (LAN bridge and crossover, stub power switch, ${witness ? 'witness arbiter' : 'no witness'})` : 'two daemons on loopback'}, membership ${membership ?? 'default profile'} (detection ${detectionMs} ms); load average ${f(result.loadavgStart, 1)} → ${f(result.loadavgEnd, 1)} on ${cpus().length} cores`,
);
console.log('| measure | serv1 (coordinator) | serv2 |');
console.log('|---|---|---|');
console.log(`| cold placement: both up → all ${N} at home | ${f(result.placedMs)} ms (${result.transitionsToPlace} transitions) | |`);
console.log(
  `| CPU during placement | ${f(result.placeCpuMs.serv1)} ms (${f(result.coordinatorCpuPerTransitionMs)} ms per transition) | ${f(result.placeCpuMs.serv2)} ms |`,
);
console.log(
  `| placement: waiting for a core (run queue), daemon messages sent | ${f(result.placeWaitMs.serv1)} ms, ${result.placeMessages.serv1} messages | ${f(result.placeWaitMs.serv2)} ms, ${result.placeMessages.serv2} messages |`,
);
console.log(`| placement: event loop's largest delay, peers lost | ${phaseCell(result.placement, 'serv1')} | ${phaseCell(result.placement, 'serv2')} |`);
console.log(
  `| at rest: bytes sent per second | ${f(result.rest.bytesPerSecond.serv1)} B/s (${f(result.rest.packetsPerSecond.serv1, 1)} packets/s) | ${f(result.rest.bytesPerSecond.serv2)} B/s (${f(result.rest.packetsPerSecond.serv2, 1)} packets/s) |`,
);
console.log(
  `| at rest: CPU (from ${settleS} s after placement) | ${f(result.rest.cpuPercent.serv1, 2)} % of a core | ${f(result.rest.cpuPercent.serv2, 2)} % of a core |`,
);
console.log(
  `| at rest: event loop's largest delay, peers lost | ${phaseCell(result.restPhase, 'serv1', true)} | ${phaseCell(result.restPhase, 'serv2', true)} |`,
);
console.log(`| at rest: resident memory | ${f(result.rest.rssMiB.serv1)} MiB | ${f(result.rest.rssMiB.serv2)} MiB |`);
console.log(
  `| status over the control socket (median / max of 20) | | ${f(result.status.medianMs, 1)} / ${f(result.status.maxMs, 1)} ms (${result.status.bytes} bytes; in-process ${f(result.status.inProcessMs, 2)} ms) |`,
);
console.log(
  `| ${victim} ${{ kill: 'killed (kill -9)', lost: 'lost (silent: frozen, links down)', hang: 'hung (frozen, links up)', isolated: 'isolated (links cut, running)' }[fault]} → all ${N} running on ${survivor} (detection ${detectionMs} ms) | ${f(result.failoverMs)} ms (${result.failoverTransitions} transitions, ${f(result.failoverCpuMs)} ms CPU, ${f(result.failoverWaitMs)} ms waiting for a core) | |`,
);
for (const line of failoverLines(result, detectionMs, survivor, victim)) console.log(line);
if (result.warnings.length) console.log(`warnings logged: ${result.warnings.join(' | ')}`);
if (args.includes('--json')) console.log(JSON.stringify(result, null, 1));
