// The namespace lab of bench:daemon:scale (--netns, and the faults that need it: lost, hang).
//
// As in bench-failover-vip.mjs (the reference two-server setup): three network namespaces, serv1,
// serv2 and the lab. The lab holds the `lan` bridge (the LAN switch, ports port1/port2, the lab's own
// address on it, where the witness listens) and the `crossover` cable (a bridge with ports
// xport1/xport2 and no address: pulling it from outside, both servers see no carrier, as with a real
// cable). Each server has `lan` and `cx` interfaces. Fencing goes through a stub power switch reached
// over the LAN (fence.sh: kills every process in the target's namespace and takes its links down;
// called from a node whose own lan is down it exits 1, "unreachable"); every call is logged with its
// start and end (wall clock, seconds). Everything is registered with ns-lab.mjs's `live` and removed
// on every way out.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { killAllIn, live, readFenceCalls, run, writeStubFence } from './ns-lab.mjs';

export const SERVERS = ['serv1', 'serv2'];
const IF = { lan: 'lan', crossover: 'cx' };
const PORT = { lan: { serv1: 'port1', serv2: 'port2' }, crossover: { serv1: 'xport1', serv2: 'xport2' } };
// Used only inside the namespaces created here.
const ADDR = { crossover: { serv1: '10.216.1.1', serv2: '10.216.1.2' }, lan: { serv1: '10.216.2.1', serv2: '10.216.2.2' } };
const LAB = '10.216.2.200';
const WITNESS_PORT = 7010;

/** The faults, on the node that is lost (serv2), from outside its namespace. */
export const FAULTS = {
  kill: 'kill -9 of every process on serv2 (its host answers on: ICMP port unreachable)',
  lost: 'serv2 goes silent (power loss): every process in its namespace frozen (SIGSTOP), its switch port and both ends of the crossover down at once',
  hang: 'every process on serv2 frozen (SIGSTOP), links up (no ICMP)',
  isolated: "serv2's switch port and both ends of the crossover down, serv2 running (cut cables): it must not fence serv1",
};

/**
 * Builds the namespaces and links; returns the lab: `addresses` (per node, for the configuration),
 * `spawnNode(node, argv, options)` (a process in that node's namespace, with an IPC channel),
 * `startWitness(cli, keyFile, configFile)`, `inject(fault, node)`, `fenceCalls()`.
 */
export function openScaleLab(dir) {
  const pid = process.pid;
  const NS = { serv1: `pbs-serv1-${pid}`, serv2: `pbs-serv2-${pid}`, lab: `pbs-lab-${pid}` };
  const inNs = (ns, cmd, args) => run('ip', ['netns', 'exec', ns, cmd, ...args]);
  for (const ns of Object.values(NS)) {
    run('ip', ['netns', 'add', ns]);
    live.namespaces.push(ns);
    inNs(ns, 'ip', ['link', 'set', 'lo', 'up']);
  }
  for (const br of ['br0', 'xbr']) {
    inNs(NS.lab, 'ip', ['link', 'add', br, 'type', 'bridge']);
    inNs(NS.lab, 'ip', ['link', 'set', br, 'up']);
  }
  inNs(NS.lab, 'ip', ['addr', 'add', `${LAB}/24`, 'dev', 'br0']);
  for (const s of SERVERS) {
    for (const [link, br] of [
      ['lan', 'br0'],
      ['crossover', 'xbr'],
    ]) {
      run('ip', ['link', 'add', IF[link], 'netns', NS[s], 'type', 'veth', 'peer', 'name', PORT[link][s], 'netns', NS.lab]);
      inNs(NS.lab, 'ip', ['link', 'set', PORT[link][s], 'master', br]);
      inNs(NS.lab, 'ip', ['link', 'set', PORT[link][s], 'up']);
      inNs(NS[s], 'ip', ['addr', 'add', `${ADDR[link][s]}/24`, 'dev', IF[link]]);
      inNs(NS[s], 'ip', ['link', 'set', IF[link], 'up']);
    }
  }
  const fenceLog = join(dir, 'fence-calls.log');
  const fence = join(dir, 'fence.sh');
  writeStubFence(fence, fenceLog, { ns: { serv1: NS.serv1, serv2: NS.serv2 }, ifs: IF, stamp: 'date +%s.%N' });
  const linksDown = (ports) => run('ip', ['-n', NS.lab, '-batch', '-'], 20000, ports.map((p) => `link set ${p} down\n`).join(''));

  return {
    fenceCommand: fence,
    addresses: Object.fromEntries(SERVERS.map((s) => [s, { lan: `${ADDR.lan[s]}:5405`, crossover: `${ADDR.crossover[s]}:5407` }])),
    witnessAddress: `${LAB}:${WITNESS_PORT}`,
    /** `node ARGV` in NODE's namespace, with an IPC channel (ip netns exec execs node: same pid). */
    spawnNode(node, argv, options = {}) {
      const p = spawn('ip', ['netns', 'exec', NS[node], process.execPath, ...argv], { ...options, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      live.procs.push(p);
      return p;
    },
    /** `paceline witness` in the lab's namespace; resolves when it grants votes (after its start-up hold). */
    async startWitness(cli, keyFile, configFile) {
      const logFile = join(dir, 'witness.log');
      const log = openSync(logFile, 'w');
      const p = spawn(
        'ip',
        ['netns', 'exec', NS.lab, process.execPath, cli, 'witness', '--listen', `${LAB}:${WITNESS_PORT}`, '--key', keyFile, '--config', configFile],
        { stdio: ['ignore', log, log] },
      );
      closeSync(log);
      live.procs.push(p);
      const deadline = Date.now() + 20000;
      for (;;) {
        if (p.exitCode !== null || p.signalCode !== null) throw new Error(`the witness exited: ${readFileSync(logFile, 'utf8').trim()}`);
        // `<ISO time> INFO [witness] witness started … startupHoldMs=N` (the wall clock).
        const m = /^(\S+) \S+\s+\[witness\] witness started .*startupHoldMs=(\d+)/m.exec(readFileSync(logFile, 'utf8'));
        if (m) return { proc: p, readyAt: Date.parse(m[1]) + Number(m[2]) + 200 };
        if (Date.now() > deadline) throw new Error(`the witness did not start within 20 s: ${readFileSync(logFile, 'utf8').trim()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    /** The processes in NODE's namespace. */
    pids(node) {
      const r = spawnSync('ip', ['netns', 'pids', NS[node]], { encoding: 'utf8' });
      return (r.stdout ?? '').split(/\s+/).filter(Boolean).map(Number);
    },
    /**
     * The fault on `node`; `pids` are its processes, read before (so that the fault lands at once).
     * Returns the wall time just before the first signal or cut.
     */
    inject(fault, node, pids) {
      const signal = (sig) => {
        for (const p of pids) {
          try {
            process.kill(p, sig);
          } catch {
            /* gone */
          }
        }
      };
      const other = SERVERS.find((s) => s !== node);
      const t0 = Date.now();
      if (fault === 'kill') signal('SIGKILL');
      else if (fault === 'hang') signal('SIGSTOP');
      else if (fault === 'lost') {
        signal('SIGSTOP');
        linksDown([PORT.lan[node], PORT.crossover[node], PORT.crossover[other]]);
      } else if (fault === 'isolated') linksDown([PORT.lan[node], PORT.crossover[node], PORT.crossover[other]]);
      else throw new Error(`no fault ${fault}`);
      return t0;
    },
    /** Every call of the fence hook so far: { began, ended (ms, wall clock), caller, target, outcome }. */
    fenceCalls() {
      return readFenceCalls(fenceLog).map((c) => ({ ...c, began: c.began * 1000, ended: c.ended * 1000 }));
    },
    killAll: (node, signal) => killAllIn(NS[node], signal),
  };
}
