/**
 * The lab's hardware: the reference cluster's machines and cables, built from namespaces.
 *
 * ```
 *   client 192.168.100.200        arbiter 192.168.100.250 (paceline witness)
 *          │                              192.168.100.251 (the power switch)
 *   ═══════╪══════════ br0: the LAN switch (a bridge in its own namespace) ═══════╪════════
 *     lan0 │ .1     spare0 │                          lan0 │ .2      spare0 │
 *        serv1 ───────────── cx0: the crossover 10.99.0.1 ── 10.99.0.2 ───── serv2
 * ```
 *
 * Each server is a network namespace **and** a mount namespace of its own: its "disk" is a folder
 * of the lab (`WORK/serv1/disk`) bind-mounted over the standard paths (/srv, /var/spool, /var/lib/…,
 * /var/log, the services' /etc folders), and /run is a fresh tmpfs at every boot, so two Samba or
 * Cyrus instances never share a file, and the cluster's configuration uses the Debian paths.
 * A power-off kills every process in the server's network namespace and takes its links down; a
 * power-on gives it a fresh mount namespace (the disk stays, /run is empty) and its links back with
 * only their own addresses, as after a reboot.
 */
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { killNetns, netnsPids } from '@paceline/testkit/netns';
import { run, tryRun } from './sys.js';
import { LabError } from './errors.js';

export { killNetns, netnsPids };

export type Server = 'serv1' | 'serv2';
export const SERVERS: readonly Server[] = ['serv1', 'serv2'];
export const peerOf = (s: Server): Server => (s === 'serv1' ? 'serv2' : 'serv1');

/** The reference cluster's addresses (examples/two-node-mutual-failover/cluster.yaml). */
export const NET = {
  lan: { serv1: '192.168.100.1', serv2: '192.168.100.2' },
  cx: { serv1: '10.99.0.1', serv2: '10.99.0.2' },
  client: '192.168.100.200',
  arbiter: '192.168.100.250',
  powerSwitch: '192.168.100.251',
  samba: '192.168.100.11',
  cyrus: '192.168.100.12',
} as const;
export const WITNESS_PORT = 5430;
export const SWITCH_PORT = 5431;
/** A server's NICs: the LAN, the crossover, the spare LAN card that takes over MAC addresses. */
export const NIC = { lan: 'lan0', cx: 'cx0', spare: 'spare0' } as const;

/** The standard folders each server has on its own disk: seeded empty, as the host's folder tree without files, or as a copy (configuration). */
export const PRIVATE_DIRS: readonly { readonly path: string; readonly seed: 'empty' | 'tree' | 'copy' }[] = [
  { path: '/srv', seed: 'empty' },
  { path: '/var/spool', seed: 'tree' },
  { path: '/var/lib/paceline', seed: 'empty' },
  { path: '/var/lib/samba', seed: 'tree' },
  { path: '/var/lib/cyrus', seed: 'tree' },
  { path: '/var/lib/nginx', seed: 'tree' },
  { path: '/var/cache/samba', seed: 'tree' },
  { path: '/var/cache/bind', seed: 'tree' },
  { path: '/var/log', seed: 'tree' },
  { path: '/etc/paceline', seed: 'empty' },
  { path: '/etc/samba', seed: 'copy' },
  { path: '/etc/nginx', seed: 'copy' },
  { path: '/etc/bind', seed: 'copy' },
  { path: '/etc/freeradius', seed: 'copy' },
  { path: '/etc/mail', seed: 'copy' },
];
/** Overlaid in each server's mount namespace (the host's folder below, the server's disk above). */
export const OVERLAYS: readonly string[] = ['/etc', '/var/lib'];
/** Single configuration files each server has its own copy of. */
export const PRIVATE_FILES: readonly string[] = [
  '/etc/hosts',
  '/etc/hostname',
  '/etc/mailname',
  '/etc/cyrus.conf',
  '/etc/imapd.conf',
  '/etc/sasldb2',
  '/etc/aliases',
];
/** Folders a boot creates in /run (owner and mode as on this machine when it has them). */
export const RUN_DIRS: readonly string[] = [
  'lock',
  'samba',
  'named',
  'freeradius',
  'cyrus',
  'cyrus/socket',
  'sendmail',
  'sendmail/mta',
  'sendmail/msp',
  'sendmail/stampdir',
  'nginx',
  'paceline',
];
/** Owner and mode of a /run folder this machine does not have (yet): as the Debian packages' tmpfiles would make it. */
const RUN_DIR_OWNER: Readonly<Record<string, readonly [string, string, number]>> = {
  named: ['root', 'bind', 0o775],
  freeradius: ['freerad', 'freerad', 0o775],
  cyrus: ['cyrus', 'mail', 0o755],
  'cyrus/socket': ['cyrus', 'mail', 0o750],
};

export interface LabNames {
  /** Prefix of every namespace (unique per lab). */
  readonly prefix: string;
  readonly ns: { readonly lan: string; readonly serv1: string; readonly serv2: string; readonly client: string; readonly arbiter: string };
  /** Where the servers' mount namespaces are kept (a private bind mount). */
  readonly runDir: string;
  /** The lab's files: disks, logs, key, the client's record, the verdict. */
  readonly workDir: string;
}

export function labNames(prefix: string, workDir: string): LabNames {
  return {
    prefix,
    ns: { lan: `${prefix}-lan`, serv1: `${prefix}-serv1`, serv2: `${prefix}-serv2`, client: `${prefix}-client`, arbiter: `${prefix}-arbiter` },
    runDir: `/run/paceline-lab/${prefix}`,
    workDir,
  };
}

const nsPath = (ns: string): string => `/run/netns/${ns}`;

export class Hardware {
  constructor(readonly names: LabNames) {}

  get ns(): LabNames['ns'] {
    return this.names.ns;
  }
  disk(s: Server): string {
    return join(this.names.workDir, s, 'disk');
  }
  mntFile(s: Server): string {
    return join(this.names.runDir, `${s}.mnt`);
  }
  utsFile(s: Server): string {
    return join(this.names.runDir, `${s}.uts`);
  }

  /** argv running CMD inside server `s` (its network and mount namespaces). */
  inServer(s: Server, cmd: string, args: readonly string[] = []): string[] {
    return ['nsenter', `--net=${nsPath(this.ns[s])}`, `--mount=${this.mntFile(s)}`, `--uts=${this.utsFile(s)}`, '--', cmd, ...args];
  }
  /** argv running CMD in a plain network namespace (client, arbiter, the switch). */
  inNet(ns: string, cmd: string, args: readonly string[] = []): string[] {
    return ['nsenter', `--net=${nsPath(ns)}`, '--', cmd, ...args];
  }
  runIn(s: Server, cmd: string, args: readonly string[], timeoutMs = 30_000): string {
    const [c, ...a] = this.inServer(s, cmd, args);
    return run(c!, a, timeoutMs);
  }
  private ipn(ns: string, args: readonly string[]): string {
    return run('ip', ['-n', ns, ...args]);
  }

  // ---- building ----------------------------------------------------------------------------------

  build(repoEtc: string, template: (s: Server, text: string) => string): void {
    const { ns, runDir } = this.names;
    mkdirSync(runDir, { recursive: true });
    if (tryRun('mountpoint', ['-q', runDir]).code !== 0) {
      run('mount', ['--bind', runDir, runDir]);
      run('mount', ['--make-private', runDir]);
    }
    for (const n of Object.values(ns)) {
      run('ip', ['netns', 'add', n]);
      this.ipn(n, ['link', 'set', 'lo', 'up']);
    }
    this.ipn(ns.lan, ['link', 'add', 'br0', 'type', 'bridge']);
    // Forward at once (no STP listening delay): a port that comes back carries traffic immediately.
    this.ipn(ns.lan, ['link', 'set', 'br0', 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0']);
    this.ipn(ns.lan, ['link', 'set', 'br0', 'up']);
    const port = (host: string, ifname: string, portName: string): void => {
      run('ip', ['link', 'add', ifname, 'netns', host, 'type', 'veth', 'peer', 'name', portName, 'netns', ns.lan]);
      this.ipn(ns.lan, ['link', 'set', portName, 'master', 'br0']);
      this.ipn(ns.lan, ['link', 'set', portName, 'up']);
    };
    port(ns.client, 'eth0', 'client');
    port(ns.arbiter, 'eth0', 'arbiter');
    this.ipn(ns.client, ['addr', 'add', `${NET.client}/24`, 'dev', 'eth0']);
    this.ipn(ns.client, ['link', 'set', 'eth0', 'up']);
    this.ipn(ns.arbiter, ['addr', 'add', `${NET.arbiter}/24`, 'dev', 'eth0']);
    this.ipn(ns.arbiter, ['addr', 'add', `${NET.powerSwitch}/24`, 'dev', 'eth0']);
    this.ipn(ns.arbiter, ['link', 'set', 'eth0', 'up']);
    run('ip', ['link', 'add', NIC.cx, 'netns', ns.serv1, 'type', 'veth', 'peer', 'name', NIC.cx, 'netns', ns.serv2]);
    for (const s of SERVERS) {
      const n = s === 'serv1' ? 's1' : 's2';
      port(ns[s], NIC.lan, `${n}-lan`);
      port(ns[s], NIC.spare, `${n}-spare`);
      // An address answers ARP only on the interface that holds it (the service IP on its macvlan,
      // with the virtual MAC), and replies may leave by another interface of the same subnet.
      for (const [k, v] of [
        ['net.ipv4.conf.all.arp_ignore', '1'],
        ['net.ipv4.conf.all.arp_announce', '2'],
        ['net.ipv4.conf.all.rp_filter', '0'],
        ['net.ipv4.conf.default.rp_filter', '0'],
        ['net.ipv4.conf.default.arp_ignore', '1'],
        ['net.ipv4.conf.default.arp_announce', '2'],
      ] as const) {
        run('ip', ['netns', 'exec', ns[s], 'sysctl', '-q', '-w', `${k}=${v}`]);
      }
      this.makeDisk(s, repoEtc, template);
    }
  }

  /** The server's disk: the standard folders, seeded, then the lab's configuration files from the repository on top. */
  private makeDisk(s: Server, repoEtc: string, template: (s: Server, text: string) => string): void {
    const disk = this.disk(s);
    for (const d of PRIVATE_DIRS) {
      const to = join(disk, d.path);
      if (existsSync(to)) continue;
      mkdirSync(dirname(to), { recursive: true });
      if (d.seed === 'copy' && existsSync(d.path))
        run('cp', ['-a', '--', d.path, to]); // owners and modes too (FreeRADIUS reads its files as freerad)
      else if (d.seed === 'tree' && existsSync(d.path)) copyTree(d.path, to);
      else mkdirSync(to, { recursive: true });
    }
    // paceline:sendmail runs Sendmail as root (no RunAsUser), and Sendmail refuses to write a queue
    // owned by another user (Debian's /var/spool/mqueue is smmta's: "421 4.3.0 collect: Cannot write
    // ./dfXXXX ... Permission denied"): the queue is root's here.
    const mqueue = join(disk, 'var/spool/mqueue');
    if (existsSync(mqueue)) run('chown', ['root', mqueue]);
    for (const f of PRIVATE_FILES) {
      const to = join(disk, 'files', f);
      mkdirSync(dirname(to), { recursive: true });
      if (existsSync(f) && !existsSync(to)) run('cp', ['-a', '--', f, to]);
    }
    // The lab's own configuration (examples' services), templated per server.
    for (const rel of listFiles(repoEtc)) {
      const abs = `/${rel}`;
      const to = this.diskPathOf(s, abs);
      if (!to)
        throw new LabError(
          'LAB_SETUP',
          `${join(repoEtc, rel)}: ${abs} is not on a server's private disk (PRIVATE_DIRS / PRIVATE_FILES in packages/lab/src/hardware.ts)`,
        );
      mkdirSync(dirname(to), { recursive: true });
      writeFileSync(to, template(s, readFileSync(join(repoEtc, rel), 'utf8')));
    }
  }

  /** Where the absolute path `abs` of server `s` lives on the host. */
  diskPathOf(s: Server, abs: string): string | undefined {
    if (PRIVATE_FILES.includes(abs)) return join(this.disk(s), 'files', abs);
    const d = PRIVATE_DIRS.find((x) => abs === x.path || abs.startsWith(`${x.path}/`));
    return d ? join(this.disk(s), abs) : undefined;
  }

  // ---- power -------------------------------------------------------------------------------------

  /** Boots server `s`: a fresh mount namespace with its disk and an empty /run, its links up with only their own addresses. */
  powerOn(s: Server): void {
    this.killAll(s);
    const mnt = this.mntFile(s);
    if (existsSync(mnt)) tryRun('umount', [mnt]);
    writeFileSync(mnt, '');
    run('unshare', [`--mount=${mnt}`, '--propagation', 'private', 'true']);
    // Its own host name (Sendmail wants a qualified one; /etc/hosts on its disk has serv1.lab.example).
    const uts = this.utsFile(s);
    if (existsSync(uts)) tryRun('umount', [uts]);
    writeFileSync(uts, '');
    run('unshare', [`--uts=${uts}`, 'hostname', s]);
    const inS = (cmd: string, args: readonly string[]): string => this.runIn(s, cmd, args);
    const disk = this.disk(s);
    // /etc and /var/lib are overlays (the host's below, the server's disk above): the mount points
    // the server needs (/etc/paceline, /var/lib/paceline, /etc/mailname ...) are made there, never on
    // the host, and a host that removes its own /etc/paceline (a package purge) cannot detach them.
    for (const top of OVERLAYS) {
      const base = join(disk, '.overlay', top.slice(1).replaceAll('/', '-'));
      mkdirSync(join(base, 'upper'), { recursive: true });
      mkdirSync(join(base, 'work'), { recursive: true });
      inS('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${top},upperdir=${join(base, 'upper')},workdir=${join(base, 'work')}`, top]);
    }
    inS('mkdir', ['-p', ...PRIVATE_DIRS.map((d) => d.path)]);
    for (const d of PRIVATE_DIRS) inS('mount', ['--bind', join(disk, d.path), d.path]);
    const files = PRIVATE_FILES.filter((f) => existsSync(join(disk, 'files', f)));
    for (const f of files) {
      if (!existsSync(f)) inS('touch', [f]); // made in the overlay
      inS('mount', ['--bind', join(disk, 'files', f), f]);
    }
    inS('mount', ['-t', 'tmpfs', '-o', 'mode=0755', 'tmpfs', '/run']);
    // A reboot changes the kernel's boot id (agents use it to tell "rebooted since" from "crashed").
    const bootId = join(this.names.workDir, s, 'boot_id');
    writeFileSync(bootId, `${randomUUID()}\n`);
    inS('mount', ['--bind', bootId, '/proc/sys/kernel/random/boot_id']);
    inS('mount', ['-t', 'sysfs', 'sysfs', '/sys']);
    for (const d of RUN_DIRS) {
      const host = join('/run', d);
      let owner = 'root';
      let group = 'root';
      let mode = 0o755;
      const known = RUN_DIR_OWNER[d];
      if (existsSync(host)) {
        const st = statSync(host);
        owner = String(st.uid);
        group = String(st.gid);
        mode = st.mode & 0o7777;
      } else if (known) [owner, group, mode] = known;
      inS('install', ['-d', '-o', owner, '-g', group, '-m', mode.toString(8), host]);
    }
    // Links: only the NICs (a reboot forgets macvlans and service addresses).
    const links = JSON.parse(this.ipn(this.ns[s], ['-j', 'link', 'show'])) as { ifname: string }[];
    for (const l of links) if (!['lo', NIC.lan, NIC.cx, NIC.spare].includes(l.ifname)) tryRun('ip', ['-n', this.ns[s], 'link', 'del', l.ifname]);
    const addr = (nic: string, a?: string): void => {
      this.ipn(this.ns[s], ['addr', 'flush', 'dev', nic]);
      if (a) this.ipn(this.ns[s], ['addr', 'add', `${a}/24`, 'dev', nic]);
      this.ipn(this.ns[s], ['link', 'set', nic, 'up']);
    };
    addr(NIC.lan, NET.lan[s]);
    addr(NIC.cx, NET.cx[s]);
    addr(NIC.spare);
    tryRun('ip', ['-n', this.ns[s], 'neigh', 'flush', 'all']);
  }

  /** Power loss: every process of the server killed, all its links down at once. */
  powerOff(s: Server): void {
    powerOff(this.ns[s]);
  }

  killAll(s: Server): void {
    killNetns(this.ns[s]);
  }

  /** Takes one of a server's links down or up (a cable pulled). */
  link(s: Server, nic: string, up: boolean): void {
    this.ipn(this.ns[s], ['link', 'set', nic, up ? 'up' : 'down']);
  }

  /** The switch's side of a server's LAN port (a cable pulled at the switch: the server still sees its NIC up). */
  switchPort(s: Server, which: 'lan' | 'spare', up: boolean): void {
    this.ipn(this.ns.lan, ['link', 'set', `${s === 'serv1' ? 's1' : 's2'}-${which}`, up ? 'up' : 'down']);
  }

  /** Removes every namespace and mount of the lab (processes killed first). The work folder stays unless `purge`. */
  destroy(purge = false): void {
    for (const s of SERVERS) killNetns(this.ns[s]);
    for (const n of [this.ns.client, this.ns.arbiter, this.ns.lan]) killNetns(n);
    for (const s of SERVERS) {
      for (const f of [this.mntFile(s), this.utsFile(s)]) if (existsSync(f)) tryRun('umount', [f]);
    }
    for (const n of Object.values(this.ns)) tryRun('ip', ['netns', 'del', n]);
    tryRun('umount', [this.names.runDir]);
    rmSync(this.names.runDir, { recursive: true, force: true });
    if (purge) rmSync(this.names.workDir, { recursive: true, force: true });
  }
}

/** What the power switch does to a server: every process killed, every link down. */
export function powerOff(ns: string): void {
  // The links first (one command each, milliseconds), then the processes (that takes longer): from
  // outside, the server falls silent at once.
  for (const nic of [NIC.lan, NIC.cx, NIC.spare]) tryRun('ip', ['-n', ns, 'link', 'set', nic, 'down']);
  killNetns(ns);
}

/** Recreates `from`'s folder tree (folders only, with their owners and modes) under `to`. */
function copyTree(from: string, to: string): void {
  const st = statSync(from);
  mkdirSync(to, { recursive: true });
  chownSync(to, st.uid, st.gid);
  chmodSync(to, st.mode & 0o7777);
  for (const n of readdirSync(from)) {
    const p = join(from, n);
    const l = lstatSync(p);
    if (l.isDirectory()) copyTree(p, join(to, n));
  }
}

function listFiles(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...listFiles(p, `${prefix}${n}/`));
    else out.push(`${prefix}${n}`);
  }
  return out;
}
