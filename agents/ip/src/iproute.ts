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

/** Administratively up, and not reported down by the driver (no carrier). */
export function linkIsUp(link: LinkInfo): boolean {
  if (!link.flags.includes('UP')) return false;
  const state = (link.operstate ?? 'UNKNOWN').toUpperCase();
  return state === 'UP' || state === 'UNKNOWN';
}
