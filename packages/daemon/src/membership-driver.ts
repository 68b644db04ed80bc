/**
 * The membership driver, the shell around membership's pure `step()` (raft's node loop): it feeds
 * the state machine ticks, heartbeat packets and the answers of the outside world (fencing, the
 * witness, the arbiter's vote, the nodes' weights for the fence race), sends its outbox on the
 * transport, logs its events and hands them to the daemon, and turns the state into the view the
 * coordinator core reads (who is a member, who is proven down and why).
 */
import { isDeepStrictEqual } from 'node:util';
import type { Clock, Logger } from '@paceline/agent-api';
import type { ClusterConfig, FenceType, MembershipSettings } from '@paceline/model';
import {
  explainMayRun,
  explainPeerSafelyDown,
  isRefresh,
  reconfigure,
  settledBoot,
  stepAll,
  type MembershipEvent,
  type MembershipInput,
  type MembershipState,
  type ResolvedConfig,
  type Transport,
} from '@paceline/membership';
import type { MembershipView, NodeReportData } from './core.js';
import { activeRoles } from './local.js';
import { logMembershipEvent } from './membership-log.js';
import { resolveMembership, settingChanges } from './membership-settings.js';

export interface FenceOutcome {
  readonly ok: boolean;
  readonly detail?: string;
}

/**
 * Fences a node (reboot it, power it off or on: `type`, from the graph action or, when membership
 * fences a lost peer, `properties.stonithAction`); resolves ok only when it is certain the node
 * runs nothing. `signal` is aborted when the daemon stops.
 */
export type FenceHook = (node: string, signal: AbortSignal, type: FenceType) => Promise<FenceOutcome>;

/** The arbiter port the daemon uses (`Arbiter` in @paceline/membership; `ArbiterClient` in @paceline/runtime implements it). */
export interface DaemonArbiter {
  claim(
    lost: readonly string[],
    signal?: AbortSignal,
  ): Promise<
    { readonly vote: 'granted' | 'refused'; readonly holder: string; readonly leaseMs: number } | { readonly vote: 'unreachable'; readonly detail: string }
  >;
  release(): Promise<void>;
  dispose(): Promise<void>;
}

/** What the driver needs from the daemon. */
export interface MembershipDriverPorts {
  readonly node: string;
  readonly log: Logger;
  readonly clock: Clock;
  readonly fence?: FenceHook | undefined;
  readonly witness?: (() => Promise<boolean>) | undefined;
  readonly arbiter?: DaemonArbiter | undefined;
  /** This node's overrides of the configuration's `membership` section. */
  readonly overrides?: MembershipSettings | undefined;
  /** Aborted when the daemon stops (fencing stops waiting). */
  readonly lifetime: AbortSignal;
  transport(): Transport | undefined;
  stopped(): boolean;
  /** The current configuration (fence type, resource priorities) and every node's addresses in it. */
  config(): ClusterConfig;
  nodes(): readonly { readonly name: string; readonly addresses: Readonly<Record<string, string>> }[];
  /** The latest report of every node (for the fence race's weights). */
  reports(): Readonly<Record<string, NodeReportData>>;
  /** Every event, after the driver logged it and did its own part. */
  onEvent(e: MembershipEvent): void;
  /** The view changed. */
  onView(view: MembershipView): void;
}

export class MembershipDriver {
  private claiming = false;
  /** Wall-clock end of the arbiter's lease on the vote this node holds (0: none). */
  private voteUntil = 0;
  private readonly fencing = new Set<string>();
  private lastView: MembershipView | undefined;
  /** Heartbeats that only refresh a member, waiting for the next step (see step). */
  private readonly queued: MembershipInput[] = [];
  private lastWeights = '';
  /** The reports changed since the weights were last computed (see feedWeights). */
  private weightsDirty = false;
  /** The configuration's resource priorities, and each history's weight under them. */
  private weightsOf:
    { readonly config: ClusterConfig; readonly priority: ReadonlyMap<string, number>; readonly byHistory: WeakMap<object, number> } | undefined;
  /** Senders of packets signed with another key already warned about (see warnForged). */
  private readonly forgedWarned = new Set<string>();

  constructor(
    private readonly p: MembershipDriverPorts,
    public state: MembershipState,
  ) {}

  /**
   * Steps the state machine: sends its outbox, acts on its events, and tells the daemon when the view
   * changed. A heartbeat that only says a member is still there (`isRefresh`: nothing but when its
   * link was last heard changes) waits for the next input — at the latest the next tick — and is
   * stepped with it, in order (`stepAll`): the same states, one step per tick instead of one per
   * datagram (40 a second with two links at the default profile). Detection is unchanged (ticks
   * decide it, and a queued heartbeat counts at the tick it arrived in); anything that may change
   * the view or say something (a join, a link up, a new incarnation, a changed claim) is stepped at
   * once.
   */
  step(input: MembershipInput): void {
    if (isRefresh(this.state, input)) {
      this.queued.push(input);
      return;
    }
    if (input.type === 'tick' && this.weightsDirty) this.stepWeights();
    this.run(this.queued.length === 0 ? [input] : [...this.queued.splice(0), input]);
  }

  /** Steps the queued heartbeats now (before the settings change under them). */
  private flush(): void {
    if (this.queued.length > 0) this.run(this.queued.splice(0));
  }

  private run(inputs: readonly MembershipInput[]): void {
    const r = stepAll(this.state, inputs);
    this.state = r.state;
    for (const out of r.outbox) this.p.transport()?.send(out);
    for (const e of r.events) this.onEvent(e);
    const view = this.view();
    if (!isDeepStrictEqual(view, this.lastView)) {
      this.lastView = view;
      this.p.onView(view);
    }
  }

  /**
   * A changed configuration's `membership` section takes effect at once, under this node's
   * overrides (its nodes and links only at a restart). Returns what changed, as "name old -> new";
   * settings that do not resolve here are logged and the current ones kept.
   */
  applySettings(config: ClusterConfig): string[] {
    let next: ResolvedConfig;
    try {
      next = resolveMembership(config, {
        self: this.p.node,
        nodes: this.state.config.nodes,
        overrides: this.p.overrides,
        arbiter: this.p.arbiter !== undefined,
      });
    } catch (e) {
      this.p.log.error(`the configuration's membership settings cannot be used here: ${(e as Error).message}; this node keeps its current ones`);
      return [];
    }
    const changed = settingChanges(this.state.config, next);
    if (changed.length === 0) return changed;
    this.flush();
    this.state = reconfigure(this.state, next);
    this.p.log.info(`membership settings changed: ${changed.join(', ')}`);
    return changed;
  }

  /** Logs a membership event, acts on those that concern membership's own work (fencing, the arbiter's vote, forged packets), and hands it on. */
  private onEvent(e: MembershipEvent): void {
    logMembershipEvent(this.p.log, e);
    if (e.type === 'fence-requested') this.runFence(e.node);
    else if (e.type === 'vote-requested') this.claimVote(e.lost);
    else if (e.type === 'vote-released') void this.p.arbiter?.release().catch(() => undefined);
    else if (e.type === 'packet-dropped' && e.reason === 'forged') {
      const who = this.nodeAt(e.from);
      this.warnForged(
        `heartbeat/${e.from ?? e.link}`,
        `heartbeats from ${e.from ?? 'an unknown address'}${who ? ` (${who}'s host)` : ''} on link ${e.link} fail authentication (${e.detail ?? 'bad HMAC'})`,
      );
    }
    this.p.onEvent(e);
  }

  /**
   * A packet signed with another key is dropped and counted (status `dropped`); the first one from
   * each sender is also said at WARN, since it usually means a node was given the wrong key file.
   */
  warnForged(sender: string, what: string): void {
    if (this.forgedWarned.has(sender)) return;
    if (this.forgedWarned.size >= 256) return; // a flood from many addresses: the counters tell the rest
    this.forgedWarned.add(sender);
    this.p.log.warn(`${what}: does every node use the same cluster key? (said once per sender; later ones are only counted as dropped in \`paceline status\`)`);
  }

  /**
   * The peer whose configured addresses are on the host of `address` (HOST:PORT; peers send from
   * their own host but not from their configured port), when exactly one is.
   */
  private nodeAt(address: string | undefined): string | undefined {
    const host = address?.replace(/:\d+$/, '');
    if (host === undefined) return undefined;
    const hostOf = (a: string): string => a.replace(/:\d+$/, '');
    const found = this.p.nodes().filter((n) => n.name !== this.p.node && Object.values(n.addresses).some((a) => hostOf(a) === host));
    return found.length === 1 ? found[0]!.name : undefined;
  }

  /** Asks the arbiter for the vote (one claim at a time; membership asks again while a peer stays lost). */
  private claimVote(lost: readonly string[]): void {
    const a = this.p.arbiter;
    if (a === undefined) {
      this.step({ type: 'vote', result: 'unreachable', detail: 'no arbiter is configured' });
      return;
    }
    if (this.claiming) return;
    this.claiming = true;
    const askedAt = this.p.clock.now();
    a.claim(lost).then(
      (r) => {
        this.claiming = false;
        if (this.p.stopped()) return;
        // The lease counts from when it was asked for (the arbiter counts from when it answered).
        this.voteUntil = r.vote === 'granted' ? askedAt + r.leaseMs : 0;
        this.step(r.vote === 'unreachable' ? { type: 'vote', result: 'unreachable', detail: r.detail } : { type: 'vote', result: r.vote, holder: r.holder });
      },
      (e: Error) => {
        this.claiming = false;
        if (!this.p.stopped()) this.step({ type: 'vote', result: 'unreachable', detail: e.message });
      },
    );
  }

  private runFence(node: string): void {
    if (this.fencing.has(node)) return;
    this.fencing.add(node);
    const done = (ok: boolean, detail?: string): void => {
      this.fencing.delete(node);
      if (!this.p.stopped()) this.step({ type: 'fence-result', node, ok, ...(detail !== undefined ? { detail } : {}) });
    };
    if (!this.p.fence) {
      this.p.log.error(`cannot fence ${node}: no fencing is configured (its resources stay where they were)`);
      done(false, 'no fencing configured');
      return;
    }
    const fence = this.p.fence;
    void this.mayShoot().then(async (why) => {
      if (why !== undefined) {
        this.p.log.warn(`not fencing ${node}: ${why}`);
        return done(false, why);
      }
      this.p.log.warn(`fencing ${node}`);
      const r = await fence(node, this.p.lifetime, stonithType(this.p.config())).catch((e: Error) => ({ ok: false, detail: e.message }));
      done(r.ok, r.detail);
    });
  }

  /**
   * A node that lost the service network must not shoot the node that still serves it. Without an
   * arbiter, a configured ping target (`witness`, e.g. the LAN's gateway) is checked right before
   * fencing: unreachable, this node is the cut-off one, and it does not fence (membership retries
   * later; the peer, which still reaches the target, fences this node meanwhile). With an arbiter
   * its vote already says so. Undefined: go ahead.
   */
  private async mayShoot(): Promise<string | undefined> {
    // Membership counts in ticks, which stop when the daemon stalls: a vote granted before a stall
    // longer than its lease may have passed to the peer meanwhile. Check the wall clock.
    const v = this.state.vote;
    if (this.state.config.arbiter && (v.phase === 'granted' || (v.phase === 'asking' && v.last === 'granted')) && this.p.clock.now() > this.voteUntil)
      return "the arbiter's lease on the vote ran out before fencing (this daemon stalled?); asking again";
    if (this.p.witness === undefined || this.state.config.arbiter || this.state.config.partitionPolicy !== 'fence') return undefined;
    const reachable = await this.p.witness().catch(() => false);
    return reachable ? undefined : 'this node cannot reach its ping target (it may have lost the service network)';
  }

  view(): MembershipView {
    const m = this.state;
    const peers: Record<string, MembershipView['peers'][string]> = {};
    for (const [name, p] of Object.entries(m.peers)) {
      const safe = explainPeerSafelyDown(m, name);
      // A member whose own view includes this lost peer proves it is alive (e.g. fenced earlier, it
      // rebooted and joined the other side of a partition that is not transitive): not down.
      const seenBy = p.member ? undefined : Object.values(m.peers).find((q) => q.member && q.claim?.members.includes(name))?.name;
      peers[name] = {
        member: p.member,
        safelyDown: !p.member && safe.yes && seenBy === undefined,
        reason: seenBy !== undefined ? `${name} is not reachable from ${this.p.node} but ${seenBy} sees it` : safe.reason,
        ...(seenBy !== undefined ? { seenBy } : {}),
        ...(p.conflict !== undefined ? { conflict: true } : {}),
        ...(settledBoot(p) !== undefined ? { boot: settledBoot(p) } : {}),
        links: Object.fromEntries(Object.entries(p.links).map(([l, x]) => [l, x.up])),
      };
    }
    const may = m.mayRun;
    return { members: m.members, coordinator: m.coordinator, term: m.term, quorate: m.quorate, mayRun: may, mayRunReason: may ? 'ok' : mayRunReason(m), peers };
  }

  /**
   * What each node runs, for the fence race without an arbiter: the sum over its active resources
   * of their priority (at least 1 each), from the latest reports (a lost peer's last one as a member).
   * The reports changed: the weights are computed again at the next tick, before it steps membership
   * (each is a walk over a node's whole history, and a report comes with every action result).
   */
  feedWeights(): void {
    this.weightsDirty = true;
  }

  private stepWeights(): void {
    this.weightsDirty = false;
    if (this.state.config.arbiter) return;
    const weights: Record<string, number> = {};
    const config = this.p.config();
    if (this.weightsOf?.config !== config) this.weightsOf = { config, priority: priorities(config), byHistory: new WeakMap() };
    const { priority, byHistory } = this.weightsOf;
    // A node's weight is computed again only when its history changed (a report arrives with every result).
    for (const [node, rep] of Object.entries(this.p.reports())) {
      let w = byHistory.get(rep.history);
      if (w === undefined) {
        w = activeRoles(rep.history).reduce((n, t) => n + (priority.get(t.instance.replace(/:\d+$/, '')) ?? 1), 0);
        byHistory.set(rep.history, w);
      }
      weights[node] = w;
    }
    const key = JSON.stringify(weights);
    if (key === this.lastWeights) return;
    this.lastWeights = key;
    this.step({ type: 'weights', weights });
  }
}

/** Why this node may not run resources: membership's own answer (quorum, policy, the arbiter's vote, an identity conflict). */
export function mayRunReason(m: MembershipState): string {
  return explainMayRun(m).reason;
}

/** Each resource's priority (a group's or clone's members take it from their own meta, else the parent's; at least 1). */
function priorities(config: ClusterConfig): Map<string, number> {
  const priority = new Map<string, number>();
  for (const r of config.resources) {
    const kids = r.type === 'group' ? r.members : r.type === 'clone' ? (r.child.type === 'group' ? r.child.members : [r.child]) : [r];
    for (const k of kids) priority.set(k.id, Math.max(1, k.meta.priority ?? r.meta.priority ?? 1));
  }
  return priority;
}

/** How membership fences a lost peer: the configuration's stonithAction (`poweroff` is `off`). */
export function stonithType(config: ClusterConfig): FenceType {
  const a = config.properties.stonithAction;
  return a === 'poweroff' ? 'off' : a;
}
