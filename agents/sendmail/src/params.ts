import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { z } from 'zod';

/** An absolute path that can stand in an m4 string and a sendmail.cf option. */
const path = (what: string) =>
  z
    .string()
    .refine((s) => isAbsolute(s), `${what} must be an absolute path`)
    .refine((s) => !/[\s`'",\\]/.test(s), `${what} must not contain blanks, quotes, commas or backslashes`);

const DOMAIN = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const domain = (what: string) => z.string().regex(DOMAIN, `${what} must be a domain name`);

/** Where Sendmail hands the served domains' mail to Cyrus: `HOST:PORT` (LMTP over TCP) or `unix:/path` (Cyrus's LMTP socket). */
export const LmtpTarget = z.string().refine((s) => {
  if (s.startsWith('unix:')) return isAbsolute(s.slice(5)) && !/[\s`'",\\]/.test(s);
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(s);
  return m !== null && isIP(m[1]!) !== 0 && Number(m[2]) > 0 && Number(m[2]) < 65536;
}, 'must be ADDRESS:PORT (an IP address) or unix:/absolute/socket');

/**
 * Parameters of `paceline:sendmail`. Flat, so they map onto OCF_RESKEY_* and `--param k=v`.
 * Strict: an unknown key is an error. By default the agent builds sendmail.cf with sendmail-cf's m4
 * macros from these parameters: the served `domains` are local, and local mail goes to Cyrus over
 * LMTP (the cyrusv2 mailer) at `lmtp`; the queue directory and pid file always come from here.
 */
export const SendmailParams = z
  .object({
    address: z
      .string()
      .refine((s) => isIP(s) !== 0, 'must be an IPv4 or IPv6 address')
      .default('127.0.0.1')
      .describe('The address Sendmail accepts SMTP on (DaemonPortOptions Addr=): the monitor connects there, and a probe looks for sendmail listening there'),
    port: z.number().int().min(1).max(65535).default(25).describe('The SMTP port'),
    domains: z
      .array(domain('each domain'))
      .default([])
      .describe('The mail domains served here (class w): their mail goes to Cyrus over LMTP; needed unless `config` is given'),
    lmtp: LmtpTarget.default('127.0.0.1:2003').describe(
      'Where Cyrus takes LMTP: ADDRESS:PORT (its service IP, so Sendmail on either node reaches it) or unix:/path/to/socket/lmtp',
    ),
    hostname: domain('hostname').optional().describe("The name Sendmail greets with ($j, confDOMAIN_NAME); default the host's qualified name"),
    smartHost: z
      .string()
      .regex(/^\[?[A-Za-z0-9.:-]+\]?$/, 'a host name or [address]')
      .optional()
      .describe('Send mail for other domains through this relay (SMART_HOST) instead of looking up MX records'),
    config: path('config')
      .optional()
      .describe('A sendmail.cf of your own, used as is (its DaemonPortOptions must match address and port); default: generated from these parameters'),
    queueDir: path('queueDir')
      .default('/var/spool/mqueue')
      .describe('The queue directory (-O QueueDirectory=): mail accepted but not yet delivered, e.g. while Cyrus is away, waits here'),
    queueInterval: z
      .string()
      .regex(/^[1-9]\d*[smhdw]$/, 'a Sendmail interval such as 30s, 1m or 1h')
      .default('1m')
      .describe('How often the daemon runs the queue (-q), i.e. retries mail Cyrus could not take'),
    runDir: path('runDir').optional().describe("The pid file's directory (-O PidFile=); default run/ in the instance state directory"),
    refuseLoadAverage: z
      .number()
      .int()
      .positive()
      .max(1_000_000)
      .default(10_000)
      .describe(
        "Refuse SMTP connections while the load average exceeds this (RefuseLA). Sendmail's own default, 12 per CPU, makes a busy node's" +
          ' Sendmail refuse connections, which the monitor cannot tell from a dead daemon: it would be restarted or failed over for load. Default: effectively never',
      ),
    queueLoadAverage: z
      .number()
      .int()
      .positive()
      .max(1_000_000)
      .default(10_000)
      .describe(
        "Queue mail instead of delivering it, and skip queue runs, while the load average exceeds this (QueueLA; Sendmail's own default 8 per CPU). Default: effectively never",
      ),
    checkTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(5000)
      .describe('Timeout of one SMTP exchange (monitor and start readiness), in ms: no answer by then is a hang'),
    stopTimeoutMs: z.number().int().nonnegative().default(10_000).describe('Wait this long after SIGTERM before SIGKILL of the process group, in ms'),
  })
  .strict()
  .refine((p) => p.config !== undefined || p.domains.length > 0, {
    message: 'give the domains served here (or a sendmail.cf of your own in config)',
    path: ['domains'],
  });
export type SendmailParams = z.infer<typeof SendmailParams>;
