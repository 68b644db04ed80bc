/** The membership state machine's state, inputs, outputs and events. All plain data. */
import type { DropReason } from './codec.js';
import type { ResolvedConfig } from './config.js';
import type { WireMessage } from './messages.js';
import type { ReplayWindow } from './replay.js';

export interface PeerLink {
  /** Heard within the link's dead time. */
  readonly up: boolean;
  /** Tick of the last valid packet on this link (undefined: never heard). */
  readonly lastHeard: number | undefined;
  /** Heartbeat intervals elapsed since `lastHeard`. */
  readonly missed: number;
  /** A `link-late` warning was emitted for the current silence. */
  readonly warned: boolean;
  /**
   * Tick at which the transport last reported the peer's port on this link closed (ICMP port
   * unreachable: the host answered, no daemon listens), since the last packet heard from the peer.
   */
  readonly refusedAt?: number | undefined;
}

export type FenceState =
  | { readonly phase: 'none' }
  /** Waiting for the fence delay (the other side of a split may fence us first). */
  | { readonly phase: 'pending'; readonly dueTick: number }
  /** The caller has been asked to fence; waiting for a `fence-result`. */
  | { readonly phase: 'requested'; readonly since: number }
  | { readonly phase: 'confirmed'; readonly at: number }
  | { readonly phase: 'failed'; readonly retryTick: number };

export interface PeerState {
  readonly name: string;
  /** In this node's membership view. */
  readonly member: boolean;
  /** Announced a clean shutdown (its resources are stopped) and has not been heard since. */
  readonly left: boolean;
  /** Tick at which the peer was declared lost (undefined while a member, or never seen). */
  readonly lostAt: number | undefined;
  readonly links: Readonly<Record<string, PeerLink>>;
  readonly replay: ReplayWindow | undefined;
  /** The peer's last announced view, used for coordinator agreement. */
  readonly claim:
    | {
        readonly coordinator: string;
        readonly term: number;
        readonly membershipId: number;
        readonly members: readonly string[];
        /** This node's incarnation as the peer knows it (its heartbeat's `peerBoot`). */
        readonly peerBoot?: number | undefined;
      }
    | undefined;
  readonly fence: FenceState;
  /**
   * Two daemons run under this peer's name (fresh traffic from two incarnations): it is unclean —
   * not a member, never "left cleanly" — until it is fenced.
   */
  readonly conflict?: { readonly boots: readonly [number, number]; readonly tick: number; readonly lastTraffic: number } | undefined;
  /**
   * A newer incarnation of this member appeared (a restart faster than the dead time, or a second
   * daemon under its name). Until the previous one has been silent for a dead time it is not taken
   * as restarted: planning keeps the previous incarnation (see `settledBoot`), and fresh packets
   * from it turn this into an identity conflict.
   */
  readonly restart?: { readonly boot: number; readonly previous: number; readonly lastPrevious: number } | undefined;
}

/** The arbiter's vote, as this node last heard it (see `arbiter` in the configuration). */
export type VoteState =
  | { readonly phase: 'none' }
  /** Asked (or renewing); waiting for the caller's `vote` input. */
  | {
      readonly phase: 'asking';
      readonly since: number;
      readonly last?: 'granted' | 'refused' | 'unreachable' | undefined;
      readonly holder?: string | undefined;
    }
  | { readonly phase: 'granted' | 'refused' | 'unreachable'; readonly at: number; readonly holder?: string | undefined; readonly detail?: string | undefined };

export type DropCounters = Readonly<Record<DropReason, number>>;

export interface MembershipState {
  readonly config: ResolvedConfig;
  readonly self: string;
  /** This node's incarnation. */
  readonly boot: number;
  readonly tick: number;
  /** Last sequence number sent. */
  readonly seq: number;
  readonly lastSentTick: number | undefined;
  readonly peers: Readonly<Record<string, PeerState>>;
  /** Members of this node's view, sorted; always includes this node. */
  readonly members: readonly string[];
  /** Increases every time `members` changes. */
  readonly membershipId: number;
  readonly coordinator: string;
  /** Election term of `coordinator`; higher terms win when views merge. */
  readonly term: number;
  readonly quorate: boolean;
  /** `waitForAll` is set and not every node has been seen at once yet. */
  readonly waitingForAll: boolean;
  readonly witness: { readonly reachable: boolean; readonly tick: number } | undefined;
  /** Tick since which the witness has been reachable without interruption (undefined: it is not). */
  readonly witnessUpSince: number | undefined;
  /**
   * Witness policy: this node lost a peer while it could not reach the witness, so it stopped
   * everything; it stays stopped until every peer is back and sees it again (its resources may
   * meanwhile run on the peer).
   */
  readonly isolated: boolean;
  /** Last value of `mayRunResources`, to report changes. */
  readonly mayRun: boolean;
  /** The node has announced a clean shutdown. */
  readonly leaving: boolean;
  /** The arbiter's vote (only with `arbiter`). */
  readonly vote: VoteState;
  /** node → weight for the fence race without an arbiter (the caller's `weights` input). */
  readonly weights: Readonly<Record<string, number>>;
  /** A peer told this node of a newer incarnation of itself: another daemon runs under this name. */
  readonly selfConflict?: { readonly boot: number; readonly by: string; readonly tick: number } | undefined;
  readonly drops: DropCounters;
}

export type MembershipInput =
  /** One logical tick of time has passed. */
  | { readonly type: 'tick' }
  /** A packet that passed the codec (HMAC, size, schema). `from` is the transport address, for display. */
  | { readonly type: 'message'; readonly link: string; readonly from: string; readonly message: WireMessage }
  /** A packet the codec rejected: counted, never acted on. */
  | { readonly type: 'dropped'; readonly link: string; readonly from?: string; readonly reason: DropReason; readonly detail?: string }
  /** Result of the caller's check of the witness (ping target). */
  | { readonly type: 'witness'; readonly reachable: boolean }
  /** Result of a fencing operation the state machine requested. */
  | { readonly type: 'fence-result'; readonly node: string; readonly ok: boolean; readonly detail?: string }
  /** This node shuts down cleanly (its resources are stopped): tell the peers. */
  | { readonly type: 'leave' }
  /**
   * The transport learned that nothing listens on `node`'s membership port on `link` (a packet to
   * it was answered with ICMP port unreachable): the peer's host is up but its daemon is not.
   */
  | { readonly type: 'unreachable'; readonly link: string; readonly node: string }
  /** The arbiter's answer to a `vote-requested` event. */
  | { readonly type: 'vote'; readonly result: 'granted' | 'refused' | 'unreachable'; readonly holder?: string; readonly detail?: string }
  /**
   * What each node runs (e.g. the sum of its active resources' priorities): without an arbiter the
   * node that runs the most wins the fence race.
   */
  | { readonly type: 'weights'; readonly weights: Readonly<Record<string, number>> };

export interface Outgoing {
  readonly link: string;
  readonly to: string;
  readonly message: WireMessage;
}

export type MembershipEvent =
  | { readonly type: 'link-up'; readonly node: string; readonly link: string }
  | { readonly type: 'link-late'; readonly node: string; readonly link: string; readonly silentTicks: number }
  | { readonly type: 'link-down'; readonly node: string; readonly link: string; readonly silentTicks: number }
  | { readonly type: 'node-joined'; readonly node: string; readonly boot: number }
  | { readonly type: 'node-restarted'; readonly node: string; readonly boot: number }
  | { readonly type: 'node-lost'; readonly node: string }
  | { readonly type: 'node-left'; readonly node: string }
  | { readonly type: 'membership-changed'; readonly membershipId: number; readonly members: readonly string[] }
  | { readonly type: 'coordinator-changed'; readonly coordinator: string; readonly term: number }
  | { readonly type: 'quorum-changed'; readonly quorate: boolean; readonly reason: string }
  | { readonly type: 'fence-pending'; readonly node: string; readonly delayTicks: number }
  /** Every link to a lost peer reports its port closed: its daemon is dead, so it cannot fence this node. */
  | { readonly type: 'peer-daemon-down'; readonly node: string }
  | { readonly type: 'fence-requested'; readonly node: string }
  | { readonly type: 'fence-cancelled'; readonly node: string; readonly reason: string }
  | { readonly type: 'fence-confirmed'; readonly node: string }
  | { readonly type: 'fence-failed'; readonly node: string; readonly retryInTicks: number; readonly detail?: string }
  | { readonly type: 'may-run-changed'; readonly mayRun: boolean; readonly reason: string }
  /** Two daemons run under one name: `node` (a peer, or this node itself) with incarnations `boots`. */
  | { readonly type: 'identity-conflict'; readonly node: string; readonly boots: readonly number[]; readonly detail: string }
  /** Ask the arbiter for the vote (or renew it): `lost` peers are lost. Answer with a `vote` input. */
  | { readonly type: 'vote-requested'; readonly lost: readonly string[] }
  /** Every peer is accounted for again: give the vote back. */
  | { readonly type: 'vote-released' }
  /** The arbiter's answer changed (not repeated on every renewal). */
  | { readonly type: 'vote-changed'; readonly result: 'granted' | 'refused' | 'unreachable'; readonly holder?: string; readonly detail?: string }
  | { readonly type: 'packet-dropped'; readonly link: string; readonly reason: DropReason; readonly from?: string; readonly detail?: string };

export type MembershipEventType = MembershipEvent['type'];

export interface StepResult {
  readonly state: MembershipState;
  readonly outbox: readonly Outgoing[];
  readonly events: readonly MembershipEvent[];
}
