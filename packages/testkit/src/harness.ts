/**
 * Drives N membership state machines over an InMemoryNetwork with a SimulatedClock, with the real
 * codec in the loop (packets are signed, encoded and decoded), and records every event. Optional
 * automatic fencing stands in for a fencing agent: a fence request kills the target after
 * `fenceTicks` and reports success to the requester.
 */
import {
  DEFAULT_MAX_SKEW_MS,
  decode,
  encode,
  formatEvent,
  initialState,
  mayRunResources,
  resolveConfig,
  step,
  type MembershipConfigInput,
  type MembershipEvent,
  type MembershipInput,
  type MembershipNode,
  type MembershipState,
  type Outgoing,
  type WireMessage,
} from '@paceline/membership';
import { SimulatedClock } from './clock.js';
import { InMemoryNetwork } from './network.js';
import { Prng } from './prng.js';
import { TestkitError } from './errors.js';

export interface TraceEntry {
  readonly tick: number;
  readonly node: string;
  readonly event: MembershipEvent;
}

export type FencingMode = 'auto' | 'fail' | 'manual';

export interface HarnessOptions {
  readonly nodes: readonly MembershipNode[];
  /** Shared settings (everything but `self` and `nodes`). */
  readonly config?: Omit<MembershipConfigInput, 'self' | 'nodes'>;
  readonly seed?: number;
  /** The cluster key (default: 32 bytes from the seed). */
  readonly key?: Buffer;
  readonly fencing?: FencingMode;
  /** Ticks a simulated fencing operation takes. */
  readonly fenceTicks?: number;
  /** Wall-clock start of the simulation (ms). */
  readonly startMs?: number;
}

export type Attack = 'forged' | 'truncated' | 'oversized' | 'malformed' | 'replay' | 'wrong-link' | 'stale' | 'unknown-sender';

interface NodeRuntime {
  state: MembershipState;
  witness: boolean | undefined;
}

/** Lease of the simulated arbiter's vote, in ticks (renewed by the holder's `vote-requested`). */
export const SIM_ARBITER_LEASE_TICKS = 60;

export class MembershipHarness {
  readonly clock: SimulatedClock;
  readonly network: InMemoryNetwork<Buffer>;
  readonly prng: Prng;
  readonly key: Buffer;
  readonly trace: TraceEntry[] = [];
  tick = 0;
  /** receiver → sender → link → tick of the last valid packet delivered (genuine traffic only). */
  readonly lastDelivered = new Map<string, Map<string, Map<string, number>>>();
  private readonly nodes = new Map<string, NodeRuntime>();
  /** Last genuine packet per link/from/to, kept for replay attacks. */
  private readonly captured = new Map<string, Buffer>();
  private readonly fences: { at: number; by: string; target: string }[] = [];
  private readonly tickMs: number;
  private lastBoot = 0;
  /** Crashed nodes whose host is still up: packets to them are refused (ICMP port unreachable). */
  private readonly portClosed = new Set<string>();
  private refusals: { by: string; link: string; node: string }[] = [];
  /** With `arbiter: true` in the settings: who holds the simulated arbiter's vote, until which tick. */
  private voteHolder: { node: string; until: number } | undefined;
  /** Nodes that cannot reach the arbiter (e.g. their service LAN is down). */
  private readonly arbiterCut = new Set<string>();
  private votes: { node: string; answer: MembershipInput }[] = [];
  /** Second daemons running under a node's name (a cloned machine): they send as that node, receive nothing. */
  private readonly clones = new Map<string, MembershipState>();
  private observers: ((e: TraceEntry) => void)[] = [];

  constructor(readonly options: HarnessOptions) {
    this.prng = new Prng(options.seed ?? 1);
    this.key = options.key ?? Buffer.from(Array.from({ length: 32 }, () => this.prng.int(256)));
    this.clock = new SimulatedClock(options.startMs ?? 1_700_000_000_000);
    const links = [...new Set(options.nodes.flatMap((n) => n.links))].sort();
    this.network = new InMemoryNetwork<Buffer>(links, this.prng.fork());
    const first = options.nodes[0]?.name ?? '';
    this.tickMs = resolveConfig({ ...options.config, self: first, nodes: [...options.nodes] }).tickMs;
  }

  get nodeNames(): string[] {
    return this.options.nodes.map((n) => n.name).sort();
  }

  alive(node: string): boolean {
    return this.nodes.has(node);
  }

  aliveNodes(): string[] {
    return [...this.nodes.keys()].sort();
  }

  state(node: string): MembershipState {
    const r = this.nodes.get(node);
    if (r === undefined) throw new TestkitError('TESTKIT_USAGE', `node ${node} is not running`);
    return r.state;
  }

  onEvent(fn: (e: TraceEntry) => void): void {
    this.observers.push(fn);
  }

  /** Starts (or restarts) a node with a new incarnation. */
  start(node: string): void {
    if (this.nodes.has(node)) throw new TestkitError('TESTKIT_USAGE', `node ${node} is already running`);
    this.checkNode(node);
    this.lastBoot = Math.max(this.lastBoot + 1, this.clock.now());
    const state = initialState({ ...this.options.config, self: node, nodes: [...this.options.nodes] }, { boot: this.lastBoot });
    this.nodes.set(node, { state, witness: undefined });
    this.portClosed.delete(node);
    this.network.attach(node, (link, from, payload) => this.receive(node, link, from, payload));
  }

  /** Crashes a node: no goodbye, state lost. */
  kill(node: string): void {
    this.checkNode(node);
    this.portClosed.delete(node);
    this.nodes.delete(node);
    this.network.detach(node);
  }

  /**
   * Kills only the node's daemon: the host stays up, so a packet reaching it is answered with
   * "port unreachable" and the sender's transport reports `unreachable` (unlike `kill`, a power loss,
   * which leaves the sender with silence).
   */
  crash(node: string): void {
    this.kill(node);
    this.portClosed.add(node);
  }

  /** Shuts a node down cleanly: it announces `leave`, then stops. */
  stop(node: string): void {
    this.feed(node, { type: 'leave' });
    this.network.deliver();
    this.kill(node);
  }

  /**
   * Starts a second daemon under `node`'s name, with the same key and a newer incarnation (a cloned
   * machine). It sends as `node` on every link; packets to `node` still reach the original only.
   */
  startClone(node: string): void {
    this.checkNode(node);
    if (this.clones.has(node)) throw new TestkitError('TESTKIT_USAGE', `a clone of ${node} is already running`);
    this.lastBoot = Math.max(this.lastBoot + 1, this.clock.now());
    this.clones.set(node, initialState({ ...this.options.config, self: node, nodes: [...this.options.nodes] }, { boot: this.lastBoot }));
  }

  /** Stops the clone of `node` cleanly: it announces `leave` as `node`. */
  stopClone(node: string): void {
    this.feedClone(node, { type: 'leave' });
    this.network.deliver();
    this.clones.delete(node);
  }

  private feedClone(node: string, input: MembershipInput): void {
    const st = this.clones.get(node);
    if (st === undefined) return;
    const res = step(st, input);
    this.clones.set(node, res.state);
    for (const o of res.outbox) this.send(node, o);
  }

  /** Whether `node` can reach the simulated arbiter (settings `arbiter: true`). */
  setArbiterReachable(node: string, reachable: boolean): void {
    this.checkNode(node);
    if (reachable) this.arbiterCut.delete(node);
    else this.arbiterCut.add(node);
  }

  /** The holder of the simulated arbiter's vote (undefined: nobody, or its lease ran out). */
  arbiterHolder(): string | undefined {
    return this.voteHolder !== undefined && this.voteHolder.until >= this.tick ? this.voteHolder.node : undefined;
  }

  setWitness(node: string, reachable: boolean | undefined): void {
    const r = this.nodes.get(node);
    if (r === undefined) throw new TestkitError('TESTKIT_USAGE', `node ${node} is not running`);
    r.witness = reachable;
  }

  /** Feeds one input to a node and sends what it produces. */
  feed(node: string, input: MembershipInput): void {
    const r = this.nodes.get(node);
    if (r === undefined) return;
    const res = step(r.state, input);
    r.state = res.state;
    for (const e of res.events) this.record(node, e);
    for (const o of res.outbox) this.send(node, o);
  }

  /** Runs `n` ticks: each tick advances the clock, ticks every live node (name order), then delivers. */
  run(n: number): TraceEntry[] {
    const from = this.trace.length;
    for (let i = 0; i < n; i++) {
      this.tick += 1;
      this.clock.advance(this.tickMs);
      this.network.setTick(this.tick);
      this.runFences();
      for (const node of this.aliveNodes()) {
        const w = this.nodes.get(node)?.witness;
        if (w !== undefined) this.feed(node, { type: 'witness', reachable: w });
        this.feed(node, { type: 'tick' });
      }
      for (const node of [...this.clones.keys()]) this.feedClone(node, { type: 'tick' });
      this.network.deliver();
      const refusals = this.refusals;
      this.refusals = [];
      for (const r of refusals) this.feed(r.by, { type: 'unreachable', link: r.link, node: r.node });
      // The arbiter answers within the tick (a LAN round trip).
      const votes = this.votes;
      this.votes = [];
      for (const v of votes) this.feed(v.node, v.answer);
    }
    return this.trace.slice(from);
  }

  /** Puts a bad packet from `from` to `to` on `link`. */
  inject(attack: Attack, link: string, from: string, to: string): void {
    const now = this.clock.now();
    const fake = (m: Partial<WireMessage>): WireMessage =>
      ({
        v: 1,
        type: 'heartbeat',
        from,
        to,
        link,
        boot: Number.MAX_SAFE_INTEGER,
        seq: 1,
        membershipId: 999,
        members: [from],
        coordinator: from,
        term: 999,
        sentAt: now,
        ...m,
      }) as WireMessage;
    let packet: Buffer;
    switch (attack) {
      case 'forged':
        packet = encode(fake({}), Buffer.alloc(32, 7));
        break;
      case 'truncated':
        packet = encode(fake({}), this.key).subarray(0, 60);
        break;
      case 'oversized':
        packet = Buffer.alloc(70_000, 1);
        break;
      case 'malformed': {
        const good = encode(fake({}), this.key);
        packet = Buffer.from(good);
        packet.write('XXXX', 0, 'ascii');
        break;
      }
      case 'stale':
        packet = encode(fake({ sentAt: now - DEFAULT_MAX_SKEW_MS - 1000 }), this.key);
        break;
      case 'unknown-sender':
        packet = encode(fake({ from: 'intruder', coordinator: 'intruder', members: ['intruder'] }), this.key);
        break;
      case 'wrong-link': {
        const other = this.network.links.find((l) => l !== link) ?? link;
        const c = this.captured.get(`${other}|${from}|${to}`);
        if (c === undefined) throw new TestkitError('TESTKIT_USAGE', `no packet from ${from} to ${to} on ${other} captured yet`);
        packet = c;
        break;
      }
      case 'replay': {
        const c = this.captured.get(`${link}|${from}|${to}`);
        if (c === undefined) throw new TestkitError('TESTKIT_USAGE', `no packet from ${from} to ${to} on ${link} captured yet`);
        packet = c;
        break;
      }
    }
    this.network.inject(link, attack === 'unknown-sender' ? 'intruder' : from, to, packet);
    this.network.deliver();
  }

  /** Formats trace entries as `tick node event` lines. */
  static format(entries: readonly TraceEntry[]): string[] {
    return entries.map((e) => `${e.tick} ${e.node} ${formatEvent(e.event)}`);
  }

  /** One line per live node: its view. */
  describe(): string[] {
    return this.aliveNodes().map((n) => {
      const s = this.state(n);
      const links = Object.values(s.peers)
        .flatMap((p) => Object.entries(p.links).map(([l, v]) => `${p.name}/${l}=${v.up ? 'up' : 'down'}`))
        .join(' ');
      const drops =
        Object.entries(s.drops)
          .filter(([, v]) => v > 0)
          .map(([k, v]) => `${k}=${v}`)
          .join(',') || 'none';
      return `${n}: members=${s.members.join(',')} id=${s.membershipId} coordinator=${s.coordinator} term=${s.term} quorate=${s.quorate} mayRun=${mayRunResources(s)} ${links} drops=${drops}`;
    });
  }

  private checkNode(node: string): void {
    if (!this.options.nodes.some((n) => n.name === node))
      throw new TestkitError('TESTKIT_USAGE', `unknown node "${node}" (nodes: ${this.nodeNames.join(', ')})`);
  }

  private record(node: string, event: MembershipEvent): void {
    const e = { tick: this.tick, node, event };
    this.trace.push(e);
    for (const o of this.observers) o(e);
    if (event.type === 'fence-requested' && this.options.fencing !== undefined && this.options.fencing !== 'manual')
      this.fences.push({ at: this.tick + (this.options.fenceTicks ?? 1), by: node, target: event.node });
    if (event.type === 'vote-requested') this.votes.push({ node, answer: this.arbiterAnswer(node) });
    if (event.type === 'vote-released' && this.voteHolder?.node === node) this.voteHolder = undefined;
  }

  /** The simulated arbiter: grants the vote to one node at a time, as a lease its holder renews. */
  private arbiterAnswer(node: string): MembershipInput {
    if (this.arbiterCut.has(node)) return { type: 'vote', result: 'unreachable', detail: 'no answer from the arbiter' };
    const holder = this.arbiterHolder();
    if (holder === undefined || holder === node) {
      this.voteHolder = { node, until: this.tick + SIM_ARBITER_LEASE_TICKS };
      return { type: 'vote', result: 'granted', holder: node };
    }
    return { type: 'vote', result: 'refused', holder };
  }

  private runFences(): void {
    const due = this.fences.filter((f) => f.at <= this.tick);
    if (due.length === 0) return;
    this.fences.splice(0, this.fences.length, ...this.fences.filter((f) => f.at > this.tick));
    for (const f of due) {
      if (!this.nodes.has(f.by)) continue; // the fencer died first: its request dies with it
      const ok = this.options.fencing === 'auto';
      if (ok && this.nodes.has(f.target)) this.kill(f.target);
      this.feed(f.by, { type: 'fence-result', node: f.target, ok, ...(ok ? {} : { detail: 'simulated fencing failure' }) });
    }
  }

  private send(from: string, o: Outgoing): void {
    const packet = encode({ ...o.message, sentAt: this.clock.now() } as WireMessage, this.key);
    this.captured.set(`${o.link}|${from}|${o.to}`, packet);
    if (this.portClosed.has(o.to) && !this.network.blocked(o.link, from, o.to)) this.refusals.push({ by: from, link: o.link, node: o.to });
    this.network.send(o.link, from, o.to, packet);
  }

  private receive(node: string, link: string, from: string, payload: Buffer): void {
    const d = decode(payload, this.key, { now: this.clock.now() });
    if (d.ok === undefined) {
      this.feed(node, { type: 'dropped', link, from, reason: d.error, detail: d.detail });
      return;
    }
    const before = this.nodes.get(node)?.state.drops.replayed ?? 0;
    this.feed(node, { type: 'message', link, from, message: d.ok });
    const accepted = (this.nodes.get(node)?.state.drops.replayed ?? 0) === before;
    if (accepted && d.ok.from === from) {
      let bySender = this.lastDelivered.get(node);
      if (!bySender) this.lastDelivered.set(node, (bySender = new Map()));
      let byLink = bySender.get(from);
      if (!byLink) bySender.set(from, (byLink = new Map()));
      byLink.set(link, this.tick);
    }
  }
}
