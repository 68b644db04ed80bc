/**
 * The membership transport over UDP: one socket per heartbeat link, bound to this node's address
 * on that link; packets are signed and checked by the membership codec. Decoded messages and
 * dropped packets are handed to `onInput` (feed them to the membership state machine); nothing a
 * peer sends can make this throw.
 *
 * Heartbeats go out through one *connected* socket per peer and link (bound to this node's
 * address on the link, ephemeral port). Linux reports ICMP errors only on connected UDP sockets:
 * when the peer's host answers "port unreachable" (it is up, but no daemon listens), the socket
 * fails with ECONNREFUSED and the transport hands the membership layer an `unreachable` input.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { PacelineError } from '@paceline/model';
import { parseHostPort } from '@paceline/agent-api';
import { DROP_REASONS, decode, encode, type DropReason, type Outgoing, type Transport, type TransportInput, type WireMessage } from '@paceline/membership';

/** Default UDP port for membership traffic, where an address does not name one. */
export const DEFAULT_MEMBERSHIP_PORT = 5420;

export type TransportErrorCode = 'TRANSPORT_CONFIG' | 'TRANSPORT_BIND_FAILED';

export class TransportError extends PacelineError<TransportErrorCode> {}

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** Parses "10.0.0.1", "10.0.0.1:5420", "fe80::1", "[fe80::1]:5420" (agent-api's parseHostPort); throws TransportError naming the text. */
export function parseEndpoint(text: string, defaultPort: number): Endpoint {
  const r = parseHostPort(text, defaultPort);
  if (!r.ok) throw new TransportError('TRANSPORT_CONFIG', r.problem);
  return { host: r.host, port: r.port };
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
  /** Packets answered with ICMP port unreachable (the peer's host is up, its daemon is not). */
  refused: number;
  received: number;
  dropped: Record<DropReason, number>;
}

export class UdpTransport implements Transport {
  private readonly sockets = new Map<string, Socket>();
  /** `${peer}|${link}` → the connected socket heartbeats to that peer leave through. */
  private readonly senders = new Map<string, Socket>();
  private readonly endpoints = new Map<string, Endpoint>();
  private disposed = false;
  private readonly counters: TransportStats = {
    sent: 0,
    sendErrors: 0,
    refused: 0,
    received: 0,
    dropped: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>,
  };

  private constructor(private readonly options: UdpTransportOptions) {}

  /** Binds one socket per link; fails with an error naming the link and address if any bind fails. */
  static async open(options: UdpTransportOptions): Promise<UdpTransport> {
    const t = new UdpTransport(options);
    const port = options.port ?? DEFAULT_MEMBERSHIP_PORT;
    const self = options.nodes.find((n) => n.name === options.self);
    if (self === undefined) throw new TransportError('TRANSPORT_CONFIG', `node "${options.self}" is not in the node list`);
    for (const n of options.nodes) for (const [link, addr] of Object.entries(n.addresses)) t.endpoints.set(`${n.name}|${link}`, parseEndpoint(addr, port));
    const links = options.links ?? Object.keys(self.addresses).sort();
    try {
      for (const link of links) {
        const local = t.endpoints.get(`${options.self}|${link}`);
        if (local === undefined) throw new TransportError('TRANSPORT_CONFIG', `node "${options.self}" has no address on link "${link}"`);
        await t.bind(link, local);
        for (const n of options.nodes) {
          if (n.name === options.self || n.addresses[link] === undefined) continue;
          await t.openSender(n.name, link, local);
        }
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
        reject(
          new TransportError('TRANSPORT_BIND_FAILED', `cannot bind the ${link} heartbeat socket to ${local.host}:${local.port}: ${err.message}`, {
            cause: err,
          }),
        );
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

  /** A socket connected to `peer` on `link`, so that ICMP port-unreachable answers surface as ECONNREFUSED. */
  private async openSender(peer: string, link: string, local: Endpoint): Promise<void> {
    const to = this.endpoints.get(`${peer}|${link}`);
    if (to === undefined || to.port === 0) return; // not known yet: see setEndpoint
    const socket = createSocket({ type: isIPv6(local.host) ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close();
        reject(
          new TransportError(
            'TRANSPORT_BIND_FAILED',
            `cannot open the ${link} heartbeat socket to ${peer} (${to.host}:${to.port}) from ${local.host}: ${err.message}`,
            { cause: err },
          ),
        );
      };
      socket.once('error', onError);
      socket.bind(0, local.host, () => {
        socket.connect(to.port, to.host, () => {
          socket.off('error', onError);
          socket.on('error', (err: NodeJS.ErrnoException) => this.senderError(peer, link, err));
          // Peers answer to the link's listening socket; anything arriving here is still checked.
          socket.on('message', (msg, rinfo) => this.receive(link, msg, rinfo));
          if (this.disposed) socket.close();
          else this.senders.set(`${peer}|${link}`, socket);
          resolve();
        });
      });
    });
  }

  private senderError(peer: string, link: string, err: NodeJS.ErrnoException): void {
    if (this.disposed) return;
    if (err.code === 'ECONNREFUSED') {
      this.counters.refused += 1;
      this.options.onInput({ type: 'unreachable', link, node: peer });
      return;
    }
    this.counters.sendErrors += 1;
    this.options.onError?.(err, link);
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
    const k = `${node}|${link}`;
    const old = this.senders.get(k);
    this.senders.delete(k);
    old?.close();
    // Until the new connected socket is open, packets to the peer leave through the listening socket.
    const local = this.endpoints.get(`${this.options.self}|${link}`);
    if (local !== undefined && this.sockets.has(link) && !this.disposed)
      this.openSender(node, link, local).catch((e: Error) => this.options.onError?.(e, link));
  }

  stats(): TransportStats {
    return { ...this.counters, dropped: { ...this.counters.dropped } };
  }

  send(out: Outgoing): void {
    if (this.disposed) return;
    const socket = this.sockets.get(out.link);
    const to = this.endpoints.get(`${out.to}|${out.link}`);
    const connected = this.senders.get(`${out.to}|${out.link}`);
    if (socket === undefined || to === undefined) {
      this.counters.sendErrors += 1;
      this.options.onError?.(new TransportError('TRANSPORT_CONFIG', `no route to ${out.to} on link ${out.link}`), out.link);
      return;
    }
    const now = (this.options.now ?? Date.now)();
    const packet = encode({ ...out.message, sentAt: Math.floor(now) } as WireMessage, this.options.key);
    this.counters.sent += 1;
    const sent = (err: Error | null): void => {
      if (err) this.senderError(out.to, out.link, err);
    };
    if (connected !== undefined) connected.send(packet, sent);
    else socket.send(packet, to.port, to.host, sent);
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
    const sockets = [...this.sockets.values(), ...this.senders.values()];
    this.sockets.clear();
    this.senders.clear();
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
