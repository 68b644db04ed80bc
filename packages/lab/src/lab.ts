/**
 * The live lab: the hardware (hardware.ts) plus what runs on it — `paceline witness` and the power
 * switch on the arbiter's host, a `paceline daemon` on each server running the reference cluster's
 * own configuration (examples/two-node-mutual-failover/cluster.yaml), and the client's workload.
 * Everything the lab starts is recorded in WORK/lab.json (names and PIDs), so `down` removes it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlRequest, type DaemonStatus } from '@paceline/daemon';
import { Hardware, labNames, NET, SERVERS, SWITCH_PORT, WITNESS_PORT, type LabNames, type Server, netnsPids } from './hardware.js';
import type { SwitchConfig } from './switch.js';
import { MAIL_ADMIN_PASSWORD } from './client.js';
import { run, sleep, tryRun, waitFor } from './sys.js';
import { LabError } from './errors.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository (packages/lab/dist/.. /..). */
export const REPO = join(here, '..', '..', '..');
export const CLI = join(REPO, 'packages/cli/dist/main.js');
export const CLUSTER_YAML = join(REPO, 'examples/two-node-mutual-failover/cluster.yaml');
export const LAB_ETC = join(REPO, 'packages/lab/etc');
/** The lab's own programs (switch.js, fence.js, client.js), also when this module runs from its sources (tests). */
export const DIST = join(REPO, 'packages/lab/dist');
/** /srv/samba/archive on serv1 at the start: 200 files of 100 KiB (20 MiB) that the story never changes. */
export const BULK_FILES = 200;
export const BULK_FILE_BYTES = 100 * 1024;

export interface LabRecord {
  readonly names: LabNames;
  readonly created: number;
  pids: Record<string, number>;
}

export interface LabOptions {
  readonly prefix: string;
  readonly workDir: string;
  /** Extra `paceline daemon` arguments (e.g. a membership profile). */
  readonly daemonArgs?: readonly string[];
  readonly log?: (line: string) => void;
}

export class Lab {
  readonly hw: Hardware;
  readonly record: LabRecord;
  private readonly say: (line: string) => void;

  constructor(readonly o: LabOptions) {
    this.hw = new Hardware(labNames(o.prefix, o.workDir));
    this.record = { names: this.hw.names, created: Date.now(), pids: {} };
    this.say = o.log ?? ((l) => process.stdout.write(`${l}\n`));
  }

  get dir(): string {
    return this.o.workDir;
  }
  file(name: string): string {
    return join(this.o.workDir, name);
  }

  private save(): void {
    writeFileSync(this.file('lab.json'), JSON.stringify(this.record, null, 2));
  }

  /** Builds the hardware and the disks, makes the cluster key, starts the arbiter's host (witness, power switch). */
  build(): void {
    mkdirSync(this.o.workDir, { recursive: true });
    this.save();
    this.hw.build(LAB_ETC, (s, text) => template(s, text));
    const key = this.file('authkey');
    rmSync(key, { force: true });
    run(process.execPath, [CLI, 'keygen', key]);
    for (const s of SERVERS) {
      const to = join(this.hw.disk(s), 'etc/paceline/authkey');
      copyFileSync(key, to);
      chmodSync(to, 0o600);
      writeFileSync(join(this.hw.disk(s), 'etc/paceline/README'), `The cluster key of the paceline lab (${s}'s copy).\n`);
    }
    // IMAP users in each server's SASL database: alice, and the administrator. Their realm is Cyrus's
    // servername in cluster.yaml (the server's host name when it sets none).
    const realm = /id: cyrus\b[\s\S]*?servername: ([A-Za-z0-9.-]+)/.exec(readFileSync(CLUSTER_YAML, 'utf8'))?.[1];
    for (const s of SERVERS) {
      const db = this.hw.diskPathOf(s, '/etc/sasldb2')!;
      if (!existsSync(db)) continue;
      for (const [user, pw] of [
        ['alice', 'wonderland'],
        ['cyrus', MAIL_ADMIN_PASSWORD],
      ] as const)
        run('saslpasswd2', ['-p', '-c', '-f', db, '-u', realm ?? s, user], 10_000, pw);
    }
    // Samba's share lives in the mirrored folder; serv1 (its home) has it, the mirror brings it to serv2.
    // Data that does not change during the story (so the failback's resync can be compared with the total).
    const bulk = join(this.hw.disk('serv1'), 'srv/samba/archive');
    mkdirSync(bulk, { recursive: true });
    for (let i = 0; i < BULK_FILES; i++) writeFileSync(join(bulk, `a${String(i).padStart(3, '0')}.bin`), randomBytes(BULK_FILE_BYTES));
    const share = join(this.hw.disk('serv1'), 'srv/samba/share');
    mkdirSync(share, { recursive: true });
    run('chown', ['nobody:nogroup', share]);
    chmodSync(share, 0o2775);
    const sw: SwitchConfig = {
      outlets: { serv1: this.hw.ns.serv1, serv2: this.hw.ns.serv2 },
      keyFile: key,
      armedFile: this.file('switch.armed'),
      logFile: this.file('switch.log'),
    };
    writeFileSync(this.file('switch.json'), JSON.stringify(sw, null, 2));
    this.startArbiterHost();
  }

  private detached(name: string, argv: readonly string[]): number {
    const log = openSync(this.file(`${name}.log`), 'a');
    const p = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    p.unref();
    this.record.pids[name] = p.pid!;
    this.save();
    return p.pid!;
  }

  private startArbiterHost(): void {
    const { ns } = this.hw;
    this.detached(
      'witness',
      this.hw.inNet(ns.arbiter, process.execPath, [
        CLI,
        'witness',
        '--listen',
        `${NET.arbiter}:${WITNESS_PORT}`,
        '--key',
        this.file('authkey'),
        '--config',
        CLUSTER_YAML,
      ]),
    );
    this.detached(
      'switch',
      this.hw.inNet(ns.arbiter, process.execPath, [join(DIST, 'switch.js'), `${NET.powerSwitch}:${SWITCH_PORT}`, this.file('switch.json')]),
    );
  }

  arm(on = true): void {
    if (on) writeFileSync(this.file('switch.armed'), '');
    else rmSync(this.file('switch.armed'), { force: true });
  }

  /** Switch calls so far. */
  switchCalls(): { at: number; from: string; target: string; result: string }[] {
    const f = this.file('switch.log');
    return existsSync(f)
      ? readFileSync(f, 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { at: number; from: string; target: string; result: string })
      : [];
  }

  /** Boots a server: power on (fresh mount namespace, links), then its `paceline daemon` as the cluster.yaml comment shows. */
  boot(s: Server): void {
    this.hw.powerOn(s);
    const fence = `${process.execPath} ${join(DIST, 'fence.js')} ${NET.powerSwitch}:${SWITCH_PORT}`;
    this.detached(
      s,
      this.hw.inServer(s, process.execPath, [
        CLI,
        'daemon',
        '--config',
        CLUSTER_YAML,
        '--node',
        s,
        '--arbiter',
        `${NET.arbiter}:${WITNESS_PORT}`,
        '--fence-command',
        fence,
        ...(this.o.daemonArgs ?? []),
      ]),
    );
  }

  powerOff(s: Server): void {
    this.hw.powerOff(s);
  }

  /** The daemon's control socket as the host sees it (its /var/lib/paceline is on the server's disk). */
  stateDir(s: Server): string {
    return join(this.hw.disk(s), 'var/lib/paceline');
  }

  async status(s: Server): Promise<DaemonStatus> {
    return (await controlRequest(this.stateDir(s), { cmd: 'status' }, 5000)).data as DaemonStatus;
  }

  /** `paceline ARGS` run on server `s`, as an administrator logged in there would. */
  paceline(s: Server, ...args: string[]): { code: number; out: string } {
    const [c, ...a] = this.hw.inServer(s, process.execPath, [CLI, ...args]);
    return tryRun(c!, a, 60_000);
  }

  /** Waits until both nodes' views agree that each resource runs where `placement` says (and nothing is in transition). */
  async settled(placement: Readonly<Record<string, readonly Server[]>>, nodes: readonly Server[] = SERVERS, timeoutMs = 120_000): Promise<void> {
    await waitFor(
      `the cluster settled (${JSON.stringify(placement)})`,
      async () => {
        for (const n of nodes) {
          const st = await this.status(n);
          const bad = Object.entries(placement).filter(([r, s]) => where(st, r).sort().join() !== [...s].sort().join());
          if (!st.mayRun || st.lastTransition?.state === 'running' || bad.length || st.members.length !== nodes.length) {
            throw new LabError(
              'NOT_YET',
              `${n}: mayRun ${st.mayRun} (${st.mayRunReason}), members [${st.members}], transition ${st.lastTransition?.state ?? 'none'}, ` +
                bad.map(([r]) => `${r} on [${where(st, r)}]`).join(', '),
            );
          }
        }
        return true;
      },
      timeoutMs,
      250,
    );
  }

  log(name: string): string {
    const f = this.file(name.endsWith('.log') ? name : `${name}.log`);
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  note(line: string): void {
    this.say(line);
  }

  /** Stops every process the lab started and removes its namespaces and mounts (`down`). */
  static down(workDir: string, purge = false): string[] {
    const f = join(workDir, 'lab.json');
    if (!existsSync(f)) return [];
    const rec = JSON.parse(readFileSync(f, 'utf8')) as LabRecord;
    const done: string[] = [];
    for (const [name, pid] of Object.entries(rec.pids)) {
      try {
        process.kill(-pid, 'SIGKILL');
        done.push(`${name} (${pid})`);
      } catch {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    new Hardware(rec.names).destroy(purge);
    done.push(...Object.values(rec.names.ns));
    return done;
  }

  destroy(purge = false): void {
    Lab.down(this.o.workDir, purge);
  }

  /** Processes in a server whose command line contains `marker`. */
  processes(s: Server, marker: string): number[] {
    return netnsPids(this.hw.ns[s]).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(marker);
      } catch {
        return false;
      }
    });
  }

  async pause(ms: number): Promise<void> {
    await sleep(ms);
  }
}

export const where = (st: DaemonStatus, rsc: string): Server[] =>
  st.resources.filter((r) => r.resource === rsc && r.role !== 'Stopped' && r.node).map((r) => r.node as Server);
export const promotedOn = (st: DaemonStatus, rsc: string): Server[] =>
  st.resources.filter((r) => r.resource === rsc && r.role === 'Promoted' && r.node).map((r) => r.node as Server);

/** {{SERVER}}, {{PEER}}, {{LAN}}, {{CX}} in the lab's configuration files. */
export function template(s: Server, text: string): string {
  const peer = s === 'serv1' ? 'serv2' : 'serv1';
  return text.replaceAll('{{SERVER}}', s).replaceAll('{{PEER}}', peer).replaceAll('{{LAN}}', NET.lan[s]).replaceAll('{{CX}}', NET.cx[s]);
}
