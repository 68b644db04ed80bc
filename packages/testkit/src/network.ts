/**
 * An in-memory network of nodes × links for tests. Time is counted in ticks by the caller
 * (`deliver(tick)`). Each link has a loss probability (drawn from the seeded PRNG), a delay in
 * ticks, a jitter (an extra random delay per packet, which reorders packets), and partitions between
 * groups of nodes; a node that is not attached receives nothing.
 */
import type { Prng } from './prng.js';

export type Receiver<T> = (link: string, from: string, payload: T) => void;

/**
 * What a transport needs of a network: attach a receiver under a node name, detach it, send. The
 * InMemoryNetwork is one; a test may put something in between (e.g. two hosts under one name).
 */
export interface NetworkPort<T> {
  attach(node: string, receive: Receiver<T>): void;
  detach(node: string): void;
  send(link: string, from: string, to: string, payload: T): void;
}

interface InFlight<T> {
  readonly seq: number;
  readonly at: number;
  readonly link: string;
  readonly from: string;
  readonly to: string;
  readonly payload: T;
}

export interface LinkStats {
  sent: number;
  delivered: number;
  lost: number;
  blocked: number;
}

export class InMemoryNetwork<T> implements NetworkPort<T> {
  private readonly receivers = new Map<string, Receiver<T>>();
  private readonly loss = new Map<string, number>();
  private readonly delay = new Map<string, number>();
  private readonly jitter = new Map<string, number>();
  /** link → node → group index */
  private readonly groups = new Map<string, Map<string, number>>();
  private queue: InFlight<T>[] = [];
  private seq = 0;
  private now = 0;
  readonly stats = new Map<string, LinkStats>();

  constructor(
    readonly links: readonly string[],
    private readonly prng: Prng,
  ) {
    for (const l of links) this.stats.set(l, { sent: 0, delivered: 0, lost: 0, blocked: 0 });
  }

  attach(node: string, receive: Receiver<T>): void {
    this.receivers.set(node, receive);
  }

  detach(node: string): void {
    this.receivers.delete(node);
  }

  isAttached(node: string): boolean {
    return this.receivers.has(node);
  }

  /** Loss probability in [0, 1] for packets on `link`. */
  setLoss(link: string, p: number): void {
    this.checkLink(link);
    if (!(p >= 0 && p <= 1)) throw new RangeError(`loss on ${link} must be between 0 and 1, got ${p}`);
    this.loss.set(link, p);
  }

  /** Delay in ticks for packets on `link` (0: delivered in the tick they are sent). */
  setDelay(link: string, ticks: number): void {
    this.checkLink(link);
    if (!(Number.isInteger(ticks) && ticks >= 0)) throw new RangeError(`delay on ${link} must be a whole number of ticks ≥ 0, got ${ticks}`);
    this.delay.set(link, ticks);
  }

  /**
   * Up to `ticks` extra ticks of delay per packet on `link`, drawn from the seeded PRNG (0: none,
   * and no PRNG draw). Packets sent in one order may then arrive in another.
   */
  setJitter(link: string, ticks: number): void {
    this.checkLink(link);
    if (!(Number.isInteger(ticks) && ticks >= 0)) throw new RangeError(`jitter on ${link} must be a whole number of ticks ≥ 0, got ${ticks}`);
    this.jitter.set(link, ticks);
  }

  /** Nodes in different groups cannot reach each other on `link`; nodes in no group are unaffected. */
  partition(link: string, groups: readonly (readonly string[])[]): void {
    this.checkLink(link);
    const m = new Map<string, number>();
    groups.forEach((g, i) => g.forEach((n) => m.set(n, i)));
    this.groups.set(link, m);
  }

  /** Removes partitions on `link` (or on every link). Loss and delay stay. */
  heal(link?: string): void {
    if (link === undefined) this.groups.clear();
    else this.groups.delete(link);
  }

  blocked(link: string, a: string, b: string): boolean {
    const m = this.groups.get(link);
    if (m === undefined) return false;
    const ga = m.get(a);
    const gb = m.get(b);
    return ga !== undefined && gb !== undefined && ga !== gb;
  }

  /** Queues a packet; loss is decided now, partitions at delivery. */
  send(link: string, from: string, to: string, payload: T): void {
    this.checkLink(link);
    const st = this.stats.get(link) as LinkStats;
    st.sent += 1;
    if (this.prng.chance(this.loss.get(link) ?? 0)) {
      st.lost += 1;
      return;
    }
    const jitter = this.jitter.get(link) ?? 0;
    const extra = jitter > 0 ? this.prng.int(jitter + 1) : 0;
    this.queue.push({ seq: this.seq++, at: this.now + (this.delay.get(link) ?? 0) + extra, link, from, to, payload });
  }

  /** Puts a packet on the wire as if `from` had sent it, bypassing loss (for injecting attacks). */
  inject(link: string, from: string, to: string, payload: T): void {
    this.checkLink(link);
    this.queue.push({ seq: this.seq++, at: this.now, link, from, to, payload });
  }

  /** Sets the current tick. */
  setTick(tick: number): void {
    this.now = tick;
  }

  /** Delivers, in send order, every packet due by the current tick. */
  deliver(): number {
    let n = 0;
    while (true) {
      const due = this.queue.filter((p) => p.at <= this.now);
      if (due.length === 0) return n;
      this.queue = this.queue.filter((p) => p.at > this.now);
      due.sort((a, b) => a.at - b.at || a.seq - b.seq);
      for (const p of due) {
        const st = this.stats.get(p.link) as LinkStats;
        const r = this.receivers.get(p.to);
        if (r === undefined || this.blocked(p.link, p.from, p.to)) {
          st.blocked += 1;
          continue;
        }
        st.delivered += 1;
        n += 1;
        r(p.link, p.from, p.payload);
      }
    }
  }

  inFlight(): number {
    return this.queue.length;
  }

  private checkLink(link: string): void {
    if (!this.links.includes(link)) throw new RangeError(`unknown link "${link}" (links: ${this.links.join(', ')})`);
  }
}
