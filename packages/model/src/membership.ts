/**
 * The `membership` section of the cluster configuration: the cluster-wide heartbeat timing and
 * partition policy. It is replicated with the rest of the document, so every node runs with the
 * same policy; `paceline daemon` accepts per-node overrides (`--membership KEY=VALUE`, `--profile`,
 * `--partition-policy`), validated with this schema, and the coordinator refuses to schedule while
 * the members' settings in effect differ (docs/daemon.md, "Membership settings").
 *
 * Every field is optional and has no default here: the membership state machine applies the
 * timing profile first and then its defaults (`@paceline/membership`, `MembershipConfig`), so a
 * profile's values are not hidden behind defaults filled in by this schema. Times are in ticks.
 */
import { z } from 'zod';

const LinkName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9_.:@+-]+$/, 'a link name may contain only letters, digits and _ . : @ + -');
const Ticks = z.number().int().positive();

/**
 * What a node does when it loses contact with a peer on every link:
 * - `fence`: the quorate side fences the peer (one side waits `fenceDelayTicks` so that both sides
 *   of a split do not shoot each other at once) and takes over only once fencing is confirmed;
 * - `witness`: a node runs resources only while it can reach the witness (a ping target the caller
 *   checks); it takes over a lost peer's resources after `witnessGraceTicks`;
 * - `stop-all`: any node that loses a peer stops everything until the peer is back.
 */
export const PartitionPolicy = z.enum(['fence', 'witness', 'stop-all']);
export type PartitionPolicy = z.infer<typeof PartitionPolicy>;

/** Timing profiles: `default` loses a node after ≈0.3 s of silence, `fast` after ≈0.15 s (docs/membership.md). */
export const TimingProfile = z.enum(['default', 'fast']);
export type TimingProfile = z.infer<typeof TimingProfile>;

export const LinkTiming = z.strictObject({
  /** Silence on this link longer than this marks the link down (overrides `deadTicks`). */
  deadTicks: Ticks.optional(),
  /** Silence on this link this long emits a `link-late` warning (overrides `warnTicks`). */
  warnTicks: Ticks.optional(),
});
export type LinkTiming = z.infer<typeof LinkTiming>;

export const MembershipSettings = z.strictObject({
  /** A timing profile: its values are the defaults for tickMs, heartbeatTicks, deadTicks and warnTicks. */
  profile: TimingProfile.optional(),
  /** Length of one tick in milliseconds (default 50; the fast profile: 25). */
  tickMs: Ticks.optional(),
  /** Send a heartbeat on every link every this many ticks (default 1). */
  heartbeatTicks: Ticks.optional(),
  /** A link to a peer is down after this many ticks of silence on it; a peer is lost when all its links are down (default 6). */
  deadTicks: Ticks.optional(),
  /** After this many ticks of silence on a link, a `link-late` warning is emitted (default 4). */
  warnTicks: Ticks.optional(),
  /** Per-link overrides of the timing, by link name (a key of the nodes' `addresses`). */
  links: z.record(LinkName, LinkTiming).optional(),
  /**
   * Two-node mode (corosync's two_node): a lone survivor keeps quorum. Needs exactly two nodes.
   * Default: on when the configuration has exactly two nodes (the daemon's rule).
   */
  twoNode: z.boolean().optional(),
  /** No quorum until every configured node has been seen at once (default: on in two-node mode). */
  waitForAll: z.boolean().optional(),
  /** What a node does when it loses a peer on every link (default `fence`). */
  partitionPolicy: PartitionPolicy.optional(),
  /** The node that wins a fence race (fences without delay); default: the lowest node name. */
  preferredNode: z.string().min(1).max(255).optional(),
  /** Extra wait before the node that does not win the fence race fences its peer (default 20). */
  fenceDelayTicks: z.number().int().nonnegative().optional(),
  /** While a peer is lost, the arbiter's vote is asked for again every this many ticks (default 10). */
  voteRenewTicks: Ticks.optional(),
  /** Skip the fence-race delay when every link to the lost peer answers "port unreachable" (default true). */
  fenceNowIfPeerRefuses: z.boolean().optional(),
  /** After a failed fencing attempt, request it again after this many ticks (default 20). */
  fenceRetryTicks: Ticks.optional(),
  /** A peer not heard at all since this node started counts as lost only after this many ticks (default 40). */
  startupGraceTicks: z.number().int().nonnegative().optional(),
  /** A witness report older than this counts as "unreachable" (default 40). */
  witnessStaleTicks: Ticks.optional(),
  /** With the witness policy: ticks after losing a peer before its resources may be taken over (default 40). */
  witnessGraceTicks: z.number().int().nonnegative().optional(),
});
export type MembershipSettings = z.infer<typeof MembershipSettings>;

/** The names of the settings, for messages ("did you mean …"). */
export const MEMBERSHIP_SETTING_NAMES: readonly string[] = Object.keys(MembershipSettings.shape);
