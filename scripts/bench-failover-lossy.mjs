#!/usr/bin/env node
// False failovers under packet loss: two `paceline daemon` processes, each in its own network
// namespace (serv1, serv2), connected by two veth pairs (links `crossover` and `lan`). Once the
// cluster has settled with one dummy resource at home on serv1, nftables in both namespaces drops
// 20% of the packets arriving on the `lan` veth, and the run lasts --minutes M (default 10).
// Every second both daemons' status is read through their control sockets, and every 100 ms the
// dummy agent's state files (ground truth: where the resource runs) are checked. Counted:
//   - node-lost events (daemon logs), membership or coordinator changes (status);
//   - moments the resource is not running on serv1 or runs on both (state files and status);
//   - link-down warnings for the lossy link (and for the clean one, which should stay at 0);
//   - resource moves (changes of the set of nodes it runs on).
// A "false failover" is one incident: a period in which any of the above (except link-down
// warnings) is observed; consecutive seconds with trouble count once.
// Needs root, ip (iproute2) and nft (nftables); otherwise it says why and exits 0.
// Usage: npm run build && node scripts/bench-failover-lossy.mjs [--minutes 10] [--loss 20] [--profile fast]
//   With --profile P (other than default) it runs the default profile and then P, each for M minutes,
//   and prints both.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, openSync, closeSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, live, requireLab, run } from './lib/ns-lab.mjs';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'packages/cli/dist/main.js');

function option(name, fallback) {
  const args = process.argv.slice(2);
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) {
    console.error(`${name} needs a value`);
    process.exit(2);
  }
  return v;
}
const minutes = Number(option('--minutes', '10'));
if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 240) {
  console.error(`--minutes must be a number in (0, 240], got ${option('--minutes', '10')}`);
  process.exit(2);
}
const lossPercent = Number(option('--loss', '20'));
if (!Number.isInteger(lossPercent) || lossPercent < 0 || lossPercent > 100) {
  console.error(`--loss must be an integer percentage 0..100, got ${option('--loss', '20')}`);
  process.exit(2);
}
const profileArg = option('--profile', undefined);
if (profileArg !== undefined && !['default', 'fast'].includes(profileArg)) {
  console.error(`--profile must be default or fast, got ${profileArg}`);
  process.exit(2);
}
const profiles = profileArg && profileArg !== 'default' ? ['default', profileArg] : ['default'];

const { controlRequest } = await requireLab(
  'bench-failover-lossy',
  'network namespaces and nftables',
  [
    ['ip', ['-V']],
    ['nft', ['--version']],
  ],
  root,
);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pid = process.pid;
const NS = { serv1: `plloss1-${pid}`, serv2: `plloss2-${pid}` };
// veth names stay within 15 characters.
const VETH = {
  crossover: { serv1: `pcx1-${pid}`, serv2: `pcx2-${pid}` },
  lan: { serv1: `pln1-${pid}`, serv2: `pln2-${pid}` },
};
// Used only inside the two namespaces created here.
const ADDR = {
  crossover: { serv1: '10.213.1.1', serv2: '10.213.1.2' },
  lan: { serv1: '10.213.2.1', serv2: '10.213.2.2' },
};
const PORT = { lan: 5405, crossover: 5407 }; // the daemon channel uses port + 1
const LOSSY = 'lan';
const CLEAN = 'crossover';
const NODES = ['serv1', 'serv2'];

const inNs = (node, cmd, args) => run('ip', ['netns', 'exec', NS[node], cmd, ...args]);

// ---- network ---------------------------------------------------------------------------------
function setupNetwork() {
  for (const node of NODES) {
    run('ip', ['netns', 'add', NS[node]]);
    live.namespaces.push(NS[node]);
    inNs(node, 'ip', ['link', 'set', 'lo', 'up']);
  }
  for (const link of [CLEAN, LOSSY]) {
    const v = VETH[link];
    run('ip', ['link', 'add', v.serv1, 'netns', NS.serv1, 'type', 'veth', 'peer', 'name', v.serv2, 'netns', NS.serv2]);
    for (const node of NODES) {
      inNs(node, 'ip', ['addr', 'add', `${ADDR[link][node]}/24`, 'dev', v[node]]);
      inNs(node, 'ip', ['link', 'set', v[node], 'up']);
    }
  }
}
const TABLE = 'paceline_loss';
function addLoss() {
  for (const node of NODES) {
    inNs(node, 'nft', ['add', 'table', 'inet', TABLE]);
    inNs(node, 'nft', ['add', 'chain', 'inet', TABLE, 'input', '{', 'type', 'filter', 'hook', 'input', 'priority', '0', ';', 'policy', 'accept', ';', '}']);
    // The first rule only counts what arrives on the lossy veth, the second drops lossPercent% of it.
    inNs(node, 'nft', ['add', 'rule', 'inet', TABLE, 'input', 'iifname', VETH[LOSSY][node], 'counter']);
    const sample = lossPercent >= 100 ? [] : ['numgen', 'random', 'mod', '100', '<', String(lossPercent)]; // nft refuses `< 100` here
    if (lossPercent > 0) inNs(node, 'nft', ['add', 'rule', 'inet', TABLE, 'input', 'iifname', VETH[LOSSY][node], ...sample, 'counter', 'drop']);
  }
}
function removeLoss() {
  for (const node of NODES) spawnSync('ip', ['netns', 'exec', NS[node], 'nft', 'delete', 'table', 'inet', TABLE], { stdio: 'ignore' });
}
function lossCounters() {
  let seen = 0;
  let dropped = 0;
  for (const node of NODES) {
    const out = inNs(node, 'nft', ['list', 'chain', 'inet', TABLE, 'input']);
    for (const line of out.split('\n')) {
      const m = /counter packets (\d+)/.exec(line);
      if (!m) continue;
      if (line.includes('drop')) dropped += Number(m[1]);
      else seen += Number(m[1]);
    }
  }
  return { seen, dropped };
}

// ---- daemons ---------------------------------------------------------------------------------
function writeConfig(dir) {
  const addr = (node, link) => `"${ADDR[link][node]}:${PORT[link]}"`;
  const yaml = `properties: { clusterName: lossy, stonithEnabled: false }
defaults: { resource: { stickiness: 0 } }
nodes:
  - { name: serv1, addresses: { lan: ${addr('serv1', 'lan')}, crossover: ${addr('serv1', 'crossover')} } }
  - { name: serv2, addresses: { lan: ${addr('serv2', 'lan')}, crossover: ${addr('serv2', 'crossover')} } }
resources:
  - { type: primitive, id: web, agent: "paceline:dummy", ops: [ { name: monitor, interval: 1s } ] }
constraints:
  - { type: location, id: web-home, resource: web, node: serv1, score: 100 }
`;
  writeFileSync(join(dir, 'cluster.yaml'), yaml);
  const k = spawnSync(process.execPath, [cli, 'keygen', join(dir, 'key')], { encoding: 'utf8' });
  if (k.status !== 0) throw new Error(`paceline keygen failed: ${(k.stderr || k.stdout).trim()}`);
}
function startDaemons(dir, profile) {
  const procs = {};
  for (const node of NODES) {
    const log = openSync(join(dir, `${node}.log`), 'w');
    procs[node] = spawn(
      'ip',
      [
        'netns',
        'exec',
        NS[node],
        process.execPath,
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
        '--profile',
        profile,
        '--log-format',
        'json',
        '--log-level',
        'info',
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    live.procs.push(procs[node]);
  }
  return procs;
}
async function stopDaemons(procs) {
  const alive = Object.values(procs).filter((p) => p.exitCode === null && p.signalCode === null);
  for (const p of alive) p.kill('SIGKILL');
  await Promise.all(alive.map((p) => new Promise((r) => p.once('exit', r))));
}
async function waitFor(what, check, timeoutMs, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      if (await check()) return;
    } catch (e) {
      lastError = e.message;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}`);
    await sleep(everyMs);
  }
}
const status = async (dir, node) => (await controlRequest(join(dir, node), { cmd: 'status' }, 2000)).data;
const runningOn = (st) =>
  st.resources
    .filter((x) => x.resource === 'web' && x.role !== 'Stopped')
    .map((x) => x.node)
    .sort()
    .join(',');

/** New JSON log lines of a daemon since the last call. */
function logReader(file) {
  let offset = 0;
  return () => {
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return [];
    }
    const end = text.lastIndexOf('\n') + 1;
    if (end <= offset) return [];
    const chunk = text.slice(offset, end);
    offset = end;
    return chunk
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        try {
          return JSON.parse(l);
        } catch {
          return { message: l };
        }
      });
  };
}

async function measure(profile) {
  const dir = mkdtempSync(join(tmpdir(), 'paceline-bench-lossy-'));
  live.dirs.push(dir);
  writeConfig(dir);
  const procs = startDaemons(dir, profile);
  const stateFile = (node) => join(dir, node, 'resources', node, 'web', 'dummy.state');
  try {
    process.stderr.write(`[${profile}] starting two daemons in ${NS.serv1} and ${NS.serv2}\n`);
    await waitFor(
      'both daemons quorate with web running on serv1',
      async () => {
        for (const p of Object.values(procs)) if (p.exitCode !== null || p.signalCode !== null) throw new Error(`a daemon exited early; see ${dir}`);
        const [a, b] = await Promise.all(NODES.map((n) => status(dir, n)));
        return (
          a.mayRun &&
          b.mayRun &&
          runningOn(a) === 'serv1' &&
          runningOn(b) === 'serv1' &&
          a.lastTransition?.state !== 'running' &&
          b.lastTransition?.state !== 'running' &&
          existsSync(stateFile('serv1'))
        );
      },
      30000,
    );
    await sleep(1000);
    const readers = Object.fromEntries(NODES.map((n) => [n, logReader(join(dir, `${n}.log`))]));
    for (const n of NODES) readers[n](); // skip the start-up lines
    const prev = {};
    for (const n of NODES) {
      const st = await status(dir, n);
      prev[n] = { members: st.members.join(','), coordinator: st.coordinator, term: st.term };
    }

    addLoss();
    process.stderr.write(`[${profile}] ${lossPercent}% loss on ${LOSSY}; running ${minutes} min\n`);
    const counts = {
      nodeLost: 0,
      linkDown: { [LOSSY]: 0, [CLEAN]: 0 },
      linkUp: { [LOSSY]: 0, [CLEAN]: 0 },
      membershipChanges: 0,
      coordinatorChanges: 0,
      notOnServ1Samples: 0,
      onBothSamples: 0,
      moves: 0,
      incidents: 0,
      statusErrors: 0,
      samples: 0,
    };
    const notes = [];
    let inIncident = false;
    const t0 = Date.now();
    const endAt = t0 + minutes * 60000;
    let nextStatus = t0;
    let trouble = false; // something wrong seen since the last one-second evaluation
    let fileWhere = 'serv1';
    while (Date.now() < endAt) {
      for (const p of Object.values(procs)) if (p.exitCode !== null || p.signalCode !== null) throw new Error(`a daemon exited during the run; see ${dir}`);
      // Ground truth, every 100 ms: the dummy agent's state files.
      const on1 = existsSync(stateFile('serv1'));
      const on2 = existsSync(stateFile('serv2'));
      counts.samples++;
      const where = [on1 ? 'serv1' : '', on2 ? 'serv2' : ''].filter(Boolean).join(',');
      if (!on1) counts.notOnServ1Samples++;
      if (on1 && on2) counts.onBothSamples++;
      if (where !== 'serv1') trouble = true;
      if (where !== fileWhere) {
        counts.moves++;
        notes.push(`${((Date.now() - t0) / 1000).toFixed(1)} s: state files say web runs on [${where}] (was [${fileWhere}])`);
        fileWhere = where;
      }
      if (Date.now() >= nextStatus) {
        nextStatus += 1000;
        const elapsed = ((Date.now() - t0) / 1000).toFixed(1);
        for (const n of NODES) {
          for (const line of readers[n]()) {
            const msg = String(line.message ?? '');
            let m;
            if (/lost on every link/.test(msg)) {
              counts.nodeLost++;
              trouble = true;
              notes.push(`${elapsed} s: ${n}: ${msg}`);
            } else if (/left cleanly|fenced$/.test(msg)) {
              trouble = true;
              notes.push(`${elapsed} s: ${n}: ${msg}`);
            } else if ((m = /^link (\S+) to (\S+) is (down|up)$/.exec(msg))) {
              const bucket = m[3] === 'down' ? counts.linkDown : counts.linkUp;
              bucket[m[1]] = (bucket[m[1]] ?? 0) + 1;
            }
          }
        }
        for (const n of NODES) {
          let st;
          try {
            st = await status(dir, n);
          } catch (e) {
            counts.statusErrors++;
            notes.push(`${elapsed} s: status of ${n} failed: ${e.message}`);
            continue;
          }
          const members = st.members.join(',');
          if (members !== prev[n].members) {
            counts.membershipChanges++;
            trouble = true;
            notes.push(`${elapsed} s: ${n} sees members [${members}] (was [${prev[n].members}])`);
          }
          if (st.coordinator !== prev[n].coordinator || st.term !== prev[n].term) {
            counts.coordinatorChanges++;
            trouble = true;
            notes.push(`${elapsed} s: ${n} sees coordinator ${st.coordinator} term ${st.term}`);
          }
          const w = runningOn(st);
          if (w !== 'serv1') {
            trouble = true;
            notes.push(`${elapsed} s: ${n}'s status says web runs on [${w}]`);
          }
          prev[n] = { members, coordinator: st.coordinator, term: st.term };
        }
        if (trouble && !inIncident) counts.incidents++;
        inIncident = trouble;
        trouble = false;
      }
      await sleep(100);
    }
    const elapsedMin = (Date.now() - t0) / 60000;
    const packets = lossCounters();
    removeLoss();
    return { profile, minutes: elapsedMin, counts, packets, notes };
  } catch (e) {
    process.stderr.write(`[${profile}] failed; last log lines:\n`);
    for (const n of NODES) {
      try {
        process.stderr.write(
          readFileSync(join(dir, `${n}.log`), 'utf8')
            .split('\n')
            .slice(-15)
            .map((l) => `  ${n}: ${l}`)
            .join('\n') + '\n',
        );
      } catch {
        /* none */
      }
    }
    throw e;
  } finally {
    await stopDaemons(procs);
    removeLoss();
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  try {
    setupNetwork();
  } catch (e) {
    console.log(`bench-failover-lossy: skipped — cannot create network namespaces/veths here: ${e.message}`);
    cleanup();
    process.exit(0);
  }
  const results = [];
  for (const p of profiles) results.push(await measure(p));
  console.log(
    `False failovers with ${lossPercent}% loss on the ${LOSSY} link (nftables, both directions), ${CLEAN} link clean; two daemons in network namespaces:`,
  );
  for (const r of results) {
    const per10 = (x) => ((x * 10) / r.minutes).toFixed(1);
    const c = r.counts;
    console.log(`  profile ${r.profile}: ${r.minutes.toFixed(2)} min`);
    console.log(
      `    false failovers: ${c.incidents} (node-lost events ${c.nodeLost}, membership changes ${c.membershipChanges}, coordinator changes ${c.coordinatorChanges},` +
        ` samples with web not on serv1 ${c.notOnServ1Samples}/${c.samples}, on both ${c.onBothSamples})`,
    );
    console.log(`    resource moves: ${c.moves}`);
    console.log(
      `    link-down warnings on ${LOSSY}: ${c.linkDown[LOSSY]} (${per10(c.linkDown[LOSSY])} per 10 min, both daemons together); on ${CLEAN}: ${c.linkDown[CLEAN]}`,
    );
    console.log(
      `    packets on the ${LOSSY} veths: ${r.packets.seen}, dropped by nftables: ${r.packets.dropped} (${r.packets.seen ? ((100 * r.packets.dropped) / r.packets.seen).toFixed(1) : '0'}%)`,
    );
    if (c.statusErrors) console.log(`    status requests that failed: ${c.statusErrors}`);
    for (const n of r.notes.slice(0, 20)) console.log(`      ${n}`);
    if (r.notes.length > 20) console.log(`      … ${r.notes.length - 20} more`);
  }
  console.log(
    JSON.stringify(
      results.map((r) => ({
        profile: r.profile,
        minutes: Number(r.minutes.toFixed(2)),
        lossPercent,
        lossyLink: LOSSY,
        falseFailovers: r.counts.incidents,
        nodeLost: r.counts.nodeLost,
        membershipChanges: r.counts.membershipChanges,
        coordinatorChanges: r.counts.coordinatorChanges,
        resourceMoves: r.counts.moves,
        linkDownLossy: r.counts.linkDown[LOSSY],
        linkDownLossyPer10Min: Number(((r.counts.linkDown[LOSSY] * 10) / r.minutes).toFixed(1)),
        linkDownClean: r.counts.linkDown[CLEAN],
        packetsSeen: r.packets.seen,
        packetsDropped: r.packets.dropped,
      })),
    ),
  );
} finally {
  cleanup();
}
