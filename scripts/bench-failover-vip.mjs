#!/usr/bin/env node
// Client-observed failover of a service IP under real faults, in the reference two-server setup,
// Paceline and keepalived side by side in one run.
//
// Topology: three network namespaces (serv1, serv2, client). The client's namespace is the lab: the
// `lan` bridge (the LAN switch, ports port1/port2, the client's address on it) and the `crossover`
// cable (a bridge with ports xport1/xport2 and no address, so that the cable can be pulled from
// outside: both servers then see no carrier, as with a real crossover cable). Each server has `lan`
// and `cx` interfaces. A UDP echo responder is bound to the VIP on both servers
// (net.ipv4.ip_nonlocal_bind=1), always running, answering with its server's name; a prober in the
// client's namespace sends it a datagram every 10 ms. Whoever the client's neighbour entry for the VIP
// points to answers: the figure is the VIP's own failover.
//
// Setups (cells of the table):
//   Paceline: two `paceline daemon` processes; a group of a `paceline:ip` VIP on lan and a dummy, at
//     home on serv1; fencing through a stub "power switch reached over the LAN" (fence.sh: kills every
//     process in the target's namespace and takes its links down; called from a node whose own lan is
//     down it exits 1, "unreachable"); every call is logged (caller, target, outcome). Profiles
//     default and fast; with or without the witness arbiter (`paceline witness` on the client's host,
//     `paceline daemon --arbiter HOST:PORT`), the recommended setup.
//   keepalived: one VRRPv3 instance per server (advert 0.1 s, VIP on lan, serv1 priority 150, serv2
//     100), started by hand in each namespace; no fencing.
// Each trial starts from fresh processes (new state, new key), waits until the client is answered by
// serv1 (the active node), then injects the fault at t0:
//   lost:      serv1 loses power: every process in its namespace frozen (SIGSTOP: nothing answers),
//              its switch port and both ends of the crossover down;
//   isolated:  serv1's switch port and the crossover down, serv1 running (cut cables): it must not
//              fence serv2, which still serves the LAN;
//   lan:       serv1's switch port down, crossover up: the VIP must move to serv2, nobody fenced;
//   crossover: the crossover down: nothing moves, nobody fenced (the client's longest gap is shown);
//   kill:      SIGKILL of every process in serv1's namespace (host up: its kernel answers serv2's
//              heartbeats with ICMP port unreachable);
//   hang:      SIGSTOP of every process in serv1's namespace, links up;
//   flap:      the cables of `isolated` pulled for --flap-ms (400: longer than detection, shorter than
//              the fence-race delay), then plugged in again: whether the VIP moves or not, serv1 must
//              not answer again after serv2 did (a side that was lost and not fenced acted alone).
// The fault lands 0.3 s plus a random 0–2 s (the VIP's monitor interval) after the client was first
// answered by serv1, so that it hits any phase of the monitor.
// Measured: the time from t0 to the client's first reply from serv2; whether, after that, serv1
// answered again (answered by both: alternating answers); who called the fence hook on whom.
// Trials are interleaved across the cells (trial 1 of every cell, then trial 2, ...), so a change of
// the machine's load hits every cell alike.
// Needs root, ip, nft and arping (and keepalived for its cells); otherwise it says why and exits 0.
// Usage: npm run build && node scripts/bench-failover-vip.mjs [--trials 10] [--profile default|fast]...
//        [--scenario lost|isolated|lan|crossover|kill|hang]... [--witness | --no-witness]
//        [--keepalived-scenario S|none]... [--observe MS] [--flap-ms MS] [--dad-timeout MS] [--fence-delay TICKS] [--keep-logs]
//   --keep-logs keeps every trial's logs and state (otherwise only those of the first 20 odd trials).
//   Default: both profiles, every scenario, with and without the witness (with it only when this build
//   has `paceline witness`), keepalived for `lost`.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, cpSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cleanup, killAllIn, live, readFenceCalls, requireLab, run, writeStubFence } from './lib/ns-lab.mjs';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'packages/cli/dist/main.js');

// ---- options ---------------------------------------------------------------------------------------
const SCENARIOS = {
  lost: { what: 'node lost: serv1 powered off (processes frozen, switch port and crossover down)', moves: true },
  isolated: { what: 'serv1 isolated: switch port and crossover down, serv1 running', moves: true },
  lan: { what: "LAN-only loss: serv1's switch port down, crossover up (nobody may be fenced)", moves: true, nobodyFenced: true },
  crossover: { what: 'crossover-only loss: nothing may move, nobody may be fenced', moves: false, nobodyFenced: true },
  kill: { what: "kill -9 of every process in serv1's namespace (host up: ICMP port unreachable)", moves: true },
  hang: { what: "hang: SIGSTOP of every process in serv1's namespace, links up (no ICMP)", moves: true },
  flap: { what: "flap: serv1's switch port and crossover down for --flap-ms, then up again (it may move or not; never answered by both)", moves: 'either' },
};
const VALUED = new Set(['--trials', '--profile', '--scenario', '--keepalived-scenario', '--observe', '--flap-ms', '--dad-timeout', '--fence-delay']);
const FLAGS = new Set(['--witness', '--no-witness', '--keep-logs']);
const opts = new Map();
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (FLAGS.has(a)) {
      opts.set(a, [...(opts.get(a) ?? []), true]);
      continue;
    }
    if (!VALUED.has(a)) {
      console.error(`unknown option ${a} (${[...VALUED, ...FLAGS].join(', ')})`);
      process.exit(2);
    }
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) {
      console.error(`${a} needs a value`);
      process.exit(2);
    }
    opts.set(a, [...(opts.get(a) ?? []), v]);
    i++;
  }
}
const values = (name) => opts.get(name) ?? [];
function fail(message) {
  console.error(message);
  process.exit(2);
}
function intOption(name, fallback, min, max, unit) {
  const raw = values(name).at(-1);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) fail(`${name} must be an integer ${min}..${max}${unit ? ` (${unit})` : ''}, got ${raw}`);
  return n;
}
const trials = intOption('--trials', 10, 1, 200);
const observeMs = intOption('--observe', 2000, 0, 60000, 'ms after the VIP moved, watching for answers from serv1 again');
const flapMs = intOption('--flap-ms', 400, 10, 10000, "how long the flap scenario's cables stay pulled");
const dadTimeout = intOption('--dad-timeout', undefined, 0, 30000, 'ms');
const fenceDelayArg = values('--fence-delay').at(-1);
if (fenceDelayArg !== undefined && !/^\d+$/.test(fenceDelayArg)) fail(`--fence-delay must be a whole number of ticks, got ${fenceDelayArg}`);
const profiles = values('--profile').length ? [...new Set(values('--profile'))] : ['default', 'fast'];
for (const p of profiles) if (!['default', 'fast'].includes(p)) fail(`--profile must be default or fast, got ${p}`);
const scenarios = values('--scenario').length ? [...new Set(values('--scenario'))] : Object.keys(SCENARIOS);
for (const s of scenarios) if (!(s in SCENARIOS)) fail(`--scenario must be one of ${Object.keys(SCENARIOS).join(', ')}, got ${s}`);
const kaArgs = values('--keepalived-scenario');
for (const s of kaArgs)
  if (!(s in SCENARIOS) && s !== 'none') fail(`--keepalived-scenario must be one of ${Object.keys(SCENARIOS).join(', ')} or none, got ${s}`);
const kaScenarios = kaArgs.includes('none') ? [] : (kaArgs.length ? [...new Set(kaArgs)] : ['lost']).filter((s) => scenarios.includes(s));
if (opts.has('--witness') && opts.has('--no-witness')) fail('--witness and --no-witness exclude each other (give neither for both)');

const { controlRequest } = await requireLab(
  'bench-failover-vip',
  'network namespaces, nftables, addresses',
  [
    ['ip', ['-V']],
    ['nft', ['--version']],
    ['arping', ['-V']],
  ],
  root,
);

// (An unknown command's --help prints the program's help and exits 0.)
const haveWitness = /Usage: paceline witness/.test(spawnSync(process.execPath, [cli, 'witness', '--help'], { encoding: 'utf8' }).stdout ?? '');
let witnessModes;
if (opts.has('--witness')) {
  if (!haveWitness) fail('--witness: this build has no `paceline witness` command');
  witnessModes = [true];
} else if (opts.has('--no-witness')) {
  witnessModes = [false];
} else {
  witnessModes = haveWitness ? [false, true] : [false];
  if (!haveWitness) console.error('bench-failover-vip: this build has no `paceline witness`: measuring without the witness only');
}
const haveKeepalived = spawnSync('keepalived', ['--version'], { stdio: 'ignore' }).status === 0;
if (kaScenarios.length && !haveKeepalived) {
  console.error('bench-failover-vip: keepalived is not installed (scripts/setup.sh installs it as root): its cells are skipped');
  kaScenarios.length = 0;
}

// ---- the lab -----------------------------------------------------------------------------------------
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pid = process.pid;
const NS = { serv1: `pbv-serv1-${pid}`, serv2: `pbv-serv2-${pid}`, client: `pbv-client-${pid}` };
const SERVERS = ['serv1', 'serv2'];
const IF = { lan: 'lan', crossover: 'cx' };
// The lab's ends of the servers' cables, in the client's namespace.
const PORT = { lan: { serv1: 'port1', serv2: 'port2' }, crossover: { serv1: 'xport1', serv2: 'xport2' } };
// Used only inside the namespaces created here.
const ADDR = { crossover: { serv1: '10.215.1.1', serv2: '10.215.1.2' }, lan: { serv1: '10.215.2.1', serv2: '10.215.2.2' } };
const CLIENT = '10.215.2.200';
const VIP = '10.215.2.100';
const ECHO_PORT = 7007;
const WITNESS_PORT = 7010;
const PROBE_MS = 10;
/** A move must show within this long, or the trial counts as "did not move". */
const MOVE_LIMIT_MS = 20000;
/** How long the crossover-only loss is watched for a move that must not happen, and a flap for what it does. */
const NO_MOVE_WATCH_MS = 5000;
/** The VIP's monitor interval: the fault lands at a random phase of it. */
const MONITOR_MS = 2000;

const inNs = (ns, cmd, args) => run('ip', ['netns', 'exec', ns, cmd, ...args]);
/** Several `ip link set` commands in one namespace, in one process (a fault lands at once). */
const linksIn = (ns, lines) => {
  if (lines.length) run('ip', ['-n', ns, '-batch', '-'], 20000, `${lines.join('\n')}\n`);
};

function setupNetwork() {
  for (const ns of Object.values(NS)) {
    run('ip', ['netns', 'add', ns]);
    live.namespaces.push(ns);
    inNs(ns, 'ip', ['link', 'set', 'lo', 'up']);
  }
  for (const br of ['br0', 'xbr']) {
    inNs(NS.client, 'ip', ['link', 'add', br, 'type', 'bridge']);
    inNs(NS.client, 'ip', ['link', 'set', br, 'up']);
  }
  inNs(NS.client, 'ip', ['addr', 'add', `${CLIENT}/24`, 'dev', 'br0']);
  for (const s of SERVERS) {
    for (const [link, br] of [
      ['lan', 'br0'],
      ['crossover', 'xbr'],
    ]) {
      run('ip', ['link', 'add', IF[link], 'netns', NS[s], 'type', 'veth', 'peer', 'name', PORT[link][s], 'netns', NS.client]);
      inNs(NS.client, 'ip', ['link', 'set', PORT[link][s], 'master', br]);
      inNs(NS.client, 'ip', ['link', 'set', PORT[link][s], 'up']);
      inNs(NS[s], 'ip', ['addr', 'add', `${ADDR[link][s]}/24`, 'dev', IF[link]]);
    }
    // The responder binds the VIP on both servers whether or not the address is there.
    inNs(NS[s], 'sysctl', ['-q', '-w', 'net.ipv4.ip_nonlocal_bind=1']);
  }
}
/** Both servers as after a reboot (nothing running, no VIP, links up), every cable plugged in. */
function resetServers() {
  for (const s of SERVERS) {
    killAllIn(NS[s]);
    // A neighbour entry waiting for a powered-off peer queues datagrams; flushed, so that the
    // next trial's daemons do not receive the dead ones' heartbeats when the links come up.
    spawnSync('ip', ['-n', NS[s], 'neigh', 'flush', 'all'], { stdio: 'ignore' });
    spawnSync('ip', ['-n', NS[s], 'addr', 'del', `${VIP}/24`, 'dev', IF.lan], { stdio: 'ignore' });
    linksIn(NS[s], [`link set ${IF.lan} up`, `link set ${IF.crossover} up`]);
  }
  linksIn(
    NS.client,
    SERVERS.flatMap((s) => [`link set ${PORT.lan[s]} up`, `link set ${PORT.crossover[s]} up`]),
  );
}

/** The fault of `scenario` on serv1, from outside its namespace; returns the pids signalled there. */
function inject(scenario) {
  const cut = (links) =>
    linksIn(
      NS.client,
      links.map((p) => `link set ${p} down`),
    );
  switch (scenario) {
    case 'lost': {
      const frozen = killAllIn(NS.serv1, 'SIGSTOP');
      cut([PORT.lan.serv1, PORT.crossover.serv1, PORT.crossover.serv2]);
      return frozen;
    }
    case 'isolated':
    case 'flap':
      cut([PORT.lan.serv1, PORT.crossover.serv1, PORT.crossover.serv2]);
      return [];
    case 'lan':
      cut([PORT.lan.serv1]);
      return [];
    case 'crossover':
      cut([PORT.crossover.serv1, PORT.crossover.serv2]);
      return [];
    case 'kill':
      return killAllIn(NS.serv1, 'SIGKILL');
    case 'hang':
      return killAllIn(NS.serv1, 'SIGSTOP');
    default:
      throw new Error(`no fault for scenario ${scenario}`);
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
/**
 * The lab's power switch (ns-lab.mjs writeStubFence), its calls stamped with the uptime, the clock
 * the fault's instant is read from; `at` is when a call ended.
 */
function writeFence(dir) {
  writeStubFence(join(dir, 'fence.sh'), join(dir, 'fence-calls.log'), {
    ns: { serv1: NS.serv1, serv2: NS.serv2 },
    ifs: IF,
    stamp: "cut -d' ' -f1 /proc/uptime",
  });
}
function fenceCalls(dir) {
  return readFenceCalls(join(dir, 'fence-calls.log')).map((c) => ({ at: c.ended, caller: c.caller, target: c.target, outcome: c.outcome }));
}

function writeConfig(dir) {
  const vipParams = { address: VIP, cidrNetmask: 24, interface: IF.lan, ...(dadTimeout !== undefined ? { dadTimeout } : {}) };
  const config = {
    properties: { clusterName: 'vip-bench', stonithEnabled: false },
    defaults: { resource: { stickiness: 0 } },
    nodes: SERVERS.map((s) => ({ name: s, addresses: { lan: `${ADDR.lan[s]}:5405`, crossover: `${ADDR.crossover[s]}:5407` } })),
    resources: [
      {
        type: 'group',
        id: 'svc',
        members: [
          { type: 'primitive', id: 'vip', agent: 'paceline:ip', params: vipParams, ops: [{ name: 'monitor', interval: `${MONITOR_MS}ms` }] },
          { type: 'primitive', id: 'data', agent: 'paceline:dummy', ops: [{ name: 'monitor', interval: `${MONITOR_MS}ms` }] },
        ],
      },
    ],
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
function writeKeepalived(dir) {
  for (const s of SERVERS) {
    writeFileSync(
      join(dir, `keepalived-${s}.conf`),
      `global_defs {
  router_id ${s}
  vrrp_version 3
}
vrrp_instance vip {
  state BACKUP
  interface ${IF.lan}
  virtual_router_id 77
  priority ${s === 'serv1' ? 150 : 100}
  advert_int 0.1
  virtual_ipaddress {
    ${VIP}/24 dev ${IF.lan}
  }
}
`,
    );
  }
}

// ---- the client's prober (one for the whole run) ---------------------------------------------------
const replies = []; // { at: bigint ns, from }
function startProber(dir) {
  writeFileSync(join(dir, 'prober.mjs'), PROBER);
  const p = spawn('ip', ['netns', 'exec', NS.client, process.execPath, join(dir, 'prober.mjs'), VIP, String(ECHO_PORT), String(PROBE_MS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  live.procs.push(p);
  createInterface({ input: p.stdout }).on('line', (line) => {
    const [at, from] = line.split(' ');
    replies.push({ at: BigInt(at), from });
  });
}
/** The replies received after `t0` (ns), from the index the array had at t0 on. */
const repliesSince = (t0, fromIndex) => replies.slice(Math.max(0, fromIndex - 50)).filter((r) => r.at > t0);

async function waitFor(what, check, timeoutMs, everyMs = 50) {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      if (await check()) return;
      lastError = '';
    } catch (e) {
      if (e instanceof SetupError) throw e;
      lastError = e.message;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}`);
    await sleep(everyMs);
  }
}
const uptime = () => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
const ago = (r) => Number(process.hrtime.bigint() - r.at) / 1e6;
function clientOnServ1() {
  const last = replies.at(-1);
  if (!(last && last.from === 'serv1' && ago(last) < 50))
    throw new Error(`the client's last reply: ${last ? `${last.from}, ${ago(last).toFixed(0)} ms ago` : 'none'}`);
}

/** The cluster did not settle before the measurement (e.g. a false fencing at start-up under load): the trial is retried. */
class SetupError extends Error {}

function spawnLogged(dir, name, ns, cmd, args) {
  const log = openSync(join(dir, `${name}.log`), 'w');
  const p = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', log, log] });
  closeSync(log);
  live.procs.push(p);
  return p;
}
const exited = (p) => p.exitCode !== null || p.signalCode !== null;

/**
 * Starts a setup's processes and waits until serv1 serves the VIP (and a fresh witness grants votes:
 * it holds them back for a while after its start, as after a restart); returns the processes by name.
 */
async function startPaceline(dir, setup) {
  const procs = {};
  let witnessReady;
  if (setup.witness) {
    procs.witness = spawnLogged(dir, 'witness', NS.client, process.execPath, [
      cli,
      'witness',
      '--listen',
      `${CLIENT}:${WITNESS_PORT}`,
      '--key',
      join(dir, 'key'),
      '--config',
      join(dir, 'cluster.json'),
    ]);
    await waitFor(
      'the witness listening',
      () => {
        if (exited(procs.witness)) throw new SetupError(`the witness exited: ${readFileSync(join(dir, 'witness.log'), 'utf8').trim()}`);
        // Its log line `<ISO time> INFO [witness] witness started … startupHoldMs=N` (the wall clock, like Date.now()).
        const m = /^(\S+) \S+\s+\[witness\] witness started .*startupHoldMs=(\d+)/m.exec(readFileSync(join(dir, 'witness.log'), 'utf8'));
        if (m) witnessReady = Date.parse(m[1]) + Number(m[2]) + 200;
        return m !== null && Number.isFinite(witnessReady);
      },
      10000,
      20,
    ).catch((e) => {
      throw e instanceof SetupError ? e : new SetupError(e.message);
    });
  }
  for (const s of SERVERS) {
    procs[s] = spawnLogged(dir, s, NS[s], process.execPath, [
      cli,
      'daemon',
      '--config',
      join(dir, 'cluster.json'),
      '--node',
      s,
      '--state-dir',
      join(dir, s),
      '--key',
      join(dir, 'key'),
      '--fence-command',
      join(dir, 'fence.sh'),
      '--profile',
      setup.profile,
      ...(setup.witness ? ['--arbiter', `${CLIENT}:${WITNESS_PORT}`] : []),
      ...(fenceDelayArg !== undefined ? ['--membership', `fenceDelayTicks=${fenceDelayArg}`] : []),
      '--log-level',
      'info',
    ]);
  }
  const status = async (s) => (await controlRequest(join(dir, s), { cmd: 'status' }, 2000)).data;
  const on = (st, rsc) =>
    st.resources
      .filter((x) => x.resource === rsc && x.role !== 'Stopped')
      .map((x) => x.node)
      .join(',');
  await waitFor(
    'both quorate, the group settled on serv1, the client answered by serv1',
    async () => {
      const calls = fenceCalls(dir);
      if (calls.length)
        throw new SetupError(`the fence hook was called while the cluster started: ${calls.map((c) => `${c.caller}→${c.target} ${c.outcome}`).join(', ')}`);
      for (const [name, p] of Object.entries(procs)) if (exited(p)) throw new Error(`${name} exited; see ${dir}/${name}.log`);
      for (const s of SERVERS) {
        const st = await status(s);
        if (!st.mayRun || st.lastTransition?.state === 'running' || on(st, 'vip') !== 'serv1' || on(st, 'data') !== 'serv1') {
          throw new Error(
            `${s}: mayRun ${st.mayRun} (${st.mayRunReason}), transition ${st.lastTransition?.state ?? 'none'}, vip on [${on(st, 'vip')}], data on [${on(st, 'data')}]` +
              `, quarantine ${JSON.stringify(st.nodes.filter((n) => n.quarantine).map((n) => n.name))}`,
          );
        }
      }
      clientOnServ1();
      return true;
    },
    30000,
  ).catch((e) => {
    throw e instanceof SetupError ? e : new SetupError(e.message);
  });
  if (witnessReady !== undefined) await sleep(witnessReady - Date.now());
  return procs;
}

async function startKeepalived(dir) {
  const procs = {};
  for (const s of SERVERS) {
    procs[s] = spawnLogged(dir, s, NS[s], 'keepalived', [
      '-n',
      '-l',
      '-P',
      '-f',
      join(dir, `keepalived-${s}.conf`),
      '-p',
      join(dir, `keepalived-${s}.pid`),
      '-r',
      join(dir, `keepalived-${s}-vrrp.pid`),
      '-c',
      join(dir, `keepalived-${s}-checkers.pid`),
    ]);
  }
  const stateOf = (s) => [...readFileSync(join(dir, `${s}.log`), 'utf8').matchAll(/Entering (\w+) STATE/g)].at(-1)?.[1] ?? 'none';
  await waitFor(
    'serv1 MASTER, serv2 BACKUP, the client answered by serv1',
    () => {
      for (const s of SERVERS) if (exited(procs[s])) throw new Error(`${s}'s keepalived exited; see ${dir}/${s}.log`);
      const states = SERVERS.map(stateOf);
      if (states[0] !== 'MASTER' || states[1] !== 'BACKUP') throw new Error(`VRRP states: serv1 ${states[0]}, serv2 ${states[1]}`);
      clientOnServ1();
      return true;
    },
    15000,
  ).catch((e) => {
    throw new SetupError(e.message);
  });
  return procs;
}

async function trial(dir, setup, scenario) {
  resetServers();
  replies.splice(0, Math.max(0, replies.length - 1000));
  for (const s of SERVERS) rmSync(join(dir, s), { recursive: true, force: true });
  rmSync(join(dir, 'fence-calls.log'), { force: true });
  newKey(dir);
  for (const s of SERVERS)
    live.procs.push(spawn('ip', ['netns', 'exec', NS[s], process.execPath, join(dir, 'responder.mjs'), VIP, String(ECHO_PORT), s], { stdio: 'ignore' }));
  let procs = {};
  try {
    procs = setup.kind === 'keepalived' ? await startKeepalived(dir) : await startPaceline(dir, setup);
    await sleep(300 + Math.floor(Math.random() * MONITOR_MS));
    // A false fencing while waiting (a stalled daemon on a loaded machine) spoils the trial: retried.
    const early = fenceCalls(dir);
    if (early.length || Object.values(procs).some(exited)) {
      throw new SetupError(`before the fault: ${early.length ? early.map((c) => `${c.caller}→${c.target} ${c.outcome}`).join(', ') : 'a process exited'}`);
    }
    const t0 = process.hrtime.bigint();
    const index0 = replies.length;
    const up0 = uptime();
    const signalled = inject(scenario);
    if (scenario === 'flap') {
      await sleep(flapMs - Number(process.hrtime.bigint() - t0) / 1e6);
      linksIn(
        NS.client,
        [PORT.lan.serv1, PORT.crossover.serv1, PORT.crossover.serv2].map((p) => `link set ${p} up`),
      );
    }
    if (['lost', 'kill', 'hang'].includes(scenario) && !signalled.includes(procs.serv1.pid)) {
      throw new Error(`serv1's ${setup.kind} process (pid ${procs.serv1.pid}) was not among the processes of ${NS.serv1}`);
    }
    const since = () => repliesSince(t0, index0);
    let first;
    if (SCENARIOS[scenario].moves === true) {
      await waitFor('the first reply from serv2', () => (first = since().find((r) => r.from === 'serv2')), MOVE_LIMIT_MS, 5).catch(() => undefined);
      await sleep(first ? observeMs : 0);
    } else {
      await sleep(NO_MOVE_WATCH_MS);
      first = since().find((r) => r.from === 'serv2');
    }
    const after = since();
    const end = process.hrtime.bigint();
    let flips = 0;
    let gapNs = 0n;
    let prev = { at: t0, from: 'serv1' };
    for (const r of after) {
      if (r.from !== prev.from) flips++;
      if (r.at - prev.at > gapNs) gapNs = r.at - prev.at;
      prev = r;
    }
    if (end - prev.at > gapNs) gapNs = end - prev.at;
    const lastServ1 = after.filter((r) => r.from === 'serv1').at(-1);
    const calls = fenceCalls(dir).map((c) => ({ ...c, ms: Math.round((c.at - up0) * 1000) }));
    return {
      moved: first !== undefined,
      ms: first ? Number(first.at - t0) / 1e6 : undefined,
      // Answered by both: serv1 answered again after serv2 had.
      both: first !== undefined && after.some((r) => r.from === 'serv1' && r.at > first.at),
      flips,
      gapMs: Number(gapNs) / 1e6,
      serv1AnsweredUntilMs: lastServ1 ? Number(lastServ1.at - t0) / 1e6 : undefined,
      calls,
    };
  } finally {
    resetServers();
    for (const p of Object.values(procs)) if (!exited(p)) p.kill('SIGKILL');
    await Promise.all(Object.values(procs).map((p) => (exited(p) ? null : new Promise((r) => p.once('exit', r)))));
  }
}

/** What went wrong in a trial (its logs are kept for the first MAX_KEPT such trials of a run). */
function anomalies(scenario, r) {
  const out = [];
  if (SCENARIOS[scenario].moves === true && !r.moved) out.push(`no move within ${MOVE_LIMIT_MS / 1000} s`);
  if (SCENARIOS[scenario].moves === false && r.moved) out.push('moved');
  if (r.both) out.push('answered by both');
  if (r.calls.some((c) => c.target === 'serv2')) out.push('the healthy serv2 was a fencing target');
  else if (SCENARIOS[scenario].nobodyFenced && r.calls.length) out.push('the fence hook was called');
  return out;
}
const MAX_KEPT = 20;

// ---- summaries ------------------------------------------------------------------------------------
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x) => (Number.isFinite(x) ? String(Math.round(x)) : '–');
/** "serv2→serv1 off ×10, serv1→serv2 unreachable ×3", or "none". */
function callSummary(results) {
  const counts = new Map();
  for (const r of results)
    for (const c of r.calls) {
      const k = `${c.caller}→${c.target} ${c.outcome}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  return counts.size ? [...counts].map(([k, n]) => `${k} ×${n}`).join(', ') : 'none';
}
function summarize(cell) {
  const rs = cell.results;
  const moved = rs.filter((r) => r.moved);
  const fencedHealthy = rs.reduce((n, r) => n + r.calls.filter((c) => c.target === 'serv2').length, 0);
  const anyCall = rs.reduce((n, r) => n + r.calls.length, 0);
  const firstOff = rs.map((r) => r.calls.find((c) => c.target === 'serv1' && c.outcome === 'off')?.ms).filter((x) => x !== undefined);
  return {
    scenario: cell.scenario,
    setup: cell.setup.label,
    kind: cell.setup.kind,
    witness: cell.setup.witness ?? false,
    trials: rs.length,
    moved: moved.length,
    medianMs: median(moved.map((r) => r.ms)),
    maxMs: moved.length ? Math.max(...moved.map((r) => r.ms)) : NaN,
    medianGapMs: median(rs.map((r) => r.gapMs)),
    maxGapMs: Math.max(...rs.map((r) => r.gapMs)),
    medianFencedMs: median(firstOff),
    fenced: callSummary(rs),
    fencedHealthy,
    anyCall,
    answeredByBoth: rs.filter((r) => r.both).length,
    setupRetries: cell.setupRetries,
    errors: cell.errors,
    eachMs: rs.map((r) => (r.moved ? Math.round(r.ms) : null)),
  };
}

// ---- the run ------------------------------------------------------------------------------------------
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
  writeKeepalived(dir);
  writeFileSync(join(dir, 'responder.mjs'), RESPONDER);
  startProber(dir);

  const setups = [];
  for (const witness of witnessModes)
    for (const profile of profiles) {
      setups.push({ kind: 'paceline', profile, witness, label: `Paceline ${profile}${witness ? ', witness' : ', no witness'}` });
    }
  const keepalived = { kind: 'keepalived', label: 'keepalived (VRRPv3, advert 0.1 s)' };
  const cells = [];
  for (const scenario of scenarios) {
    for (const setup of setups) cells.push({ scenario, setup, results: [], setupRetries: 0, errors: 0 });
    if (kaScenarios.includes(scenario)) cells.push({ scenario, setup: keepalived, results: [], setupRetries: 0, errors: 0 });
  }
  let kept = 0;
  const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  for (let i = 0; i < trials; i++) {
    for (const cell of cells) {
      const tag = `[${cell.scenario} / ${cell.setup.label}]`;
      let r;
      for (let attempt = 1; r === undefined; attempt++) {
        try {
          r = await trial(dir, cell.setup, cell.scenario);
        } catch (e) {
          const keep = `${tmpdir()}/paceline-bench-vip-failed-${pid}-${cell.scenario}-${cells.indexOf(cell)}-${i + 1}-${attempt}`;
          cpSync(dir, keep, { recursive: true, filter: (f) => !f.endsWith('.sock') });
          process.stderr.write(`${tag} trial ${i + 1} attempt ${attempt} failed: ${e.message}\n  logs and state kept in ${keep}\n`);
          for (const s of SERVERS) {
            try {
              process.stderr.write(
                readFileSync(join(dir, `${s}.log`), 'utf8')
                  .split('\n')
                  .slice(-12)
                  .map((l) => `  ${s}: ${l}`)
                  .join('\n') + '\n',
              );
            } catch {
              /* none */
            }
          }
          // A start-up that did not settle is retried (at most 3 times); a failed measurement is counted
          // and the run goes on (the table shows what was measured).
          if (!(e instanceof SetupError) || attempt >= 3) {
            cell.errors++;
            break;
          }
          cell.setupRetries++;
        }
      }
      if (r === undefined) continue;
      cell.results.push(r);
      const odd = anomalies(cell.scenario, r);
      if ((odd.length && kept < MAX_KEPT) || opts.has('--keep-logs')) {
        const keep = `${tmpdir()}/paceline-bench-vip-odd-${pid}-${cell.scenario}-${cells.indexOf(cell)}-${i + 1}`;
        cpSync(dir, keep, { recursive: true, filter: (f) => !f.endsWith('.sock') });
        if (odd.length) kept++;
        process.stderr.write(`${tag} trial ${i + 1}: ${odd.length ? `${odd.join('; ')}: ` : ''}logs and state kept in ${keep}\n`);
      }
      const calls = r.calls.length ? r.calls.map((c) => `${c.caller}→${c.target} ${c.outcome} at ${c.ms} ms`).join(', ') : 'no fence call';
      const outcome = r.moved ? `first reply from serv2 after ${r.ms.toFixed(0)} ms` : `no move (longest client gap ${r.gapMs.toFixed(0)} ms)`;
      process.stderr.write(
        `${tag} trial ${i + 1}/${trials}: ${outcome}; ${calls}` +
          `${r.serv1AnsweredUntilMs !== undefined ? `; serv1 answered until ${r.serv1AnsweredUntilMs.toFixed(0)} ms` : ''}${r.both ? '; ANSWERED BY BOTH' : ''}\n`,
      );
    }
  }
  const load1 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

  const rows = cells.map(summarize);
  const dad = dadTimeout === undefined ? "the ip agent's defaults" : `dadTimeout ${dadTimeout} ms`;
  console.log(
    `Client-observed VIP failover (first UDP reply from serv2, probing every ${PROBE_MS} ms; serv1 active), ${trials} trials per cell,` +
      ` ${dad}${fenceDelayArg !== undefined ? `, fenceDelayTicks ${fenceDelayArg}` : ''}; load average ${load0} before, ${load1} after.`,
  );
  for (const s of scenarios) console.log(`  ${s}: ${SCENARIOS[s].what}`);
  console.log('');
  console.log('| scenario | setup | median ms | max ms | moved | fence calls (caller→target outcome) | answered by both |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const moves = SCENARIOS[r.scenario].moves;
    const timing = moves === true || r.moved ? [fmt(r.medianMs), fmt(r.maxMs)] : [`no move (gap ${fmt(r.medianGapMs)})`, `gap ${fmt(r.maxGapMs)}`];
    console.log(`| ${r.scenario} | ${r.setup} | ${timing[0]} | ${timing[1]} | ${r.moved}/${r.trials} | ${r.fenced} | ${r.answeredByBoth}/${r.trials} |`);
  }
  console.log('');
  for (const r of rows) {
    console.log(
      `  ${r.scenario} / ${r.setup}: each ${r.eachMs.map((x) => x ?? '–').join(' ')}; longest client gap median ${fmt(r.medianGapMs)} ms, max ${fmt(r.maxGapMs)} ms` +
        `${Number.isFinite(r.medianFencedMs) ? `; serv1 powered off at ${fmt(r.medianFencedMs)} ms (median)` : ''}${r.setupRetries ? `; start-ups retried: ${r.setupRetries}` : ''}` +
        `${r.errors ? `; trials that failed (not measured): ${r.errors}` : ''}`,
    );
  }
  // The issue's goals.
  console.log('');
  const cellOf = (scenario, profile, witness) =>
    rows.find((r) => r.scenario === scenario && r.setup === setups.find((s) => s.profile === profile && s.witness === witness)?.label);
  for (const [profile, goal] of [
    ['default', 500],
    ['fast', 250],
  ]) {
    for (const witness of witnessModes) {
      const r = cellOf('lost', profile, witness);
      if (!r) continue;
      const ok = r.moved === r.trials && r.medianMs <= goal;
      console.log(
        `goal: node lost, ${profile}${witness ? ' with the witness' : ' without a witness'}: median ≤ ${goal} ms — ${ok ? 'met' : 'MISSED'} (${fmt(r.medianMs)} ms, ${r.moved}/${r.trials} moved)` +
          `${witness ? '' : ' (the goal is for the witness setup)'}`,
      );
    }
  }
  const paceline = rows.filter((r) => r.kind === 'paceline');
  const list = (rs, what) => rs.map((r) => `${r.scenario} / ${r.setup}: ${what(r)}`).join('; ');
  for (const witness of witnessModes) {
    const mine = paceline.filter((r) => r.witness === witness);
    const how = witness ? 'with the witness' : 'without a witness';
    const both = mine.filter((r) => r.answeredByBoth);
    console.log(`goal: no trial answered by both nodes, Paceline ${how} — ${both.length ? `MISSED (${list(both, (r) => r.answeredByBoth)})` : 'met'}`);
    const wrong = mine.filter((r) => r.fencedHealthy || (SCENARIOS[r.scenario].nobodyFenced && r.anyCall));
    console.log(
      `goal: the faulty node never fences the healthy one (and nobody is fenced in ${scenarios.filter((s) => SCENARIOS[s].nobodyFenced).join(', ') || '–'}), Paceline ${how} — ` +
        `${wrong.length ? `MISSED (${list(wrong, (r) => r.fenced)})` : 'met'}`,
    );
  }
  const kaBoth = rows.filter((r) => r.kind === 'keepalived' && r.answeredByBoth);
  if (kaBoth.length) console.log(`keepalived answered by both (it fails back by preemption; it does not fence): ${list(kaBoth, (r) => r.answeredByBoth)}`);
  const stuck = paceline.filter((r) => SCENARIOS[r.scenario].moves === true && r.moved < r.trials);
  if (stuck.length)
    console.log(`did not move within ${MOVE_LIMIT_MS / 1000} s: ${stuck.map((r) => `${r.scenario} / ${r.setup}: ${r.trials - r.moved}`).join('; ')}`);
  const moved = paceline.filter((r) => SCENARIOS[r.scenario].moves === false && r.moved);
  if (moved.length) console.log(`moved although nothing should: ${moved.map((r) => `${r.scenario} / ${r.setup}: ${r.moved}`).join('; ')}`);
  console.log(
    JSON.stringify({
      trials,
      profilesRun: profiles,
      witnessModes,
      load: { before: load0, after: load1 },
      dadTimeoutMs: dadTimeout ?? 'agent default',
      fenceDelayTicks: fenceDelayArg !== undefined ? Number(fenceDelayArg) : 'profile default',
      cells: rows,
    }),
  );
} finally {
  cleanup();
}
