/**
 * Cyrus's two configuration files, generated from the parameters (or given), and the settings in
 * effect as Cyrus itself reads them (`cyr_info conf-all`), from which the agent takes every path
 * it prepares and reconciles.
 */
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { AgentContext } from '@paceline/agent-api';
import type { CyrusParams } from './params.js';

/** Where one instance keeps its runtime files. */
export interface CyrusLayout {
  /** The imapd.conf master and every tool read (-C). */
  readonly imapdConf: string;
  /** The cyrus.conf master reads (-M). */
  readonly cyrusConf: string;
  readonly runDir: string;
  readonly pidFile: string;
  /** master's stdout and stderr (it logs to syslog; this catches what its children print). */
  readonly logFile: string;
  /** Written by the agent (not given by the user). */
  readonly generatedImapd: boolean;
  readonly generatedCyrus: boolean;
}

export function layoutOf(p: CyrusParams, ctx: Pick<AgentContext, 'stateDir'>): CyrusLayout {
  const runDir = p.runDir ?? join(ctx.stateDir, 'run');
  return {
    imapdConf: p.config ?? join(ctx.stateDir, 'imapd.conf'),
    cyrusConf: p.cyrusConf ?? join(ctx.stateDir, 'cyrus.conf'),
    runDir,
    pidFile: join(runDir, 'master.pid'),
    logFile: join(ctx.stateDir, 'master.log'),
    generatedImapd: p.config === undefined,
    generatedCyrus: p.cyrusConf === undefined,
  };
}

/** The imapd.conf the agent writes when none is given. */
export function imapdConfText(p: CyrusParams, l: CyrusLayout): string {
  const lines: [string, string][] = [
    ['configdirectory', p.configDirectory],
    ['defaultpartition', 'default'],
    ['partition-default', p.partition],
    ['proc_path', join(l.runDir, 'proc')],
    ['mboxname_lockpath', join(l.runDir, 'lock')],
    ['lmtpsocket', join(l.runDir, 'socket', 'lmtp')],
    ['idlesocket', join(l.runDir, 'socket', 'idle')],
    ['notifysocket', join(l.runDir, 'socket', 'notify')],
    ['sievedir', join(p.configDirectory, 'sieve')],
    ['admins', p.admins],
    ['allowplaintext', 'yes'],
    ['sasl_pwcheck_method', 'auxprop'],
    ['sasl_auxprop_plugin', 'sasldb'],
    ['sasl_sasldb_path', p.sasldb],
    ['lmtp_downcase_rcpt', 'yes'],
    ['umask', '077'],
    ...(p.servername ? ([['servername', p.servername]] as [string, string][]) : []),
  ];
  const given = new Set(Object.keys(p.options));
  const body = lines.filter(([k]) => !given.has(k)).concat(Object.entries(p.options).sort(([a], [b]) => a.localeCompare(b)));
  return `# Written by paceline:cyrus from its parameters; rewritten at every start.\n${body.map(([k, v]) => `${k}: ${v}`).join('\n')}\n`;
}

const listenOn = (address: string, port: number): string => (isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`);

/** The cyrus.conf the agent writes when none is given: IMAP and LMTP on the service address, LMTP on a socket. */
export function cyrusConfText(p: CyrusParams, l: CyrusLayout): string {
  const c = `-C ${l.imapdConf}`;
  const tool = (name: string): string => join(p.toolsDir, name);
  return [
    '# Written by paceline:cyrus from its parameters; rewritten at every start.',
    'START {',
    `  recover cmd="${tool('ctl_cyrusdb')} -r ${c}"`,
    '}',
    'SERVICES {',
    `  imap cmd="imapd -U 30 ${c}" listen="${listenOn(p.address, p.imapPort)}" prefork=0 maxchild=100`,
    ...(p.lmtpPort > 0 ? [`  lmtp cmd="lmtpd -a ${c}" listen="${listenOn(p.address, p.lmtpPort)}" prefork=0 maxchild=20`] : []),
    `  lmtpunix cmd="lmtpd ${c}" listen="${join(l.runDir, 'socket', 'lmtp')}" prefork=0 maxchild=20`,
    '}',
    'EVENTS {',
    `  checkpoint cmd="${tool('ctl_cyrusdb')} -c ${c}" period=30`,
    `  delprune cmd="${tool('cyr_expire')} -E 3 ${c}" at=0400`,
    `  deleteprune cmd="${tool('cyr_expire')} -E 4 -D 28 ${c}" at=0430`,
    `  expungeprune cmd="${tool('cyr_expire')} -E 4 -X 28 ${c}" at=0445`,
    '}',
    '',
  ].join('\n');
}

/** `cyr_info conf-all` output → option → value. */
export function parseConfAll(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(': ');
    if (i > 0) m.set(line.slice(0, i).trim(), line.slice(i + 2).trim());
    else if (line.endsWith(':')) m.set(line.slice(0, -1).trim(), '');
  }
  return m;
}

/** The paths Cyrus will use, from its effective settings. */
export interface CyrusPaths {
  readonly configDirectory: string;
  /** Every partition-NAME and metapartition-NAME directory (where cyrus.header files are). */
  readonly partitions: readonly string[];
  /** Directories master and its services create files in. */
  readonly runtimeDirs: readonly string[];
}

export function pathsOf(settings: Map<string, string>, l: CyrusLayout): CyrusPaths {
  const set = (k: string): string | undefined => {
    const v = settings.get(k);
    return v && v !== '(null)' ? v : undefined;
  };
  const configDirectory = set('configdirectory') ?? '/var/lib/cyrus';
  const partitions = [...settings.entries()]
    .filter(([k, v]) => /^(meta)?partition-/.test(k) && v && v !== '(null)')
    .map(([, v]) => v)
    .sort();
  const dirOf = (f: string | undefined): string[] => (f ? [f.slice(0, f.lastIndexOf('/')) || '/'] : []);
  const runtimeDirs = [
    l.runDir,
    ...[set('proc_path'), set('mboxname_lockpath')].filter((x): x is string => x !== undefined),
    ...dirOf(set('lmtpsocket')),
    ...dirOf(set('idlesocket')),
    ...dirOf(set('notifysocket')),
    ...(settings.get('sievedir') && settings.get('sievedir') !== '(null)' ? [settings.get('sievedir')!] : []),
  ];
  return { configDirectory, partitions: [...new Set(partitions)], runtimeDirs: [...new Set(runtimeDirs)] };
}
