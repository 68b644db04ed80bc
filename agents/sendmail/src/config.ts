/**
 * sendmail.mc, written from the parameters and turned into sendmail.cf by m4 with sendmail-cf's
 * macros (what Debian's sendmailconfig does), and the command-line options that keep every
 * instance's files its own.
 */
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { AgentContext } from '@paceline/agent-api';
import type { SendmailParams } from './params.js';

export interface SendmailLayout {
  /** The sendmail.cf the daemon and the checks read (-C). */
  readonly cf: string;
  /** The generated sendmail.mc (absent when `config` is given). */
  readonly mc?: string;
  readonly pidFile: string;
  readonly logFile: string;
}

export function layoutOf(p: SendmailParams, ctx: Pick<AgentContext, 'stateDir'>): SendmailLayout {
  const runDir = p.runDir ?? join(ctx.stateDir, 'run');
  return {
    cf: p.config ?? join(ctx.stateDir, 'sendmail.cf'),
    ...(p.config ? {} : { mc: join(ctx.stateDir, 'sendmail.mc') }),
    pidFile: join(runDir, 'sendmail.pid'),
    logFile: join(ctx.stateDir, 'sendmail.log'),
  };
}

/**
 * The cyrusv2 mailer's argument: `TCP [ADDRESS] PORT` or `FILE /socket`. The address is bracketed:
 * sendmail then uses it as is, where a bare one is looked up as a host name (and fails without DNS).
 */
export function lmtpMailerArgs(lmtp: string): string {
  if (lmtp.startsWith('unix:')) return `FILE ${lmtp.slice(5)}`;
  const i = lmtp.lastIndexOf(':');
  return `TCP [${lmtp.slice(0, i).replace(/^\[|\]$/g, '')}] ${lmtp.slice(i + 1)}`;
}

/** Options every instance gets on the command line (they override the .cf, given or generated). */
export function instanceOptions(p: SendmailParams, l: SendmailLayout): string[] {
  return ['-O', `QueueDirectory=${p.queueDir}`, '-O', `PidFile=${l.pidFile}`];
}

/**
 * The sendmail.mc: the served domains are local (LOCAL_DOMAIN, so class w holds them without a
 * file, which sendmail would refuse in a world-writable directory), local mail goes to Cyrus
 * through the cyrusv2 mailer (LMTP), one SMTP daemon on address:port, no DNS canonification and no
 * sender domain lookup (a cluster's LAN need not resolve senders), no aliases file.
 */
export function mcText(p: SendmailParams, l: SendmailLayout, o: { trustedUser?: string | undefined } = {}): string {
  const family = isIP(p.address) === 6 ? 'inet6' : 'inet';
  const lines = [
    'divert(-1)',
    '# Written by paceline:sendmail from its parameters; rebuilt at every start.',
    'divert(0)dnl',
    "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl",
    "VERSIONID(`paceline:sendmail')dnl",
    "OSTYPE(`linux')dnl",
    ...(p.hostname ? [`define(\`confDOMAIN_NAME', \`${p.hostname}')dnl`] : []),
    `define(\`QUEUE_DIR', \`${p.queueDir}')dnl`,
    `define(\`confPID_FILE', \`${l.pidFile}')dnl`,
    // Debian's /var/spool/mqueue belongs to smmta (mode 2750): sendmail, running as root, writes
    // there only if that user is trusted, else every message is refused ("Cannot write ./df...").
    ...(o.trustedUser ? [`define(\`confTRUSTED_USER', \`${o.trustedUser}')dnl`] : []),
    "define(`confDONT_PROBE_INTERFACES', `True')dnl",
    "define(`confBIND_OPTS', `-DNSRCH -DEFNAMES')dnl",
    "define(`confALIAS_FILE', `')dnl",
    "define(`confPRIVACY_FLAGS', `authwarnings,novrfy,noexpn,restrictqrun')dnl",
    // Load is not a reason to refuse: a refused connection looks like a dead daemon to the monitor.
    `define(\`confREFUSE_LA', \`${p.refuseLoadAverage}')dnl`,
    `define(\`confQUEUE_LA', \`${p.queueLoadAverage}')dnl`,
    "define(`confTO_ICONNECT', `15s')dnl",
    "define(`confTO_CONNECT', `30s')dnl",
    "define(`confLOCAL_MAILER', `cyrusv2')dnl",
    `define(\`CYRUSV2_MAILER_ARGS', \`${lmtpMailerArgs(p.lmtp)}')dnl`,
    ...(p.smartHost ? [`define(\`SMART_HOST', \`${p.smartHost}')dnl`] : []),
    "FEATURE(`nocanonify')dnl",
    "FEATURE(`accept_unresolvable_domains')dnl",
    "FEATURE(`no_default_msa')dnl",
    `DAEMON_OPTIONS(\`Family=${family}, Name=MTA, Addr=${p.address}, Port=${p.port}')dnl`,
    `LOCAL_DOMAIN(\`${p.domains.join(' ')}')dnl`,
    "MAILER(`local')dnl",
    "MAILER(`smtp')dnl",
    "MAILER(`cyrusv2')dnl",
    '',
  ];
  return lines.join('\n');
}
