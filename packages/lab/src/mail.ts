/**
 * The client's mail: an SMTP submission and IMAP reads, spoken directly over a socket (a few
 * commands each; a library would add nothing the lab needs). Every call has a deadline.
 */
import { createConnection, type Socket } from 'node:net';
import { LabError } from './errors.js';

/** A CRLF line session: `expect(pred)` waits for a line matching it (collecting every line until then). */
class Session {
  private buf = '';
  private lines: string[] = [];
  private waiter: (() => void) | undefined;
  private closed: Error | undefined;
  constructor(private readonly s: Socket) {
    s.setEncoding('utf8');
    s.on('data', (c: string) => {
      this.buf += c;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        this.lines.push(this.buf.slice(0, i).replace(/\r$/, ''));
        this.buf = this.buf.slice(i + 1);
      }
      this.waiter?.();
    });
    const end = (e?: Error): void => {
      this.closed ??= e ?? new Error('connection closed');
      this.waiter?.();
    };
    s.on('error', end);
    s.on('close', () => end());
  }
  send(line: string): void {
    this.s.write(`${line}\r\n`);
  }
  async expect(done: (line: string) => boolean): Promise<string[]> {
    const got: string[] = [];
    for (;;) {
      while (this.lines.length) {
        const l = this.lines.shift()!;
        got.push(l);
        if (done(l)) return got;
      }
      if (this.closed) throw this.closed;
      await new Promise<void>((r) => {
        this.waiter = r;
      });
      this.waiter = undefined;
    }
  }
}

async function withSession<T>(host: string, port: number, timeoutMs: number, f: (s: Session) => Promise<T>): Promise<T> {
  const sock = createConnection({ host, port });
  const timer = setTimeout(() => sock.destroy(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    return await f(new Session(sock));
  } finally {
    clearTimeout(timer);
    sock.destroy();
  }
}

/** The last line of an SMTP reply (multi-line replies use "250-"). */
const smtpEnd = (l: string): boolean => /^\d{3} /.test(l);
function smtpCode(lines: readonly string[]): number {
  return Number(lines.at(-1)?.slice(0, 3));
}

/** Submits one message; resolves with the final reply's code (250 = accepted) and the reply. */
export async function smtpSend(
  host: string,
  port: number,
  o: { from: string; to: string; subject: string; id: string; body: string },
  timeoutMs: number,
): Promise<{ code: number; reply: string }> {
  return withSession(host, port, timeoutMs, async (s) => {
    const step = async (cmd: string | undefined, want: number): Promise<void> => {
      if (cmd !== undefined) s.send(cmd);
      const r = await s.expect(smtpEnd);
      if (smtpCode(r) !== want) throw new LabError('MAIL_REFUSED', `${cmd ?? 'greeting'}: ${r.at(-1)}`);
    };
    await step(undefined, 220);
    await step('EHLO client.lab.example', 250);
    await step(`MAIL FROM:<${o.from}>`, 250);
    await step(`RCPT TO:<${o.to}>`, 250);
    await step('DATA', 354);
    // CRLF line ends only (Sendmail refuses a bare LF), dot-stuffed.
    const body = o.body
      .replace(/\r?\n$/, '')
      .split(/\r?\n/)
      .map((l) => (l.startsWith('.') ? `.${l}` : l))
      .join('\r\n');
    s.send(`From: <${o.from}>\r\nTo: <${o.to}>\r\nSubject: ${o.subject}\r\nMessage-ID: <${o.id}>\r\n\r\n${body}\r\n.`);
    const r = await s.expect(smtpEnd);
    s.send('QUIT');
    return { code: smtpCode(r), reply: r.at(-1) ?? '' };
  });
}

/** IMAP: LOGIN and SELECT INBOX; with `fetchSubjects`, also every message's Subject. */
export async function imapInbox(
  host: string,
  port: number,
  user: string,
  password: string,
  timeoutMs: number,
  fetchSubjects = false,
): Promise<{ exists: number; subjects: string[] }> {
  return withSession(host, port, timeoutMs, async (s) => {
    const quote = (x: string): string => `"${x.replace(/["\\]/g, '\\$&')}"`;
    await s.expect((l) => l.startsWith('* OK'));
    let n = 0;
    const cmd = async (c: string): Promise<string[]> => {
      const tag = `a${++n}`;
      s.send(`${tag} ${c}`);
      const r = await s.expect((l) => l.startsWith(`${tag} `));
      if (!r.at(-1)!.startsWith(`${tag} OK`)) throw new LabError('MAIL_REFUSED', `${c.split(' ')[0]}: ${r.at(-1)}`);
      return r;
    };
    await cmd(`LOGIN ${quote(user)} ${quote(password)}`);
    const sel = await cmd('SELECT INBOX');
    const exists = Number(/^\* (\d+) EXISTS/m.exec(sel.join('\n'))?.[1] ?? 0);
    const subjects: string[] = [];
    if (fetchSubjects && exists > 0) {
      const r = await cmd('FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
      for (const l of r) {
        const m = /^Subject: (.*)$/i.exec(l);
        if (m) subjects.push(m[1]!.trim());
      }
    }
    s.send(`a${++n} LOGOUT`);
    return { exists, subjects };
  });
}

/** IMAP as an administrator: creates a mailbox (e.g. user/alice); an existing one is fine. */
export async function imapCreate(host: string, port: number, admin: string, password: string, mailbox: string, timeoutMs: number): Promise<void> {
  await withSession(host, port, timeoutMs, async (s) => {
    await s.expect((l) => l.startsWith('* OK'));
    s.send(`a1 LOGIN "${admin}" "${password}"`);
    const login = await s.expect((l) => l.startsWith('a1 '));
    if (!login.at(-1)!.startsWith('a1 OK')) throw new LabError('MAIL_REFUSED', `LOGIN ${admin}: ${login.at(-1)}`);
    s.send(`a2 CREATE "${mailbox}"`);
    const r = await s.expect((l) => l.startsWith('a2 '));
    if (!r.at(-1)!.startsWith('a2 OK') && !/exists/i.test(r.at(-1)!)) throw new LabError('MAIL_REFUSED', `CREATE ${mailbox}: ${r.at(-1)}`);
    s.send('a3 LOGOUT');
  });
}
