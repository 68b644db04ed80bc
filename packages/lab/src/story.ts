/**
 * The story, for real: the demo's chapters as real faults on the live lab, with the client's
 * workload running throughout, then the audit and the verdict.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { contentOf, smbArgs, smbFailed, type ClientConfig, type Op } from './client.js';
import { NET, NIC, type Server } from './hardware.js';
import { CLUSTER_YAML, DIST, type Lab, promotedOn, where } from './lab.js';
import { LabError } from './errors.js';
import { runAsync, sleep, tryRun, waitFor } from './sys.js';
import { auditMail, auditSmb, chapterRows, formatMs, table, type Chapter, type MailAudit, type SmbAudit } from './verdict.js';

export type ChapterName = 'both-up' | 'power-loss' | 'return' | 'clear' | 'samba-fails' | 'crossover-cut' | 'serv2-lan-lost' | 'divergence';
export const ALL_CHAPTERS: readonly ChapterName[] = [
  'both-up',
  'power-loss',
  'return',
  'clear',
  'samba-fails',
  'crossover-cut',
  'serv2-lan-lost',
  'divergence',
];
export const SHORT_STORY: readonly ChapterName[] = ['both-up', 'power-loss', 'return', 'clear'];

export interface StoryOptions {
  readonly chapters: readonly ChapterName[];
  /** How long the client keeps going after each chapter's change has settled (ms). */
  readonly holdMs: number;
  readonly log: (line: string) => void;
}

export interface Verdict {
  readonly ok: boolean;
  readonly chapters: readonly Chapter[];
  readonly rows: ReturnType<typeof chapterRows>;
  readonly smb: SmbAudit & { readonly auditError?: string };
  /** Absent when mail did not run (see `mailEnabled`). */
  readonly mail?: MailAudit & { readonly auditError?: string };
  readonly conflicts: readonly string[];
  readonly switchCalls: ReturnType<Lab['switchCalls']>;
  readonly problems: readonly string[];
}

/**
 * Mail runs when the cluster configuration uses the typed Sendmail and Cyrus agents (with
 * paceline:process and Debian's defaults they do not make a working pair). The client submits to
 * Sendmail on Samba's address (Sendmail runs on both servers) and reads from Cyrus on its own.
 */
export function mailEnabled(): boolean {
  const text = readFileSync(CLUSTER_YAML, 'utf8');
  return /agent: paceline:sendmail\b/.test(text) && /agent: paceline:cyrus\b/.test(text);
}
export const MAIL_USER = { user: 'alice', password: 'wonderland', to: 'alice@lab.example' } as const;

/** Client lanes and what they target: each service through the service addresses clients use. */
export function clientConfig(lab: Lab, deadline: number, mail = mailEnabled()): ClientConfig {
  return {
    ...(mail ? { mail: { smtp: { host: NET.samba, port: 25, everyMs: 1000 }, imap: { host: NET.cyrus, port: 143, everyMs: 500 }, ...MAIL_USER } } : {}),
    out: lab.file('client.jsonl'),
    stopFile: lab.file('client.stop'),
    deadline,
    tmp: join(lab.dir, 'client'),
    smb: { host: NET.samba, share: 'share', writeEveryMs: 500, readEveryMs: 700, maxFiles: 60, sizeBytes: 4096 },
    connect: [{ name: 'smb-connect', host: NET.samba, port: 445, everyMs: 100 }],
    http: [
      { name: 'http@samba-ip', url: `http://${NET.samba}/`, everyMs: 100 },
      { name: 'http@cyrus-ip', url: `http://${NET.cyrus}/`, everyMs: 200 },
    ],
    dns: [{ name: 'dns@samba-ip', server: NET.samba, query: 'whoami.lab.example', everyMs: 100 }],
    radius: [{ name: 'radius@samba-ip', server: NET.samba, secret: 'labsecret', user: 'alice', password: 'wonderland', everyMs: 500 }],
  };
}
export const LANES = ['smb-connect', 'smb-write', 'smb-read', 'http@samba-ip', 'http@cyrus-ip', 'dns@samba-ip', 'radius@samba-ip'];
export const MAIL_LANES = ['smtp', 'imap'];

/** A daemon log line: time, the bracket, the message. */
interface LogLine {
  readonly at: number;
  readonly tag: string;
  readonly msg: string;
}
function logLines(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const l of text.split('\n')) {
    const m = /^(\S+Z) \w+ +\[([^\]]*)\] (.*)$/.exec(l);
    if (m) out.push({ at: Date.parse(m[1]!), tag: m[2]!, msg: m[3]! });
  }
  return out;
}
/** The duration of the first `ACTION RSC ok` a node logged after `since`. */
function actionMs(lab: Lab, s: Server, rsc: string, action: string, since: number): { at: number; ms: number; reason?: string } | undefined {
  for (const l of logLines(lab.log(s))) {
    if (l.at < since || l.tag !== `${s} ${rsc} ${action}`) continue;
    const m = new RegExp(`^${action} ok durationMs=(\\d+)`).exec(l.msg);
    if (m) return { at: l.at, ms: Number(m[1]), ...(/reason="([^"]*)"/.exec(l.msg) ? { reason: /reason="([^"]*)"/.exec(l.msg)![1]! } : {}) };
  }
  return undefined;
}
function firstLog(lab: Lab, s: Server, re: RegExp, since: number): number | undefined {
  return logLines(lab.log(s)).find((l) => l.at >= since && re.test(l.msg))?.at;
}

function crossoverBytes(lab: Lab, s: Server): number {
  const r = tryRun('ip', ['-n', lab.hw.ns[s], '-j', '-s', 'link', 'show', NIC.cx]);
  try {
    const [l] = JSON.parse(r.out) as { stats64?: { rx: { bytes: number }; tx: { bytes: number } } }[];
    return (l?.stats64?.rx.bytes ?? 0) + (l?.stats64?.tx.bytes ?? 0);
  } catch {
    return 0;
  }
}

/** Where every resource runs, as serv1 sees it (a string to compare). */
async function placement(lab: Lab): Promise<string> {
  const st = await lab.status('serv1');
  return st.resources
    .filter((r) => r.role !== 'Stopped')
    .map((r) => `${r.instance}@${r.node}:${r.role}`)
    .sort()
    .join(' ');
}

function readOps(lab: Lab): Op[] {
  const f = lab.file('client.jsonl');
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Op);
}

/** Waits until the lane's last `n` operations (started after `since`) succeeded; returns the first one's start. */
async function clientOk(lab: Lab, svc: string, since: number, timeoutMs: number, n = 3): Promise<number> {
  return waitFor(
    `the client's ${svc} to work`,
    () => {
      const ops = readOps(lab).filter((o) => o.svc === svc && o.t >= since);
      const last = ops.slice(-n);
      if (last.length === n && last.every((o) => o.ok)) return last[0]!.t;
      throw new LabError('NOT_YET', `last ${svc}: ${last.map((o) => (o.ok ? 'ok' : o.err)).join(', ')}`);
    },
    timeoutMs,
    200,
  );
}

export class Story {
  readonly chapters: Chapter[] = [];
  private client: ChildProcess | undefined;

  constructor(
    readonly lab: Lab,
    readonly o: StoryOptions,
  ) {}

  private say(line: string): void {
    this.o.log(line);
  }

  private begin(name: string): Chapter {
    const prev = this.chapters.at(-1);
    const now = Date.now();
    if (prev && prev.end > now) prev.end = now;
    const ch: Chapter = { name, start: now, end: Number.MAX_SAFE_INTEGER, notes: [] };
    this.chapters.push(ch);
    this.say(`\n== ${name}`);
    return ch;
  }
  private note(ch: Chapter, line: string): void {
    ch.notes.push(line);
    this.say(`   ${line}`);
  }

  /** Runs client.js MODE in the client's namespace (after the client's configuration was written). */
  private async clientTool(mode: string, timeoutMs = 60_000): Promise<string> {
    const cfg = this.lab.file('client.json');
    if (!existsSync(cfg)) writeFileSync(cfg, JSON.stringify(clientConfig(this.lab, 0), null, 2));
    const [c, ...a] = this.lab.hw.inNet(this.lab.hw.ns.client, process.execPath, [join(DIST, 'client.js'), mode, cfg]);
    const r = await runAsync(c!, a, timeoutMs);
    if (r.code !== 0) throw new LabError('STORY_FAILED', `client.js ${mode}: ${(r.err || r.out).trim()}`);
    return r.out;
  }

  startClient(deadline: number): void {
    const cfg = clientConfig(this.lab, deadline);
    mkdirSync(cfg.tmp, { recursive: true });
    writeFileSync(this.lab.file('client.json'), JSON.stringify(cfg, null, 2));
    const log = openSync(this.lab.file('client.log'), 'a');
    const argv = this.lab.hw.inNet(this.lab.hw.ns.client, process.execPath, [join(DIST, 'client.js'), this.lab.file('client.json')]);
    this.client = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', log, log] });
    closeSync(log);
    this.lab.record.pids['client'] = this.client.pid!;
  }

  async stopClient(): Promise<void> {
    writeFileSync(this.lab.file('client.stop'), '');
    const c = this.client;
    if (c && c.exitCode === null && c.signalCode === null) await new Promise((r) => c.once('exit', r));
  }

  /** Both servers booted and the cluster settled with every service at home; the client starts. */
  async bothUp(): Promise<void> {
    const ch = this.begin('both-up');
    const { lab } = this;
    lab.boot('serv1');
    lab.boot('serv2');
    const mail = mailEnabled();
    await lab.settled(
      {
        'samba-ip': ['serv1'],
        samba: ['serv1'],
        httpd: ['serv1', 'serv2'],
        bind: ['serv1', 'serv2'],
        radius: ['serv1', 'serv2'],
        ...(mail ? { cyrus: ['serv2'], sendmail: ['serv1', 'serv2'] } : {}),
      },
      undefined,
      180_000,
    );
    lab.arm();
    if (mail) {
      await this.clientTool('--mailbox');
      this.note(ch, `mailbox user/${MAIL_USER.user} created on Cyrus (serv2)`);
    } else this.note(ch, 'mail NOT RUN: the cluster configuration does not use paceline:sendmail and paceline:cyrus yet');
    this.note(ch, `settled ${((Date.now() - ch.start) / 1000).toFixed(1)} s after boot; the power switch is armed`);
    this.startClient(Date.now() + 60 * 60_000);
    // The chapter's record starts once the client works (its first operations race the last starts).
    (ch as { start: number }).start = await clientOk(lab, 'smb-write', ch.start, 60_000);
    await sleep(this.o.holdMs);
  }

  /** serv1 loses power: all its links at once, every process killed. */
  async powerLoss(): Promise<void> {
    const ch = this.begin('power-loss');
    const { lab } = this;
    const t0 = Date.now();
    lab.powerOff('serv1');
    this.note(ch, 'serv1 powered off (all links down, every process killed)');
    await waitFor(
      'samba on serv2',
      async () => {
        const st = await lab.status('serv2');
        return where(st, 'samba').join() === 'serv2' && st.lastTransition?.state !== 'running';
      },
      120_000,
      200,
    );
    const back = await clientOk(lab, 'smb-connect', t0, 60_000);
    await clientOk(lab, 'smb-write', t0, 60_000, 1);
    const lost = firstLog(lab, 'serv2', /^serv1 lost on every link/, t0);
    const fenced = firstLog(lab, 'serv2', /^serv1 fenced/, t0);
    const figures: Record<string, number | string> = {};
    if (lost) figures['detection (lost) ms'] = lost - t0;
    if (fenced) figures['fenced ms'] = fenced - t0;
    let ready = 0;
    let addressReady = 0;
    for (const [rsc, action] of [
      ['samba-data', 'promote'],
      ['samba-mac', 'start'],
      ['samba-ip', 'start'],
      ['samba', 'start'],
    ] as const) {
      const a = actionMs(lab, 'serv2', rsc, action, t0);
      if (a) {
        figures[`${action} ${rsc} ms`] = a.ms;
        ready += a.ms;
        if (rsc !== 'samba') addressReady += a.ms;
      }
    }
    if (fenced) {
      figures['lower bound (fenced + start-to-ready) ms'] = fenced - t0 + ready;
      // Samba's users wait for the fencing, the mirror, the MAC, the IP and smbd; the services that
      // already run on serv2 (web, DNS, RADIUS, the mail relay) only for the address.
      ch.bounds = Object.fromEntries([
        ...['smb-connect', 'smb-write', 'smb-read'].map((l) => [l, fenced - t0 + ready] as const),
        ...['http@samba-ip', 'dns@samba-ip', 'radius@samba-ip', 'smtp'].map((l) => [l, fenced - t0 + addressReady] as const),
      ]);
    }
    figures['reference: Pacemaker 2.1.5 + corosync 3 defaults, a VIP alone (docs/daemon.md) ms'] = 7410;
    figures['smb-connect back after ms'] = back - t0;
    ch.figures = figures;
    this.note(
      ch,
      `serv2 saw serv1 lost after ${lost ? lost - t0 : '?'} ms, fenced it after ${fenced ? fenced - t0 : '?'} ms; Samba answers on serv2 ${back - t0} ms after the power loss`,
    );
    await sleep(this.o.holdMs);
  }

  /** serv1 boots again: it rejoins quarantined; nothing moves back. */
  async returnServ1(): Promise<void> {
    const ch = this.begin('return');
    const { lab } = this;
    lab.boot('serv1');
    const q = await waitFor(
      'serv1 back, quarantined',
      async () => {
        const st = await lab.status('serv2');
        const n = st.nodes.find((x) => x.name === 'serv1');
        return st.members.includes('serv1') && n?.quarantine ? n.quarantine : undefined;
      },
      120_000,
      250,
    );
    this.note(ch, `serv1 rejoined in quarantine: ${q}`);
    await sleep(this.o.holdMs);
    const st = await lab.status('serv2');
    this.note(ch, `Samba still on ${where(st, 'samba').join(', ')}`);
  }

  /** `paceline node clear serv1` on serv2: services stop, data comes back, Samba returns home. */
  async clear(): Promise<void> {
    const ch = this.begin('clear');
    const { lab } = this;
    const bytes0 = crossoverBytes(lab, 'serv1');
    const t0 = Date.now();
    const r = lab.paceline('serv2', 'node', 'clear', 'serv1');
    this.note(ch, `paceline node clear serv1 (on serv2): exit ${r.code} ${r.out.trim()}`);
    await waitFor(
      'samba home on serv1',
      async () => {
        const st = await lab.status('serv1');
        return where(st, 'samba').join() === 'serv1' && promotedOn(st, 'samba-data').join() === 'serv1' && st.lastTransition?.state !== 'running';
      },
      300_000,
      250,
    );
    const back = await clientOk(lab, 'smb-connect', t0, 60_000);
    const promote = actionMs(lab, 'serv1', 'samba-data', 'promote', t0);
    const figures: Record<string, number | string> = { 'crossover bytes during failback': crossoverBytes(lab, 'serv1') - bytes0 };
    // The failback's own work: stop on serv2, demote there, resync and promote on serv1, start there.
    const steps: [Server, string, string][] = [
      ['serv2', 'samba', 'stop'],
      ['serv2', 'samba-ip', 'stop'],
      ['serv2', 'samba-mac', 'stop'],
      ['serv2', 'samba-data', 'demote'],
      ['serv1', 'samba-data', 'promote'],
      ['serv1', 'samba-mac', 'start'],
      ['serv1', 'samba-ip', 'start'],
      ['serv1', 'samba', 'start'],
    ];
    const ms = new Map(steps.map(([n, rsc, action]) => [`${action} ${rsc}`, actionMs(lab, n, rsc, action, t0)?.ms ?? 0]));
    const sum = (keys: string[]): number => keys.reduce((a, k) => a + (ms.get(k) ?? 0), 0);
    const addressOut = sum(['stop samba-ip', 'stop samba-mac', 'demote samba-data', 'promote samba-data', 'start samba-mac', 'start samba-ip']);
    ch.bounds = Object.fromEntries([
      ...['smb-connect', 'smb-write', 'smb-read'].map((l) => [l, addressOut + (ms.get('stop samba') ?? 0) + (ms.get('start samba') ?? 0)] as const),
      ...['http@samba-ip', 'dns@samba-ip', 'radius@samba-ip', 'smtp'].map((l) => [l, addressOut] as const),
    ]);
    for (const [k, v] of ms) figures[`${k} ms`] = v;
    if (promote) {
      figures['resync (promote samba-data on serv1) ms'] = promote.ms;
      figures['resync'] = (promote.reason ?? '').replace(/; WARNING.*$/, '').replace(/^Promoted after resynchronising from serv2: /, '');
    }
    figures['data size (/srv/samba on serv1) bytes'] = dirBytes(lab.hw.diskPathOf('serv1', '/srv/samba')!);
    ch.figures = figures;
    this.note(ch, `Samba home on serv1; client back ${back - t0} ms after the clear; resync: ${promote?.reason ?? '?'}`);
    await sleep(this.o.holdMs);
  }

  /** Samba killed (kill -9 of every smbd) three times on serv1: recovered twice in place, then migration-threshold moves it; a cleanup brings it home. */
  async sambaFails(): Promise<void> {
    const ch = this.begin('samba-fails');
    const { lab } = this;
    const fails = async (): Promise<number> =>
      ((await lab.status('serv1')).nodes.find((n) => n.name === 'serv1')?.failures ?? [])
        .filter((f) => f.resource === 'samba')
        .reduce((a, f) => a + f.count, 0);
    for (let i = 1; i <= 3; i++) {
      const before = await fails();
      const t0 = Date.now();
      const pids = lab.processes('serv1', 'smbd');
      for (const p of pids) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      const n = await waitFor(
        `samba failure ${i} counted`,
        async () => {
          const f = await fails();
          return f > before ? f : undefined;
        },
        60_000,
        250,
      );
      // Settled: the same single node in two views 3 s apart with no transition running (a recovery
      // whose start fails shows serv1 for a moment before Samba moves).
      let last: string | undefined;
      const on = await waitFor(
        'samba running again',
        async () => {
          const st = await lab.status('serv1');
          const w = where(st, 'samba');
          const now = w.length === 1 && st.lastTransition?.state !== 'running' ? w[0] : undefined;
          const stable = now !== undefined && now === last;
          last = now;
          return stable ? now : undefined;
        },
        120_000,
        3000,
      );
      const back = await clientOk(lab, 'smb-connect', t0, 60_000);
      this.note(
        ch,
        `kill -9 of smbd on serv1 (${pids.length} processes): fail count ${n >= 1_000_000 ? 'INFINITY (a start failed)' : n}; Samba answers again on ${on} after ${back - t0} ms`,
      );
      if (n >= 1_000_000 && on === 'serv1') {
        ch.notes.push(`UNEXPECTED: a recovery's start of Samba failed after kill ${i} (fail count INFINITY), yet Samba runs on serv1 again`);
        this.note(ch, 'a start failed (fail count INFINITY): no more kills');
        break;
      }
      if (on === 'serv2') {
        if (i < 3) {
          const why = (await lab.status('serv1')).nodes
            .find((x) => x.name === 'serv1')
            ?.failures.filter((f) => f.resource === 'samba')
            .map((f) => `${f.action ?? '?'} ${f.count}`)
            .join(', ');
          this.note(ch, `moved to serv2 after ${i} kill(s), before migration-threshold: a recovery's start failed (start failures are fatal: ${why})`);
          ch.notes.push('UNEXPECTED: Samba left serv1 before its third failure');
        } else this.note(ch, 'migration-threshold (3) reached: Samba moved to serv2 with its address and its data');
        break;
      }
      if (i === 3) throw new LabError('STORY_FAILED', 'Samba failed three times on serv1 and is still there (migration-threshold 3)');
    }
    await sleep(this.o.holdMs);
    const t1 = Date.now();
    const r = lab.paceline('serv1', 'resource', 'cleanup', 'samba');
    this.note(ch, `paceline resource cleanup samba: exit ${r.code} ${r.out.trim()}`);
    await waitFor(
      'samba home on serv1',
      async () => {
        const st = await lab.status('serv1');
        return where(st, 'samba').join() === 'serv1' && st.lastTransition?.state !== 'running';
      },
      120_000,
      250,
    );
    const back = await clientOk(lab, 'smb-connect', t1, 60_000);
    this.note(ch, `Samba home on serv1 again ${back - t1} ms after the cleanup`);
    await sleep(this.o.holdMs);
  }

  /** The crossover cable pulled: a warning on both nodes, nothing moves, nobody is fenced. */
  async crossoverCut(): Promise<void> {
    const ch = this.begin('crossover-cut');
    const { lab } = this;
    const calls = lab.switchCalls().length;
    const before = await placement(lab);
    lab.hw.link('serv1', NIC.cx, false);
    this.note(ch, "crossover cut (serv1's cx0 down: no carrier on either end)");
    await waitFor(
      'the crossover seen down',
      async () => {
        const st = await lab.status('serv1');
        return st.nodes.find((n) => n.name === 'serv2')?.links['crossover'] === 'down';
      },
      30_000,
      200,
    );
    await sleep(Math.max(this.o.holdMs, 8000));
    const st = await lab.status('serv2');
    const after = await placement(lab);
    this.note(
      ch,
      `after ${Math.max(this.o.holdMs, 8000) / 1000} s: members [${st.members}], links of serv1 ${JSON.stringify(st.nodes.find((n) => n.name === 'serv1')?.links)}; ` +
        `placement ${before === after ? 'unchanged' : `CHANGED: ${before} -> ${after}`}; power switch calls: ${lab.switchCalls().length - calls}`,
    );
    if (st.members.length !== 2) throw new LabError('STORY_FAILED', `a node was lost over a crossover cut: members [${st.members}]`);
    if (lab.switchCalls().length !== calls) throw new LabError('STORY_FAILED', 'somebody was fenced over a crossover cut');
    lab.hw.link('serv1', NIC.cx, true);
    await waitFor(
      'the crossover back',
      async () => (await lab.status('serv1')).nodes.find((n) => n.name === 'serv2')?.links['crossover'] === 'up',
      30_000,
      200,
    );
    this.note(ch, 'crossover back');
  }

  /** serv2's LAN cables pulled at the switch (LAN and spare NIC): Cyrus's address moves to serv1; serv2 stays a member over the crossover; nobody is fenced. */
  async serv2LanLost(): Promise<void> {
    const ch = this.begin('serv2-lan-lost');
    const { lab } = this;
    const calls = lab.switchCalls().length;
    const t0 = Date.now();
    lab.hw.switchPort('serv2', 'lan', false);
    lab.hw.switchPort('serv2', 'spare', false);
    this.note(ch, "serv2's LAN and spare NIC unplugged at the switch");
    await waitFor(
      'cyrus-ip on serv1',
      async () => {
        const st = await lab.status('serv1');
        return where(st, 'cyrus-ip').join() === 'serv1' && st.lastTransition?.state !== 'running';
      },
      120_000,
      250,
    );
    const st = await lab.status('serv1');
    this.note(
      ch,
      `Cyrus's group on serv1 after ${Date.now() - t0} ms (cyrus-mac on ${where(st, 'cyrus-mac')}, cyrus-ip on ${where(st, 'cyrus-ip')}, cyrus on ${where(st, 'cyrus').join() || 'nowhere'}); ` +
        `members [${st.members}]; power switch calls: ${lab.switchCalls().length - calls}`,
    );
    if (st.members.length !== 2) throw new LabError('STORY_FAILED', `serv2 was lost although the crossover carried its heartbeats: members [${st.members}]`);
    if (lab.switchCalls().length !== calls) throw new LabError('STORY_FAILED', 'somebody was fenced when serv2 lost only its LAN');
    await sleep(this.o.holdMs);
    lab.hw.switchPort('serv2', 'lan', true);
    lab.hw.switchPort('serv2', 'spare', true);
    this.note(ch, "serv2's LAN plugged back");
    await sleep(this.o.holdMs);
  }

  /**
   * A file changed on both sides while they could not mirror: written (and mirrored), then with the
   * crossover cut rewritten on serv1, serv1 loses power, rewritten on serv2; serv1 returns, is cleared:
   * serv2's version (the last the client saw acknowledged) stays in place, serv1's is kept under
   * conflicts/ and reported.
   */
  async divergence(): Promise<void> {
    const ch = this.begin('divergence');
    const { lab } = this;
    const file = 'divergent.txt';
    await this.put(file, 1);
    await sleep(5000); // the replica pulls every 2 s
    lab.hw.link('serv1', NIC.cx, false);
    await this.put(file, 2);
    this.note(ch, `${file} v1 written and mirrored; crossover cut; v2 written on serv1 (not mirrored)`);
    const t0 = Date.now();
    lab.powerOff('serv1');
    await waitFor(
      'samba on serv2',
      async () => {
        const st = await lab.status('serv2');
        return where(st, 'samba').join() === 'serv2' && st.lastTransition?.state !== 'running';
      },
      120_000,
      200,
    );
    await clientOk(lab, 'smb-connect', t0, 60_000);
    await this.put(file, 3);
    this.note(ch, `serv1 powered off; Samba on serv2; v3 written on serv2`);
    lab.boot('serv1');
    await waitFor(
      'serv1 back, quarantined',
      async () => {
        const st = await lab.status('serv2');
        return st.members.includes('serv1') && st.nodes.find((x) => x.name === 'serv1')?.quarantine ? true : undefined;
      },
      120_000,
      250,
    );
    const r = lab.paceline('serv2', 'node', 'clear', 'serv1');
    this.note(ch, `serv1 back (quarantined), cleared: exit ${r.code}`);
    const t1 = Date.now();
    await waitFor(
      'samba home on serv1',
      async () => {
        const st = await lab.status('serv1');
        return where(st, 'samba').join() === 'serv1' && promotedOn(st, 'samba-data').join() === 'serv1' && st.lastTransition?.state !== 'running';
      },
      300_000,
      250,
    );
    const promote = actionMs(lab, 'serv1', 'samba-data', 'promote', t1);
    this.note(ch, `resync: ${promote?.reason ?? '?'}`);
    const conflicts = join(lab.hw.diskPathOf('serv1', '/srv/samba.mirror')!, 'conflicts', 'CONFLICTS.log');
    const kept = existsSync(conflicts) && readFileSync(conflicts, 'utf8').includes(`share/${file}`);
    this.note(ch, kept ? `the conflict on ${file} is reported in CONFLICTS.log, serv1's version kept under conflicts/` : `NO CONFLICT REPORTED for ${file}`);
    if (!kept) throw new LabError('STORY_FAILED', `the divergent ${file} was not reported as a conflict`);
    await sleep(this.o.holdMs);
  }

  /** An SMB write by the story itself (logged like the client's, so that the audit covers it). */
  private async put(file: string, version: number): Promise<void> {
    const cfg = clientConfig(this.lab, 0);
    const local = join(cfg.tmp, `story-${file}`);
    writeFileSync(local, contentOf(file, version, 1024));
    const argv = this.lab.hw.inNet(this.lab.hw.ns.client, 'smbclient', smbArgs(cfg.smb!, `put ${local} ${file}`));
    const t = Date.now();
    const r = await runAsync(argv[0]!, argv.slice(1), 20_000);
    const err = smbFailed(r);
    const op: Op = { t, svc: 'smb-write-story', ok: !err, ms: Date.now() - t, file, version, ...(err ? { err } : {}) };
    appendFileSync(this.lab.file('client.jsonl'), `${JSON.stringify(op)}\n`);
    if (err) throw new LabError('STORY_FAILED', `writing ${file} v${version} failed: ${err}`);
  }

  async run(): Promise<Verdict> {
    const steps: Record<ChapterName, () => Promise<void>> = {
      'both-up': () => this.bothUp(),
      'power-loss': () => this.powerLoss(),
      return: () => this.returnServ1(),
      clear: () => this.clear(),
      'samba-fails': () => this.sambaFails(),
      'crossover-cut': () => this.crossoverCut(),
      'serv2-lan-lost': () => this.serv2LanLost(),
      divergence: () => this.divergence(),
    };
    const problems: string[] = [];
    for (const name of this.o.chapters) {
      try {
        await steps[name]();
      } catch (e) {
        problems.push(`${name}: ${(e as Error).message}`);
        this.say(`   FAILED: ${(e as Error).message}`);
        await this.diagnose();
        break;
      }
    }
    const last = this.chapters.at(-1);
    if (last) last.end = Date.now();
    await this.stopClient();
    return this.verdict(problems);
  }

  /**
   * After a failed chapter: what each running daemon says (placement, failures, its last transition)
   * and the end of its log, into the story's output and the lab's diagnostics.json, so that a
   * failure seen once (in CI, where the lab is removed afterwards) can be understood from its report.
   */
  private async diagnose(): Promise<void> {
    const out: Record<string, unknown> = {};
    for (const s of ['serv1', 'serv2'] as const) {
      try {
        const st = await this.lab.status(s);
        out[s] = st;
        this.say(
          `   ${s}: members [${st.members}], transition ${st.lastTransition?.id ?? '-'} ${st.lastTransition?.state ?? ''}; ` +
            st.resources
              .filter((r) => r.node !== null || r.failed)
              .map((r) => `${r.instance} ${r.role}${r.node ? ` on ${r.node}` : ''}${r.failed ? ' FAILED' : ''}`)
              .join(', '),
        );
        const fails = st.nodes.flatMap((n) =>
          n.failures.map((f) => `${n.name}: ${f.resource} ${f.action ?? ''}${f.interval ? `@${f.interval}` : ''} x${f.count}`),
        );
        if (fails.length) this.say(`   ${s} failures: ${fails.join('; ')}`);
      } catch (e) {
        this.say(`   ${s}: no status (${(e as Error).message})`);
      }
      const log = this.lab.log(s).trimEnd().split('\n').slice(-25);
      this.say(`   last lines of ${s}'s daemon log:\n${log.map((l) => `     ${l.slice(0, 400)}`).join('\n')}`);
    }
    writeFileSync(this.lab.file('diagnostics.json'), JSON.stringify(out, null, 2));
  }

  async verdict(problems: string[]): Promise<Verdict> {
    const { lab } = this;
    const ops = readOps(lab);
    const audit = await runAsync(
      ...(() => {
        const [c, ...a] = lab.hw.inNet(lab.hw.ns.client, process.execPath, [join(DIST, 'client.js'), '--audit', lab.file('client.json')]);
        return [c!, a, 180_000] as const;
      })(),
    );
    let found: Record<string, number | null> = {};
    let auditError: string | undefined;
    try {
      const a = JSON.parse(audit.out) as { ok: boolean; files: Record<string, number | null>; err?: string };
      found = a.files;
      if (!a.ok) auditError = a.err ?? 'the share could not be read';
    } catch {
      auditError = `the audit failed: ${audit.err.trim() || audit.out.trim()}`;
    }
    const smb = { ...auditSmb(ops, found), ...(auditError ? { auditError } : {}) };
    let mail: (MailAudit & { auditError?: string }) | undefined;
    if (ops.some((o) => o.svc === 'smtp')) {
      // Mail accepted while Cyrus was away waits in a Sendmail queue: give the queues time to run.
      const deadline = Date.now() + 180_000;
      for (;;) {
        let a: { ok: boolean; subjects: string[]; err?: string };
        try {
          a = JSON.parse(await this.clientTool('--audit-mail', 90_000)) as typeof a;
        } catch (e) {
          a = { ok: false, subjects: [], err: (e as Error).message };
        }
        mail = { ...auditMail(ops, a.subjects), ...(a.ok ? {} : { auditError: a.err ?? 'the mailbox could not be read' }) };
        if ((mail.missing.length === 0 && !mail.auditError) || Date.now() > deadline) break;
        await sleep(5000);
      }
    }
    const conflicts: string[] = [];
    for (const s of ['serv1', 'serv2'] as const) {
      for (const meta of ['/srv/samba.mirror', '/var/spool/cyrus.mirror']) {
        const f = join(lab.hw.diskPathOf(s, meta)!, 'conflicts', 'CONFLICTS.log');
        if (existsSync(f))
          conflicts.push(
            ...readFileSync(f, 'utf8')
              .split('\n')
              .filter(Boolean)
              .map((l) => `${s}:${meta}: ${l}`),
          );
      }
    }
    for (const ch of this.chapters) for (const n of ch.notes) if (n.startsWith('UNEXPECTED')) problems.push(`${ch.name}: ${n}`);
    const rows = chapterRows(ops, this.chapters, mail ? [...LANES, ...MAIL_LANES] : LANES);
    const mailOk = !mail || (mail.missing.length === 0 && mail.duplicated.length === 0 && !mail.auditError && mail.accepted > 0);
    const ok = problems.length === 0 && smb.lost.length === 0 && !auditError && smb.acknowledgedWrites > 0 && mailOk;
    const v: Verdict = { ok, chapters: this.chapters, rows, smb, ...(mail ? { mail } : {}), conflicts, switchCalls: lab.switchCalls(), problems };
    writeFileSync(lab.file('verdict.json'), JSON.stringify(v, null, 2));
    return v;
  }
}

export function dirBytes(dir: string): number {
  const r = tryRun('du', ['-sb', dir]);
  return Number(r.out.split(/\s/)[0]) || 0;
}

export function formatVerdict(v: Verdict): string {
  const out: string[] = [];
  out.push('Client-observed outage per chapter (first failed to first successful operation; longest in the chapter):');
  out.push(
    table(
      ['chapter', 'service', 'ops', 'failed', 'outage', 'answered by'],
      v.rows.map((r) => [r.chapter, r.svc, String(r.ops), String(r.failedOps), formatMs(r.outageMs), r.served]),
    ),
  );
  const bounded = v.rows.filter((r) => v.chapters.find((c) => c.name === r.chapter)?.bounds?.[r.svc] !== undefined && r.outageMs !== null);
  if (bounded.length) {
    out.push(
      '\nAgainst the lower bound measured in the same run (power loss: serv2 fenced serv1 + the start-to-ready of what the service needs;' +
        ' failback: the stops, the resync and the starts); Pacemaker 2.1.5 + corosync 3 at their defaults: 7.41 s for a VIP alone (docs/daemon.md):',
    );
    out.push(
      table(
        ['chapter', 'service', 'outage', 'lower bound', 'above it'],
        bounded.map((r) => {
          const b = v.chapters.find((c) => c.name === r.chapter)!.bounds![r.svc]!;
          return [r.chapter, r.svc, formatMs(r.outageMs), formatMs(b), r.outageMs! < 0 ? '' : `${((r.outageMs! - b) / 1000).toFixed(2)} s`];
        }),
      ),
    );
  }
  for (const ch of v.chapters) {
    if (ch.skipped) out.push(`\n${ch.name}: NOT RUN (${ch.skipped})`);
    else if (ch.figures)
      out.push(
        `\n${ch.name}: ${Object.entries(ch.figures)
          .map(([k, x]) => `${k}: ${x}`)
          .join('; ')}`,
      );
  }
  out.push('');
  out.push(
    `SMB audit: ${v.smb.files} files, ${v.smb.acknowledgedWrites} acknowledged writes; lost: ${v.smb.lost.length}${
      v.smb.lost.length
        ? ` (${v.smb.lost
            .slice(0, 5)
            .map((l) => `${l.file}: ${l.why}, acked v${l.acked}, found ${l.found ?? 'nothing'}`)
            .join('; ')})`
        : ''
    }` +
      `; reads during the run that saw an older version: ${v.smb.staleReads}, no file yet: ${v.smb.missingReads}${v.smb.auditError ? `; AUDIT ERROR: ${v.smb.auditError}` : ''}`,
  );
  out.push(
    v.mail
      ? `Mail audit: ${v.mail.accepted} messages accepted with 250; missing from the mailbox: ${v.mail.missing.length}${v.mail.missing.length ? ` (${v.mail.missing.slice(0, 10).join(', ')})` : ''}; ` +
          `more than once: ${v.mail.duplicated.length}${v.mail.duplicated.length ? ` (${v.mail.duplicated.slice(0, 10).join(', ')})` : ''}; delivered without a 250 seen: ${v.mail.unacknowledgedDelivered}${v.mail.auditError ? `; AUDIT ERROR: ${v.mail.auditError}` : ''}`
      : 'Mail audit: NOT RUN (the cluster configuration does not use paceline:sendmail and paceline:cyrus yet)',
  );
  out.push(`Conflicts kept by the mirror: ${v.conflicts.length}${v.conflicts.length ? `\n  ${v.conflicts.join('\n  ')}` : ''}`);
  out.push(`Power switch calls: ${v.switchCalls.map((c) => `${c.target} from ${c.from}: ${c.result}`).join('; ') || 'none'}`);
  if (v.problems.length) out.push(`Problems: ${v.problems.join('; ')}`);
  out.push(v.ok ? 'VERDICT: nothing lost' : 'VERDICT: FAILED');
  return out.join('\n');
}
