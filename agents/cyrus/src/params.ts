import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { z } from 'zod';

/** An absolute path that can stand inside a quoted cyrus.conf argument and an imapd.conf value. */
const path = (what: string) =>
  z
    .string()
    .refine((s) => isAbsolute(s), `${what} must be an absolute path`)
    .refine((s) => !/[\s"'\\]/.test(s), `${what} must not contain blanks, quotes or backslashes (cyrus.conf cannot quote them)`);

/** Characters an IMAP quoted string can carry (no CR/LF, 7-bit). */
const imapText = (what: string) =>
  z
    .string()
    .min(1)
    .regex(/^[\x20-\x7e]+$/, `${what}: printable ASCII only (sent as an IMAP quoted string)`);

/**
 * Parameters of `paceline:cyrus`. Flat, so they map onto OCF_RESKEY_* and `--param k=v`. Strict:
 * an unknown key is an error. By default the agent writes imapd.conf and cyrus.conf itself (in
 * the instance state directory) from these parameters, so every path — config directory, spool
 * partition, sockets, proc and lock directories, pid file — follows from them and two instances
 * never share one; `config` / `cyrusConf` use files of your own instead.
 */
export const CyrusParams = z
  .object({
    address: z
      .string()
      .refine((s) => isIP(s) !== 0, 'must be an IPv4 or IPv6 address')
      .default('127.0.0.1')
      .describe(
        'The address Cyrus serves IMAP and LMTP on (the service IP of its group): the monitor connects there, and a probe looks for master listening there',
      ),
    imapPort: z.number().int().min(1).max(65535).default(143).describe('The IMAP port'),
    lmtpPort: z
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(2003)
      .describe('The LMTP port on `address` that Sendmail delivers to (lmtpd -a: trusted, no authentication; 0: none). Start waits until it answers LHLO'),
    config: path('config')
      .optional()
      .describe('An imapd.conf of your own, used as is (the agent reads its paths with cyr_info conf-all); default: generated from these parameters'),
    cyrusConf: path('cyrusConf')
      .optional()
      .describe('A cyrus.conf of your own, used as is (its services must listen on address:imapPort and address:lmtpPort); default: generated'),
    configDirectory: path('configDirectory').default('/var/lib/cyrus').describe('Generated imapd.conf: configdirectory (mailboxes.db, quotas, seen state)'),
    partition: path('partition').default('/var/spool/cyrus/mail').describe('Generated imapd.conf: the default spool partition (the mirrored message files)'),
    runDir: path('runDir').optional().describe('Sockets, proc and lock directories and the pid file; default run/ in the instance state directory'),
    sasldb: path('sasldb').default('/etc/sasldb2').describe('Generated imapd.conf: the SASL password database of the IMAP users (saslpasswd2 -f)'),
    servername: z
      .string()
      .regex(/^[A-Za-z0-9.-]+$/, 'a host name')
      .optional()
      .describe('Generated imapd.conf: servername, also the SASL realm users are looked up in (saslpasswd2 -u); default the host name'),
    admins: z
      .string()
      .regex(/^[A-Za-z0-9_.@-]+( [A-Za-z0-9_.@-]+)*$/, 'user names separated by single spaces')
      .default('cyrus')
      .describe('Generated imapd.conf: admins (who may create mailboxes, e.g. with cyradm)'),
    options: z
      .record(z.string().regex(/^[a-z0-9_-]+$/, 'an imapd.conf option name'), z.string().regex(/^[^\r\n]*$/, 'one line'))
      .default({})
      .describe('Generated imapd.conf: more options, NAME: VALUE (checked by cyr_info conf-lint like the rest)'),
    user: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'a user name')
      .default('cyrus')
      .describe('The Cyrus user: owns the directories; reconstruct, quota and ctl_cyrusdb run as it (master itself starts as root and drops to it)'),
    toolsDir: path('toolsDir')
      .default('/usr/lib/cyrus/bin')
      .describe('Where master, cyr_info, reconstruct, quota and ctl_cyrusdb are (Debian: /usr/lib/cyrus/bin)'),
    reconstruct: z
      .enum(['always', 'never'])
      .default('always')
      .describe(
        'Start: reconcile the spool first (mailboxes.db from every cyrus.header, reconstruct, quota -f), so that message files a mirror resync added or removed are each visible exactly once',
      ),
    mirrorPath: path('mirrorPath')
      .optional()
      .describe(
        'The directory paceline:mirror mirrors (holding the partition, e.g. /var/spool/cyrus): start brings back message files the mirror saved as conflicts, so no message is lost from view',
      ),
    conflictsDir: path('conflictsDir')
      .optional()
      .describe("The mirror's conflicts directory (default MIRRORPATH.mirror/conflicts, the mirror's default metaDir)"),
    testUser: imapText('testUser').optional().describe('The monitor also logs in as this user (IMAP LOGIN) and examines testMailbox'),
    testPassword: imapText('testPassword').optional().describe("testUser's password (visible in the configuration: use a test account)"),
    testMailbox: imapText('testMailbox').default('INBOX').describe('The mailbox the monitor examines after LOGIN'),
    checkTimeoutMs: z.number().int().positive().default(5000).describe('Timeout of one IMAP (or LMTP) exchange, in ms: no answer by then is a hang'),
    stopTimeoutMs: z.number().int().nonnegative().default(10_000).describe('Wait this long after SIGTERM before SIGKILL of the process group, in ms'),
  })
  .strict()
  .refine((p) => (p.testUser === undefined) === (p.testPassword === undefined), { message: 'testUser and testPassword go together', path: ['testPassword'] });
export type CyrusParams = z.infer<typeof CyrusParams>;
