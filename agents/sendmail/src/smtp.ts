/**
 * The monitor's SMTP exchange: the 220 greeting, EHLO answered 250, QUIT — over a plain socket
 * (`openLineSession`). nodemailer's SMTP connection would do the same in more code paths, and
 * wraps socket errors in its own codes, where the verdict needs the socket's (refused, timeout).
 */
import { isIP } from 'node:net';
import { openLineSession, runCheck, type CheckVerdict } from '@paceline/agent-api/daemon';

const hostPort = (a: string, port: number): string => (isIP(a) === 6 ? `[${a}]:${port}` : `${a}:${port}`);
const short = (line: string, max = 100): string => (line.length > max ? `${line.slice(0, max)}…` : line);
/** The last line of a reply: `NNN text` or a bare `NNN`. */
const last = (l: string): boolean => /^\d{3}( |$)/.test(l);

export function smtpCheck(address: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<CheckVerdict> {
  return runCheck(`SMTP ${hostPort(address, port)}`, timeoutMs, signal, async (sig) => {
    const s = await openLineSession({ host: address, port }, sig);
    try {
      const greeting = await s.readReply(last);
      const g = greeting[greeting.length - 1]!;
      if (!g.startsWith('220')) return { ok: false, saw: `greeting ${short(g)}` };
      s.send('EHLO paceline.monitor');
      const ehlo = await s.readReply(last);
      const r = ehlo[ehlo.length - 1]!;
      s.send('QUIT');
      if (!r.startsWith('250')) return { ok: false, saw: `${short(g, 80)}; EHLO: ${short(r)}` };
      return { ok: true, saw: `${short(g, 80)}; EHLO 250 (${ehlo.length - 1} extensions)` };
    } finally {
      s.close();
    }
  });
}
