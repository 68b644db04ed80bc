/**
 * The membership transport over UDP: one socket per heartbeat link, bound to this node's address
 * on that link; packets are signed and checked by the membership codec. Decoded messages and
 * dropped packets are handed to `onInput` (feed them to the membership state machine); nothing a
 * peer sends can make this throw.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { PacelineError } from '@paceline/model';
import {
  DROP_REASONS, decode, encode, type DropReason, type Outgoing, type Transport, type TransportInput, type WireMessage,
} from '@paceline/membership';

/** Default UDP port for membership traffic, where an address does not name one. */
export const DEFAULT_MEMBERSHIP_PORT = 5420;

export type TransportErrorCode = 'TRANSPORT_CONFIG' | 'TRANSPORT_BIND_FAILED';

export class TransportError extends PacelineError<TransportErrorCode> {}

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** Parses "10.0.0.1", "10.0.0.1:5420", "fe80::1", "[fe80::1]:5420". */
export function parseEndpoint(text: string, defaultPort: number): Endpoint {
  const t = text.trim();
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (bracket) return { host: bracket[1] as string, port: bracket[2] !== undefined ? Number(bracket[2]) : defaultPort };
  if (isIPv6(t)) return { host: t, port: defaultPort };
  const m = /^([^:]+)(?::(\d+))?$/.exec(t);
  if (!m) throw new TransportError('TRANSPORT_CONFIG', `"${text}" is not an address (write HOST or HOST:PORT, [IPv6]:PORT)`);
  const port = m[2] !== undefined ? Number(m[2]) : defaultPort;
  if (port > 65535) throw new TransportError('TRANSPORT_CONFIG', `"${text}": port ${port} is out of range`);
  return { host: m[1] as string, port };
}

export interface UdpTransportOptions {
  readonly self: string;
  /** Every node's address on each link, e.g. the cluster configuration's `nodes[].addresses`. */
  readonly nodes: readonly { readonly name: string; readonly addresses: Readonly<Record<string, string>> }[];
  /** The cluster key (see keyfile.ts). */
  readonly key: Uint8Array;
  /** Called for every packet, accepted or dropped; must not throw (it runs in the socket's event handler). */
  readonly onInput: (input: TransportInput) => void;
  /** Socket errors (after binding); heartbeats are best effort, so these are reported, not thrown. */
  readonly onError?: (error: Error, link: string) => void;
  /** Port where an address names none. */
  readonly port?: number;
  /** Links to open (default: every link this node has an address on). */
  readonly links?: readonly string[];
  /** Wall clock, for the `sentAt` stamp and the skew check. */
  readonly now?: () => number;
  /** Allowed clock difference between nodes (ms); 0 disables the check. */
  readonly maxSkewMs?: number;
}

export interface TransportStats {
  sent: number;
  sendErrors: number;
  received: number;
  dropped: Record<DropReason, number>;
}

export class UdpTransport implements Transport {
  private readonly sockets = new Map<string, Socket>();
  private readonly endpoints = new Map<string, Endpoint>();
  private disposed = false;
  private readonly counters: TransportStats = {
    sent: 0, sendErrors: 0, received: 0, dropped: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>,
  };

  private constructor(private readonly options: UdpTransportOptions) {}

  /** Binds one socket per link; fails with an error naming the link and address if any bind fails. */
  static async open(options: UdpTransportOptions): Promise<UdpTransport> {
    const t = new UdpTransport(options);
    const port = options.port ?? DEFAULT_MEMBERSHIP_PORT;
    const self = options.nodes.find((n) => n.name === options.self);
    if (self === undefined) throw new TransportError('TRANSPORT_CONFIG', `node "${options.self}" is not in the node list`);
    for (const n of options.nodes)
      for (const [link, addr] of Object.entries(n.addresses)) t.endpoints.set(`${n.name}|${link}`, parseEndpoint(addr, port));
    const links = options.links ?? Object.keys(self.addresses).sort();
    try {
      for (const link of links) {
        const local = t.endpoints.get(`${options.self}|${link}`);
        if (local === undefined) throw new TransportError('TRANSPORT_CONFIG', `node "${options.self}" has no address on link "${link}"`);
        await t.bind(link, local);
      }
    } catch (e) {
      await t.dispose();
      throw e;
    }
    return t;
  }

  private bind(link: string, local: Endpoint): Promise<void> {
    const socket = createSocket({ type: isIPv6(local.host) ? 'udp6' : 'udp4' });
    return new Promise((resolve, reject) => {
      const onBindError = (err: Error): void => {
        socket.close();
        reject(new TransportError('TRANSPORT_BIND_FAILED', `cannot bind the ${link} heartbeat socket to ${local.host}:${local.port}: ${err.message}`, { cause: err }));
      };
      socket.once('error', onBindError);
      socket.bind(local.port, local.host, () => {
        socket.off('error', onBindError);
        socket.on('error', (err) => this.options.onError?.(err, link));
        socket.on('message', (msg, rinfo) => this.receive(link, msg, rinfo));
        this.sockets.set(link, socket);
        resolve();
      });
    });
  }

  /** The address a link's socket is bound to (useful with port 0). */
  localEndpoint(link: string): Endpoint {
    const s = this.sockets.get(link);
    if (s === undefined) throw new TransportError('TRANSPORT_CONFIG', `no socket for link "${link}"`);
    const a = s.address();
    return { host: a.address, port: a.port };
  }

  /** Changes where a peer is reached on a link (e.g. after learning an ephemeral port). */
  setEndpoint(node: string, link: string, endpoint: Endpoint): void {
    this.endpoints.set(`${node}|${link}`, endpoint);
  }

  stats(): TransportStats {
    return { ...this.counters, dropped: { ...this.counters.dropped } };
  }

  send(out: Outgoing): void {
    if (this.disposed) return;
    const socket = this.sockets.get(out.link);
    const to = this.endpoints.get(`${out.to}|${out.link}`);
    if (socket === undefined || to === undefined) {
      this.counters.sendErrors += 1;
      this.options.onError?.(new TransportError('TRANSPORT_CONFIG', `no route to ${out.to} on link ${out.link}`), out.link);
      return;
    }
    const now = (this.options.now ?? Date.now)();
    const packet = encode({ ...out.message, sentAt: Math.floor(now) } as WireMessage, this.options.key);
    this.counters.sent += 1;
    socket.send(packet, to.port, to.host, (err) => {
      if (err) {
        this.counters.sendErrors += 1;
        this.options.onError?.(err, out.link);
      }
    });
  }

  private receive(link: string, msg: Buffer, rinfo: RemoteInfo): void {
    if (this.disposed) return;
    this.counters.received += 1;
    const from = rinfo.family === 'IPv6' ? `[${rinfo.address}]:${rinfo.port}` : `${rinfo.address}:${rinfo.port}`;
    const now = (this.options.now ?? Date.now)();
    const d = decode(msg, this.options.key, { now, ...(this.options.maxSkewMs !== undefined ? { maxSkewMs: this.options.maxSkewMs } : {}) });
    if (d.ok === undefined) {
      this.counters.dropped[d.error] += 1;
      this.options.onInput({ type: 'dropped', link, from, reason: d.error, detail: d.detail });
      return;
    }
    this.options.onInput({ type: 'message', link, from, message: d.ok });
  }

  /** Closes every socket. Idempotent. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const sockets = [...this.sockets.values()];
    this.sockets.clear();
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
