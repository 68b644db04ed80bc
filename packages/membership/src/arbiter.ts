/**
 * The witness arbiter (`paceline witness`): a process on a third host of the service LAN that
 * holds the cluster's one tie-breaking vote and lends it, as a lease, to one node at a time. A node
 * that lost a peer claims the vote before it fences; the node that lost the service LAN cannot
 * reach the arbiter, so it never wins.
 *
 * This file holds everything about it that does no I/O: the port the daemon consumes (`Arbiter`,
 * implemented over UDP by `ArbiterClient` in @paceline/runtime), the wire messages and their
 * codec (the membership frame with its own magic, "PCLW"), and the arbiter's decision as a pure
 * function, `arbiterStep(state, { request, now }) → { state, reply, event }`, which
 * `WitnessServer` (@paceline/runtime) drives. See docs/membership.md, "Witness arbiter".
 */
import { z } from 'zod';
import { formatIssues } from '@paceline/model';
import { MembershipError } from './errors.js';
import { openFrame, sealFrame, type FrameError } from './frame.js';
import { checkReplay, type ReplayWindow } from './replay.js';

// ── The port the daemon consumes ────────────────────────────────────────────────────────────

/** The arbiter's answer to a claim, as the client saw it. */
export type VoteAnswer =
  | { readonly vote: 'granted'; readonly holder: string; readonly leaseMs: number }
  | { readonly vote: 'refused'; readonly holder: string; readonly leaseMs: number }
  | { readonly vote: 'unreachable'; readonly detail: string };

export interface Arbiter {
  /** Ask for (or renew) the vote because `lost` peers are lost. Resolves within the client's timeout. */
  claim(lost: readonly string[], signal?: AbortSignal): Promise<VoteAnswer>;
  /** Give the vote back (every peer is a member again). Best effort, never throws. */
  release(): Promise<void>;
  dispose(): Promise<void>;
}

// ── Defaults ────────────────────────────────────────────────────────────────────────────────

/**
 * Default timing (docs/membership.md explains each):
 * - `leaseMs`: how long a grant lasts without renewal (3 s: six renewals at `renewMs`, so a few
 *   lost packets never let it lapse, while a holder that died frees the vote 3 s later);
 * - `renewMs`: how often a holder renews while a peer is lost;
 * - `maxSkewMs`: largest difference between a request's `sentAt` and the arbiter's clock (2 s:
 *   hosts kept in step by NTP differ by milliseconds; it bounds how long a captured request stays
 *   fresh, which only matters right after the arbiter restarted);
 * - `timeoutMs`, `tries`: the client's budget per claim (a LAN round trip is ~1 ms; the claim is
 *   on the failover's critical path).
 */
export const ARBITER_DEFAULTS = {
  leaseMs: 3000,
  renewMs: 500,
  maxSkewMs: 2000,
  timeoutMs: 150,
  tries: 3,
} as const;

// ── Wire messages ───────────────────────────────────────────────────────────────────────────

/** Node names follow the membership messages' rules. */
const Name = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9_.:@+-]+$/);
const Counter = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** 16 random bytes, hex: binds a reply to one claim of one client. */
export const Nonce = z.string().regex(/^[0-9a-f]{32}$/, 'a nonce is 32 lowercase hex digits');
const ClusterName = z.string().min(1).max(255);

const RequestFields = {
  v: z.literal(1),
  /** The cluster's name (`clusterName` of the configuration), when it has one. */
  cluster: ClusterName.optional(),
  /** The claimant. */
  node: Name,
  /** The claimant's incarnation: grows every time it starts. */
  boot: Counter,
  /** Grows with every request the claimant sends during this incarnation (retries included). */
  seq: Counter,
  /** The claimant's wall clock when sent (ms). */
  sentAt: Counter,
  /** Random per claim (shared by its retries); the reply echoes it. */
  nonce: Nonce,
};

/** "Give me the vote (or renew it): these peers are lost." */
export const ArbiterClaim = z.strictObject({ ...RequestFields, type: z.literal('claim'), lost: z.array(Name).max(64) });
export type ArbiterClaim = z.infer<typeof ArbiterClaim>;

/** "I give the vote back" (every peer is a member again). */
export const ArbiterRelease = z.strictObject({ ...RequestFields, type: z.literal('release') });
export type ArbiterRelease = z.infer<typeof ArbiterRelease>;

export const ArbiterRequest = z.discriminatedUnion('type', [ArbiterClaim, ArbiterRelease]);
export type ArbiterRequest = z.infer<typeof ArbiterRequest>;

const ReplyFields = {
  v: z.literal(1),
  type: z.literal('reply'),
  /** The claimant and its incarnation, and the nonce of the request answered. */
  node: Name,
  boot: Counter,
  nonce: Nonce,
};

export const ArbiterReply = z.discriminatedUnion('vote', [
  /** The claimant holds the vote for `leaseMs` from when the arbiter read the claim. */
  z.strictObject({ ...ReplyFields, vote: z.literal('granted'), leaseMs: Counter }),
  /** Another node holds the vote for at most `leaseMs` more, unless it renews. */
  z.strictObject({ ...ReplyFields, vote: z.literal('refused'), holder: Name, holderBoot: Counter, leaseMs: Counter }),
  /** The answer to a release: the claimant does not hold the vote (any more). */
  z.strictObject({ ...ReplyFields, vote: z.literal('released') }),
  /** The arbiter restarted recently and grants nothing for `retryInMs` more (a lease from before may still be in use). */
  z.strictObject({ ...ReplyFields, vote: z.literal('unavailable'), retryInMs: Counter }),
]);
export type ArbiterReply = z.infer<typeof ArbiterReply>;

// ── Codec ───────────────────────────────────────────────────────────────────────────────────

/** The arbiter's packets: the membership frame (frame.ts) under its own magic. */
export const ARBITER_MAGIC = Buffer.from('PCLW', 'ascii');
/** Requests and replies are small; anything larger is not one. */
export const ARBITER_MAX_PACKET_BYTES = 4096;

export type ArbiterDecodeResult<T> =
  { readonly ok: T; readonly error?: undefined } | { readonly ok?: undefined; readonly error: FrameError; readonly detail: string };

/** Signs and frames a request or reply. Throws only on a programming error (bad key). */
export function encodeArbiter(message: ArbiterRequest | ArbiterReply, key: Uint8Array): Buffer {
  return sealFrame(ARBITER_MAGIC, message, key, `witness ${message.type}`);
}

/** Checks and parses a request (at the arbiter). Never throws on packet content. */
export function decodeArbiterRequest(packet: Uint8Array, key: Uint8Array): ArbiterDecodeResult<ArbiterRequest> {
  return openFrame(ARBITER_MAGIC, packet, key, ArbiterRequest, 'Paceline witness request', { maxBytes: ARBITER_MAX_PACKET_BYTES });
}

/** Checks and parses a reply (at the client). Never throws on packet content. */
export function decodeArbiterReply(packet: Uint8Array, key: Uint8Array): ArbiterDecodeResult<ArbiterReply> {
  return openFrame(ARBITER_MAGIC, packet, key, ArbiterReply, 'Paceline witness reply', { maxBytes: ARBITER_MAX_PACKET_BYTES });
}

// ── Configuration ───────────────────────────────────────────────────────────────────────────

export const ArbiterConfig = z
  .strictObject({
    /** The cluster's nodes: requests from any other name are dropped. */
    nodes: z.array(Name).min(1, 'at least one node is needed'),
    /** When set, requests must name this cluster. */
    cluster: ClusterName.optional(),
    /** How long a grant lasts without renewal (ms). */
    leaseMs: z.number().int().positive().default(ARBITER_DEFAULTS.leaseMs),
    /** Requests whose `sentAt` is further than this from the arbiter's clock are dropped as stale (ms). */
    maxSkewMs: z.number().int().positive().default(ARBITER_DEFAULTS.maxSkewMs),
  })
  .superRefine((c, ctx) => {
    const dup = c.nodes.find((n, i) => c.nodes.indexOf(n) !== i);
    if (dup !== undefined) ctx.addIssue({ code: 'custom', path: ['nodes'], message: `node "${dup}" is listed twice` });
  });
export type ArbiterConfigInput = z.input<typeof ArbiterConfig>;

export interface ResolvedArbiterConfig extends z.infer<typeof ArbiterConfig> {
  /**
   * After starting, the arbiter grants nothing for this long (ms): `leaseMs + 2 × maxSkewMs`. It
   * has forgotten who held the vote, and a lease granted just before it stopped may still be in use
   * (`leaseMs`); and it has forgotten which requests it has seen, so a request captured before the
   * restart must be stale before anything is granted (`2 × maxSkewMs` covers a claimant whose clock
   * is up to `maxSkewMs` ahead).
   */
  readonly startupHoldMs: number;
}

/** Parses an arbiter configuration; throws MembershipError listing every problem with its path. */
export function resolveArbiterConfig(input: ArbiterConfigInput): ResolvedArbiterConfig {
  const parsed = ArbiterConfig.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new MembershipError('MEMBERSHIP_CONFIG_INVALID', formatIssues(issues, 'witness arbiter configuration'), issues);
  }
  const c = parsed.data;
  return { ...c, nodes: [...c.nodes].sort(), startupHoldMs: c.leaseMs + 2 * c.maxSkewMs };
}

// ── The decision ────────────────────────────────────────────────────────────────────────────

export interface VoteHolder {
  readonly node: string;
  readonly boot: number;
  /** The sequence number of the claim that last granted or renewed it (older releases do not free it). */
  readonly seq: number;
  /** Lease clock (ms) at which the lease ends unless renewed. */
  readonly until: number;
}

export interface ArbiterState {
  readonly config: ResolvedArbiterConfig;
  /** Lease clock (ms) when the arbiter started. */
  readonly startedAt: number;
  /** The last node granted the vote; its lease may have ended (compare `until`). */
  readonly holder?: VoteHolder | undefined;
  /** Per node: its newest incarnation and the sequence numbers seen from it (anti-replay window). */
  readonly windows: Readonly<Record<string, ReplayWindow>>;
  /** Per node: its last release read (claims it sent before that release grant nothing). */
  readonly releases: Readonly<Record<string, { readonly boot: number; readonly seq: number }>>;
}

/** A new arbiter's state. `at` is the lease clock (ms) now. */
export function initialArbiterState(config: ArbiterConfigInput | ResolvedArbiterConfig, at: number): ArbiterState {
  const c = 'startupHoldMs' in config ? config : resolveArbiterConfig(config);
  return { config: c, startedAt: at, holder: undefined, windows: {}, releases: {} };
}

export interface ArbiterInput {
  readonly request: ArbiterRequest;
  /** The arbiter's wall clock (ms): `sentAt` is checked against it. */
  readonly now: number;
  /**
   * The lease clock (ms), which must never jump (a monotonic clock); leases and the startup hold
   * are measured on it. Default: `now` (fine for tests; a real server passes a monotonic clock).
   */
  readonly at?: number;
}

/** Why a request was dropped after its signature was checked. */
export const ARBITER_STEP_DROPS = ['unknown-node', 'wrong-cluster', 'stale', 'replayed', 'superseded'] as const;
export type ArbiterStepDrop = (typeof ARBITER_STEP_DROPS)[number];
/** Every reason the arbiter drops a packet: the codec's, then the decision's. */
export const ARBITER_DROP_REASONS = ['oversized', 'truncated', 'malformed', 'forged', ...ARBITER_STEP_DROPS] as const;
export type ArbiterDropReason = (typeof ARBITER_DROP_REASONS)[number];

/** What the arbiter did with one request (for its log and counters). */
export type ArbiterEvent =
  /** `renewal`: the claimant already held it; `previous`: a holder whose lease had run out. */
  | {
      readonly type: 'granted';
      readonly node: string;
      readonly boot: number;
      readonly lost: readonly string[];
      readonly leaseMs: number;
      readonly renewal: boolean;
      readonly previous?: { readonly node: string; readonly boot: number };
    }
  | {
      readonly type: 'refused';
      readonly node: string;
      readonly boot: number;
      readonly lost: readonly string[];
      readonly holder: string;
      readonly holderBoot: number;
      readonly remainingMs: number;
    }
  /** `freed`: the claimant held the vote and now nobody does. */
  | { readonly type: 'released'; readonly node: string; readonly boot: number; readonly freed: boolean }
  | { readonly type: 'unavailable'; readonly node: string; readonly boot: number; readonly retryInMs: number }
  | { readonly type: 'dropped'; readonly reason: ArbiterStepDrop; readonly node: string; readonly detail: string };

export interface ArbiterStepResult {
  readonly state: ArbiterState;
  /** The reply to send back to the request's source; none for a dropped request. */
  readonly reply?: ArbiterReply;
  readonly event: ArbiterEvent;
}

/**
 * Decides one request. Pure: time comes in as `now`/`at`, nothing is read or written elsewhere.
 *
 * A request is dropped (no reply) when its node is not configured (nor every lost peer), when it
 * names another cluster, when its incarnation is older than the newest seen from that node or its
 * sequence number was seen already (a 32-wide window per incarnation, as for heartbeats), or when
 * its `sentAt` is more than `maxSkewMs` from `now`. So a recorded request replayed later gets
 * nothing. A fresh claim is then granted when nobody holds the vote, the holder's lease has
 * run out, or the claimant is the holder (a renewal; a newer incarnation of the holder counts as
 * the holder), and refused otherwise, naming the holder and its remaining lease. A release by the
 * holder, sent after the claim that last granted the vote, frees it; a claim that arrives after a
 * later-sent release of the same node (reordered) grants nothing (`superseded`). Nothing is granted
 * during `startupHoldMs` after the start.
 */
export function arbiterStep(state: ArbiterState, input: ArbiterInput): ArbiterStepResult {
  const { request: r, now } = input;
  const at = input.at ?? now;
  const c = state.config;
  const drop = (reason: ArbiterStepDrop, detail: string): ArbiterStepResult => ({ state, event: { type: 'dropped', reason, node: r.node, detail } });
  if (!c.nodes.includes(r.node)) return drop('unknown-node', `"${r.node}" is not a node of this cluster (${c.nodes.join(', ')})`);
  if (r.type === 'claim') {
    const stranger = r.lost.find((n) => !c.nodes.includes(n));
    if (stranger !== undefined) return drop('unknown-node', `lost peer "${stranger}" is not a node of this cluster`);
  }
  if (c.cluster !== undefined && r.cluster !== c.cluster)
    return drop('wrong-cluster', `names cluster ${r.cluster === undefined ? '(none)' : `"${r.cluster}"`}, this arbiter serves "${c.cluster}"`);
  const replay = checkReplay(state.windows[r.node], r.boot, r.seq);
  if (!replay.ok) return drop('replayed', replay.detail);
  const accepted: ArbiterState = { ...state, windows: { ...state.windows, [r.node]: replay.window } };
  // A stale request is still signed by the node: its sequence number counts as seen, so that the
  // same packet replayed later (when its sentAt might pass, e.g. from a node whose clock runs ahead)
  // gets nothing either.
  if (Math.abs(now - r.sentAt) > c.maxSkewMs)
    return {
      state: accepted,
      event: {
        type: 'dropped',
        reason: 'stale',
        node: r.node,
        detail: `sent at ${r.sentAt}, ${now - r.sentAt} ms from the arbiter's clock (limit ${c.maxSkewMs} ms)`,
      },
    };
  const base = { v: 1, type: 'reply', node: r.node, boot: r.boot, nonce: r.nonce } as const;
  const h = state.holder;
  const live = h !== undefined && h.until > at;

  if (r.type === 'release') {
    const freed = live && h.node === r.node && (r.boot > h.boot || r.seq > h.seq);
    const last = state.releases[r.node];
    const releases =
      last === undefined || r.boot > last.boot || (r.boot === last.boot && r.seq > last.seq)
        ? { ...state.releases, [r.node]: { boot: r.boot, seq: r.seq } }
        : state.releases;
    return {
      state: { ...accepted, releases, ...(freed ? { holder: undefined } : {}) },
      reply: { ...base, vote: 'released' },
      event: { type: 'released', node: r.node, boot: r.boot, freed },
    };
  }

  const released = state.releases[r.node];
  if (released !== undefined && released.boot === r.boot && released.seq > r.seq)
    return {
      state: accepted,
      event: { type: 'dropped', reason: 'superseded', node: r.node, detail: `claim ${r.seq} was sent before release ${released.seq}` },
    };
  const holdEnds = state.startedAt + c.startupHoldMs;
  if (at < holdEnds) {
    const retryInMs = Math.ceil(holdEnds - at);
    return { state: accepted, reply: { ...base, vote: 'unavailable', retryInMs }, event: { type: 'unavailable', node: r.node, boot: r.boot, retryInMs } };
  }

  if (!live || h.node === r.node) {
    const renewal = live;
    const previous = !live && h !== undefined && h.node !== r.node ? { node: h.node, boot: h.boot } : undefined;
    return {
      state: { ...accepted, holder: { node: r.node, boot: r.boot, seq: renewal && h.boot === r.boot ? Math.max(h.seq, r.seq) : r.seq, until: at + c.leaseMs } },
      reply: { ...base, vote: 'granted', leaseMs: c.leaseMs },
      event: { type: 'granted', node: r.node, boot: r.boot, lost: r.lost, leaseMs: c.leaseMs, renewal, ...(previous ? { previous } : {}) },
    };
  }
  const remainingMs = Math.ceil(h.until - at);
  return {
    state: accepted,
    reply: { ...base, vote: 'refused', holder: h.node, holderBoot: h.boot, leaseMs: remainingMs },
    event: { type: 'refused', node: r.node, boot: r.boot, lost: r.lost, holder: h.node, holderBoot: h.boot, remainingMs },
  };
}
