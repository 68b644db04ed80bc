/**
 * Membership configuration: which nodes exist, which heartbeat links each one has, and the timing
 * (in logical ticks) and safety policy the state machine follows. The caller converts ticks to
 * wall-clock time with `tickMs`; the state machine never reads a clock.
 */
import { z } from 'zod';

const Name = z
  .string()
  .min(1, 'a name must not be empty')
  .max(255)
  .regex(/^[A-Za-z0-9_.:@+-]+$/, 'a name may contain only letters, digits and _ . : @ + -');

export const PartitionPolicy = z.enum(['fence', 'witness', 'stop-all']);
/**
 * What a node does when it loses contact with a peer on every link:
 * - `fence`: the quorate side fences the peer (one side waits `fenceDelayTicks` so that both sides
 *   of a split do not shoot each other at once) and takes over only once fencing is confirmed;
 * - `witness`: a node runs resources only while it can reach the witness (a ping target the caller
 *   checks); it takes over a lost peer's resources after `witnessGraceTicks`;
 * - `stop-all`: any node that loses a peer stops everything until the peer is back.
 */
export type PartitionPolicy = z.infer<typeof PartitionPolicy>;

export const LinkTiming = z.strictObject({
  /** Silence on this link longer than this marks the link down (overrides `deadTicks`). */
  deadTicks: z.number().int().positive().optional(),
  /** Silence on this link this long emits a `link-late` warning (overrides `warnTicks`). */
  warnTicks: z.number().int().positive().optional(),
});

export const MembershipNode = z.strictObject({
  name: Name,
  /** The heartbeat links this node is attached to, e.g. ["crossover", "lan"]. */
  links: z.array(Name).min(1, 'a node needs at least one heartbeat link'),
});
export type MembershipNode = z.infer<typeof MembershipNode>;

/** Timing profiles (see docs/membership.md for the rationale). */
export const TIMING_PROFILES = {
  /** ≈300 ms to declare a node lost; 20 heartbeats per second per link. */
  default: { tickMs: 50, heartbeatTicks: 1, deadTicks: 6, warnTicks: 4 },
  /** ≈150 ms to declare a node lost; 40 heartbeats per second per link. */
  fast: { tickMs: 25, heartbeatTicks: 1, deadTicks: 6, warnTicks: 4 },
} as const;
export type TimingProfile = keyof typeof TIMING_PROFILES;

export const MembershipConfig = z
  .strictObject({
    /** This node's name; must be one of `nodes`. */
    self: Name,
    nodes: z.array(MembershipNode).min(1, 'at least one node is needed'),
    /** A timing profile: its values are the defaults for tickMs, heartbeatTicks, deadTicks and warnTicks. */
    profile: z.enum(['default', 'fast']).optional(),
    /** Length of one tick in milliseconds (used by the caller's timer and for display only). */
    tickMs: z.number().int().positive().default(TIMING_PROFILES.default.tickMs),
    /** Send a heartbeat on every link every this many ticks. */
    heartbeatTicks: z.number().int().positive().default(TIMING_PROFILES.default.heartbeatTicks),
    /** A link to a peer is down after this many ticks of silence on it; a peer is lost when all its links are down. */
    deadTicks: z.number().int().positive().default(TIMING_PROFILES.default.deadTicks),
    /** After this many ticks of silence on a link, a `link-late` warning is emitted. */
    warnTicks: z.number().int().positive().default(TIMING_PROFILES.default.warnTicks),
    /** Per-link overrides of the timing. */
    links: z.record(Name, LinkTiming).default({}),
    /** Two-node mode (corosync's two_node): a lone survivor keeps quorum. Needs exactly two nodes. */
    twoNode: z.boolean().default(false),
    /** No quorum until every configured node has been seen at once (default: on in two-node mode). */
    waitForAll: z.boolean().optional(),
    partitionPolicy: PartitionPolicy.default('fence'),
    /** The node that wins a fence race (fences without delay); default: the lowest node name. */
    preferredNode: Name.optional(),
    /**
     * Without an arbiter: extra wait before a node that does not win the fence race fences its peer,
     * multiplied by its rank. The race is won by the node running the most (the `weights` input: the
     * sum of its active resources' priorities), ties by `preferredNode`.
     */
    fenceDelayTicks: z.number().int().nonnegative().default(20),
    /**
     * A tie-breaking arbiter (`paceline witness`) decides fence races: a node fences a lost peer only
     * once it holds the arbiter's vote, and then without delay; a node refused the vote (another node
     * holds it) may not run resources. The caller asks the arbiter on `vote-requested` and feeds the
     * answer as a `vote` input.
     */
    arbiter: z.boolean().default(false),
    /** While a peer is lost, the vote is asked for again (renewing its lease) every this many ticks. */
    voteRenewTicks: z.number().int().positive().default(10),
    /**
     * Skip the fence-race delay when every link to the lost peer reports its port closed (ICMP port
     * unreachable): the peer's host is up but its daemon is dead, so it cannot fence this node and
     * there is no race to lose. Only availability depends on this: fencing still happens before any
     * takeover. Turn it off if a firewall may answer heartbeats with "reject" (see docs/membership.md).
     */
    fenceNowIfPeerRefuses: z.boolean().default(true),
    /** After a failed fencing attempt, request it again after this many ticks. */
    fenceRetryTicks: z.number().int().positive().default(20),
    /**
     * A peer not heard at all since this node started counts as lost only after this many ticks
     * (so that nodes booting a moment apart do not fence each other).
     */
    startupGraceTicks: z.number().int().nonnegative().default(40),
    /** A witness report older than this counts as "unreachable". */
    witnessStaleTicks: z.number().int().positive().default(40),
    /** With the witness policy: ticks after losing a peer before its resources may be taken over. */
    witnessGraceTicks: z.number().int().nonnegative().default(40),
  })
  .superRefine((c, ctx) => {
    const names = c.nodes.map((n) => n.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) ctx.addIssue({ code: 'custom', path: ['nodes'], message: `node "${dup}" is listed twice` });
    if (!names.includes(c.self))
      ctx.addIssue({ code: 'custom', path: ['self'], message: `"${c.self}" is not one of the nodes (${names.join(', ')})` });
    if (c.twoNode && c.nodes.length !== 2)
      ctx.addIssue({ code: 'custom', path: ['twoNode'], message: `two-node mode needs exactly 2 nodes, not ${c.nodes.length}` });
    if (c.preferredNode !== undefined && !names.includes(c.preferredNode))
      ctx.addIssue({ code: 'custom', path: ['preferredNode'], message: `"${c.preferredNode}" is not one of the nodes` });
    const self = c.nodes.find((n) => n.name === c.self);
    if (self) {
      for (const n of c.nodes) {
        if (n.name === c.self) continue;
        if (!n.links.some((l) => self.links.includes(l)))
          ctx.addIssue({ code: 'custom', path: ['nodes'], message: `node "${n.name}" shares no heartbeat link with "${c.self}"` });
      }
    }
    const allLinks = new Set(c.nodes.flatMap((n) => n.links));
    for (const link of Object.keys(c.links))
      if (!allLinks.has(link)) ctx.addIssue({ code: 'custom', path: ['links', link], message: `no node has a link named "${link}"` });
    for (const [link, t] of Object.entries(c.links)) {
      const dead = t.deadTicks ?? c.deadTicks;
      const warn = t.warnTicks ?? c.warnTicks;
      if (warn > dead) ctx.addIssue({ code: 'custom', path: ['links', link], message: `warnTicks (${warn}) exceeds deadTicks (${dead})` });
    }
    if (c.warnTicks > c.deadTicks)
      ctx.addIssue({ code: 'custom', path: ['warnTicks'], message: `warnTicks (${c.warnTicks}) exceeds deadTicks (${c.deadTicks})` });
  });
export type MembershipConfigInput = z.input<typeof MembershipConfig>;
export type MembershipConfig = z.infer<typeof MembershipConfig>;

/** A parsed configuration plus the values derived from it, as the state machine uses it. */
export interface ResolvedConfig extends MembershipConfig {
  readonly waitForAll: boolean;
  /** Every configured node name, sorted. */
  readonly nodeNames: readonly string[];
  /** This node's links, sorted. */
  readonly selfLinks: readonly string[];
  /** For each peer (sorted by name), the links it shares with this node (sorted). */
  readonly peerLinks: Readonly<Record<string, readonly string[]>>;
  /** The node that fences without delay. */
  readonly preferred: string;
}

/** Dead time of a link in ticks. */
export function deadTicksOf(c: MembershipConfig, link: string): number {
  return c.links[link]?.deadTicks ?? c.deadTicks;
}

/** Warn time of a link in ticks. */
export function warnTicksOf(c: MembershipConfig, link: string): number {
  return c.links[link]?.warnTicks ?? c.warnTicks;
}

/** Builds membership nodes from the cluster configuration's nodes (links = keys of `addresses`). */
export function membershipNodes(nodes: readonly { name: string; addresses: Readonly<Record<string, string>> }[]): MembershipNode[] {
  return nodes.map((n) => ({ name: n.name, links: Object.keys(n.addresses).sort() }));
}
