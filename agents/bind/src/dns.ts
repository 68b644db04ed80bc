/** The monitor's DNS query: one question to one server, no retries, classified by `runCheck`. */
import { Resolver } from 'node:dns/promises';
import { isIPv6 } from 'node:net';
import { runCheck, type CheckVerdict } from '@paceline/agent-api/daemon';

export interface DnsTarget {
  readonly address: string;
  readonly port: number;
  readonly name: string;
  readonly type: string;
  readonly expect?: string | undefined;
}

const norm = (s: string): string => s.toLowerCase().replace(/\.$/, '');

/** One record as text: "10.0.0.5", "10 mail.example.org" (MX), "0 5 389 ldap.example.org" (SRV), the TXT text. */
export function formatAnswer(type: string, r: unknown): string {
  if (typeof r === 'string') return r;
  if (Array.isArray(r)) return r.join('');
  const o = r as Record<string, unknown>;
  switch (type) {
    case 'MX':
      return `${String(o.priority)} ${String(o.exchange)}`;
    case 'SRV':
      return `${String(o.priority)} ${String(o.weight)} ${String(o.port)} ${String(o.name)}`;
    case 'SOA':
      return `${String(o.nsname)} ${String(o.hostmaster)} ${String(o.serial)}`;
    default:
      return JSON.stringify(r);
  }
}

/** Asks `address:port` for `name`/`type`; ok when it answers (with `expect` among the answers, if given). */
export function dnsQuery(t: DnsTarget, timeoutMs: number, signal: AbortSignal): Promise<CheckVerdict> {
  const server = `${isIPv6(t.address) ? `[${t.address}]` : t.address}:${t.port}`;
  return runCheck(`DNS ${t.name} ${t.type} @${server}`, timeoutMs, signal, async (s) => {
    // tries: 1 and our own timeout: a silent server is a hang, not a slow retry loop.
    const resolver = new Resolver({ timeout: timeoutMs + 1000, tries: 1 });
    resolver.setServers([server]);
    const cancel = (): void => resolver.cancel();
    s.addEventListener('abort', cancel, { once: true });
    try {
      let records: unknown[];
      try {
        records = (await resolver.resolve(t.name, t.type)) as unknown[];
      } catch (e) {
        const code = (e as { code?: string }).code;
        // The server answered, but not with records: a failure that says what came back.
        if (code === 'ENOTFOUND') return { ok: false, saw: 'NXDOMAIN' };
        if (code === 'ENODATA') return { ok: false, saw: `no ${t.type} record` };
        if (code === 'ESERVFAIL') return { ok: false, saw: 'SERVFAIL' };
        if (code === 'EREFUSED') return { ok: false, saw: 'REFUSED' };
        throw e;
      }
      const answers = records.map((r) => formatAnswer(t.type, r));
      const shown = answers.slice(0, 4).join(', ') + (answers.length > 4 ? ', ...' : '');
      if (t.expect === undefined) return { ok: answers.length > 0, saw: shown || 'an empty answer' };
      const good = answers.some((a) => norm(a) === norm(t.expect!));
      return { ok: good, saw: good ? shown : `${shown || 'an empty answer'}, expected ${t.expect}` };
    } finally {
      s.removeEventListener('abort', cancel);
    }
  });
}
