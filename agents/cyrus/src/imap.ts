/**
 * The monitor's IMAP exchange (greeting, CAPABILITY, optionally LOGIN and EXAMINE, LOGOUT) and the
 * LMTP one (greeting, LHLO, QUIT), each a few lines over a plain socket: a full client such as
 * imapflow (eight dependencies, a logger among them) would add weight to every monitor call and
 * nothing the check needs.
 */
import { isIP } from 'node:net';
import { openLineSession, runCheck, type CheckVerdict, type LineSession } from '@paceline/agent-api/daemon';

export interface ImapTarget {
  readonly address: string;
  readonly port: number;
  readonly user?: string | undefined;
  readonly password?: string | undefined;
  readonly mailbox?: string | undefined;
}

const quote = (s: string): string => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
const hostPort = (a: string, port: number): string => (isIP(a) === 6 ? `[${a}]:${port}` : `${a}:${port}`);
const short = (line: string, max = 120): string => (line.length > max ? `${line.slice(0, max)}…` : line);

/** Sends a tagged command and reads to its tagged reply; returns [untagged lines, tagged line]. */
async function command(s: LineSession, tag: string, text: string): Promise<{ untagged: string[]; done: string }> {
  s.send(`${tag} ${text}`);
  const lines = await s.readReply((l) => l.startsWith(`${tag} `));
  return { untagged: lines.slice(0, -1), done: lines[lines.length - 1]!.slice(tag.length + 1) };
}

/** One IMAP check; `saw` says what the server answered at each step. */
export function imapCheck(t: ImapTarget, timeoutMs: number, signal: AbortSignal): Promise<CheckVerdict> {
  return runCheck(`IMAP ${hostPort(t.address, t.port)}`, timeoutMs, signal, async (sig) => {
    const s = await openLineSession({ host: t.address, port: t.port }, sig);
    try {
      const [greeting] = await s.readReply(() => true);
      if (!greeting || !/^\* (OK|PREAUTH)\b/i.test(greeting)) return { ok: false, saw: `greeting ${short(greeting ?? '')}` };
      const cap = await command(s, 'a1', 'CAPABILITY');
      if (!/^OK\b/i.test(cap.done)) return { ok: false, saw: `CAPABILITY: ${short(cap.done)}` };
      const caps = (cap.untagged.find((l) => /^\* CAPABILITY /i.test(l)) ?? '').split(' ').slice(2);
      if (!caps.some((c) => /^IMAP4(rev1|rev2)?$/i.test(c))) return { ok: false, saw: `CAPABILITY without IMAP4rev1: ${short(caps.join(' '))}` };
      const seen = [`${short(greeting, 60)}`, `CAPABILITY ${caps.length} items`];
      if (t.user !== undefined && t.password !== undefined) {
        if (caps.some((c) => c.toUpperCase() === 'LOGINDISABLED')) return { ok: false, saw: `${seen.join('; ')}; LOGINDISABLED (plaintext login refused)` };
        const login = await command(s, 'a2', `LOGIN ${quote(t.user)} ${quote(t.password)}`);
        if (!/^OK\b/i.test(login.done)) return { ok: false, saw: `${seen.join('; ')}; LOGIN ${t.user}: ${short(login.done)}` };
        seen.push(`LOGIN ${t.user} OK`);
        const box = t.mailbox ?? 'INBOX';
        const ex = await command(s, 'a3', `EXAMINE ${quote(box)}`);
        if (!/^OK\b/i.test(ex.done)) return { ok: false, saw: `${seen.join('; ')}; EXAMINE ${box}: ${short(ex.done)}` };
        const exists = ex.untagged.map((l) => /^\* (\d+) EXISTS/i.exec(l)?.[1]).find((x) => x !== undefined);
        seen.push(`${box}: ${exists ?? '?'} messages`);
      }
      s.send('a9 LOGOUT');
      return { ok: true, saw: seen.join('; ') };
    } finally {
      s.close();
    }
  });
}

/** One LMTP check: a 220 greeting and a 250 reply to LHLO. */
export function lmtpCheck(address: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<CheckVerdict> {
  return runCheck(`LMTP ${hostPort(address, port)}`, timeoutMs, signal, async (sig) => {
    const s = await openLineSession({ host: address, port }, sig);
    const last = (l: string): boolean => /^\d{3}( |$)/.test(l);
    try {
      const greeting = await s.readReply(last);
      const g = greeting[greeting.length - 1]!;
      if (!g.startsWith('220')) return { ok: false, saw: `greeting ${short(g)}` };
      s.send('LHLO paceline.monitor');
      const lhlo = await s.readReply(last);
      const r = lhlo[lhlo.length - 1]!;
      s.send('QUIT');
      return r.startsWith('250') ? { ok: true, saw: `${short(g, 60)}; LHLO 250` } : { ok: false, saw: `LHLO: ${short(r)}` };
    } finally {
      s.close();
    }
  });
}
