import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { z } from 'zod';

/** An absolute path that can stand as a value in smb.conf (one line, no comment or quote characters). */
const absolute = (what: string) =>
  z.string().refine((s) => isAbsolute(s) && !/[\n\r"]/.test(s), `${what} must be an absolute path on one line, without quotes`);

const dir = (what: string, samba: string) =>
  absolute(what).optional().describe(`Samba's "${samba}"; default: what the config file says (for two instances on one host, give each its own)`);

/**
 * Parameters of `paceline:samba`. Flat, so they map onto OCF_RESKEY_* and `--param k=v`. Strict:
 * an unknown key is an error. The shares, users and everything else of Samba stay in the config
 * file; the agent adds only the listening address and port and the directory overrides given
 * here (in an overlay that includes the config), so one config can serve several instances.
 */
export const SambaParams = z
  .object({
    config: absolute('config').default('/etc/samba/smb.conf').describe('The smb.conf with the shares (checked with testparm -s before start)'),
    address: z
      .string()
      .refine((s) => isIP(s) !== 0, 'must be an IPv4 or IPv6 address')
      .describe(
        'The address smbd serves on (the service IP of its group): smbd binds only this address (interfaces + bind interfaces only), and the monitor lists the shares there',
      ),
    port: z.number().int().min(1).max(65535).default(445).describe('The TCP port smbd listens on (smb ports)'),
    share: z
      .string()
      .regex(/^[^\\/[\]:|<>+=;,*?"\n]{1,80}$/, 'a share name (no \\ / [ ] : | < > + = ; , * ? ")')
      .describe('The share the monitor expects in the share listing'),
    authFile: absolute('authFile')
      .optional()
      .describe(
        'smbclient authentication file (lines "username = ...", "password = ...", optionally "domain = ..."; mode 600): the monitor lists the shares as this user instead of anonymously',
      ),
    pidDirectory: dir('pidDirectory', 'pid directory'),
    lockDirectory: dir('lockDirectory', 'lock directory'),
    stateDirectory: dir('stateDirectory', 'state directory'),
    cacheDirectory: dir('cacheDirectory', 'cache directory'),
    privateDir: dir('privateDir', 'private dir'),
    ncalrpcDir: dir('ncalrpcDir', 'ncalrpc dir'),
    logFile: absolute('logFile').optional().describe('Samba\'s "log file" (its own log; smbd\'s output goes to smbd.log in the instance state directory)'),
    checkTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(10_000)
      .describe('Timeout of one share listing (monitor and start readiness), in ms: no answer by then is a hang'),
    stopTimeoutMs: z.number().int().nonnegative().default(10_000).describe('Wait this long after SIGTERM before SIGKILL of the process group, in ms'),
  })
  .strict();
export type SambaParams = z.infer<typeof SambaParams>;
