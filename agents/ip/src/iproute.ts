/** Reading `ip -j` output: links and their addresses. */
import type { CommandRunner } from '@paceline/agent-api';

export interface AddrInfo {
  readonly family: 'inet' | 'inet6' | string;
  readonly local: string;
  readonly prefixlen: number;
  readonly label?: string;
  readonly tentative?: boolean;
  readonly dadfailed?: boolean;
}

export interface LinkInfo {
  readonly ifname: string;
  readonly flags: readonly string[];
  readonly operstate?: string;
  /** The link-layer (MAC) address. */
  readonly address?: string;
  readonly addr_info?: readonly AddrInfo[];
  readonly linkinfo?: { readonly info_kind?: string; readonly info_data?: { readonly mode?: string } };
  readonly link?: string;
}

export type LinkQuery =
  | { readonly kind: 'ok'; readonly link: LinkInfo }
  | { readonly kind: 'missing' }
  | { readonly kind: 'not-installed' }
  | { readonly kind: 'error'; readonly message: string };

/** `ip -j [-d] addr show dev NAME`: the link with its addresses, or why not. */
export async function queryLink(run: CommandRunner, ifname: string, signal?: AbortSignal, details = false): Promise<LinkQuery> {
  const r = await run.run('ip', ['-j', ...(details ? ['-d'] : []), 'addr', 'show', 'dev', ifname], signal ? { signal } : {});
  if (r.notFound) return { kind: 'not-installed' };
  if (r.exitCode !== 0) {
    if (/does not exist|Cannot find device/i.test(r.stderr)) return { kind: 'missing' };
    return { kind: 'error', message: r.stderr.trim() || `ip exited with ${r.exitCode ?? r.signal}` };
  }
  try {
    const links = JSON.parse(r.stdout || '[]') as LinkInfo[];
    const link = links.find((l) => l.ifname === ifname) ?? links[0];
    return link ? { kind: 'ok', link } : { kind: 'missing' };
  } catch (err) {
    return { kind: 'error', message: `cannot parse ip -j output: ${(err as Error).message}` };
  }
}

/**
 * Why a link cannot carry the address, or that it can. Three checks, in this order:
 * - `admin-down`: the UP flag is off (`ip link set dev IF down`, by an administrator or a script);
 * - `no-carrier`: UP but no LOWER_UP — the driver reports no carrier (cable out, switch port
 *   down, a veth whose peer is down, a bridge with no port up);
 * - `oper-down`: carrier present but the kernel's operational state (RFC 2863) is not UP —
 *   DORMANT (e.g. 802.1X not yet authenticated), LOWERLAYERDOWN (a VLAN or macvlan whose parent
 *   is down), TESTING, NOTPRESENT. UNKNOWN counts as up: loopback, dummy and some tunnel drivers
 *   never set an operational state.
 * LOWER_UP follows the carrier at once; operstate follows it through the kernel's link watcher,
 * which may lag by up to a second on a physical NIC.
 */
export type LinkState = { readonly up: true } | { readonly up: false; readonly why: 'admin-down' | 'no-carrier' | 'oper-down'; readonly operstate: string };

const OPERATIONAL = new Set(['UP', 'UNKNOWN']);

export function linkState(link: LinkInfo): LinkState {
  const operstate = (link.operstate ?? 'UNKNOWN').toUpperCase();
  if (!link.flags.includes('UP')) return { up: false, why: 'admin-down', operstate };
  if (!link.flags.includes('LOWER_UP')) return { up: false, why: 'no-carrier', operstate };
  if (!OPERATIONAL.has(operstate)) return { up: false, why: 'oper-down', operstate };
  return { up: true };
}

/** "interface lan0 is administratively down (operstate DOWN)", for reasons and logs. */
export function describeLinkState(ifname: string, state: LinkState): string {
  if (state.up) return `interface ${ifname} is up`;
  switch (state.why) {
    case 'admin-down':
      return `interface ${ifname} is administratively down (operstate ${state.operstate})`;
    case 'no-carrier':
      return `interface ${ifname} is up but has no carrier (operstate ${state.operstate}: cable, switch port or peer down)`;
    case 'oper-down':
      return `interface ${ifname} is up with carrier but not operational (operstate ${state.operstate})`;
  }
}

/** Administratively up, with carrier, and operational (see `linkState`). */
export function linkIsUp(link: LinkInfo): boolean {
  return linkState(link).up;
}
