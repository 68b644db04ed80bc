/**
 * The story, for real: the demo's chapters as real faults on the live lab, with the client's
 * workload running throughout, then the audit and the verdict. The chapters are in
 * story-failover.ts and story-faults.ts, the client's side in story-client.ts, what is read off
 * the lab in story-probes.ts, the verdict's report in report.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { contentOf, smbArgs, smbFailed, type Op } from './client.js';
import { DIST, type Lab } from './lab.js';
import { LabError } from './errors.js';
import type { Verdict } from './report.js';
import { clientConfig, LANES, MAIL_LANES, readOps } from './story-client.js';
import { clear, bothUp, powerLoss, returnServ1 } from './story-failover.js';
import { crossoverCut, divergence, sambaFails, serv2LanLost } from './story-faults.js';
import { runAsync, sleep } from './sys.js';
import { auditMail, auditSmb, chapterRows, type Chapter, type MailAudit } from './verdict.js';

export { formatVerdict, type Verdict } from './report.js';
export { clientConfig, LANES, MAIL_LANES, MAIL_USER, mailEnabled } from './story-client.js';
export { dirBytes } from './story-probes.js';

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

export class Story {
  readonly chapters: Chapter[] = [];
  private client: ChildProcess | undefined;

  constructor(
    readonly lab: Lab,
    readonly o: StoryOptions,
  ) {}

  say(line: string): void {
    this.o.log(line);
  }

  begin(name: string): Chapter {
    const prev = this.chapters.at(-1);
    const now = Date.now();
    if (prev && prev.end > now) prev.end = now;
    const ch: Chapter = { name, start: now, end: Number.MAX_SAFE_INTEGER, notes: [] };
    this.chapters.push(ch);
    this.say(`\n== ${name}`);
    return ch;
  }
  note(ch: Chapter, line: string): void {
    ch.notes.push(line);
    this.say(`   ${line}`);
  }

  /** Runs client.js MODE in the client's namespace (after the client's configuration was written). */
  async clientTool(mode: string, timeoutMs = 60_000): Promise<string> {
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

  /** An SMB write by the story itself (logged like the client's, so that the audit covers it). */
  async put(file: string, version: number): Promise<void> {
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
      'both-up': () => bothUp(this),
      'power-loss': () => powerLoss(this),
      return: () => returnServ1(this),
      clear: () => clear(this),
      'samba-fails': () => sambaFails(this),
      'crossover-cut': () => crossoverCut(this),
      'serv2-lan-lost': () => serv2LanLost(this),
      divergence: () => divergence(this),
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
