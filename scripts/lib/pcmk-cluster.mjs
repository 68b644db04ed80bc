// A real two-node Pacemaker + corosync cluster on this machine, for bench-daemon-scale-pacemaker (issue 13).
//
// Each node lives in its own network namespace (a veth pair between them, addresses only inside those
// namespaces) and its own mount namespace, held open by a `sleep` process: tmpfs over /run (the Dummy
// agent's state files, pid files) and /dev/shm (libqb's shared-memory IPC buffers), and bind mounts of
// the node's own directories over /etc/corosync, /var/lib/corosync, /var/lib/pacemaker and
// /var/log/pacemaker. libqb's IPC sockets are abstract unix sockets, which belong to the network
// namespace, so the two nodes' daemons and command-line clients never see each other's. Every command
// for a node runs through `nsenter -t <holder> -m -n`; no systemd: `corosync -f`, then `pacemakerd`.
// Everything made is registered with scripts/lib/ns-lab.mjs, which removes it on every way out.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { live, run } from './ns-lab.mjs';

/** The node's daemons, by the name /proc/<pid>/comm shows (cut to 15 characters by the kernel). */
export const DAEMONS = [
  'corosync',
  'pacemakerd',
  'pacemaker-based',
  'pacemaker-fenced',
  'pacemaker-execd',
  'pacemaker-attrd',
  'pacemaker-schedulerd',
  'pacemaker-controld',
];
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Why this machine cannot run the cluster, or undefined when it can. */
export function whyNot() {
  if (process.getuid?.() !== 0) return 'needs root (network and mount namespaces, corosync and pacemakerd run as root)';
  const tools = ['corosync', 'pacemakerd', 'cibadmin', 'crm_mon', 'crmadmin', 'corosync-quorumtool', 'nsenter', 'unshare', 'ip', 'mount'];
  for (const t of tools) {
    const r = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', t], { stdio: 'ignore' });
    if (r.status !== 0) return `\`${t}\` is not on PATH (Debian packages: pacemaker, corosync, pacemaker-cli-utils, iproute2, util-linux)`;
  }
  if (!existsSync('/usr/lib/ocf/resource.d/pacemaker/Dummy')) return 'the ocf:pacemaker:Dummy agent is missing (Debian package pacemaker-resource-agents)';
  if (spawnSync('id', ['hacluster'], { stdio: 'ignore' }).status !== 0) return 'the hacluster user is missing (made by the pacemaker package)';
  return undefined;
}

function corosyncConf(nodes, tokenMs) {
  const list = nodes.map((n, i) => `  node {\n    name: ${n.name}\n    nodeid: ${i + 1}\n    ring0_addr: ${n.addr}\n  }`).join('\n');
  return [
    'totem {',
    '  version: 2',
    '  cluster_name: pcmkbench',
    '  transport: knet',
    '  crypto_cipher: none',
    '  crypto_hash: none',
    ...(tokenMs ? [`  token: ${tokenMs}`] : []),
    '}',
    'logging {',
    '  to_stderr: no',
    '  to_syslog: no',
    '  to_logfile: yes',
    '  logfile: /var/log/pacemaker/corosync.log',
    '  timestamp: hires',
    '}',
    'quorum {',
    '  provider: corosync_votequorum',
    '  two_node: 1',
    '}',
    'nodelist {',
    list,
    '}',
    '',
  ].join('\n');
}

/** One node: its namespaces, its directories, and commands run inside it. */
export class PcmkNode {
  constructor(name, ns, ifname, addr, dir) {
    Object.assign(this, { name, ns, ifname, addr, dir, holder: undefined });
  }
  /** Runs a command inside the node (argument array, no shell); returns spawnSync's result. */
  exec(cmd, args, { timeoutMs = 30000, input } = {}) {
    return spawnSync('nsenter', ['-t', String(this.holder), '-m', '-n', cmd, ...args], {
      encoding: 'utf8',
      timeout: timeoutMs,
      maxBuffer: 256 * 1024 * 1024,
      ...(input !== undefined ? { input } : {}),
    });
  }
  /** Like exec, but throws with the command's output unless it exits 0. */
  must(cmd, args, opts) {
    const r = this.exec(cmd, args, opts);
    if (r.error || r.status !== 0)
      throw new Error(`${this.name}: ${cmd} ${args.join(' ')}: ${r.error?.message ?? `exit ${r.status}`} ${(r.stderr || r.stdout || '').trim()}`);
    return r.stdout;
  }
  /** Starts a long-running daemon inside the node, its output to a file in the node's log directory. */
  daemon(cmd, args, env = {}) {
    const fd = openSync(join(this.dir, 'log', `${cmd}.out`), 'a');
    const p = spawn('nsenter', ['-t', String(this.holder), '-m', '-n', 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), cmd, ...args], {
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    live.procs.push(p);
    return p;
  }
  log(file = 'pacemaker.log') {
    const path = join(this.dir, 'log', file);
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }
  /** Every process in the node's network namespace. */
  pids() {
    const r = spawnSync('ip', ['netns', 'pids', this.ns], { encoding: 'utf8' });
    return (r.stdout ?? '').split(/\s+/).filter(Boolean).map(Number);
  }
  /**
   * CPU (ms, own + reaped children: the agents pacemaker-execd forks count under it) and proportional
   * set size (KiB: resident memory with shared pages split among the processes sharing them) of each
   * daemon of the node, by daemon name.
   */
  usage() {
    const out = {};
    for (const pid of this.pids()) {
      let stat, smaps;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        smaps = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      } catch {
        continue; // gone
      }
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const daemon = DAEMONS.find((d) => d === comm || (comm.length === 15 && d.startsWith(comm)));
      if (!daemon) continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]); // utime stime cutime cstime
      const pss = Number(/^Pss:\s+(\d+)/m.exec(smaps)?.[1] ?? 0);
      const u = (out[daemon] ??= { cpuMs: 0, pssKiB: 0 });
      u.cpuMs += (ticks * 1000) / CLK_TCK;
      u.pssKiB += pss;
    }
    return out;
  }
  /** Bytes and packets sent and received on the node's end of the veth. */
  wire() {
    const j = JSON.parse(run('ip', ['-n', this.ns, '-s', '-j', 'link', 'show', 'dev', this.ifname]))[0];
    const s = j.stats64 ?? j.stats;
    return { tx: s.tx.bytes, rx: s.rx.bytes, txPackets: s.tx.packets };
  }
}

async function startHolder(node) {
  const p = spawn('nsenter', [`--net=/run/netns/${node.ns}`, 'unshare', '--mount', '--propagation', 'private', 'sleep', '7200'], { stdio: 'ignore' });
  live.procs.push(p);
  const mine = readlinkSync('/proc/self/ns/mnt');
  for (let i = 0; i < 100; i++) {
    try {
      if (readFileSync(`/proc/${p.pid}/comm`, 'utf8').trim() === 'sleep' && readlinkSync(`/proc/${p.pid}/ns/mnt`) !== mine) {
        node.holder = p.pid;
        return;
      }
    } catch {
      /* not there yet */
    }
    if (p.exitCode !== null) break;
    await sleep(20);
  }
  throw new Error(`${node.name}: the namespace holder (nsenter → unshare --mount → sleep) did not start`);
}

function mountNodeDirs(node) {
  const m = (args) => run('nsenter', ['-t', String(node.holder), '-m', 'mount', ...args]);
  m(['-t', 'tmpfs', '-o', 'mode=755', `pcmkbench-run-${node.name}`, '/run']);
  m(['-t', 'tmpfs', '-o', 'mode=1777', `pcmkbench-shm-${node.name}`, '/dev/shm']);
  for (const [sub, target] of [
    ['etc-corosync', '/etc/corosync'],
    ['var-lib-corosync', '/var/lib/corosync'],
    ['var-lib-pacemaker', '/var/lib/pacemaker'],
    ['log', '/var/log/pacemaker'],
  ])
    m(['--bind', join(node.dir, sub), target]);
}

/**
 * Makes the namespaces, veth, directories and configuration for two nodes and starts corosync on both;
 * returns once both are members of one quorate ring. `tag` makes the names unique.
 */
export async function createCluster({ tag, root, names = ['serv1', 'serv2'], tokenMs }) {
  const nodes = names.map((name, i) => new PcmkNode(name, `pcmk${tag}-${i}`, `pcmk${i}`, `10.216.13.${i + 1}`, join(root, name)));
  for (const n of nodes) {
    run('ip', ['netns', 'add', n.ns]);
    live.namespaces.push(n.ns);
  }
  const [a, b] = nodes;
  run('ip', ['link', 'add', a.ifname, 'netns', a.ns, 'type', 'veth', 'peer', 'name', b.ifname, 'netns', b.ns]);
  for (const n of nodes) {
    run('ip', ['-n', n.ns, 'addr', 'add', `${n.addr}/24`, 'dev', n.ifname]);
    run('ip', ['-n', n.ns, 'link', 'set', n.ifname, 'up']);
    run('ip', ['-n', n.ns, 'link', 'set', 'lo', 'up']);
    for (const sub of [
      'etc-corosync',
      'var-lib-corosync',
      'log',
      'var-lib-pacemaker/cib',
      'var-lib-pacemaker/pengine',
      'var-lib-pacemaker/blackbox',
      'var-lib-pacemaker/cores',
    ])
      mkdirSync(join(n.dir, sub), { recursive: true });
    run('chown', ['-R', 'hacluster:haclient', join(n.dir, 'var-lib-pacemaker'), join(n.dir, 'log')]);
    writeFileSync(join(n.dir, 'etc-corosync', 'corosync.conf'), corosyncConf(nodes, tokenMs));
    await startHolder(n);
    mountNodeDirs(n);
  }
  for (const n of nodes) n.daemon('corosync', ['-f']);
  await waitFor('corosync: both nodes in one quorate membership', 60000, 250, () =>
    nodes.every((n) => {
      const r = n.exec('corosync-quorumtool', ['-s'], { timeoutMs: 5000 });
      return r.status === 0 && /Quorate:\s+Yes/.test(r.stdout) && /Total votes:\s+2/.test(r.stdout);
    }),
  );
  return nodes;
}

/** Starts pacemakerd on every node; returns the DC's name once it is elected and idle with every node online. */
export async function startPacemaker(nodes) {
  for (const n of nodes) n.daemon('pacemakerd', [], { PCMK_logfile: '/var/log/pacemaker/pacemaker.log' });
  let dc;
  await waitFor('pacemaker: a DC elected, both nodes online, the DC idle', 180000, 500, () => {
    const st = clusterStatus(nodes[0]);
    dc = st?.dc;
    return st && dc && st.online.length === nodes.length && controllerState(nodes, dc) === 'S_IDLE';
  });
  return dc;
}

/** The controller state (S_IDLE, S_TRANSITION_ENGINE, ...) of the DC, asked on the DC itself. */
export function controllerState(nodes, dc) {
  const node = nodes.find((n) => n.name === dc);
  const r = node?.exec('crmadmin', ['-q', '-S', dc], { timeoutMs: 10000 });
  return r && r.status === 0 ? (r.stdout + r.stderr).trim() : undefined;
}

/** The DC's name as the first node that answers `crmadmin -D` sees it, or undefined. */
export function currentDc(nodes) {
  for (const n of nodes) {
    const r = n.exec('crmadmin', ['-D'], { timeoutMs: 10000 });
    const m = r.status === 0 ? /Designated Controller is: (\S+)/.exec(r.stdout + r.stderr) : null;
    if (m) return m[1];
  }
  return undefined;
}

/** crm_mon's XML, parsed to what the bench needs, or undefined when crm_mon fails. */
export function clusterStatus(node) {
  const r = node.exec('crm_mon', ['-1', '--output-as=xml'], { timeoutMs: 60000 });
  if (r.status !== 0) return undefined;
  const xml = r.stdout;
  const dc = /<current_dc present="true"[^>]*name="([^"]+)"/.exec(xml)?.[1];
  const online = [...xml.matchAll(/<node name="([^"]+)"[^>]*online="true"[^>]*type="member"/g)].map((m) => m[1]);
  const resources = new Map();
  for (const m of xml.matchAll(/<resource id="([^"]+)"([^>]*?)(\/>|>([\s\S]*?)<\/resource>)/g)) {
    const attrs = m[2];
    resources.set(m[1], {
      role: /role="([^"]+)"/.exec(attrs)?.[1],
      failed: /failed="true"/.test(attrs),
      nodes: [...(m[4] ?? '').matchAll(/<node name="([^"]+)"/g)].map((x) => x[1]),
    });
  }
  return { dc, online, resources, bytes: xml.length };
}

/**
 * Polls `check` (synchronous or not) every `everyMs` (a number, or a function giving the next pause)
 * until it is truthy; throws naming `what` after `timeoutMs`.
 */
export async function waitFor(what, timeoutMs, everyMs, check) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(typeof everyMs === 'function' ? everyMs() : everyMs);
  }
}

/** SIGKILLs every daemon of the node (a node gone silent: no goodbye) and takes its veth end down. */
export function killNode(node) {
  for (let pass = 0; pass < 3; pass++)
    for (const pid of node.pids())
      if (pid !== node.holder)
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
  run('ip', ['-n', node.ns, 'link', 'set', 'dev', node.ifname, 'down']);
}

/** Wall-clock ms of a pacemaker or corosync log line ("Dec 07 05:40:01.147 ..."), this year. */
export function logTime(line) {
  const m = /^(\w{3}) (\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)/.exec(line);
  return m ? new Date(`${m[1]} ${m[2]} ${new Date().getFullYear()} ${m[3]}`).getTime() : NaN;
}
