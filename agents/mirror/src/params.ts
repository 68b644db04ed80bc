/**
 * `paceline:mirror` parameters. The zod schema is the single source of truth: bad parameters never
 * reach an action, and each error names the parameter.
 */
import { isIP } from 'node:net';
import { isAbsolute, normalize, relative } from 'node:path';
import { z } from 'zod';
import { parseHostPort } from '@paceline/agent-api';

/** No control characters: paths and addresses are written into rsyncd.conf, one value per line. */
const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;

const AbsolutePath = (what: string) =>
  z
    .string()
    .min(1, `${what} is empty`)
    .regex(NO_CONTROL, `${what} must not contain control characters (newlines, tabs)`)
    .refine((v) => isAbsolute(v), { message: `${what} must be an absolute path` });

/** "ADDRESS" or "ADDRESS:PORT"; IPv6 as "[ADDR]" or "[ADDR]:PORT" (a bare IPv6 address without port also works). */
const Endpoint = z.string().min(1).regex(NO_CONTROL, 'must not contain control characters').regex(/^\S+$/, 'must not contain spaces');

export const MirrorParams = z
  .object({
    path: AbsolutePath('path')
      .refine((v) => normalize(v) !== '/', { message: 'path must not be "/": mirror a data directory, not the whole system' })
      .describe('The mirrored data directory (absolute; the service writes here on the Promoted node)')
      .meta({ unique: true }),
    peers: z
      .record(z.string().min(1), Endpoint)
      .refine((m) => Object.keys(m).length === 2, { message: 'peers must name exactly two nodes (node: "IP[:PORT]")' })
      .describe('The two nodes and each one\'s address on the mirror link, e.g. { serv1: "10.99.0.1", serv2: "10.99.0.2:8731" }'),
    port: z.number().int().min(1).max(65535).default(8730).describe('TCP port of the rsync daemon each started instance runs (when a peers entry names none)'),
    metaDir: AbsolutePath('metaDir').optional().describe('Where the agent keeps its manifest, conflicts and staging area (outside path); default: PATH.mirror'),
    intervalMs: z.number().int().min(100).default(2000).describe('The Unpromoted replica pulls the Promoted copy this often, in ms'),
    maxLagMs: z
      .number()
      .int()
      .min(1000)
      .default(60_000)
      .describe(
        'Monitor reports degraded when the replica, following a Promoted peer, has not completed a pull for this long (peer unreachable or pulls failing)',
      ),
    secretFile: AbsolutePath('secretFile')
      .optional()
      .describe(
        "File holding a shared secret that the peers' rsync daemons require; both nodes use the same file content (default: the cluster key the daemon runs with)",
      ),
    auth: z
      .enum(['key', 'none'])
      .default('key')
      .describe(
        "key: the rsync daemons require a password both nodes derive from secretFile or the cluster key (start is misconfigured without either); none: no password, only the peer's address is admitted (any user on the peer can read this copy)",
      ),
    rsync: z.string().min(1).default('rsync').describe('The rsync program'),
  })
  .strict()
  .superRefine((p, ctx) => {
    const meta = p.metaDir ?? `${normalize(p.path)}.mirror`;
    const inside = (a: string, b: string) => {
      const r = relative(b, a);
      return r === '' || (!r.startsWith('..') && !isAbsolute(r));
    };
    if (p.metaDir !== undefined && (inside(meta, p.path) || inside(p.path, meta))) {
      ctx.addIssue({ code: 'custom', path: ['metaDir'], message: `metaDir must be outside path "${p.path}" (and not contain it)` });
    }
    if (p.auth === 'none' && p.secretFile !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['auth'], message: 'auth: none contradicts secretFile: remove one of them' });
    }
    for (const [node, ep] of Object.entries(p.peers)) {
      if (parseEndpoint(ep, p.port) === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['peers', node],
          message: `"${ep}" is not IP, IP:PORT or [IPV6]:PORT (an IP address on the mirror link, not a host name)`,
        });
    }
  });
export type MirrorParams = z.infer<typeof MirrorParams>;

export interface Endpoint {
  /** The address as the rsync daemon binds it (IPv6 without brackets). */
  readonly address: string;
  readonly port: number;
  /** host:port for rsync:// URLs (IPv6 in brackets). */
  readonly authority: string;
}

/** Parses "IP", "IP:PORT", "[V6]", "[V6]:PORT" or a bare IPv6 address (agent-api's parseHostPort); undefined when malformed, port 0, or not an IP literal. */
export function parseEndpoint(text: string, defaultPort: number): Endpoint | undefined {
  const r = parseHostPort(text, defaultPort);
  // IP literals only: the daemon binds the address and admits the peer by it (no name lookups).
  if (!r.ok || r.port < 1 || isIP(r.host) === 0) return undefined;
  const authority = r.host.includes(':') ? `[${r.host}]:${r.port}` : `${r.host}:${r.port}`;
  return { address: r.host, port: r.port, authority };
}

/** Where everything lives on one node, derived from the parameters and the instance's state directory. */
export interface Layout {
  readonly node: string;
  readonly peer: string;
  readonly data: string;
  readonly self: Endpoint;
  readonly remote: Endpoint;
  /** The agent's metadata directory (outside the data). */
  readonly metaDir: string;
  /** Served read-only to the peer as the `meta` module: status.json and manifest.json. */
  readonly pubDir: string;
  readonly manifestFile: string;
  readonly statusFile: string;
  readonly conflictsDir: string;
  readonly stagingDir: string;
  /** Per-instance runtime files: rsyncd.conf, pids, the worker's config and status, the peer's fetched metadata. */
  readonly stateDir: string;
}

/** The layout for this node, or a sentence saying why the parameters do not fit it. */
export function layoutFor(p: MirrorParams, node: string, stateDir: string): Layout | string {
  const nodes = Object.keys(p.peers).sort();
  if (!nodes.includes(node)) return `this node "${node}" is not in peers (${nodes.join(', ')})`;
  const peer = nodes.find((n) => n !== node)!;
  const self = parseEndpoint(p.peers[node]!, p.port);
  const remote = parseEndpoint(p.peers[peer]!, p.port);
  if (!self || !remote) return 'peers has a malformed address';
  const data = normalize(p.path).replace(/\/+$/, '');
  const metaDir = normalize(p.metaDir ?? `${data}.mirror`).replace(/\/+$/, '');
  const pubDir = `${metaDir}/pub`;
  return {
    node,
    peer,
    data,
    self,
    remote,
    metaDir,
    pubDir,
    stateDir,
    manifestFile: `${pubDir}/manifest.json`,
    statusFile: `${pubDir}/status.json`,
    conflictsDir: `${metaDir}/conflicts`,
    stagingDir: `${metaDir}/staging`,
  };
}
