/**
 * "HOST", "HOST:PORT", "[IPV6]", "[IPV6]:PORT" or a bare IPv6 address split into host and port:
 * the one parser behind the runtime's parseEndpoint (heartbeat links, the witness) and the
 * agents' address parameters (paceline:mirror's peers). Pure; what a host may be (a name, only an
 * IP literal) is each caller's rule.
 */
import { isIPv6 } from 'node:net';

export type HostPort = { readonly ok: true; readonly host: string; readonly port: number } | { readonly ok: false; readonly problem: string };

/** Splits `text`; the port is `defaultPort` when none is written. A port must be 0…65535. */
export function parseHostPort(text: string, defaultPort: number): HostPort {
  const t = text.trim();
  let host: string;
  let port = defaultPort;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  const plain = bracket ? undefined : isIPv6(t) ? undefined : /^([^:[\]]+)(?::(\d+))?$/.exec(t);
  if (bracket) {
    host = bracket[1]!;
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if (isIPv6(t)) host = t;
  else if (plain) {
    host = plain[1]!;
    if (plain[2] !== undefined) port = Number(plain[2]);
  } else return { ok: false, problem: `"${text}" is not an address (write HOST or HOST:PORT, [IPv6]:PORT)` };
  if (!Number.isInteger(port) || port < 0 || port > 65535) return { ok: false, problem: `"${text}": port ${port} is out of range` };
  return { ok: true, host, port };
}
