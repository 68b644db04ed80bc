/**
 * The monitor's protocol check: a share listing with smbclient (SMB negotiate, session setup,
 * tree connect to IPC$ and the srvsvc share enumeration), anonymous or with an authentication
 * file, and the configured share must be in it. smbclient rather than a client in Node: the
 * listing is DCERPC over a named pipe with NTLMSSP, and npm has no maintained SMB client that
 * enumerates shares. Arguments are an argv array, never a shell string.
 */
import type { AgentContext } from '@paceline/agent-api';
import type { CheckVerdict } from '@paceline/agent-api/daemon';

export interface ListingTarget {
  readonly address: string;
  readonly port: number;
  readonly share: string;
  readonly authFile?: string | undefined;
  /** The smb.conf smbclient reads (the instance overlay). */
  readonly config: string;
}

/** The smbclient argv for a grepable share listing. */
export function listingArgs(t: ListingTarget): string[] {
  return [
    '-g',
    '-L',
    `//${t.address.includes(':') ? `[${t.address}]` : t.address}`,
    '-I',
    t.address,
    '-p',
    String(t.port),
    '-s',
    t.config,
    ...(t.authFile ? ['-A', t.authFile] : ['-N']),
  ];
}

/** NT status codes meaning "nobody serves there". */
const NOBODY =
  /NT_STATUS_(CONNECTION_REFUSED|CONNECTION_RESET|CONNECTION_DISCONNECTED|HOST_UNREACHABLE|NETWORK_UNREACHABLE|PORT_UNREACHABLE|ADDRESS_NOT_ASSOCIATED)/;
const TIMEOUT = /NT_STATUS_IO_TIMEOUT/;

/** The disk shares of a grepable listing (`Disk|name|comment` lines). */
export function diskShares(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.split('|'))
    .filter((f) => f[0] === 'Disk' && f[1])
    .map((f) => f[1]!);
}

/** Reads smbclient's result: ok when the share is listed. Exported for tests. */
export function listingVerdict(
  t: ListingTarget,
  r: { exitCode: number | null; stdout: string; stderr: string; timedOut: boolean; notFound: boolean },
  timeoutMs: number,
): CheckVerdict {
  const what = `share listing on ${t.address}:${t.port}`;
  if (r.notFound) return { verdict: 'failed', saw: `${what}: smbclient is not installed` };
  if (r.timedOut) return { verdict: 'hung', saw: `${what}: no answer within ${timeoutMs} ms` };
  const said = `${r.stderr}\n${r.stdout}`
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('SMB1 disabled'));
  const error = said.find((l) => /NT_STATUS_|failed|error/i.test(l));
  if (r.exitCode !== 0) {
    const text = error ?? said.slice(-1)[0] ?? `smbclient exit code ${r.exitCode ?? 'by signal'}`;
    if (TIMEOUT.test(text)) return { verdict: 'hung', saw: `${what}: ${text}` };
    return { verdict: NOBODY.test(text) ? 'not-running' : 'failed', saw: `${what}: ${text}` };
  }
  const shares = diskShares(r.stdout);
  if (shares.some((s) => s.toLowerCase() === t.share.toLowerCase())) return { verdict: 'ok', saw: `${what}: share "${t.share}" listed` };
  return { verdict: 'failed', saw: `${what}: share "${t.share}" not listed (disk shares: ${shares.join(', ') || 'none'})` };
}

/** Lists the shares once. */
export async function listShares(ctx: Pick<AgentContext, 'run'>, t: ListingTarget, timeoutMs: number, signal: AbortSignal): Promise<CheckVerdict> {
  const r = await ctx.run.run('smbclient', listingArgs(t), { timeoutMs, signal });
  if (signal.aborted && !r.timedOut) return { verdict: 'failed', saw: `share listing on ${t.address}:${t.port}: cancelled` };
  return listingVerdict(t, r, timeoutMs);
}
