/**
 * `WitnessServer`: the witness arbiter over UDP (`paceline witness`). One socket; every datagram is
 * checked by the arbiter codec and decided by `arbiterStep` (@paceline/membership), and the reply,
 * if any, goes back to the datagram's source. Nothing a client sends can make this throw; every
 * request ends up counted (grants, refusals, drops by reason) and reported through `onEvent`.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import {
  ARBITER_DROP_REASONS,
  arbiterStep,
  checkKey,
  decodeArbiterRequest,
  encodeArbiter,
  initialArbiterState,
  type ArbiterDropReason,
  type ArbiterEvent,
  type ArbiterState,
  type FrameError,
  type ResolvedArbiterConfig,
} from '@paceline/membership';
import { TransportError, parseEndpoint, type Endpoint } from './udp-transport.js';

/** Default UDP port of the witness arbiter, where an address does not name one. */
export const DEFAULT_WITNESS_PORT = 5430;

/** What the server did with one datagram: the arbiter's event, or a drop by the codec; `from` is the source address. */
export type WitnessEvent =
  | (ArbiterEvent & { readonly from: string })
  | { readonly type: 'dropped'; readonly reason: FrameError; readonly node?: undefined; readonly detail: string; readonly from: string };

export interface WitnessServerOptions {
  /** Where to listen: "HOST[:PORT]" (default port 5430) or an endpoint; port 0 picks a free one. */
  readonly listen: string | Endpoint;
  /** The cluster key (readKey). */
  readonly key: Uint8Array;
  /** The cluster's node names. */
  readonly nodes: readonly string[];
  /** When set, requests must name this cluster (the configuration's clusterName). */
  readonly cluster?: string;
  readonly leaseMs?: number;
  readonly maxSkewMs?: number;
  /** Wall clock (ms), against which requests' `sentAt` is checked. */
  readonly now?: () => number;
  /** A clock that never jumps (ms), on which leases are measured. Default: performance.now(). */
  readonly monotonic?: () => number;
  /** Called for every datagram, after it was decided; must not throw. */
  readonly onEvent?: (event: WitnessEvent) => void;
  /** Socket errors after binding (replies are best effort). */
  readonly onError?: (error: Error) => void;
}

export interface WitnessStats {
  received: number;
  /** Claims granted, renewals included; `renewals` counts those alone. */
  granted: number;
  renewals: number;
  refused: number;
  released: number;
  /** Claims answered "unavailable" during the startup hold. */
  unavailable: number;
  dropped: Record<ArbiterDropReason, number>;
  sendErrors: number;
}

export class WitnessServer {
  private state: ArbiterState;
  private disposed = false;
  private readonly counters: WitnessStats = {
    received: 0,
    granted: 0,
    renewals: 0,
    refused: 0,
    released: 0,
    unavailable: 0,
    sendErrors: 0,
    dropped: Object.fromEntries(ARBITER_DROP_REASONS.map((r) => [r, 0])) as Record<ArbiterDropReason, number>,
  };

  private constructor(
    private readonly options: WitnessServerOptions,
    private readonly socket: Socket,
    private readonly monotonic: () => number,
  ) {
    this.state = initialArbiterState(
      {
        nodes: [...options.nodes],
        ...(options.cluster !== undefined ? { cluster: options.cluster } : {}),
        ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}),
        ...(options.maxSkewMs !== undefined ? { maxSkewMs: options.maxSkewMs } : {}),
      },
      monotonic(),
    );
  }

  /**
   * Binds the socket. Throws TransportError for a bad or unusable address, MembershipError for a
   * bad key or configuration (unknown settings, duplicate nodes, non-positive times).
   */
  static async open(options: WitnessServerOptions): Promise<WitnessServer> {
    checkKey(options.key);
    const at = typeof options.listen === 'string' ? parseEndpoint(options.listen, DEFAULT_WITNESS_PORT) : options.listen;
    const monotonic = options.monotonic ?? (() => performance.now());
    const socket = createSocket({ type: isIPv6(at.host) ? 'udp6' : 'udp4' });
    let server: WitnessServer;
    try {
      server = new WitnessServer(options, socket, monotonic);
    } catch (e) {
      socket.close();
      throw e;
    }
    await new Promise<void>((resolve, reject) => {
      const onBindError = (err: Error): void => {
        socket.close();
        reject(new TransportError('TRANSPORT_BIND_FAILED', `cannot listen for witness requests on ${at.host}:${at.port}: ${err.message}`, { cause: err }));
      };
      socket.once('error', onBindError);
      socket.bind(at.port, at.host, () => {
        socket.off('error', onBindError);
        socket.on('error', (err) => options.onError?.(err));
        socket.on('message', (msg, rinfo) => server.receive(msg, rinfo));
        resolve();
      });
    });
    return server;
  }

  /** The bound address (useful with port 0). */
  address(): Endpoint {
    const a = this.socket.address();
    return { host: a.address, port: a.port };
  }

  /** The arbiter's configuration as resolved (defaults filled in, the startup hold derived). */
  get config(): ResolvedArbiterConfig {
    return this.state.config;
  }

  /** Who holds the vote now, and for how much longer (ms); undefined when nobody does. */
  holder(): { readonly node: string; readonly boot: number; readonly remainingMs: number } | undefined {
    const h = this.state.holder;
    const at = this.monotonic();
    return h !== undefined && h.until > at ? { node: h.node, boot: h.boot, remainingMs: Math.ceil(h.until - at) } : undefined;
  }

  stats(): WitnessStats {
    return { ...this.counters, dropped: { ...this.counters.dropped } };
  }

  private receive(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.disposed) return;
    this.counters.received += 1;
    const from = rinfo.family === 'IPv6' ? `[${rinfo.address}]:${rinfo.port}` : `${rinfo.address}:${rinfo.port}`;
    const decoded = decodeArbiterRequest(msg, this.options.key);
    if (decoded.ok === undefined) {
      this.counters.dropped[decoded.error] += 1;
      this.options.onEvent?.({ type: 'dropped', reason: decoded.error, detail: decoded.detail, from });
      return;
    }
    const now = (this.options.now ?? Date.now)();
    const r = arbiterStep(this.state, { request: decoded.ok, now, at: this.monotonic() });
    this.state = r.state;
    const e = r.event;
    switch (e.type) {
      case 'granted':
        this.counters.granted += 1;
        if (e.renewal) this.counters.renewals += 1;
        break;
      case 'refused':
        this.counters.refused += 1;
        break;
      case 'released':
        this.counters.released += 1;
        break;
      case 'unavailable':
        this.counters.unavailable += 1;
        break;
      case 'dropped':
        this.counters.dropped[e.reason] += 1;
        break;
    }
    if (r.reply !== undefined) {
      this.socket.send(encodeArbiter(r.reply, this.options.key), rinfo.port, rinfo.address, (err) => {
        if (err && !this.disposed) {
          this.counters.sendErrors += 1;
          this.options.onError?.(err);
        }
      });
    }
    this.options.onEvent?.({ ...e, from });
  }

  /** Closes the socket. Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
