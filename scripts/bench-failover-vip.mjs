#!/usr/bin/env node
// Client-observed failover of a service IP, in the reference two-server setup: three network
// namespaces (serv1, serv2, client), a `crossover` veth between the servers and a `lan` bridge (in
// the client's namespace) joining all three; two `paceline daemon` processes (`ip netns exec`);
// a group of a `paceline:ip` VIP on the lan and a dummy, at home on serv1; fencing by a stub command
// that "powers off" a server's namespace (kills every process in it, takes its links down).
// A UDP echo responder is bound to the VIP on both servers (net.ipv4.ip_nonlocal_bind=1), always
// running, answering with its server's name; a prober in the client's namespace sends it a datagram
// every 10 ms. Each trial starts both daemons fresh, waits until the client is answered by serv1,
// then at t0 either
//   kill: SIGKILLs every process in serv1's namespace (the daemon, the responder and anything the
//         daemon started) — the host stays up, so serv1's kernel answers serv2's heartbeats with
//         ICMP port unreachable;
//   hang: SIGSTOPs them instead (no ICMP, nothing answers: like a hung or powered-off node);
// and measures the time until the client gets its first reply from serv2 (the VIP moved, the
// client's neighbour entry followed the gratuitous ARP). Also shown: when serv2 fenced serv1.
// Needs root, ip, nft and arping; otherwise it says why and exits 0.
// Usage: npm run build && node scripts/bench-failover-vip.mjs [--trials 20] [--profile default|fast]... [--mode kill|hang]...
//        [--dad-timeout MS] [--fence-delay TICKS]
//   Default: both profiles, both modes; the VIP agent's own defaults (no IPv4 duplicate-address check unless
//   --dad-timeout MS asks for one; before 9aeb4b2 the agent checked for 1000 ms by default).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, killAllIn, live, requireLab, run } from './lib/ns-lab.mjs';
import { createInterface } from 'node:readline';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'packages/cli/dist/main.js');

const argv = process.argv.slice(2);
function values(name) {
  const out = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== name) continue;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) {
      console.error(`${name} needs a value`);
      process.exit(2);
    }
    out.push(v);
  }
  return out;
}
const known = new Set(['--trials', '--profile', '--mode', '--dad-timeout', '--fence-delay']);
for (let i = 0; i < argv.length; i += 2) {
  if (!known.has(argv[i])) {
    console.error(`unknown option ${argv[i]} (${[...known].join(', ')})`);
    process.exit(2);
  }
}
const trials = Number(values('--trials').at(-1) ?? '20');
if (!Number.isInteger(trials) || trials < 1 || trials > 200) {
  console.error(`--trials must be an integer 1..200, got ${values('--trials').at(-1)}`);
  process.exit(2);
}
const profiles = values('--profile').length ? values('--profile') : ['default', 'fast'];
for (const p of profiles) if (!['default', 'fast'].includes(p)) { console.error(`--profile must be default or fast, got ${p}`); process.exit(2); }
const modes = values('--mode').length ? values('--mode') : ['kill', 'hang'];
for (const m of modes) if (!['kill', 'hang'].includes(m)) { console.error(`--mode must be kill or hang, got ${m}`); process.exit(2); }
const dadArg = values('--dad-timeout').at(-1);
const dadTimeout = dadArg === undefined ? undefined : Number(dadArg);
if (dadTimeout !== undefined && (!Number.isInteger(dadTimeout) || dadTimeout < 0 || dadTimeout > 30000)) {
  console.error(`--dad-timeout must be an integer 0..30000 (ms), got ${dadArg}`);
  process.exit(2);
}
const fenceDelayArg = values('--fence-delay').at(-1);
if (fenceDelayArg !== undefined && !/^\d+$/.test(fenceDelayArg)) {
  console.error(`--fence-delay must be a whole number of ticks, got ${fenceDelayArg}`);
  process.exit(2);
}

const { controlRequest } = await requireLab('bench-failover-vip', 'network namespaces, nftables, addresses', [['ip', ['-V']], ['nft', ['--version']], ['arping', ['-V']]], root);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pid = process.pid;
const NS = { serv1: `pbv-serv1-${pid}`, serv2: `pbv-serv2-${pid}`, client: `pbv-client-${pid}` };
const SERVERS = ['serv1', 'serv2'];
const IF = { lan: 'lan', crossover: 'cx' };
// Used only inside the namespaces created here.
const ADDR = { crossover: { serv1: '10.215.1.1', serv2: '10.215.1.2' }, lan: { serv1: '10.215.2.1', serv2: '10.215.2.2' } };
const CLIENT = '10.215.2.200';
const VIP = '10.215.2.100';
const ECHO_PORT = 7007;
const PROBE_MS = 10;

const inNs = (ns, cmd, args) => run('ip', ['netns', 'exec', ns, cmd, ...args]);

// ---- network ---------------------------------------------------------------------------------
function setupNetwork() {
  for (const ns of Object.values(NS)) {
    run('ip', ['netns', 'add', ns]);
    live.namespaces.push(ns);
    inNs(ns, 'ip', ['link', 'set', 'lo', 'up']);
  }
  run('ip', ['link', 'add', IF.crossover, 'netns', NS.serv1, 'type', 'veth', 'peer', 'name', IF.crossover, 'netns', NS.serv2]);
  inNs(NS.client, 'ip', ['link', 'add', 'br0', 'type', 'bridge']);
  inNs(NS.client, 'ip', ['addr', 'add', `${CLIENT}/24`, 'dev', 'br0']);
  inNs(NS.client, 'ip', ['link', 'set', 'br0', 'up']);
  SERVERS.forEach((s, i) => {
    run('ip', ['link', 'add', IF.lan, 'netns', NS[s], 'type', 'veth', 'peer', 'name', `port${i + 1}`, 'netns', NS.client]);
    inNs(NS.client, 'ip', ['link', 'set', `port${i + 1}`, 'master', 'br0']);
    inNs(NS.client, 'ip', ['link', 'set', `port${i + 1}`, 'up']);
    for (const link of ['lan', 'crossover']) inNs(NS[s], 'ip', ['addr', 'add', `${ADDR[link][s]}/24`, 'dev', IF[link]]);
    // The responder binds the VIP on both servers whether or not the address is there.
    inNs(NS[s], 'sysctl', ['-q', '-w', 'net.ipv4.ip_nonlocal_bind=1']);
  });
}
/** Both servers as after a reboot: nothing running, no VIP, links up. */
function resetServers() {
  for (const s of SERVERS) {
    killAllIn(NS[s]);
    // A neighbour entry waiting for a powered-off peer queues datagrams; flushed, so that the
    // next trial's daemons do not receive the dead ones' heartbeats when the links come up.
    spawnSync('ip', ['-n', NS[s], 'neigh', 'flush', 'all'], { stdio: 'ignore' });
    spawnSync('ip', ['-n', NS[s], 'addr', 'del', `${VIP}/24`, 'dev', IF.lan], { stdio: 'ignore' });
    for (const link of ['lan', 'crossover']) inNs(NS[s], 'ip', ['link', 'set', IF[link], 'up']);
  }
}

// ---- helpers run inside the namespaces -------------------------------------------------------------
const RESPONDER = `import { createSocket } from 'node:dgram';
const [vip, port, name] = process.argv.slice(2);
const s = createSocket('udp4');
s.on('message', (m, r) => s.send(name, r.port, r.address));
s.bind(Number(port), vip);
`;
// process.hrtime is CLOCK_MONOTONIC: the same clock in every process of this machine.
const PROBER = `import { createSocket } from 'node:dgram';
const [vip, port, every] = process.argv.slice(2);
const s = createSocket('udp4');
s.on('message', (m) => process.stdout.write(process.hrtime.bigint() + ' ' + m + '\\n'));
s.bind(0, () => setInterval(() => s.send('?', Number(port), vip, () => undefined), Number(every)));
`;
function writeFence(dir) {
  const file = join(dir, 'fence.sh');
  writeFileSync(file, `#!/bin/sh
# Stub fencing: power off NODE = kill every process in its namespace (stopped ones too), links down.
case "$1" in
  serv1) ns=${NS.serv1} ;;
  serv2) ns=${NS.serv2} ;;
  *) echo "fence.sh: unknown node $1" >&2; exit 1 ;;
esac
for p in $(ip netns pids "$ns"); do kill -9 "$p" 2>/dev/null; done
ip -n "$ns" link set ${IF.lan} down || exit 1
ip -n "$ns" link set ${IF.crossover} down || exit 1
echo "$(cat /proc/uptime | cut -d' ' -f1) $1" >> ${join(dir, 'fenced.log')}
`);
  chmodSync(file, 0o755);
  return file;
}

function writeConfig(dir) {
  const vipParams = { address: VIP, cidrNetmask: 24, interface: IF.lan, ...(dadTimeout !== undefined ? { dadTimeout } : {}) };
  const config = {
    properties: { clusterName: 'vip-bench', stonithEnabled: false },
    defaults: { resource: { stickiness: 0 } },
    nodes: SERVERS.map((s) => ({ name: s, addresses: { lan: `${ADDR.lan[s]}:5405`, crossover: `${ADDR.crossover[s]}:5407` } })),
    resources: [{
      type: 'group', id: 'svc', members: [
        { type: 'primitive', id: 'vip', agent: 'paceline:ip', params: vipParams, ops: [{ name: 'monitor', interval: '2s' }] },
        { type: 'primitive', id: 'data', agent: 'paceline:dummy', ops: [{ name: 'monitor', interval: '2s' }] },
      ],
    }],
    constraints: [{ type: 'location', id: 'svc-home', resource: 'svc', node: 'serv1', score: 100 }],
  };
  writeFileSync(join(dir, 'cluster.json'), JSON.stringify(config, null, 2)); // JSON is YAML
}
/** A new cluster key per trial: a trial's daemons never accept a datagram of an earlier trial's. */
function newKey(dir) {
  rmSync(join(dir, 'key'), { force: true });
  const k = spawnSync(process.execPath, [cli, 'keygen', join(dir, 'key')], { encoding: 'utf8' });
  if (k.status !== 0) throw new Error(`paceline keygen failed: ${(k.stderr || k.stdout).trim()}`);
}

// ---- the client's prober (one for the whole run) ---------------------------------------------------
const replies = []; // { at: bigint ns, from }
function startProber(dir) {
  writeFileSync(join(dir, 'prober.mjs'), PROBER);
  const p = spawn('ip', ['netns', 'exec', NS.client, process.execPath, join(dir, 'prober.mjs'), VIP, String(ECHO_PORT), String(PROBE_MS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  live.procs.push(p);
  createInterface({ input: p.stdout }).on('line', (line) => {
    const [at, from] = line.split(' ');
    replies.push({ at: BigInt(at), from });
    if (replies.length > 50000) replies.splice(0, 25000);
  });
}

async function waitFor(what, check, timeoutMs, everyMs = 50) {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    try { if (await check()) return; lastError = ''; } catch (e) { if (e instanceof SetupError) throw e; lastError = e.message; }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}`);
    await sleep(everyMs);
  }
}
const uptime = () => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);

/** The cluster did not settle before the measurement (e.g. a false fencing at start-up under load): the trial is retried. */
class SetupError extends Error {}

async function trial(dir, profile, mode) {
  resetServers();
  for (const s of SERVERS) rmSync(join(dir, s), { recursive: true, force: true });
  rmSync(join(dir, 'fenced.log'), { force: true });
  newKey(dir);
  const procs = {};
  for (const s of SERVERS) {
    const r = spawn('ip', ['netns', 'exec', NS[s], process.execPath, join(dir, 'responder.mjs'), VIP, String(ECHO_PORT), s], { stdio: 'ignore' });
    live.procs.push(r);
    const log = openSync(join(dir, `${s}.log`), 'w');
    procs[s] = spawn('ip', ['netns', 'exec', NS[s], process.execPath, cli, 'daemon', '--config', join(dir, 'cluster.json'), '--node', s,
      '--state-dir', join(dir, s), '--key', join(dir, 'key'), '--fence-command', join(dir, 'fence.sh'), '--profile', profile,
      ...(fenceDelayArg !== undefined ? ['--membership', `fenceDelayTicks=${fenceDelayArg}`] : []), '--log-level', 'info'], { stdio: ['ignore', log, log] });
    closeSync(log);
    live.procs.push(procs[s]);
  }
  const status = async (s) => (await controlRequest(join(dir, s), { cmd: 'status' }, 2000)).data;
  const on = (st, rsc) => st.resources.filter((x) => x.resource === rsc && x.role !== 'Stopped').map((x) => x.node).join(',');
  await waitFor('both quorate, the group settled on serv1, the client answered by serv1', async () => {
    if (existsSync(join(dir, 'fenced.log'))) throw new SetupError(`a node was fenced while the cluster started: ${readFileSync(join(dir, 'fenced.log'), 'utf8').trim()}`);
    for (const s of SERVERS) if (procs[s].exitCode !== null) throw new Error(`${s}'s daemon exited; see ${dir}/${s}.log`);
    for (const s of SERVERS) {
      const st = await status(s);
      if (!st.mayRun || st.lastTransition?.state === 'running' || on(st, 'vip') !== 'serv1' || on(st, 'data') !== 'serv1') {
        throw new Error(`${s}: mayRun ${st.mayRun} (${st.mayRunReason}), transition ${st.lastTransition?.state ?? 'none'}, vip on [${on(st, 'vip')}], data on [${on(st, 'data')}]`
          + `, quarantine ${JSON.stringify(st.nodes.filter((n) => n.quarantine).map((n) => n.name))}`);
      }
    }
    const last = replies.at(-1);
    if (!(last && last.from === 'serv1' && process.hrtime.bigint() - last.at < 50_000_000n)) throw new Error(`the client's last reply: ${last ? `${last.from}, ${Number(process.hrtime.bigint() - last.at) / 1e6} ms ago` : 'none'}`);
    return true;
  }, 30000).catch((e) => { throw e instanceof SetupError ? e : new SetupError(e.message); });
  await sleep(300);
  const t0 = process.hrtime.bigint();
  const up0 = uptime();
  const signalled = killAllIn(NS.serv1, mode === 'kill' ? 'SIGKILL' : 'SIGSTOP');
  if (!signalled.includes(procs.serv1.pid)) throw new Error(`serv1's daemon (pid ${procs.serv1.pid}) was not among the processes of ${NS.serv1}`);
  let first;
  await waitFor('the first reply from serv2', () => (first = replies.find((r) => r.at > t0 && r.from === 'serv2')), 30000, 5);
  const ms = Number(first.at - t0) / 1e6;
  const lastServ1 = replies.filter((r) => r.at > t0 && r.from === 'serv1').at(-1);
  const fenceLine = existsSync(join(dir, 'fenced.log')) ? readFileSync(join(dir, 'fenced.log'), 'utf8').split('\n').find((l) => l.endsWith(' serv1')) : undefined;
  const fencedMs = fenceLine ? Math.round((Number(fenceLine.split(' ')[0]) - up0) * 1000) : undefined;
  resetServers();
  await Promise.all(Object.values(procs).map((p) => (p.exitCode !== null || p.signalCode !== null ? null : new Promise((r) => p.once('exit', r)))));
  return { ms, fencedMs, repliesFromServ1After: lastServ1 ? Number(lastServ1.at - t0) / 1e6 : undefined };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

try {
  try {
    setupNetwork();
  } catch (e) {
    console.log(`bench-failover-vip: skipped — cannot create network namespaces/veths here: ${e.message}`);
    cleanup();
    process.exit(0);
  }
  const dir = mkdtempSync(join(tmpdir(), 'paceline-bench-vip-'));
  live.dirs.push(dir);
  writeConfig(dir);
  writeFence(dir);
  writeFileSync(join(dir, 'responder.mjs'), RESPONDER);
  startProber(dir);
  const results = [];
  for (const profile of profiles) {
    for (const mode of modes) {
      const times = [];
      let setupFailures = 0;
      for (let i = 0; i < trials; i++) {
        let r;
        for (let attempt = 1; r === undefined; attempt++) {
          try {
            r = await trial(dir, profile, mode);
          } catch (e) {
            const keep = `${tmpdir()}/paceline-bench-vip-failed-${pid}-${profile}-${mode}-${i + 1}-${attempt}`;
            cpSync(dir, keep, { recursive: true, filter: (f) => !f.endsWith('.sock') });
            process.stderr.write(`[${profile}/${mode}] trial ${i + 1} attempt ${attempt} failed: ${e.message}\n  logs and state kept in ${keep}\n`);
            for (const s of SERVERS) {
              try { process.stderr.write(readFileSync(join(dir, `${s}.log`), 'utf8').split('\n').slice(-12).map((l) => `  ${s}: ${l}`).join('\n') + '\n'); } catch { /* none */ }
            }
            // Only a start-up that did not settle is retried (at most 3 times); a failed measurement ends the run.
            if (!(e instanceof SetupError) || attempt >= 3) throw e;
            setupFailures++;
          }
        }
        times.push(r);
        process.stderr.write(`[${profile}/${mode}] trial ${i + 1}/${trials}: first reply from serv2 after ${r.ms.toFixed(0)} ms`
          + ` (serv1 fenced at ${r.fencedMs ?? '?'} ms${r.repliesFromServ1After !== undefined ? `; serv1 answered until ${r.repliesFromServ1After.toFixed(0)} ms` : ''})\n`);
      }
      results.push({
        profile, mode, trials: times.length, medianMs: Math.round(median(times.map((t) => t.ms))), maxMs: Math.round(Math.max(...times.map((t) => t.ms))),
        minMs: Math.round(Math.min(...times.map((t) => t.ms))), medianFencedMs: Math.round(median(times.map((t) => t.fencedMs ?? NaN))),
        eachMs: times.map((t) => Math.round(t.ms)), setupFailures,
      });
    }
  }
  const dad = dadTimeout === undefined ? 'the ip agent\'s defaults' : `dadTimeout ${dadTimeout} ms`;
  console.log(`Client-observed VIP failover (first UDP reply from serv2, probing every ${PROBE_MS} ms), two servers and a client in network namespaces, ${dad}`
    + `${fenceDelayArg !== undefined ? `, fenceDelayTicks ${fenceDelayArg}` : ''}:`);
  for (const r of results) {
    const what = r.mode === 'kill' ? 'kill -9 of serv1\'s processes (host up: ICMP port unreachable)' : 'SIGSTOP of serv1\'s processes (node hang: no ICMP)';
    console.log(`  profile ${r.profile}, ${what}: median ${r.medianMs} ms, max ${r.maxMs} ms, min ${r.minMs} ms (${r.trials} trials; serv1 fenced at ${r.medianFencedMs} ms median)`);
    console.log(`    each: ${r.eachMs.join(' ')}`);
    if (r.setupFailures) console.log(`    start-ups that did not settle (retried, not measured): ${r.setupFailures}`);
  }
  console.log(JSON.stringify(results.map((r) => ({ ...r, dadTimeoutMs: dadTimeout ?? 'agent default', fenceDelayTicks: fenceDelayArg !== undefined ? Number(fenceDelayArg) : 20 }))));
} finally {
  cleanup();
}
