/**
 * The two ways a daemon talks to its peers, opened at start: the membership transport (heartbeats,
 * membership's own codec) and the daemon channel (signed, fragmented daemon messages, channel.ts).
 * UDP on every link unless the options give factories (tests use in-memory ones).
 */
import type { Logger } from '@paceline/agent-api';
import type { Transport, TransportInput } from '@paceline/membership';
import { UdpTransport } from '@paceline/runtime';
import { UdpPeerChannel, type PeerChannel, type PeerReceiver } from './channel.js';
import type { NodeAddresses } from './membership-settings.js';
import type { DaemonOptions } from './options.js';

export interface Transports {
  readonly transport: Transport;
  readonly channel: PeerChannel;
}

/** What arrives: heartbeats to membership, daemon messages to the peer router; forged ones are warned about. */
export interface TransportHandlers {
  readonly log: Logger;
  input(i: TransportInput): void;
  receive: PeerReceiver;
  forged(link: string, detail: string): void;
}

/** Opens both (closing the first again when the second cannot be opened). */
export async function openTransports(o: DaemonOptions, nodes: readonly NodeAddresses[], h: TransportHandlers): Promise<Transports> {
  const transport = o.transport
    ? await o.transport((i) => h.input(i))
    : await UdpTransport.open({ self: o.node, nodes: [...nodes], key: o.key, onInput: (i) => h.input(i), now: () => o.clock.now() });
  try {
    const channel = o.channel
      ? await o.channel((m) => h.receive(m))
      : await UdpPeerChannel.open({
          self: o.node,
          nodes: [...nodes],
          key: o.key,
          portOffset: o.portOffset ?? 1,
          onMessage: (m) => h.receive(m),
          now: () => o.clock.now(),
          timers: o.timers,
          onDrop: (link, reason, detail) => {
            h.log.debug('daemon message dropped', { link, reason, detail });
            if (reason === 'forged') h.forged(link, detail);
          },
        });
    return { transport, channel };
  } catch (e) {
    await transport.dispose();
    throw e;
  }
}

/** Counters of what a daemon sent and received, for metrics (see `Daemon.messageStats`). */
export interface DaemonMessageStats {
  readonly heartbeats?: { readonly sent: number; readonly received: number; readonly sendErrors: number };
  readonly messages?: { readonly sent: number; readonly packets: number; readonly refused: number };
}

/** The counters of both: heartbeat packets when the transport counts them (the UDP one does), and daemon-channel messages. */
export function messageStats(transport: Transport | undefined, channel: PeerChannel | undefined): DaemonMessageStats {
  const t = (transport as { stats?: () => { sent: number; received: number; sendErrors: number } } | undefined)?.stats?.();
  const c = channel?.stats?.();
  return {
    ...(t ? { heartbeats: { sent: t.sent, received: t.received, sendErrors: t.sendErrors } } : {}),
    ...(c ? { messages: { sent: c.sent.messages, packets: c.sent.packets, refused: c.sent.refused } } : {}),
  };
}
