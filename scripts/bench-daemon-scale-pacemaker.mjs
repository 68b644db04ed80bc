#!/usr/bin/env node
// npm run bench:daemon:scale:pacemaker — Pacemaker + corosync on the scenario of bench:daemon:scale (issue 13).
//
// A real two-node cluster of Debian's pacemaker and corosync (scripts/lib/pcmk-cluster.mjs: two network
// namespaces joined by a veth, each node with its own mount namespace and state directories), N
// ocf:pacemaker:Dummy resources (default 1,000) with a monitor every --monitor seconds, half preferring
// each node (location 100), loaded in one `cibadmin --modify --allow-create`. Measured from outside,
// like scripts/bench-daemon-scale.mjs measures Paceline, and in the same invocation Paceline's bench runs
// first (spawned, --json) so the ratios come from one run on one machine load:
//   placed      from the load to every resource started at home and the DC idle (crmadmin -S, then crm_mon)
//   CPU         each daemon's CPU (with the agents pacemaker-execd forks) during placement, per transition
//   at rest     over --rest seconds: bytes sent per second on each veth end, CPU per node
//   crm_mon -1  on the node that is not the DC (as Paceline's status is asked on serv2), median of 10
//   failover    the non-DC node's daemons SIGKILLed and its veth downed → all N started on the DC
// Under the table: the DC's moves (pacemakerd restarts a controller that stops answering, the other
// node may win the election) and Pacemaker's own daemon failures read from its logs.
// Options: --resources N  --monitor SECONDS (10)  --rest SECONDS (10)  --token MS (corosync's; default
//          corosync's own)  --load-threshold PCT (Pacemaker's; default 100000%, see below)
//          --timeout SECONDS (each wait for placement or failover; default 2400)
//          --membership JSON (passed to Paceline's bench, e.g. '{"deadTicks":40}')
//          --no-paceline (skip the reference run)  --json
// Pacemaker throttles its controller to one action at a time per node when the machine's load average
// is above load-threshold (80% of the cores by default); on a shared machine that is the other jobs'
// load, not the cluster's, so the default here lifts it. Pass --load-threshold 80% to keep Pacemaker's.
// Traffic stays inside the two namespaces; they, the processes and the directories are removed on every
// way out (scripts/lib/ns-lab.mjs).
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanup, live } from './lib/ns-lab.mjs';
import { clusterStatus, controllerState, createCluster, currentDc, killNode, logTime, startPacemaker, waitFor, whyNot } from './lib/pcmk-cluster.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const N = Number(opt('resources', '1000'));
const monitorS = Number(opt('monitor', '10'));
const restS = Number(opt('rest', '10'));
const tokenMs = opt('token', undefined);
const loadThreshold = opt('load-threshold', '100000%');
const timeoutMs = Number(opt('timeout', '2400')) * 1000;
const here = dirname(fileURLToPath(import.meta.url));
const NAMES = ['serv1', 'serv2'];
const ids = Array.from({ length: N }, (_, i) => `r${String(i).padStart(4, '0')}`);
const home = (i) => NAMES[i % 2];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Paceline's own bench, same scenario, spawned; its table is printed as it is and its --json result returned. */
function runPaceline() {
  const r = spawnSync(
    process.execPath,
    [
      join(here, 'bench-daemon-scale.mjs'),
      ...['--resources', String(N), '--monitor', String(monitorS), '--rest', String(restS), '--json'],
      ...(opt('membership') !== undefined ? ['--membership', opt('membership')] : []),
    ],
    { encoding: 'utf8', timeout: 900_000, maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const out = r.stdout ?? '';
  const at = out.search(/^\{$/m);
  process.stdout.write(at >= 0 ? out.slice(0, at) : out);
  if (r.status !== 0 || at < 0) {
    console.log(`Paceline's bench did not finish (${r.error?.message ?? `exit ${r.status}`}); no ratios below.`);
    return undefined;
  }
  return JSON.parse(out.slice(at));
}

function configurationXml() {
  const prims = ids.map(
    (id) =>
      `<primitive id="${id}" class="ocf" provider="pacemaker" type="Dummy"><operations>` +
      `<op id="${id}-monitor-${monitorS}s" name="monitor" interval="${monitorS}s"/></operations></primitive>`,
  );
  const locs = ids.map((id, i) => `<rsc_location id="${id}-home" rsc="${id}" node="${home(i)}" score="100"/>`);
  return `<configuration><resources>${prims.join('')}</resources><constraints>${locs.join('')}</constraints></configuration>`;
}
const propertiesXml = () =>
  '<configuration><crm_config><cluster_property_set id="cib-bootstrap-options">' +
  [
    ['stonith-enabled', 'false'],
    ['no-quorum-policy', 'ignore'],
    ['load-threshold', loadThreshold],
  ]
    .map(([k, v]) => `<nvpair id="cib-bootstrap-options-${k}" name="${k}" value="${v}"/>`)
    .join('') +
  '</cluster_property_set></crm_config></configuration>';

/** Sum of every daemon's CPU on a node, and the per-daemon difference between two usage() samples. */
const total = (u) => Object.values(u).reduce((s, d) => s + d.cpuMs, 0);
function delta(a, b) {
  const out = {};
  for (const [k, v] of Object.entries(b)) out[k] = v.cpuMs - (a[k]?.cpuMs ?? 0);
  return out;
}
/** Transitions calculated so far, counted on every node (only the DC calculates; the DC may move). */
const transitions = (nodes) => nodes.reduce((s, n) => s + (n.log().match(/Calculated transition \d+/g) ?? []).length, 0);

/**
 * Waits until every resource runs where `where(i)` says and the DC is idle; returns when that was seen
 * and the DC then (a DC whose controller was restarted meanwhile may have lost the election to the other node).
 */
async function allStarted(nodes, dc, where, what, result) {
  let seenAt;
  const t0 = Date.now();
  // Every 250 ms for the first 10 s, then every second: each look forks nsenter, crmadmin and crm_mon.
  const every = () => (Date.now() - t0 < 10_000 ? 250 : 1000);
  let told = t0;
  await waitFor(what, timeoutMs, every, () => {
    let state = controllerState(nodes, dc);
    if (state !== undefined && !/^S_(IDLE|POLICY_ENGINE|TRANSITION_ENGINE|INTEGRATION|FINALIZE_JOIN)$/.test(state)) {
      const now = currentDc(nodes);
      if (now && now !== dc) {
        (result.dcMoves ??= []).push(`${dc} → ${now} after ${Math.round((Date.now() - t0) / 1000)} s of "${what}"`);
        dc = now;
        state = controllerState(nodes, dc);
      }
    }
    if (Date.now() - told > 60_000) {
      told = Date.now();
      const starts = nodes.reduce((n, node) => n + (node.log().match(/Result of start operation/g) ?? []).length, 0);
      console.error(`… ${what}: ${Math.round((told - t0) / 1000)} s, DC ${state ?? 'not answering'}, ${starts} starts logged so far`);
    }
    if (state !== 'S_IDLE') return false;
    seenAt = Date.now();
    const st = clusterStatus(nodes.find((n) => n.name === dc));
    return st && ids.every((id, i) => st.resources.get(id)?.role === 'Started' && st.resources.get(id).nodes.join() === where(i));
  });
  return { seenAt, dc };
}

/** Loads the configuration and waits for it to be placed; returns the DC at the end. */
async function place(nodes, dc, result) {
  nodes[0].must('cibadmin', ['--modify', '--allow-create', '--xml-pipe'], { input: propertiesXml() });
  await waitFor('the DC idle after setting the cluster properties', 60_000, 250, () => controllerState(nodes, dc) === 'S_IDLE');
  await sleep(1000);
  const xml = configurationXml();
  const u0 = nodes.map((n) => n.usage());
  const tr0 = transitions(nodes);
  const t0 = Date.now();
  nodes[0].must('cibadmin', ['--modify', '--allow-create', '--xml-pipe'], { input: xml, timeoutMs: 300_000 });
  result.loadCallMs = Date.now() - t0;
  result.cibBytes = xml.length;
  const seen = await allStarted(nodes, dc, home, `all ${N} started at home`, result);
  result.placedMs = seen.seenAt - t0;
  const u1 = nodes.map((n) => n.usage());
  result.transitionsToPlace = transitions(nodes) - tr0;
  dc = seen.dc;
  const dcNode = nodes.find((n) => n.name === dc);
  result.placeCpuMs = Object.fromEntries(nodes.map((n, i) => [n.name, total(u1[i]) - total(u0[i])]));
  result.placeDcDaemonsMs = delta(u0[nodes.indexOf(dcNode)], u1[nodes.indexOf(dcNode)]);
  result.dcCpuPerTransitionMs = result.placeCpuMs[dc] / Math.max(1, result.transitionsToPlace);
  return dc;
}

async function rest(nodes, result) {
  await sleep(2000); // the last monitors' first runs
  const a = nodes.map((n) => ({ u: n.usage(), w: n.wire() }));
  const t = Date.now();
  await sleep(restS * 1000);
  const s = (Date.now() - t) / 1000;
  const b = nodes.map((n) => ({ u: n.usage(), w: n.wire() }));
  const per = (f) => Object.fromEntries(nodes.map((n, i) => [n.name, f(a[i], b[i])]));
  result.rest = {
    seconds: s,
    bytesPerSecond: per((x, y) => (y.w.tx - x.w.tx) / s),
    packetsPerSecond: per((x, y) => (y.w.txPackets - x.w.txPackets) / s),
    cpuPercent: per((x, y) => (total(y.u) - total(x.u)) / (s * 10)),
    daemonsPercent: per((x, y) => Object.fromEntries(Object.entries(delta(x.u, y.u)).map(([k, v]) => [k, v / (s * 10)]))),
    pssMiB: per((x, y) => Object.values(y.u).reduce((m, d) => m + d.pssKiB, 0) / 1024),
  };
}

function crmMonLatency(other, result) {
  const time = (cmd, a) => {
    const t = process.hrtime.bigint();
    const r = other.exec(cmd, a, { timeoutMs: 60_000 });
    if (r.status !== 0) throw new Error(`${other.name}: ${cmd} ${a.join(' ')} failed: ${r.stderr.trim()}`);
    return { ms: Number(process.hrtime.bigint() - t) / 1e6, bytes: r.stdout.length };
  };
  const base = Array.from({ length: 5 }, () => time('true', []).ms);
  const runs = Array.from({ length: 10 }, () => time('crm_mon', ['-1']));
  result.crmMon = { medianMs: median(runs.map((r) => r.ms)), maxMs: Math.max(...runs.map((r) => r.ms)), bytes: runs[0].bytes, nsenterMs: median(base) };
}

async function failover(nodes, dc, result) {
  const dcNode = nodes.find((n) => n.name === dc);
  const other = nodes.find((n) => n.name !== dc);
  const u0 = dcNode.usage();
  const tr0 = transitions(nodes);
  const k = Date.now();
  result.killed = { node: other.name, at: k };
  killNode(other);
  const seen = await allStarted(nodes, dc, () => dc, `all ${N} started on ${dc} after ${other.name} was killed`, result);
  result.failoverMs = seen.seenAt - k;
  const u1 = dcNode.usage();
  result.failoverCpuMs = total(u1) - total(u0);
  result.failoverDcDaemonsMs = delta(u0, u1);
  result.failoverTransitions = transitions(nodes) - tr0;
  const left = dcNode
    .log('corosync.log')
    .split('\n')
    .find((l) => /Members left/.test(l) && logTime(l) >= k - 1000);
  result.detectionMs = left ? logTime(left) - k : undefined;
  const token = dcNode.exec('corosync-cmapctl', ['-g', 'runtime.config.totem.token']).stdout;
  const consensus = dcNode.exec('corosync-cmapctl', ['-g', 'runtime.config.totem.consensus']).stdout;
  result.corosync = { tokenMs: Number(/= (\d+)/.exec(token)?.[1]), consensusMs: Number(/= (\d+)/.exec(consensus)?.[1]) };
}

/**
 * Pacemaker's own daemons failing during the run (pacemakerd kills a subdaemon that stops answering
 * its IPC, a daemon exits); on the node the bench killed, only what came before the kill.
 */
function incidents(nodes, killed) {
  const re = /error: (.*(unresponsive to ipc|exited with status|terminated with signal|Could not recover).*)$/;
  return nodes.flatMap((n) =>
    n
      .log()
      .split('\n')
      .filter((l) => !(killed?.node === n.name && logTime(l) >= killed.at - 1000))
      .map((l) => re.exec(l))
      .filter(Boolean)
      .map((m) => `${n.name}: ${m[1].replace(/ \| .*/, '')}`),
  );
}

function tails(nodes) {
  for (const n of nodes)
    for (const file of ['corosync.log', 'pacemaker.log', 'corosync.out', 'pacemakerd.out']) {
      const lines = n.log(file).trimEnd().split('\n').slice(-12);
      if (lines.join('')) console.error(`--- ${n.name} ${file} (last lines)\n${lines.join('\n')}`);
    }
}

async function runPacemaker() {
  const root = mkdtempSync(join(tmpdir(), 'paceline-bench-pcmk-'));
  live.dirs.push(root);
  const result = { resources: N, monitorS, loadThreshold, loadavgStart: loadavg()[0] };
  let nodes = [];
  try {
    const t = Date.now();
    nodes = await createCluster({ tag: `${process.pid.toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`, root, names: NAMES, tokenMs });
    result.corosyncUpMs = Date.now() - t;
    const elected = await startPacemaker(nodes);
    result.pacemakerUpMs = Date.now() - t - result.corosyncUpMs;
    const dc = (result.dc = await place(nodes, elected, result));
    await rest(nodes, result);
    crmMonLatency(
      nodes.find((n) => n.name !== dc),
      result,
    );
    await failover(nodes, dc, result);
  } catch (e) {
    console.error(`bench:daemon:scale:pacemaker: Pacemaker + corosync could not complete the scenario: ${e.message}`);
    tails(nodes);
    result.error = e.message;
  }
  result.incidents = incidents(nodes, result.killed);
  result.loadavgEnd = loadavg()[0];
  return result;
}

const f = (x, d = 0) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '—');
const ratio = (a, b) => (typeof a === 'number' && typeof b === 'number' && a > 0 && b > 0 ? `${(a / b).toFixed(a / b >= 10 ? 0 : 1)}×` : '—');

function printPacemaker(p) {
  const dc = p.dc;
  const other = NAMES.find((n) => n !== dc);
  const top = (o) =>
    Object.entries(o ?? {})
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([k, v]) => `${k.replace('pacemaker-', '')} ${f(v)}`)
      .join(', ');
  console.log(
    `\nbench:daemon:scale:pacemaker — ${N} ocf:pacemaker:Dummy (monitor every ${monitorS} s), Pacemaker + corosync in two namespaces over a veth, load-threshold ${loadThreshold}; load average ${f(p.loadavgStart, 1)} → ${f(p.loadavgEnd, 1)} on 2 cores`,
  );
  if (p.placedMs === undefined) return; // nothing measured: the reason is printed below
  console.log(`| measure | ${dc} (DC) | ${other} |`);
  console.log('|---|---|---|');
  console.log(
    `| cold placement: cibadmin load → all ${N} started at home, DC idle | ${f(p.placedMs)} ms (${p.transitionsToPlace} transitions; cibadmin ${f(p.loadCallMs)} ms) | |`,
  );
  console.log(
    `| CPU during placement (with agents) | ${f(p.placeCpuMs?.[dc])} ms (${f(p.dcCpuPerTransitionMs)} ms per transition: ${top(p.placeDcDaemonsMs)}) | ${f(p.placeCpuMs?.[other])} ms |`,
  );
  const r = p.rest;
  for (const [label, k, d, unit] of [
    ['at rest: bytes sent per second (veth, with headers)', 'bytesPerSecond', 0, ' B/s'],
    ['at rest: CPU (daemons + monitor agents)', 'cpuPercent', 2, ' % of a core'],
    ['at rest: memory (daemons, proportional set size)', 'pssMiB', 0, ' MiB'],
  ])
    console.log(`| ${label} | ${f(r?.[k]?.[dc], d)}${unit} | ${f(r?.[k]?.[other], d)}${unit} |`);
  console.log(
    `| crm_mon -1 (median / max of 10) | | ${f(p.crmMon?.medianMs, 1)} / ${f(p.crmMon?.maxMs, 1)} ms (${p.crmMon?.bytes} bytes; nsenter alone ${f(p.crmMon?.nsenterMs, 1)} ms) |`,
  );
  console.log(
    `| ${other} killed → all ${N} started on ${dc} | ${f(p.failoverMs)} ms (corosync saw it after ${f(p.detectionMs)} ms, token ${f(p.corosync?.tokenMs)} ms + consensus ${f(p.corosync?.consensusMs)} ms; ${p.failoverTransitions} transitions, ${f(p.failoverCpuMs)} ms CPU) | |`,
  );
}

function printComparison(pl, p) {
  const dc = p.dc;
  console.log(`\nPaceline vs Pacemaker, same run (Pacemaker ÷ Paceline; higher means Paceline is ahead)`);
  console.log('| measure | Paceline | Pacemaker + corosync | ratio |');
  console.log('|---|---|---|---|');
  const row = (label, a, b, unit, d = 0) => console.log(`| ${label} | ${f(a, d)} ${unit} | ${f(b, d)} ${unit} | ${ratio(b, a)} |`);
  row(`cold placement of ${N}`, pl.placedMs, p.placedMs, 'ms');
  row('coordinator / DC CPU during placement', pl.placeCpuMs?.serv1, p.placeCpuMs?.[dc], 'ms');
  row('failover (kill → all on the survivor)', pl.failoverMs, p.failoverMs, 'ms');
  row('failover CPU on the survivor', pl.failoverCpuMs, p.failoverCpuMs, 'ms');
  const sum = (o) => (o ? Object.values(o).reduce((s, v) => s + v, 0) : undefined);
  row('at rest: bytes sent per second, both nodes', sum(pl.rest?.bytesPerSecond), sum(p.rest?.bytesPerSecond), 'B/s');
  row('at rest: CPU, both nodes', sum(pl.rest?.cpuPercent), sum(p.rest?.cpuPercent), '% of a core', 2);
  row('at rest: memory, both nodes (Paceline RSS, Pacemaker PSS)', sum(pl.rest?.rssMiB), sum(p.rest?.pssMiB), 'MiB');
  row('status: `paceline status` vs `crm_mon -1`', pl.status?.medianMs, p.crmMon?.medianMs, 'ms', 1);
  console.log(
    "(Paceline's bytes are UDP payload counted by the daemon; Pacemaker's are whole frames on the veth. Failover includes detection: Paceline's tick × deadTicks, corosync's token + consensus.)",
  );
}

const why = whyNot();
if (why) {
  console.log(`bench:daemon:scale:pacemaker: skipped — ${why}.`);
  process.exit(0);
}
const paceline = args.includes('--no-paceline') ? undefined : runPaceline();
const pacemaker = await runPacemaker();
printPacemaker(pacemaker);
if (paceline && !pacemaker.error) printComparison(paceline, pacemaker);
if (pacemaker.dcMoves?.length) console.log(`\nThe DC moved: ${pacemaker.dcMoves.join('; ')}`);
if (pacemaker.incidents?.length) console.log(`\nPacemaker's daemons failed during the run:\n${pacemaker.incidents.map((l) => `- ${l}`).join('\n')}`);
if (pacemaker.error) console.log(`\nPacemaker could not complete the scenario: ${pacemaker.error}`);
if (args.includes('--json')) console.log(JSON.stringify({ paceline, pacemaker }, null, 1));
cleanup(); // the daemons' handles would keep this process alive
process.exit(pacemaker.error ? 1 : 0);
