/**
 * The instance's smb.conf: an overlay that includes the user's config and then sets, in
 * [global], the listening address and port and any directory overrides. smbd, testparm and
 * smbclient all read the overlay, and so does the samba-dcerpcd that smbd starts on demand (it
 * gets only `--configfile`, not command-line options), so every Samba process of the instance
 * sees the same directories. Its path, unique per instance, also names the instance's helpers.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentContext } from '@paceline/agent-api';
import type { SambaParams } from './params.js';

export const overlayPath = (ctx: Pick<AgentContext, 'stateDir'>): string => join(ctx.stateDir, 'smb.conf');

/** The overlay's text for these parameters. */
export function overlayText(p: SambaParams): string {
  const overrides: [string, string | undefined][] = [
    ['pid directory', p.pidDirectory],
    ['lock directory', p.lockDirectory],
    ['state directory', p.stateDirectory],
    ['cache directory', p.cacheDirectory],
    ['private dir', p.privateDir],
    ['ncalrpc dir', p.ncalrpcDir],
    ['log file', p.logFile],
  ];
  return [
    '# Written by paceline:samba for this instance; edit the included file instead.',
    `include = ${p.config}`,
    '[global]',
    `  interfaces = ${p.address}`,
    '  bind interfaces only = yes',
    `  smb ports = ${p.port}`,
    ...overrides.filter(([, v]) => v !== undefined).map(([k, v]) => `  ${k} = ${v}`),
    '',
  ].join('\n');
}

/** Writes the overlay (when its text changed) and returns its path. */
export async function writeOverlay(p: SambaParams, ctx: Pick<AgentContext, 'stateDir'>): Promise<string> {
  const file = overlayPath(ctx);
  const text = overlayText(p);
  const now = await readFile(file, 'utf8').catch(() => undefined);
  if (now !== text) {
    await mkdir(ctx.stateDir, { recursive: true });
    await writeFile(file, text, { mode: 0o644 });
  }
  return file;
}
