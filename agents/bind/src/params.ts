import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { z } from 'zod';

const absolute = (what: string) => z.string().refine((s) => isAbsolute(s), `${what} must be an absolute path`);

export const RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'NS', 'PTR', 'SOA', 'SRV', 'TXT'] as const;

/**
 * Parameters of `paceline:bind`. Flat, so they map onto OCF_RESKEY_* and `--param k=v`. Strict:
 * an unknown key is an error. named's lock file follows from `runDir` (default: run/ in the
 * instance state directory); its pid file and session key are where the configuration says
 * (named has no command-line option for them), and their folder is created for `user`.
 */
export const BindParams = z
  .object({
    config: absolute('config').default('/etc/bind/named.conf').describe("named's configuration file"),
    address: z
      .string()
      .refine((s) => isIP(s) !== 0, 'must be an IPv4 or IPv6 address')
      .default('127.0.0.1')
      .describe('The address named answers on (the service IP of its group): the monitor queries it, and a probe looks for named listening there'),
    port: z.number().int().min(1).max(65535).default(53).describe('The DNS port named listens on there (set by listen-on in the config)'),
    user: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'a user name')
      .default('bind')
      .describe('named drops privileges to this user (named -u)'),
    zones: z
      .array(z.string().regex(/^[^=\s]+=\/\S+$/, 'must be ZONE=/absolute/zone/file'))
      .default([])
      .describe('Zones to check with named-checkzone at start, each ZONE=FILE'),
    checkConfigZones: z.boolean().default(true).describe('Start: named-checkconf -z, which also loads every primary zone of the configuration'),
    queryName: z.string().min(1).default('localhost').describe('The name the monitor looks up'),
    queryType: z.enum(RECORD_TYPES).default('A').describe('The record type the monitor asks for'),
    expectAnswer: z
      .string()
      .min(1)
      .optional()
      .describe('An answer the monitor must get among the records (A: 10.0.0.5; MX: "10 mail.example.org"; TXT: the text); default: any answer'),
    runDir: absolute('runDir').optional().describe("named's lock file (named -X); default run/ in the instance state directory"),
    checkTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(5000)
      .describe('Timeout of one DNS query (monitor and start readiness), in ms: no answer by then is a hang'),
    stopTimeoutMs: z.number().int().nonnegative().default(10_000).describe('Wait this long after SIGTERM before SIGKILL of the process group, in ms'),
  })
  .strict();
export type BindParams = z.infer<typeof BindParams>;
