/**
 * Where a listener binds: the configuration's `monitoring.metrics` / `monitoring.web` (address
 * `127.0.0.1` by default, `link:NAME` for this node's address on a heartbeat link), or this node's
 * command-line override (`HOST:PORT`, `PORT`, or `off`).
 */
import type { ClusterConfig, Listener } from '@paceline/model';
import { ObserveError } from './errors.js';

export interface Bind {
  readonly host: string;
  readonly port: number;
}

/** "HOST:PORT", "[V6]:PORT", "PORT" (on 127.0.0.1) or "off" (null). */
export function parseListenOverride(option: string, text: string): Bind | null {
  const t = text.trim();
  if (t === 'off') return null;
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:[\]]+)):(\d+)$/.exec(t) ?? /^()()(\d+)$/.exec(t);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new ObserveError('LISTEN_INVALID', `${option} "${text}": write HOST:PORT (e.g. 127.0.0.1:9664), PORT (on 127.0.0.1) or off`);
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

/** The address a listener of the configuration binds to on `node` (`link:NAME` resolved to the node's address on that link). */
export function resolveListener(l: Listener, config: ClusterConfig, node: string, what: string): Bind {
  if (!l.address.startsWith('link:')) return { host: l.address === 'localhost' ? '127.0.0.1' : l.address, port: l.port };
  const link = l.address.slice(5);
  const n = config.nodes.find((x) => x.name === node);
  const addr = n?.addresses[link];
  if (addr === undefined)
    throw new ObserveError(
      'LISTEN_INVALID',
      `monitoring.${what}.address "${l.address}": node ${node} has no address on link "${link}" (its links: ${Object.keys(n?.addresses ?? {}).join(', ') || 'none'})`,
    );
  return { host: hostOf(addr), port: l.port };
}

/** The host part of a link address ("10.0.0.1", "10.0.0.1:5405", "[fe80::1]:5405"). */
export function hostOf(addr: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(addr);
  if (v6) return v6[1]!;
  const colons = addr.split(':').length - 1;
  if (colons === 1) return addr.slice(0, addr.indexOf(':'));
  return addr;
}

/** http://HOST:PORT with IPv6 hosts in brackets. */
export function urlOf(b: Bind): string {
  return `http://${b.host.includes(':') ? `[${b.host}]` : b.host}:${b.port}`;
}
