/**
 * The client's workload, run inside the client's namespace: every operation is a JSON line with its
 * start time, outcome and what it saw. Each kind of operation runs in its own lane at a fixed period,
 * with a bound on how many are in flight (a request to an address nobody holds hangs until its
 * timeout; the next one starts anyway, so the first success after an outage is seen within a period).
 * The workload stops by itself at its deadline or when the stop file appears.
 *
 *   node client.js CONFIG_JSON          (the workload)
 *   node client.js --audit CONFIG_JSON  (reads every file of the share back; prints JSON)
 */
import { Resolver } from 'node:dns/promises';
import { createConnection } from 'node:net';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { imapCreate, imapInbox, smtpSend } from './mail.js';

/** The lab's Cyrus administrator's password (a lab: it is in the repository on purpose). */
export const MAIL_ADMIN_PASSWORD = 'cyrusadmin';
import { runAsync, sleep } from './sys.js';

export interface ClientConfig {
  readonly out: string;
  readonly stopFile: string;
  readonly deadline: number;
  readonly tmp: string;
  readonly smb?: {
    readonly host: string;
    readonly share: string;
    readonly writeEveryMs: number;
    readonly readEveryMs: number;
    readonly maxFiles: number;
    readonly sizeBytes: number;
  };
  readonly connect?: readonly { readonly name: string; readonly host: string; readonly port: number; readonly everyMs: number }[];
  readonly http?: readonly { readonly name: string; readonly url: string; readonly everyMs: number }[];
  readonly dns?: readonly { readonly name: string; readonly server: string; readonly query: string; readonly everyMs: number }[];
  readonly radius?: readonly {
    readonly name: string;
    readonly server: string;
    readonly secret: string;
    readonly user: string;
    readonly password: string;
    readonly everyMs: number;
  }[];
  /** Mail: SMTP submissions to the Sendmail relay, IMAP reads from Cyrus. */
  readonly mail?: {
    readonly smtp: { readonly host: string; readonly port: number; readonly everyMs: number };
    readonly imap: { readonly host: string; readonly port: number; readonly everyMs: number };
    readonly user: string;
    readonly password: string;
    readonly to: string;
  };
}

/** One operation as the client logged it. */
export interface Op {
  /** Start time (ms). */
  readonly t: number;
  /** The service lane, e.g. "smb-write", "http@samba-ip". */
  readonly svc: string;
  readonly ok: boolean;
  /** Duration (ms). */
  readonly ms: number;
  /** Who answered (the server's name, when the service says it). */
  readonly who?: string;
  readonly err?: string;
  /** SMB: the file and the version written or read. */
  readonly file?: string;
  readonly version?: number;
  /** SMB reads: "ok", "stale" (an older acknowledged version), "missing", "error". */
  readonly read?: string;
  /** Mail: the message's number (its Subject is "lab-mail N") and the SMTP reply code. */
  readonly mail?: number;
  readonly code?: number;
  /** IMAP: messages in the INBOX. */
  readonly exists?: number;
}

const SMBCLIENT_TIMEOUT_MS = 8000;

export function smbArgs(c: NonNullable<ClientConfig['smb']>, command: string): string[] {
  // -N: guest; -t: the SMB timeout (s); -c: smbclient's own command line (no shell is involved).
  return [`//${c.host}/${c.share}`, '-N', '-m', 'SMB3', '-t', '5', '-c', command];
}

/** smbclient exits 0 on some failures; its NT_STATUS messages say so. */
export function smbFailed(r: { code: number; out: string; err: string }): string | undefined {
  const text = `${r.out}\n${r.err}`;
  const m = /NT_STATUS_[A-Z_]+/.exec(text);
  if (r.code !== 0) return m?.[0] ?? (text.trim().split('\n').pop() || `exit ${r.code}`);
  return m?.[0];
}

export function contentOf(file: string, version: number, size: number): string {
  const head = `${file} version ${version}\n`;
  return head + 'x'.repeat(Math.max(0, size - head.length - 1)) + '\n';
}

export function versionOf(text: string): number | undefined {
  const m = /^\S+ version (\d+)\n/.exec(text);
  return m ? Number(m[1]) : undefined;
}

class Recorder {
  private buf: string[] = [];
  constructor(private readonly out: string) {}
  add(op: Op): void {
    this.buf.push(JSON.stringify(op));
  }
  flush(): void {
    if (this.buf.length === 0) return;
    appendFileSync(this.out, `${this.buf.join('\n')}\n`);
    this.buf = [];
  }
}

async function lane(until: () => boolean, everyMs: number, maxInFlight: number, op: () => Promise<void>): Promise<void> {
  const pending = new Set<Promise<void>>();
  while (!until()) {
    const started = Date.now();
    if (pending.size < maxInFlight) {
      const p: Promise<void> = op()
        .catch(() => undefined)
        .finally(() => pending.delete(p));
      pending.add(p);
    }
    await sleep(Math.max(0, everyMs - (Date.now() - started)));
  }
  await Promise.all(pending);
}

/**
 * The client's workload until the deadline or the stop file: one lane per service (each a loop of
 * timed operations, a few at most in flight), every operation appended to `c.out` as a JSON line.
 */
export async function workload(c: ClientConfig): Promise<void> {
  mkdirSync(c.tmp, { recursive: true });
  const rec = new Recorder(c.out);
  const flusher = setInterval(() => rec.flush(), 200);
  const done = (): boolean => Date.now() >= c.deadline || existsSync(c.stopFile);
  const lanes: Promise<void>[] = [];
  const timed: Timed = async (svc, f) => {
    const t = Date.now();
    let r: Partial<Op> & { ok: boolean };
    try {
      r = await f();
    } catch (e) {
      r = { ok: false, err: (e as Error).message };
    }
    rec.add({ t, svc, ms: Date.now() - t, ...r });
  };

  if (c.smb) lanes.push(...smbLanes(c.tmp, c.smb, done, timed));
  for (const t of c.connect ?? []) lanes.push(connectLane(t, done, timed));
  for (const t of c.http ?? []) lanes.push(httpLane(t, done, timed));
  for (const t of c.dns ?? []) lanes.push(dnsLane(t, done, timed));
  for (const t of c.radius ?? []) lanes.push(radiusLane(t, done, timed));
  if (c.mail) lanes.push(...mailLanes(c.mail, done, timed));
  await Promise.all(lanes);
  clearInterval(flusher);
  rec.flush();
}

/** Runs one operation of a lane, timed and recorded (a throw is a failed operation with its message). */
type Timed = (svc: string, f: () => Promise<Partial<Op> & { ok: boolean }>) => Promise<void>;

/** SMB: writes of new or rewritten files, and reads of the acknowledged ones (ok, stale, missing, garbled). */
function smbLanes(tmp: string, smb: NonNullable<ClientConfig['smb']>, done: () => boolean, timed: Timed): Promise<void>[] {
  /** file -> versions acknowledged, and the versions attempted (a write may apply without its acknowledgement). */
  const acked = new Map<string, number>();
  let next = 0;
  let version = 0;
  const writes = lane(done, smb.writeEveryMs, 1, () =>
    timed('smb-write', async () => {
      const existing = [...acked.keys()];
      const file =
        existing.length < smb.maxFiles && (existing.length === 0 || Math.random() < 0.5)
          ? `f${String(next++).padStart(4, '0')}.txt`
          : existing[Math.floor(Math.random() * existing.length)]!;
      const v = ++version;
      const local = join(tmp, `w-${file}`);
      writeFileSync(local, contentOf(file, v, smb.sizeBytes));
      const r = await runAsync('smbclient', smbArgs(smb, `put ${local} ${file}`), SMBCLIENT_TIMEOUT_MS);
      const err = smbFailed(r);
      if (!err) acked.set(file, v);
      return { ok: !err, file, version: v, ...(err ? { err } : {}) };
    }),
  );
  const reads = lane(done, smb.readEveryMs, 1, () =>
    timed('smb-read', async () => {
      const files = [...acked.entries()];
      if (files.length === 0) return { ok: true, read: 'nothing yet' };
      const [file, v] = files[Math.floor(Math.random() * files.length)]!;
      const local = join(tmp, `r-${file}`);
      rmSync(local, { force: true });
      const r = await runAsync('smbclient', smbArgs(smb, `get ${file} ${local}`), SMBCLIENT_TIMEOUT_MS);
      const err = smbFailed(r);
      if (err === 'NT_STATUS_OBJECT_NAME_NOT_FOUND') return { ok: true, file, version: v, read: 'missing', err };
      if (err) return { ok: false, file, version: v, read: 'error', err };
      const got = existsSync(local) ? versionOf(readFileSync(local, 'utf8')) : undefined;
      // A newer version than acknowledged here is a write whose acknowledgement is still on its way.
      return { ok: true, file, version: got ?? -1, read: got === undefined ? 'garbled' : got >= v ? 'ok' : 'stale' };
    }),
  );
  return [writes, reads];
}

/** A TCP connection to the service's port, closed once made. */
function connectLane(t: NonNullable<ClientConfig['connect']>[number], done: () => boolean, timed: Timed): Promise<void> {
  return lane(done, t.everyMs, 5, () =>
    timed(
      t.name,
      () =>
        new Promise((resolve) => {
          const s = createConnection({ host: t.host, port: t.port, timeout: 1000 });
          s.once('connect', () => {
            s.destroy();
            resolve({ ok: true });
          });
          s.once('timeout', () => {
            s.destroy();
            resolve({ ok: false, err: 'timeout' });
          });
          s.once('error', (e) => resolve({ ok: false, err: (e as NodeJS.ErrnoException).code ?? e.message }));
        }),
    ),
  );
}

/** An HTTP GET; the body names the server that answered. */
function httpLane(t: NonNullable<ClientConfig['http']>[number], done: () => boolean, timed: Timed): Promise<void> {
  return lane(done, t.everyMs, 5, () =>
    timed(t.name, async () => {
      const res = await fetch(t.url, { signal: AbortSignal.timeout(1000) });
      const body = (await res.text()).trim();
      return res.status === 200 ? { ok: true, who: body } : { ok: false, err: `HTTP ${res.status}` };
    }),
  );
}

/** A TXT query; the answer names the server that answered. */
function dnsLane(t: NonNullable<ClientConfig['dns']>[number], done: () => boolean, timed: Timed): Promise<void> {
  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([t.server]);
  return lane(done, t.everyMs, 5, () =>
    timed(t.name, async () => {
      const txt = await resolver.resolveTxt(t.query);
      return { ok: true, who: txt.flat().join('') };
    }),
  );
}

/** A RADIUS Access-Request by radclient; the reply names the server that answered. */
function radiusLane(t: NonNullable<ClientConfig['radius']>[number], done: () => boolean, timed: Timed): Promise<void> {
  return lane(done, t.everyMs, 3, () =>
    timed(t.name, async () => {
      // radclient reads the request's attributes from stdin; -t 1 -r 1: one try of one second.
      const r = await runAsync(
        'radclient',
        ['-t', '1', '-r', '1', `${t.server}:1812`, 'auth', t.secret],
        3000,
        `User-Name = "${t.user}"\nUser-Password = "${t.password}"\n`,
      );
      const who = /Reply-Message = "hello \S+ from (\S+)"/.exec(r.out)?.[1];
      return r.code === 0 && /Access-Accept/.test(r.out)
        ? { ok: true, ...(who ? { who } : {}) }
        : { ok: false, err: (r.out + r.err).trim().split('\n').pop() ?? `exit ${r.code}` };
    }),
  );
}

/** Mail: numbered messages submitted by SMTP, and the inbox opened by IMAP. */
function mailLanes(m: NonNullable<ClientConfig['mail']>, done: () => boolean, timed: Timed): Promise<void>[] {
  let n = 0;
  const smtp = lane(done, m.smtp.everyMs, 3, () =>
    timed('smtp', async () => {
      const k = ++n;
      const r = await smtpSend(
        m.smtp.host,
        m.smtp.port,
        {
          from: 'client@lab.example',
          to: m.to,
          subject: `lab-mail ${k}`,
          id: `lab-mail-${k}-${Date.now()}@client.lab.example`,
          body: `message ${k} from the lab's client\n`,
        },
        10_000,
      );
      return { ok: r.code === 250, mail: k, code: r.code, ...(r.code === 250 ? {} : { err: r.reply }) };
    }),
  );
  const imap = lane(done, m.imap.everyMs, 3, () =>
    timed('imap', async () => {
      const r = await imapInbox(m.imap.host, m.imap.port, m.user, m.password, 3000);
      return { ok: true, exists: r.exists };
    }),
  );
  return [smtp, imap];
}

/** Every file of the share read back in one session: file -> version found. */
export async function auditShare(c: ClientConfig): Promise<{ ok: boolean; files: Record<string, number | null>; err?: string }> {
  const smb = c.smb!;
  const dir = join(c.tmp, 'audit');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const r = await runAsync('smbclient', smbArgs(smb, `prompt OFF; lcd ${dir}; mget *`), 120_000);
  const err = smbFailed(r);
  const files: Record<string, number | null> = {};
  for (const f of readdirSync(dir)) files[f] = versionOf(readFileSync(join(dir, f), 'utf8')) ?? null;
  return err ? { ok: false, files, err } : { ok: true, files };
}

/** Every message's Subject in the INBOX (the mail audit). */
export async function auditMailbox(c: ClientConfig): Promise<{ ok: boolean; subjects: string[]; err?: string }> {
  const m = c.mail!;
  try {
    return { ok: true, subjects: (await imapInbox(m.imap.host, m.imap.port, m.user, m.password, 60_000, true)).subjects };
  } catch (e) {
    return { ok: false, subjects: [], err: (e as Error).message };
  }
}

if (process.argv[1]?.endsWith('client.js')) {
  const mode = process.argv[2]?.startsWith('--') ? process.argv[2] : undefined;
  const cfg = JSON.parse(readFileSync(process.argv[mode ? 3 : 2]!, 'utf8')) as ClientConfig;
  if (mode === '--audit') process.stdout.write(`${JSON.stringify(await auditShare(cfg))}\n`);
  else if (mode === '--audit-mail') process.stdout.write(`${JSON.stringify(await auditMailbox(cfg))}\n`);
  else if (mode === '--mailbox') await imapCreate(cfg.mail!.imap.host, cfg.mail!.imap.port, 'cyrus', MAIL_ADMIN_PASSWORD, `user/${cfg.mail!.user}`, 10_000);
  else await workload(cfg);
}
