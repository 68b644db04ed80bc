/**
 * The daemons' message channel: signed PeerMessages over UDP, one socket per heartbeat link, on
 * the link address's port + `portOffset` (membership heartbeats use the address's own port). Every
 * message goes out on every shared link; the receiver keeps the first copy. Best effort: callers
 * retransmit what must arrive.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { parseEndpoint, DEFAULT_MEMBERSHIP_PORT, type Endpoint } from '@paceline/runtime';
import { decodePeer, encodePeer, type PeerMessage } from './messages.js';

/** The port through which daemons talk (UDP in production, in-memory in tests). */
export interface PeerChannel {
  send(message: PeerMessage): void;
  dispose(): Promise<void>;
}

export type PeerReceiver = (message: PeerMessage) => void;

/** Drops copies of a message already seen (same sender, incarnation and id). */
export class Dedup {
  private readonly seen = new Set<string>();
  private readonly order: string[] = [];
  constructor(private readonly capacity = 4096) {}
  first(m: Pick<PeerMessage, 'from' | 'boot' | 'id'>): boolean {
    const k = `${m.from}|${m.boot}|${m.id}`;
    if (this.seen.has(k)) return false;
    this.seen.add(k);
    this.order.push(k);
    if (this.order.length > this.capacity) this.seen.delete(this.order.shift()!);
    return true;
  }
}

export interface UdpChannelOptions {
  readonly self: string;
  readonly nodes: readonly { readonly name: string; readonly addresses: Readonly<Record<string, string>> }[];
  readonly key: Uint8Array;
  readonly portOffset: number;
  readonly onMessage: PeerReceiver;
  readonly onDrop?: (link: string, reason: string) => void;
}

export class UdpPeerChannel implements PeerChannel {
  private readonly sockets = new Map<string, Socket>();
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly dedup = new Dedup();
  private disposed = false;

  private constructor(private readonly o: UdpChannelOptions) {}

  static async open(o: UdpChannelOptions): Promise<UdpPeerChannel> {
    const c = new UdpPeerChannel(o);
    for (const n of o.nodes)
      for (const [link, addr] of Object.entries(n.addresses)) {
        const e = parseEndpoint(addr, DEFAULT_MEMBERSHIP_PORT);
        c.endpoints.set(`${n.name}|${link}`, { host: e.host, port: e.port + o.portOffset });
      }
    const self = o.nodes.find((n) => n.name === o.self);
    try {
      for (const link of Object.keys(self?.addresses ?? {}).sort()) await c.bind(link, c.endpoints.get(`${o.self}|${link}`)!);
    } catch (e) {
      await c.dispose();
      throw e;
    }
    return c;
  }

  private bind(link: string, local: Endpoint): Promise<void> {
    const socket = createSocket({ type: isIPv6(local.host) ? 'udp6' : 'udp4' });
    return new Promise((resolve, reject) => {
      socket.once('error', (err) => {
        socket.close();
        reject(new Error(`cannot bind the ${link} daemon channel to ${local.host}:${local.port}: ${err.message}`));
      });
      socket.bind(local.port, local.host, () => {
        socket.removeAllListeners('error');
        socket.on('error', () => undefined);
        socket.on('message', (buf) => this.receive(link, buf));
        this.sockets.set(link, socket);
        resolve();
      });
    });
  }

  private receive(link: string, buf: Buffer): void {
    if (this.disposed) return;
    const d = decodePeer(buf, this.o.key);
    if (d.ok === undefined) {
      this.o.onDrop?.(link, d.error);
      return;
    }
    if (d.ok.to !== this.o.self) return this.o.onDrop?.(link, `misdirected (for ${d.ok.to})`);
    if (this.dedup.first(d.ok)) this.o.onMessage(d.ok);
  }

  send(message: PeerMessage): void {
    if (this.disposed) return;
    const packet = encodePeer(message, this.o.key);
    for (const [link, socket] of this.sockets) {
      const to = this.endpoints.get(`${message.to}|${link}`);
      if (to) socket.send(packet, to.port, to.host, () => undefined);
    }
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const s = [...this.sockets.values()];
    this.sockets.clear();
    await Promise.all(s.map((x) => new Promise<void>((r) => x.close(() => r()))));
  }
}
