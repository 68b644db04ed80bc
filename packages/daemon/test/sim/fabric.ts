/**
 * What sits between the daemons and an InMemoryNetwork: hosts, not names. Each daemon attaches
 * through its host's port; two hosts may run under one node name (a cloned machine), and packets to
 * that name then reach both or one of them at random (two machines with one address). An attacker
 * on the wire may record what is sent and put recorded packets back later, straight to the receiver
 * (it sits on the receiver's segment: partitions do not stop it).
 */
import type { InMemoryNetwork, NetworkPort, Prng, Receiver } from '@paceline/testkit';

export interface Recorded<T> {
  readonly tick: number;
  readonly link: string;
  readonly from: string;
  readonly to: string;
  readonly payload: T;
}

export class Fabric<T> {
  /** node name → host → receiver */
  private readonly hosts = new Map<string, Map<string, Receiver<T>>>();
  /** node name → how packets reach its hosts when there are two */
  private readonly delivery = new Map<string, 'both' | 'split'>();
  /** Every packet sent, while recording. */
  readonly recorded: Recorded<T>[] = [];
  recording = false;
  tick = 0;

  constructor(
    readonly net: InMemoryNetwork<T>,
    private readonly prng: Prng,
  ) {}

  /**
   * A port through which one of `host`'s transports attaches and sends (one port per transport: a
   * port detaches only the receiver it attached, so a dead daemon's late dispose cannot detach the
   * next daemon of its host).
   */
  port(host: string): NetworkPort<T> {
    let mine: Receiver<T> | undefined;
    return {
      attach: (node, receive) => {
        let m = this.hosts.get(node);
        if (m === undefined) this.hosts.set(node, (m = new Map()));
        m.set(host, (mine = receive));
        if (!this.net.isAttached(node)) this.net.attach(node, (link, from, payload) => this.receive(node, link, from, payload));
      },
      detach: (node) => {
        const m = this.hosts.get(node);
        if (m !== undefined && mine !== undefined && m.get(host) === mine) m.delete(host);
        mine = undefined;
        if (m === undefined || m.size === 0) this.net.detach(node);
      },
      send: (link, from, to, payload) => {
        if (this.recording) this.recorded.push({ tick: this.tick, link, from, to, payload });
        this.net.send(link, from, to, payload);
      },
    };
  }

  setDelivery(node: string, mode: 'both' | 'split'): void {
    this.delivery.set(node, mode);
  }

  private receive(node: string, link: string, from: string, payload: T): void {
    const rs = [...(this.hosts.get(node)?.values() ?? [])];
    if (rs.length === 1) return rs[0]!(link, from, payload);
    if (rs.length === 0) return;
    if (this.delivery.get(node) === 'split') return rs[this.prng.int(rs.length)]!(link, from, payload);
    for (const r of rs) r(link, from, payload);
  }

  /** Puts a recorded packet back on the wire next to its receiver (delivered now). */
  replay(r: Recorded<T>): boolean {
    if (!this.net.isAttached(r.to)) return false;
    this.receive(r.to, r.link, r.from, r.payload);
    return true;
  }
}
