import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { z } from 'zod';

const absolute = (what: string) => z.string().refine((s) => isAbsolute(s) && !/\n/.test(s), `${what} must be an absolute path`);

/**
 * Parameters of `paceline:radius`. Flat, so they map onto OCF_RESKEY_* and `--param k=v`.
 * Strict: an unknown key is an error. The listeners, clients and users stay in FreeRADIUS's
 * config directory (its `-i`/`-p` options would create a listener without a virtual server, which
 * rejects every request); the agent checks that directory, runs the server on it and talks
 * RADIUS to `address:port`.
 */
export const RadiusParams = z
  .object({
    configDir: absolute('configDir')
      .default('/etc/freeradius/3.0')
      .describe(
        'The FreeRADIUS config directory (-d), checked with freeradius -C before start; its listen sections decide the addresses served (ipaddr = the service IP for one address)',
      ),
    address: z
      .string()
      .refine((s) => isIP(s) !== 0, 'must be an IPv4 or IPv6 address')
      .describe('The address the monitor sends its request to (the service IP, or any address the config listens on); a probe looks for a server bound there'),
    port: z.number().int().min(1).max(65535).default(1812).describe('The authentication port (UDP)'),
    secret: z
      .string()
      .min(1)
      .optional()
      .describe("The shared secret of the client entry (clients.conf) that covers the monitor's source address; or secretFile"),
    secretFile: absolute('secretFile')
      .optional()
      .describe('A file whose first line is the shared secret (instead of secret, to keep it out of the cluster config)'),
    check: z
      .enum(['status-server', 'access-request'])
      .default('status-server')
      .describe(
        "What the monitor sends: Status-Server (RFC 5997; answered when status_server = yes, Debian's default) or an Access-Request for a test user that must be accepted",
      ),
    testUser: z.string().min(1).max(253).optional().describe('check access-request: the test user'),
    testPassword: z.string().max(128).optional().describe('check access-request: its password (or testPasswordFile)'),
    testPasswordFile: absolute('testPasswordFile').optional().describe('check access-request: a file whose first line is the password'),
    checkTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(5000)
      .describe(
        'Timeout of one check (monitor and start readiness), in ms: no verified answer by then is a hang. FreeRADIUS drops requests from unknown clients silently, so a wrong client entry looks like a hang too',
      ),
    retryMs: z.number().int().positive().default(1000).describe('Resend the request after this many ms without an answer (UDP may lose it)'),
    stopTimeoutMs: z.number().int().nonnegative().default(10_000).describe('Wait this long after SIGTERM before SIGKILL of the process group, in ms'),
  })
  .strict()
  .superRefine((p, ctx) => {
    if ((p.secret === undefined) === (p.secretFile === undefined))
      ctx.addIssue({ code: 'custom', path: ['secret'], message: 'give exactly one of secret and secretFile' });
    if (p.check === 'access-request') {
      if (p.testUser === undefined) ctx.addIssue({ code: 'custom', path: ['testUser'], message: 'is required when check is "access-request"' });
      if ((p.testPassword === undefined) === (p.testPasswordFile === undefined))
        ctx.addIssue({
          code: 'custom',
          path: ['testPassword'],
          message: 'give exactly one of testPassword and testPasswordFile when check is "access-request"',
        });
    }
  });
export type RadiusParams = z.infer<typeof RadiusParams>;
