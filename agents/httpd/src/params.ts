import { isAbsolute } from 'node:path';
import { isIP } from 'node:net';
import { z } from 'zod';

const absolute = (what: string) =>
  z.string().refine((s) => isAbsolute(s) && !/["\n;]/.test(s), `${what} must be an absolute path without quotes, semicolons or newlines`);

/**
 * Parameters of `paceline:httpd`. Flat, so they map onto OCF_RESKEY_* and `--param k=v`. Strict:
 * an unknown key is an error. Every file the server writes (pid file, Apache's runtime and lock
 * directories, the startup error log) follows from `runDir`/`logDir`, which default to folders
 * of the instance state directory, so two instances never collide.
 */
export const HttpdParams = z
  .object({
    server: z.enum(['nginx', 'apache']).describe('Which web server: nginx (/usr/sbin/nginx) or apache (/usr/sbin/apache2)'),
    config: absolute('config').optional().describe('The main configuration file; default /etc/nginx/nginx.conf (nginx) or /etc/apache2/apache2.conf (apache)'),
    serverRoot: absolute('serverRoot').optional().describe('apache: the ServerRoot (-d); default the folder of `config`'),
    address: z
      .string()
      .refine((s) => isIP(s) !== 0, 'must be an IPv4 or IPv6 address')
      .default('127.0.0.1')
      .describe('The address the server answers on (the service IP of its group): the monitor GETs it, and a probe looks for a server listening there'),
    port: z.number().int().min(1).max(65535).default(80).describe('The TCP port the server listens on'),
    path: z
      .string()
      .regex(/^\/[^\s]*$/, 'must start with "/" and contain no spaces')
      .default('/')
      .describe('The URL path the monitor GETs'),
    expectStatus: z.number().int().min(100).max(599).default(200).describe('The HTTP status the monitor expects'),
    hostHeader: z.string().min(1).optional().describe("Host header of the monitor's request (name-based virtual hosts); default ADDRESS:PORT"),
    user: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'a user name')
      .optional()
      .describe(
        'The user the worker processes run as: apache sets APACHE_RUN_USER/GROUP (default www-data); nginx adds a `user` directive unless the config sets one (which must then be the same)',
      ),
    runDir: absolute('runDir').optional().describe("Pid file and Apache's runtime directory; default run/ in the instance state directory"),
    logDir: absolute('logDir')
      .optional()
      .describe('Startup error log (nginx -e), APACHE_LOG_DIR; default log/ in the instance state directory (the config may log elsewhere)'),
    checkTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(5000)
      .describe('Timeout of one HTTP check (monitor and start readiness), in ms: no answer by then is a hang'),
    stopTimeoutMs: z.number().int().nonnegative().default(10_000).describe('Wait this long after SIGTERM before SIGKILL of the process group, in ms'),
  })
  .strict();
export type HttpdParams = z.infer<typeof HttpdParams>;
