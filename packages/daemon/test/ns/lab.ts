/**
 * A lab for real-fault tests of the reference two-server setup, built from network namespaces:
 *
 * ```
 *                 client 10.216.2.200 on br0 (the LAN switch: a bridge in the client's namespace)
 *                        power switch 10.216.2.250 (br0), or 10.216.3.250 (brm0, the management network)
 *               port1 │                  │ port2          (port3: a clone of serv2, when asked for)
 *          lan0 10.216.2.1          lan0 10.216.2.2
 *   serv1 ──────────────── hb0 ──────────────── serv2     (hb0: the crossover, a veth pair)
 *          10.216.1.1                  10.216.1.2
 *          [mgmt0 10.216.3.1]          [mgmt0 10.216.3.2]  (management network, when asked for)
 * ```
 *
 * Real `paceline daemon` processes (the built CLI) run under `ip netns exec`; fencing goes through
 * `--fence-command` to a lab power switch script (fence.sh) that first checks it can reach the
 * switch's address from the caller's namespace (ping over the caller's LAN, or its management
 * network), then "powers off" the target: every process in its namespace killed, its links down.
 * Every call is logged by the script itself (who called it on whom, and what happened).
 * A UDP responder bound to the VIP runs on each server all the time (net.ipv4.ip_nonlocal_bind=1),
 * answering with its server's name; a prober in the client's namespace sends a datagram to the VIP
 * every 10 ms and records who answers.
 *
 * Everything a lab creates is removed by `destroy()` (and at process exit, as a last resort).
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { controlRequest, type DaemonStatus } from '@paceline/daemon';
import { createNetns, deleteNetns, killNetns, netnsSkipReason, run } from '@paceline/testkit/netns';
import { waitFor } from '../helpers.js';

export { waitFor };

export type Server = 'serv1' | 'serv2';
export const SERVERS: readonly Server[] = ['serv1', 'serv2'];
export const peerOf = (s: Server): Server => (s === 'serv1' ? 'serv2' : 'serv1');

/** Addresses exist only inside the lab's namespaces. */
export const ADDR = {
  hb: { serv1: '10.216.1.1', serv2: '10.216.1.2' },
  lan: { serv1: '10.216.2.1', serv2: '10.216.2.2' },
  mgmt: { serv1: '10.216.3.1', serv2: '10.216.3.2' },
} as const;
export const CLIENT = '10.216.2.200';
export const VIP = '10.216.2.100';
export const SWITCH = { lan: '10.216.2.250', mgmt: '10.216.3.250' } as const;
/** Heartbeats on the link address's port, the daemon channel on port + 1. */
export const PORT = { lan: 5405, hb: 5407 } as const;
export const WITNESS_PORT = 5409;
export const ECHO_PORT = 7007;
export const IF = { lan: 'lan0', hb: 'hb0', mgmt: 'mgmt0' } as const;

/** The built CLI the daemons run (PACELINE_NS_CLI names another build, e.g. an older commit's, to see a scenario fail there). */
export const cli = process.env['PACELINE_NS_CLI'] || join(process.cwd(), 'packages/cli/dist/main.js');

function have(cmd: string, args: readonly string[]): boolean {
  const r = spawnSync(cmd, [...args], { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

/** Why the lab cannot run here (not root, a tool missing, the CLI not built, no namespaces), or undefined. */
export function labSkipReason(extra: readonly (readonly [string, readonly string[], string])[] = []): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: the namespace fault tests need root (CI runs as root)';
  const tools: (readonly [string, readonly string[], string])[] = [
    ['ip', ['-V'], 'iproute2'],
    ['nft', ['--version'], 'nftables'],
    ['arping', ['-V'], 'iputils-arping'],
    ['ping', ['-V'], 'iputils-ping'],
    ...extra,
  ];
  for (const [cmd, args, pkg] of tools) if (!have(cmd, args)) return `\`${cmd}\` is not installed (Debian package ${pkg}; scripts/setup.sh installs it)`;
  if (!existsSync(cli)) return `${cli} is not built (run npm run build)`;
  return netnsSkipReason(`pnf-probe-${process.pid}`);
}

export { run };
export function runAsync(cmd: string, args: readonly string[], timeoutMs = 10_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, [...args], { encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// Labs still alive when the process exits (a test that threw past its cleanup) are removed here.
const alive = new Set<Lab>();
process.once('exit', () => {
  for (const l of [...alive]) l.destroy();
});

export interface LabSpec {
  /** Short, unique per test: it names the namespaces (with the process id). */
  readonly tag: string;
  /** A management network (brm0 in the client's namespace, mgmt0 on each server) for the power switch. */
  readonly mgmt?: boolean;
  /** Where the power switch is reached from the caller (default the LAN). */
  readonly switchVia?: 'lan' | 'mgmt';
  /** A third namespace that can take serv2's identity (a cloned VM): lan0 on the switch, hb0 going nowhere. */
  readonly clone?: boolean;
}

export interface DaemonSpec {
  /** Timing profile (default: the daemon's own default). */
  readonly profile?: 'default' | 'fast';
  /** Extra `--membership key=value` settings. */
  readonly membership?: readonly string[];
  /** Use the lab's witness arbiter (`paceline witness` in the client's namespace) through `--arbiter`. */
  readonly witness?: boolean;
  readonly logLevel?: 'debug' | 'info';
  /** Run in another namespace / with another state directory (a clone of the node). */
  readonly ns?: string;
  readonly stateDir?: string;
  /** The log file's name (default NODE.log). */
  readonly log?: string;
  /** More `paceline daemon` arguments (e.g. `--witness HOST`). */
  readonly args?: readonly string[];
}

export interface Reply {
  readonly at: number;
  readonly from: string;
}
export interface FenceCall {
  readonly at: number;
  readonly caller: string;
  readonly target: string;
  readonly result: string;
}
export interface Sample<T> {
  readonly at: number;
  readonly value: T;
}

/** Runs `probe` every `everyMs` until stopped; keeps what it returned with the time. */
export class Sampler<T> {
  readonly samples: Sample<T>[] = [];
  private running = true;
  private readonly loop: Promise<void>;
  constructor(probe: () => Promise<T>, everyMs: number) {
    this.loop = (async () => {
      while (this.running) {
        const at = Date.now();
        try {
          this.samples.push({ at, value: await probe() });
        } catch {
          /* a namespace going away mid-sample */
        }
        await sleep(everyMs);
      }
    })();
  }
  async stop(): Promise<Sample<T>[]> {
    this.running = false;
    await this.loop;
    return this.samples;
  }
}

const RESPONDER = `import { createSocket } from 'node:dgram';
const [vip, port, name] = process.argv.slice(2);
const s = createSocket('udp4');
s.on('message', (m, r) => s.send(name, r.port, r.address));
s.bind(Number(port), vip);
`;
const PROBER = `import { createSocket } from 'node:dgram';
const [vip, port, every] = process.argv.slice(2);
const s = createSocket('udp4');
s.on('message', (m) => process.stdout.write(Date.now() + ' ' + m + '\\n'));
s.bind(0, () => setInterval(() => s.send('?', Number(port), vip, () => undefined), Number(every)));
`;

export class Lab {
  readonly dir: string;
  readonly ns: { readonly serv1: string; readonly serv2: string; readonly client: string; readonly clone: string };
  readonly replies: Reply[] = [];
  readonly daemons = new Map<string, ChildProcess>();
  private readonly procs: ChildProcess[] = [];
  private readonly created: string[] = [];
  private destroyed = false;
  private witnessProc: ChildProcess | undefined;

  constructor(readonly spec: LabSpec) {
    const pid = process.pid;
    this.ns = { serv1: `pnf-${spec.tag}-s1-${pid}`, serv2: `pnf-${spec.tag}-s2-${pid}`, client: `pnf-${spec.tag}-c-${pid}`, clone: `pnf-${spec.tag}-x-${pid}` };
    this.dir = mkdtempSync(join(tmpdir(), `paceline-nsfaults-${spec.tag}-${pid}-`));
    alive.add(this);
    try {
      this.build();
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  inNs(ns: string, cmd: string, args: readonly string[]): string {
    return run('ip', ['netns', 'exec', ns, cmd, ...args]);
  }

  private addNs(ns: string): void {
    createNetns(ns);
    this.created.push(ns);
  }

  private build(): void {
    const { ns, spec } = this;
    for (const n of [ns.serv1, ns.serv2, ns.client]) this.addNs(n);
    run('ip', ['link', 'add', IF.hb, 'netns', ns.serv1, 'type', 'veth', 'peer', 'name', IF.hb, 'netns', ns.serv2]);
    const bridge = (name: string, addrs: readonly string[]): void => {
      this.inNs(ns.client, 'ip', ['link', 'add', name, 'type', 'bridge']);
      for (const a of addrs) this.inNs(ns.client, 'ip', ['addr', 'add', `${a}/24`, 'dev', name]);
      this.inNs(ns.client, 'ip', ['link', 'set', name, 'up']);
    };
    bridge('br0', [CLIENT, ...(spec.switchVia === 'mgmt' ? [] : [SWITCH.lan])]);
    if (spec.mgmt) bridge('brm0', spec.switchVia === 'mgmt' ? [SWITCH.mgmt] : []);
    const attach = (server: string, ifname: string, port: string, br: string): void => {
      run('ip', ['link', 'add', ifname, 'netns', server, 'type', 'veth', 'peer', 'name', port, 'netns', ns.client]);
      this.inNs(ns.client, 'ip', ['link', 'set', port, 'master', br]);
      this.inNs(ns.client, 'ip', ['link', 'set', port, 'up']);
    };
    SERVERS.forEach((s, i) => {
      attach(ns[s], IF.lan, `port${i + 1}`, 'br0');
      if (spec.mgmt) attach(ns[s], IF.mgmt, `mport${i + 1}`, 'brm0');
      this.inNs(ns[s], 'sysctl', ['-q', '-w', 'net.ipv4.ip_nonlocal_bind=1']);
    });
    this.linksUp();
    if (spec.clone) {
      // A clone of serv2's VM: the same addresses; its LAN on the switch, its crossover going nowhere.
      this.addNs(ns.clone);
      attach(ns.clone, IF.lan, 'port3', 'br0');
      this.inNs(ns.clone, 'ip', ['link', 'add', IF.hb, 'type', 'veth', 'peer', 'name', 'hbx']);
      this.inNs(ns.clone, 'ip', ['addr', 'add', `${ADDR.lan.serv2}/24`, 'dev', IF.lan]);
      this.inNs(ns.clone, 'ip', ['addr', 'add', `${ADDR.hb.serv2}/24`, 'dev', IF.hb]);
      for (const l of [IF.lan, IF.hb, 'hbx']) this.inNs(ns.clone, 'ip', ['link', 'set', l, 'up']);
      this.inNs(ns.clone, 'sysctl', ['-q', '-w', 'net.ipv4.ip_nonlocal_bind=1']);
      // Down until the clone boots (port3 carries nothing before).
      this.inNs(ns.client, 'ip', ['link', 'set', 'port3', 'down']);
    }
    this.writeFence();
    writeFileSync(join(this.dir, 'responder.mjs'), RESPONDER);
    writeFileSync(join(this.dir, 'prober.mjs'), PROBER);
    this.keygen();
  }

  /** Every server link up with its addresses (and nothing else: the VIP goes, as after a reboot). */
  linksUp(): void {
    for (const s of SERVERS) {
      const links: [string, string][] = [[IF.lan, ADDR.lan[s]], [IF.hb, ADDR.hb[s]], ...(this.spec.mgmt ? [[IF.mgmt, ADDR.mgmt[s]] as [string, string]] : [])];
      for (const [l, a] of links) {
        this.inNs(this.ns[s], 'ip', ['addr', 'flush', 'dev', l]);
        this.inNs(this.ns[s], 'ip', ['addr', 'add', `${a}/24`, 'dev', l]);
        this.inNs(this.ns[s], 'ip', ['link', 'set', l, 'up']);
      }
      spawnSync('ip', ['-n', this.ns[s], 'neigh', 'flush', 'all'], { stdio: 'ignore' });
    }
  }

  private keygen(): void {
    rmSync(join(this.dir, 'key'), { force: true });
    const k = spawnSync(process.execPath, [cli, 'keygen', join(this.dir, 'key')], { encoding: 'utf8' });
    if (k.status !== 0) throw new Error(`paceline keygen failed: ${(k.stderr || k.stdout).trim()}`);
  }

  get configFile(): string {
    return join(this.dir, 'cluster.json');
  }

  /**
   * The cluster configuration: both servers on both links, stonithEnabled false, stickiness 0,
   * and the given resources and constraints (by default the VIP alone, at home on serv1).
   */
  writeConfig(
    resources: readonly unknown[] = [vipResource()],
    constraints: readonly unknown[] = [{ type: 'location', id: 'vip-home', resource: 'vip', node: 'serv1', score: 100 }],
  ): void {
    writeFileSync(
      this.configFile,
      JSON.stringify(
        {
          properties: { clusterName: `nsfaults-${this.spec.tag}`, stonithEnabled: false },
          defaults: { resource: { stickiness: 0 } },
          nodes: SERVERS.map((s) => ({ name: s, addresses: { lan: `${ADDR.lan[s]}:${PORT.lan}`, crossover: `${ADDR.hb[s]}:${PORT.hb}` } })),
          resources,
          constraints,
        },
        null,
        2,
      ),
    ); // JSON is YAML
  }

  // ---- the power switch ------------------------------------------------------------------------

  private writeFence(): void {
    const { ns, dir } = this;
    const via = this.spec.switchVia ?? 'lan';
    const links = [IF.lan, IF.hb, ...(this.spec.mgmt ? [IF.mgmt] : [])].join(' ');
    writeFileSync(
      join(dir, 'fence.sh'),
      `#!/bin/sh
# The lab's power switch for node $1, reached over the caller's ${via === 'lan' ? 'LAN' : 'management network'} at ${SWITCH[via]}:
# unreachable from the caller -> exit 1; else every process in the target's namespace is killed and
# its links go down (exit 0). Every call is logged: time (ms), caller, target, result.
target="$1"
case "$(ip netns identify $$ 2>/dev/null)" in
  ${ns.serv1}) caller=serv1 ;;
  ${ns.serv2}) caller=serv2 ;;
  ${ns.clone}) caller=serv2-clone ;;
  *) caller=unknown ;;
esac
say() { echo "$(date +%s%3N) $caller $target $1" >> ${join(dir, 'fence.log')}; }
if ! ping -c 1 -W 1 -q ${SWITCH[via]} >/dev/null 2>&1; then
  say unreachable; echo "fence.sh: the power switch ${SWITCH[via]} is unreachable from $caller" >&2; exit 1
fi
if [ ! -e ${join(dir, 'armed')} ]; then say unarmed; echo "fence.sh: not armed yet (the cluster is starting)" >&2; exit 1; fi
case "$target" in
  serv1) ns=${ns.serv1} ;;
  serv2) ns=${ns.serv2} ;;
  *) say unknown; echo "fence.sh: unknown node $target" >&2; exit 1 ;;
esac
for p in $(ip netns pids "$ns"); do kill -9 "$p" 2>/dev/null; done
for l in ${links}; do ip -n "$ns" link set "$l" down; done
say off
`,
    );
    chmodSync(join(dir, 'fence.sh'), 0o755);
  }

  /**
   * Arms the switch. Until then it refuses (exit 1, logged "unarmed"): a daemon that has just
   * started can stall past the dead time on a loaded machine and be fenced before the scenario.
   */
  arm(on = true): void {
    if (on) writeFileSync(join(this.dir, 'armed'), '');
    else rmSync(join(this.dir, 'armed'), { force: true });
  }

  fenceCalls(): FenceCall[] {
    const f = join(this.dir, 'fence.log');
    if (!existsSync(f)) return [];
    return readFileSync(f, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [at, caller, target, result] = l.split(' ');
        return { at: Number(at), caller: caller ?? '', target: target ?? '', result: result ?? '' };
      });
  }

  // ---- the witness -----------------------------------------------------------------------------

  /** `paceline witness` on the client (a third host on the LAN); see `witnessReady`. */
  startWitness(): ChildProcess {
    const log = openSync(join(this.dir, 'witness.log'), 'a');
    const p = spawn(
      'ip',
      [
        'netns',
        'exec',
        this.ns.client,
        process.execPath,
        cli,
        'witness',
        '--listen',
        `${CLIENT}:${WITNESS_PORT}`,
        '--key',
        join(this.dir, 'key'),
        '--config',
        this.configFile,
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    this.procs.push(p);
    this.witnessProc = p;
    return p;
  }

  /**
   * Waits until the witness grants votes: after a start it grants nothing for a while (its
   * "witness started … startupHoldMs=N" line says when it started and how long), so a fault before
   * then would find no vote.
   */
  async witnessReady(timeoutMs = 30_000): Promise<void> {
    const until = await waitFor(
      'the witness started',
      () => {
        if (this.witnessProc?.exitCode !== null) throw new Error(`the witness exited: ${this.log('witness').trim()}`);
        const m = /^(\S+) INFO +\[witness\] witness started .*startupHoldMs=(\d+)/m.exec(this.log('witness'));
        return m ? Date.parse(m[1]!) + Number(m[2]) : undefined;
      },
      timeoutMs,
    );
    await sleep(Math.max(0, until + 200 - Date.now()));
  }

  // ---- daemons ---------------------------------------------------------------------------------

  stateDir(s: string): string {
    return join(this.dir, s);
  }

  startDaemon(s: Server, o: DaemonSpec = {}): ChildProcess {
    const logName = o.log ?? `${s}.log`;
    const log = openSync(join(this.dir, logName), 'a');
    const args = [
      'netns',
      'exec',
      o.ns ?? this.ns[s],
      process.execPath,
      cli,
      'daemon',
      '--config',
      this.configFile,
      '--node',
      s,
      '--state-dir',
      o.stateDir ?? this.stateDir(s),
      '--key',
      join(this.dir, 'key'),
      '--fence-command',
      join(this.dir, 'fence.sh'),
      '--log-level',
      o.logLevel ?? 'info',
      ...(o.profile ? ['--profile', o.profile] : []),
      ...(o.membership ?? []).flatMap((m) => ['--membership', m]),
      ...(o.witness ? ['--arbiter', `${CLIENT}:${WITNESS_PORT}`] : []),
      ...(o.args ?? []),
    ];
    const child = spawn('ip', args, { stdio: ['ignore', log, log] });
    closeSync(log);
    this.procs.push(child);
    this.daemons.set(logName, child);
    return child;
  }

  daemon(s: string): ChildProcess {
    const d = this.daemons.get(`${s}.log`) ?? this.daemons.get(s);
    if (!d) throw new Error(`no daemon ${s} was started`);
    return d;
  }

  /** Stops a daemon cleanly (SIGTERM: it moves its resources away, then leaves); SIGKILL after `timeoutMs`. */
  async stopDaemon(c: ChildProcess, timeoutMs = 20_000): Promise<void> {
    if (c.exitCode !== null || c.signalCode !== null) return;
    const done = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    await done;
    clearTimeout(t);
  }

  async status(s: Server, stateDir = this.stateDir(s)): Promise<DaemonStatus> {
    return (await controlRequest(stateDir, { cmd: 'status' }, 3000)).data as DaemonStatus;
  }

  cli(...args: string[]): { code: number | null; out: string } {
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 30_000 });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  }

  log(name: string): string {
    const f = join(this.dir, name.endsWith('.log') ? name : `${name}.log`);
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  /** Both members online and quorate, no transition running, each resource where `placement` says, on both nodes' views. */
  async settled(placement: Readonly<Record<string, Server>>, nodes: readonly Server[] = SERVERS, timeoutMs = 30_000): Promise<void> {
    await waitFor(
      `the cluster settled (${JSON.stringify(placement)})`,
      async () => {
        for (const n of nodes) {
          const st = await this.status(n);
          const bad = Object.entries(placement).filter(([r, s]) => where(st, r).join() !== s);
          if (!st.mayRun || st.lastTransition?.state === 'running' || bad.length || st.members.length !== nodes.length) {
            throw new Error(
              `${n}: mayRun ${st.mayRun} (${st.mayRunReason}), members [${st.members}], transition ${st.lastTransition?.state ?? 'none'}, ` +
                Object.keys(placement)
                  .map((r) => `${r} on [${where(st, r)}]`)
                  .join(', '),
            );
          }
        }
        return true;
      },
      timeoutMs,
      100,
    );
  }

  // ---- the client's view -----------------------------------------------------------------------

  startResponders(): void {
    for (const s of SERVERS) {
      this.procs.push(
        spawn('ip', ['netns', 'exec', this.ns[s], process.execPath, join(this.dir, 'responder.mjs'), VIP, String(ECHO_PORT), s], { stdio: 'ignore' }),
      );
    }
  }

  startProber(everyMs = 10): void {
    const p = spawn('ip', ['netns', 'exec', this.ns.client, process.execPath, join(this.dir, 'prober.mjs'), VIP, String(ECHO_PORT), String(everyMs)], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    this.procs.push(p);
    createInterface({ input: p.stdout! }).on('line', (line) => {
      const [at, from] = line.split(' ');
      this.replies.push({ at: Number(at), from: from ?? '' });
      if (this.replies.length > 100_000) this.replies.splice(0, 50_000);
    });
  }

  /** Waits until the client's last 3 replies (after `since`) came from `s`; returns when the first of them came. */
  async clientSees(s: Server, since: number, timeoutMs = 30_000): Promise<number> {
    return waitFor(
      `the client answered by ${s}`,
      () => {
        const recent = this.replies.filter((r) => r.at >= since).slice(-3);
        if (recent.length === 3 && recent.every((r) => r.from === s) && Date.now() - recent[2]!.at < 200) return recent[0]!.at;
        throw new Error(`last replies [${recent.map((r) => r.from)}]`);
      },
      timeoutMs,
      20,
    );
  }

  /**
   * Where the VIP is configured on a lan0 that is up (the ground truth of "active"). The servers are
   * queried one after the other, so a move (stopped on the first, started on the second in between)
   * could look like both: a server that holds it is counted only if it still does after the last
   * one was seen holding it.
   */
  async vipHolders(): Promise<Server[]> {
    return confirmed(SERVERS, (s) => this.holdsVip(s));
  }

  private async holdsVip(s: Server): Promise<boolean> {
    const r = await runAsync('ip', ['-n', this.ns[s], '-j', 'addr', 'show', 'dev', IF.lan]);
    if (r.code !== 0 || !r.out.includes('[')) return false; // an empty answer: the interface is being moved or torn down
    const [l] = JSON.parse(r.out.slice(r.out.indexOf('['))) as { flags: string[]; operstate?: string; addr_info?: { local: string }[] }[];
    return !!l && l.flags.includes('UP') && l.operstate !== 'DOWN' && !!l.addr_info?.some((a) => a.local === VIP);
  }

  /** The namespaces (of `names`) where a process whose command line contains `marker` runs (confirmed as in `vipHolders`). */
  async processHolders(marker: string, names: readonly ('serv1' | 'serv2' | 'clone')[] = SERVERS): Promise<string[]> {
    return confirmed(names, (n) => this.runs(n, marker));
  }

  private async runs(n: 'serv1' | 'serv2' | 'clone', marker: string): Promise<boolean> {
    const r = await runAsync('ip', ['netns', 'pids', this.ns[n]]);
    for (const p of r.out.split(/\s+/).filter(Boolean)) {
      try {
        if (readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(marker)) return true;
      } catch {
        /* gone */
      }
    }
    return false;
  }

  killAllIn(ns: string): void {
    killNetns(ns);
  }

  /** Both servers as after a power cycle: nothing running, links up, no VIP, no state; the switch disarmed (the witness and the key stay). */
  async reset(): Promise<void> {
    for (const s of SERVERS) this.killAllIn(this.ns[s]);
    const running = [...this.daemons.values()].filter((c) => c.exitCode === null && c.signalCode === null);
    await Promise.all(running.map((c) => new Promise((r) => c.once('exit', r))));
    this.daemons.clear();
    this.linksUp();
    for (const s of SERVERS) rmSync(this.stateDir(s), { recursive: true, force: true });
    this.arm(false);
  }

  /** The logs, the switch's log and the client's recent replies, for a failure message; also kept in a folder when PACELINE_NS_KEEP names one. */
  evidence(lines = 80): string {
    const parts: string[] = [];
    for (const name of ['serv1.log', 'serv2.log', 'serv2-clone.log', 'witness.log']) {
      const text = this.log(name);
      if (text)
        parts.push(
          `---- ${name} (last ${lines} lines)\n${text
            .split('\n')
            .filter((l) => !l.includes('packet dropped'))
            .slice(-lines)
            .join('\n')}`,
        );
    }
    parts.push(`---- fence calls: ${JSON.stringify(this.fenceCalls())}`);
    const keep = process.env['PACELINE_NS_KEEP'];
    if (keep) {
      const to = join(keep, `${this.spec.tag}-${Date.now()}`);
      cpSync(this.dir, to, { recursive: true, filter: (f) => !f.endsWith('.sock') });
      parts.push(`---- logs and state kept in ${to}`);
    }
    return parts.join('\n');
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    alive.delete(this);
    for (const p of this.procs)
      if (p.exitCode === null && p.signalCode === null) {
        try {
          p.kill('SIGKILL');
        } catch {
          /* gone */
        }
      }
    for (const ns of this.created) killNetns(ns);
    for (const ns of [...this.created].reverse()) deleteNetns(ns);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The names for which `holds` is true, queried in order; when more than one holds, each but the
 * last is asked again and kept only if it still holds (it held before and after the last was seen
 * holding: both at once), so that a hand-over between two queries is not taken for both.
 */
export async function confirmed<N extends string>(names: readonly N[], holds: (n: N) => Promise<boolean>): Promise<N[]> {
  const first: N[] = [];
  for (const n of names) if (await holds(n)) first.push(n);
  if (first.length < 2) return first;
  const last = first.at(-1)!;
  const out: N[] = [];
  for (const n of first.slice(0, -1)) if (await holds(n)) out.push(n);
  return [...out, last];
}

export const where = (st: DaemonStatus, rsc: string): string[] =>
  st.resources.filter((r) => r.resource === rsc && r.role !== 'Stopped' && r.node).map((r) => r.node!);

/** The VIP: `paceline:ip` on lan0, monitored every 2 s. */
export function vipResource(monitor = '2s'): Record<string, unknown> {
  return {
    type: 'primitive',
    id: 'vip',
    agent: 'paceline:ip',
    params: { address: VIP, cidrNetmask: 24, interface: IF.lan },
    ops: [{ name: 'monitor', interval: monitor }],
  };
}

/** A service: `paceline:process` running `sleep SECONDS` (the number marks it in ground-truth checks). */
export function sleepResource(id: string, seconds: number): Record<string, unknown> {
  return {
    type: 'primitive',
    id,
    agent: 'paceline:process',
    params: { command: 'sleep', args: [String(seconds)] },
    ops: [{ name: 'monitor', interval: '1s' }],
  };
}

/**
 * Spans of client replies: consecutive replies from one node merged (e.g. serv1 → serv2 → serv1);
 * with `maxGapMs`, a silence longer than that also starts a new span.
 */
export function replySpans(replies: readonly Reply[], maxGapMs = Infinity): { from: string; first: number; last: number; count: number }[] {
  const out: { from: string; first: number; last: number; count: number }[] = [];
  for (const r of replies) {
    const cur = out.at(-1);
    if (cur && cur.from === r.from && r.at - cur.last <= maxGapMs) {
      cur.last = r.at;
      cur.count++;
    } else out.push({ from: r.from, first: r.at, last: r.at, count: 1 });
  }
  return out;
}
