#!/usr/bin/env node
// Child process of bench-daemon-scale.mjs: one Paceline daemon (the library's Daemon, as
// `paceline daemon` runs it) with the dummy agents on loopback. It counts the UDP bytes it sends
// (every datagram goes through dgram's Socket#send) and answers the parent's questions over IPC:
// { cmd: 'stats' } → CPU used so far, bytes sent, where resources run as this node sees it, the
// event loop's largest delay and the peers lost since the last question ({ light: true }: no status,
// but the number of transitions ended so far); { cmd: 'probe', on } turns the event-loop delay probe
// on or off (its delay is then null).
// Usage (by the parent): node bench-daemon-scale-node.mjs NODE CONFIG.json STATE_DIR KEY_HEX
// { cmd: 'mark' } starts a failover's timeline, { cmd: 'timeline' } returns it (wall-clock ms of the
// first peer lost, arbiter vote granted, fencing confirmed, first start, and every start and
// transition ended since the mark); { cmd: 'diagnose' }: where a stalled failover stands (diagnosis()).
// (BENCH_LOG=DIR in the environment: each node's log at debug level in DIR/NODE.log. BENCH_FENCE=CMD:
// fencing runs CMD NODE, exit 0 = off — otherwise it succeeds at once, the bench killing its peer
// itself. BENCH_ARBITER=HOST:PORT: the `paceline witness` arbiter there. BENCH_PROFILE=DIR: a CPU
// profile of the main thread from the mark to the timeline's question, DIR/NODE-failover.cpuprofile.)
import dgram from 'node:dgram';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { AgentRegistry } from '@paceline/agent-api';
import { dummyAgents } from '@paceline/agent-dummy';
import { Daemon, systemTimers } from '@paceline/daemon';
import { ArbiterClient, ExecaCommandRunner, createLogger, systemClock } from '@paceline/runtime';

const [node, configFile, stateDir, keyHex] = process.argv.slice(2);
const sent = { packets: 0, bytes: 0 };
const send = dgram.Socket.prototype.send;
dgram.Socket.prototype.send = function (msg, ...rest) {
  sent.packets += 1;
  sent.bytes += Array.isArray(msg) ? msg.reduce((n, b) => n + b.length, 0) : msg.length;
  return send.call(this, msg, ...rest);
};

const warnings = [];
/** The last 20 WARN and ERROR lines (never cleared: a stalled failover's diagnosis shows them). */
const problems = [];
// BENCH_LOG=DIR: this node's whole log at debug level in DIR/NODE.log as well (to trace an action
// from the transition to the report that confirms it); warnings are collected either way.
const logFile = process.env.BENCH_LOG ? createWriteStream(join(process.env.BENCH_LOG, `${node}.log`)) : undefined;
const logger = createLogger({
  level: logFile ? 'debug' : 'warn',
  stream: new Writable({
    write(c, _e, cb) {
      logFile?.write(c);
      if (/^\S+ (WARN|ERROR)/.test(String(c))) {
        if (warnings.length < 50) warnings.push(String(c).trim());
        problems.push(String(c).trim());
        if (problems.length > 20) problems.shift();
      }
      cb();
    },
  }),
});
const runner = new ExecaCommandRunner();
const config = JSON.parse(readFileSync(configFile, 'utf8'));
const key = Buffer.from(keyHex, 'hex');
const fenceCommand = process.env.BENCH_FENCE;
/** As `paceline daemon --fence-command CMD`: CMD NODE, exit 0 = off. */
async function fenceByCommand(target, signal) {
  const r = await runner.run(fenceCommand, [target], { timeoutMs: 60_000, signal });
  return r.exitCode === 0 ? { ok: true } : { ok: false, detail: `${fenceCommand} ${target}: exit ${r.exitCode ?? r.signal} ${r.stderr.trim()}` };
}
let daemon;
// As `paceline daemon --arbiter HOST:PORT`: the witness knows this node by its incarnation.
const arbiter = process.env.BENCH_ARBITER
  ? await ArbiterClient.open({ self: node, address: process.env.BENCH_ARBITER, key, cluster: config.properties.clusterName, boot: () => daemon.incarnation })
  : undefined;
daemon = new Daemon({
  node,
  config,
  stateDir,
  key,
  agents: new AgentRegistry([...dummyAgents]),
  runner,
  clock: systemClock,
  timers: systemTimers,
  logger,
  // Without BENCH_FENCE the bench kills its peer itself: fencing it succeeds at once.
  fence: fenceCommand ? fenceByCommand : async () => ({ ok: true }),
  ...(arbiter ? { arbiter } : {}),
  ...(process.env.BENCH_MEMBERSHIP ? { membership: JSON.parse(process.env.BENCH_MEMBERSHIP) } : {}),
});
await daemon.start();
// How late the event loop runs (heartbeats are sent from it): the largest delay since the last `stats`.
// The probe is a 10 ms timer of its own (about 0.4 % of a core here): the parent turns it off while
// it measures the CPU at rest ({ cmd: 'probe', on: false }), so that the bench does not measure itself.
const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();
let probing = true;
const lost = [];
/** How long this process's main thread has waited for a core so far (the run queue, /proc/self/schedstat), in ms; null where unknown. */
function runDelayMs() {
  try {
    return Number(readFileSync('/proc/self/schedstat', 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return null;
  }
}
/** What the process has done so far: CPU, waiting for a core, daemon messages sent. */
function counters() {
  const cpu = process.cpuUsage();
  return { cpuMs: (cpu.user + cpu.system) / 1000, runDelayMs: runDelayMs(), messages: daemon.messageStats().messages?.sent ?? 0 };
}
daemon.on('node-lost', (e) => lost.push({ node: e.node, at: Date.now() }));
// Transitions ended so far: the parent asks for the (costly) status only when one ended since it last did.
let transitionsDone = 0;
daemon.on('transition-done', () => (transitionsDone += 1));
// A failover's timeline (from { cmd: 'mark' } on; wall-clock ms).
let timeline;
const first = (field) => {
  if (timeline && timeline[field] === undefined) timeline[field] = Date.now();
};
daemon.on('node-lost', () => first('lostAt'));
daemon.on('vote-changed', (e) => e.result === 'granted' && first('voteAt'));
daemon.on('fenced', (e) => e.ok && first('fencedAt'));
daemon.on('action-started', (e) => e.action === 'start' && first('firstStartAt'));
daemon.on('action-finished', (e) => {
  if (timeline && e.action === 'start') timeline.starts.push({ instance: e.instance, at: Date.now(), ok: e.succeeded });
});
daemon.on('transition-done', () => timeline?.transitionsDone.push(Date.now()));

process.on('message', (m) => {
  if (m?.cmd === 'exit') process.exit(0); // ends as is (a --cpu-prof profile is written on exit)
  if (m?.cmd === 'probe') {
    probing = m.on === true;
    if (probing) lag.enable();
    else lag.disable();
    lag.reset();
    return;
  }
  if (m?.cmd === 'mark') {
    timeline = { starts: [], transitionsDone: [] };
    void profile(true).then(() => process.send({ id: m.id, node }));
    return;
  }
  if (m?.cmd === 'timeline') {
    void profile(false).then(() => process.send({ id: m.id, node, timeline }));
    return;
  }
  if (m?.cmd === 'diagnose') {
    process.send({ id: m.id, node, diagnosis: diagnosis() });
    return;
  }
  if (m?.cmd !== 'stats') return;
  if (m.light) {
    // Without the status (it costs the daemon a read while resources move): CPU, loop delay, losses.
    const rssMiB = process.memoryUsage().rss / 2 ** 20;
    process.send({
      id: m.id,
      node,
      ...counters(),
      transitionsDone,
      sent: { ...sent },
      rssMiB,
      loopDelayMaxMs: probing ? lag.max / 1e6 : null,
      lost: lost.splice(0),
    });
    lag.reset();
    return;
  }
  const t0 = process.hrtime.bigint();
  const s = daemon.status();
  const statusMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const running = {};
  for (const r of s.resources) if (r.node !== null && r.role !== 'Stopped') running[r.node] = (running[r.node] ?? 0) + 1;
  process.send({
    id: m.id,
    node,
    ...counters(),
    transitionsDone,
    sent: { ...sent },
    running,
    statusMs,
    members: s.members.length,
    coordinator: s.coordinator,
    lastTransition: s.lastTransition ? { id: s.lastTransition.id, state: s.lastTransition.state, actions: s.lastTransition.actions } : null,
    rssMiB: process.memoryUsage().rss / 2 ** 20,
    warnings: warnings.splice(0),
    loopDelayMaxMs: probing ? lag.max / 1e6 : null,
    lost: lost.splice(0),
  });
  lag.reset();
});
/**
 * Where a failover stands, from the daemon's status and events: membership as this node sees it,
 * why the scheduler does not run (if it says), the last transition, where the resources are, the
 * failover's timeline so far (wall-clock ms) and the last WARN/ERROR lines.
 */
function diagnosis() {
  const s = daemon.status();
  const where = {};
  for (const r of s.resources) {
    const k = `${r.node ?? 'nowhere'} ${r.role}`;
    where[k] = (where[k] ?? 0) + 1;
  }
  const { resources: _r, membershipSettings: _m, ...rest } = s;
  return { at: Date.now(), status: { ...rest, resources: where }, timeline: timeline && { ...timeline, starts: timeline.starts.length }, problems };
}
/** BENCH_PROFILE=DIR: starts (on) or ends and writes (off) a CPU profile of this thread. */
let session;
async function profile(on) {
  if (!process.env.BENCH_PROFILE) return;
  if (on) {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 500 });
    await session.post('Profiler.start');
  } else if (session) {
    const { profile: p } = await session.post('Profiler.stop');
    writeFileSync(join(process.env.BENCH_PROFILE, `${node}-failover.cpuprofile`), JSON.stringify(p));
    session.disconnect();
    session = undefined;
  }
}
process.on('SIGTERM', () => void daemon.dispose().then(() => process.exit(0)));
process.send({ ready: true, node });
// The parent is gone (it ended or was stopped): end too, without stopping resources (dummies).
process.on('disconnect', () => process.exit(0));
