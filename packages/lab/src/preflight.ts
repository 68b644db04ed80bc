/** Can the live lab run on this machine? */
import { existsSync } from 'node:fs';
import { CLI } from './lab.js';
import { have } from './sys.js';

/** Why the lab cannot run here (not root, a tool or service missing, the CLI not built), or undefined. */
export function labSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'it needs root (network and mount namespaces); CI runs as root';
  const tools: [string, string[], string][] = [
    ['ip', ['-V'], 'iproute2'],
    ['nsenter', ['--version'], 'util-linux'],
    ['unshare', ['--version'], 'util-linux'],
    ['rsync', ['--version'], 'rsync'],
    ['smbclient', ['--version'], 'smbclient'],
    ['radclient', ['-v'], 'freeradius-utils'],
  ];
  for (const [cmd, args, pkg] of tools) if (!have(cmd, args)) return `\`${cmd}\` is not installed (Debian package ${pkg}; ./scripts/setup.sh installs it)`;
  for (const [path, pkg] of [
    ['/usr/sbin/smbd', 'samba'],
    ['/usr/sbin/nginx', 'nginx-light'],
    ['/usr/sbin/named', 'bind9'],
    ['/usr/sbin/freeradius', 'freeradius'],
  ] as const) {
    if (!existsSync(path)) return `${path} is not installed (Debian package ${pkg}; ./scripts/setup.sh installs it)`;
  }
  if (!existsSync(CLI)) return `${CLI} is not built (npm run build)`;
  return undefined;
}
