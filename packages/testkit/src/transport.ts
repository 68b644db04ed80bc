/**
 * A membership `Transport` over the InMemoryNetwork, with the real codec: what the UDP transport
 * does, minus the sockets. For daemon tests on the simulated clock.
 */
import { DROP_REASONS, decode, encode, type DropReason, type Outgoing, type Transport, type TransportInput, type WireMessage } from '@paceline/membership';
import type { NetworkPort } from './network.js';

export interface InMemoryTransportOptions {
  readonly network: NetworkPort<Buffer>;
  readonly self: string;
  readonly key: Uint8Array;
  readonly onInput: (input: TransportInput) => void;
  /** Wall clock for `sentAt` and the skew check (e.g. a SimulatedClock's `now`). */
  readonly now: () => number;
}

export class InMemoryTransport implements Transport {
  private disposed = false;
  readonly dropped: Record<DropReason, number> = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;

  constructor(private readonly options: InMemoryTransportOptions) {
    options.network.attach(options.self, (link, from, payload) => this.receive(link, from, payload));
  }

  send(out: Outgoing): void {
    if (this.disposed) return;
    const packet = encode({ ...out.message, sentAt: this.options.now() } as WireMessage, this.options.key);
    this.options.network.send(out.link, this.options.self, out.to, packet);
  }

  private receive(link: string, from: string, payload: Buffer): void {
    if (this.disposed) return;
    const d = decode(payload, this.options.key, { now: this.options.now() });
    if (d.ok === undefined) {
      this.dropped[d.error] += 1;
      this.options.onInput({ type: 'dropped', link, from, reason: d.error, detail: d.detail });
    } else {
      this.options.onInput({ type: 'message', link, from, message: d.ok });
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.options.network.detach(this.options.self);
  }
}

export interface InMemoryObjectTransportOptions {
  readonly network: NetworkPort<WireMessage>;
  readonly self: string;
  readonly onInput: (input: TransportInput) => void;
  /** When given, messages are stamped with `sentAt` from it, as the UDP transport stamps them. */
  readonly now?: () => number;
}

/**
 * A membership `Transport` that passes messages as objects (no encoding, signing or decoding): for
 * long simulations where the codec (tested on its own, and by `InMemoryTransport`) would dominate
 * the run time. Loss, delay and partitions come from the network as usual.
 */
export class InMemoryObjectTransport implements Transport {
  private disposed = false;

  constructor(private readonly options: InMemoryObjectTransportOptions) {
    options.network.attach(options.self, (link, from, message) => {
      if (!this.disposed) this.options.onInput({ type: 'message', link, from, message });
    });
  }

  send(out: Outgoing): void {
    if (this.disposed) return;
    const now = this.options.now;
    this.options.network.send(out.link, this.options.self, out.to, now ? ({ ...out.message, sentAt: Math.floor(now()) } as WireMessage) : out.message);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.options.network.detach(this.options.self);
  }
}
