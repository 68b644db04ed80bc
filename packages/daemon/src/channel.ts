/**
 * The daemons' message channel: signed PeerMessages over UDP, one socket per heartbeat link, on
 * the link address's port + `portOffset` (membership heartbeats use the address's own port). Every
 * message goes out on every shared link, as one or more signed fragments (messages.ts,
 * fragments.ts); the receiver reassembles fragments from any link and delivers complete messages
 * (copies of a recently completed one are counted as duplicates). Which messages are fresh — for
 * this incarnation, from the sender's newest one, not seen before — the daemon decides
 * (freshness.ts), whatever the channel. Best effort: callers retransmit what must arrive.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { parseEndpoint, DEFAULT_MEMBERSHIP_PORT, type Endpoint } from '@paceline/runtime';
import { PEER_LIMITS, PeerDecoder, encodePeer, type PeerMessage } from './messages.js';
import type { DropReason, FrameLimits } from './fragments.js';
import type { Timers } from './timers.js';

/** The port through which daemons talk (UDP in production, in-memory in tests). */
export interface PeerChannel {
  /** Best effort; a message that cannot be sent (over the size limit) is refused with a reason, never thrown. */
  send(message: PeerMessage): PeerSendRefusal | void;
  dispose(): Promise<void>;
  /** Counters (drops by reason, largest message sent), when the channel keeps them. */
  stats?(): PeerChannelStats;
}

/** Why `send` did not send a message (e.g. "a report message to serv2 is 5000000 bytes, over …"). */
export interface PeerSendRefusal {
  readonly refused: string;
}

export type PeerReceiver = (message: PeerMessage) => void;

/** Counters of a channel: drops by reason, duplicates, and the largest message sent. */
export interface PeerChannelStats {
  readonly dropped: Readonly<Record<string, number>>;
  /** Copies of fragments or messages already received (normal: every link carries a copy). */
  readonly duplicates: number;
  /** Messages received in more than one fragment. */
  readonly reassembled: number;
  readonly sent: { readonly messages: number; readonly packets: number; readonly refused: number };
  /** The largest message sent so far: its type, JSON size, size on the wire (after compression) and fragments. */
  readonly largest?: { readonly type: string; readonly bytes: number; readonly wireBytes: number; readonly fragments: number };
}

/** The timers the channel's reassembly sweep needs (the daemon's `Timers`). */
export type ChannelTimers = Pick<Timers, 'setInterval' | 'clearInterval'>;

export interface UdpChannelOptions {
  readonly self: string;
  readonly nodes: readonly { readonly name: string; readonly addresses: Readonly<Record<string, string>> }[];
  readonly key: Uint8Array;
  readonly portOffset: number;
  readonly onMessage: PeerReceiver;
  /** The time (ms) that drives reassembly timeouts (the daemon's clock). */
  readonly now: () => number;
  /** When given, partial messages are also swept on a timer (else only when packets arrive). */
  readonly timers?: ChannelTimers;
  /** Called for every packet or partial message dropped (counted in `stats()` as well). */
  readonly onDrop?: (link: string, reason: DropReason, detail: string) => void;
  readonly limits?: FrameLimits;
  /** Deflate large messages (default true). */
  readonly compress?: boolean;
}

/** Receive/send buffer asked of the kernel per socket (it caps it at net.core.rmem_max/wmem_max). */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
/**
 * Received packets are handled in slices of at most this many ms, the event loop free in between:
 * a burst of hundreds of results must not hold back the timers that send the membership heartbeats
 * (a peer that hears none for a dead time declares this node lost).
 */
export const RECEIVE_SLICE_MS = 8;
/** Packets waiting for their slice at most; beyond, the oldest is dropped (counted as `evicted`). */
const MAX_QUEUED_PACKETS = 8192;

export class UdpPeerChannel implements PeerChannel {
  private readonly sockets = new Map<string, Socket>();
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly decoder: PeerDecoder;
  private readonly limits: FrameLimits;
  private readonly sent = { messages: 0, packets: 0, refused: 0 };
  private largest: PeerChannelStats['largest'];
  private dropLink = '';
  private sweeper: unknown;
  private disposed = false;
  /** Packets received and not yet handled (see RECEIVE_SLICE_MS), and whether a slice is scheduled. */
  private readonly inbound: { readonly link: string; readonly buf: Buffer }[] = [];
  private draining = false;

  private constructor(private readonly o: UdpChannelOptions) {
    this.limits = o.limits ?? PEER_LIMITS;
    this.decoder = new PeerDecoder(o.key, this.limits, (reason, detail) => o.onDrop?.(this.dropLink, reason, detail));
  }

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
    if (o.timers) {
      const ms = Math.max(50, Math.round(c.limits.reassemblyTimeoutMs / 2));
      c.sweeper = o.timers.setInterval(() => {
        if (!c.disposed) c.sweep();
      }, ms);
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
        // Room for a burst of fragments; the kernel caps this silently, a refusal is harmless.
        try {
          socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
          socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
        } catch (e) {
          void e;
        }
        socket.on('message', (buf) => this.enqueue(link, buf));
        this.sockets.set(link, socket);
        resolve();
      });
    });
  }

  /** Evicts timed-out partial messages (reported with link "*": a message's fragments may come over any link). */
  private sweep(): void {
    this.dropLink = '*';
    this.decoder.reassembler.sweep(this.o.now());
  }

  private enqueue(link: string, buf: Buffer): void {
    if (this.disposed) return;
    if (this.inbound.length >= MAX_QUEUED_PACKETS) {
      const old = this.inbound.shift()!;
      this.dropLink = old.link;
      this.decoder.reassembler.drop('evicted', `more than ${MAX_QUEUED_PACKETS} packets waiting to be handled`);
    }
    this.inbound.push({ link, buf });
    if (!this.draining) {
      this.draining = true;
      setImmediate(() => this.drain());
    }
  }

  /** Handles waiting packets for up to RECEIVE_SLICE_MS, then lets the event loop run (timers first) before the next slice. */
  private drain(): void {
    const until = performance.now() + RECEIVE_SLICE_MS;
    while (this.inbound.length > 0 && !this.disposed) {
      const p = this.inbound.shift()!;
      this.receive(p.link, p.buf);
      if (performance.now() >= until) break;
    }
    if (this.inbound.length > 0 && !this.disposed) setImmediate(() => this.drain());
    else this.draining = false;
  }

  private receive(link: string, buf: Buffer): void {
    if (this.disposed) return;
    this.sweep();
    this.dropLink = link;
    let m: PeerMessage | undefined;
    try {
      m = this.decoder.accept(buf, this.o.now());
    } catch (e) {
      // Not expected (the decoder returns drops as values); a bug must not take the socket down.
      this.decoder.reassembler.drop('malformed', `decoder error: ${(e as Error).message}`);
      return;
    }
    if (m === undefined) return;
    if (m.to !== this.o.self) return this.decoder.reassembler.drop('misdirected', `a ${m.type} message for ${m.to}`);
    this.o.onMessage(m);
  }

  /** Sends on every shared link; a message over the limits is refused (returned, counted), never thrown. */
  send(message: PeerMessage): PeerSendRefusal | void {
    if (this.disposed) return;
    const e = encodePeer(message, this.o.key, { limits: this.limits, ...(this.o.compress !== undefined ? { compress: this.o.compress } : {}) });
    if (e.error !== undefined) {
      this.sent.refused += 1;
      return { refused: e.error };
    }
    this.sent.messages += 1;
    if (!this.largest || e.bytes > this.largest.bytes)
      this.largest = { type: message.type, bytes: e.bytes, wireBytes: e.wireBytes, fragments: e.packets.length };
    for (const [link, socket] of this.sockets) {
      const to = this.endpoints.get(`${message.to}|${link}`);
      if (!to) continue;
      for (const packet of e.packets) {
        this.sent.packets += 1;
        socket.send(packet, to.port, to.host, () => undefined);
      }
    }
  }

  stats(): PeerChannelStats {
    const r = this.decoder.reassembler.stats();
    return {
      dropped: { ...r.dropped },
      duplicates: r.duplicates,
      reassembled: r.reassembled,
      sent: { ...this.sent },
      ...(this.largest ? { largest: this.largest } : {}),
    };
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    if (this.sweeper !== undefined) this.o.timers?.clearInterval(this.sweeper);
    this.sweeper = undefined;
    const s = [...this.sockets.values()];
    this.sockets.clear();
    await Promise.all(s.map((x) => new Promise<void>((r) => x.close(() => r()))));
  }
}
