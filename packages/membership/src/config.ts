/**
 * Membership configuration: which nodes exist, which heartbeat links each one has, and the timing
 * (in logical ticks) and safety policy the state machine follows. The caller converts ticks to
 * wall-clock time with `tickMs`; the state machine never reads a clock.
 */
import { z } from 'zod';
import { LinkTiming, MembershipSettings, PartitionPolicy, type TimingProfile } from '@paceline/model';

const Name = z
  .string()
  .min(1, 'a name must not be empty')
  .max(255)
  .regex(/^[A-Za-z0-9_.:@+-]+$/, 'a name may contain only letters, digits and _ . : @ + -');

export { PartitionPolicy, LinkTiming };

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
} as const satisfies Record<TimingProfile, unknown>;
export type { TimingProfile };

/** The defaults of the settings that no profile sets (the `membership` section's documented defaults). */
export const MEMBERSHIP_DEFAULTS = {
  links: {} as Readonly<Record<string, LinkTiming>>,
  twoNode: false,
  partitionPolicy: 'fence' as PartitionPolicy,
  fenceDelayTicks: 20,
  arbiter: false,
  voteRenewTicks: 10,
  fenceNowIfPeerRefuses: true,
  fenceRetryTicks: 20,
  startupGraceTicks: 40,
  witnessStaleTicks: 40,
  witnessGraceTicks: 40,
} as const;

/**
 * The state machine's configuration: the cluster configuration's `membership` section (the
 * model's `MembershipSettings`, one schema for the file, the daemon's overrides and this) plus this
 * node, every node with its links, and `arbiter`. Parsing applies the timing profile, then the
 * defaults, so explicit values win over the profile.
 */
export const MembershipConfig = MembershipSettings.extend({
  /** This node's name; must be one of `nodes`. */
  self: Name,
  nodes: z.array(MembershipNode).min(1, 'at least one node is needed'),
  /**
   * A tie-breaking arbiter (`paceline witness`) decides fence races: a node fences a lost peer only
   * once it holds the arbiter's vote, and then without delay; a node refused the vote (another node
   * holds it) may not run resources. The caller asks the arbiter on `vote-requested` and feeds the
   * answer as a `vote` input.
   */
  arbiter: z.boolean().optional(),
  preferredNode: Name.optional(),
})
  .transform((c) => {
    const timing = TIMING_PROFILES[c.profile ?? 'default'];
    return {
      ...c,
      tickMs: c.tickMs ?? timing.tickMs,
      heartbeatTicks: c.heartbeatTicks ?? timing.heartbeatTicks,
      deadTicks: c.deadTicks ?? timing.deadTicks,
      warnTicks: c.warnTicks ?? timing.warnTicks,
      links: c.links ?? MEMBERSHIP_DEFAULTS.links,
      twoNode: c.twoNode ?? MEMBERSHIP_DEFAULTS.twoNode,
      partitionPolicy: c.partitionPolicy ?? MEMBERSHIP_DEFAULTS.partitionPolicy,
      fenceDelayTicks: c.fenceDelayTicks ?? MEMBERSHIP_DEFAULTS.fenceDelayTicks,
      arbiter: c.arbiter ?? MEMBERSHIP_DEFAULTS.arbiter,
      voteRenewTicks: c.voteRenewTicks ?? MEMBERSHIP_DEFAULTS.voteRenewTicks,
      fenceNowIfPeerRefuses: c.fenceNowIfPeerRefuses ?? MEMBERSHIP_DEFAULTS.fenceNowIfPeerRefuses,
      fenceRetryTicks: c.fenceRetryTicks ?? MEMBERSHIP_DEFAULTS.fenceRetryTicks,
      startupGraceTicks: c.startupGraceTicks ?? MEMBERSHIP_DEFAULTS.startupGraceTicks,
      witnessStaleTicks: c.witnessStaleTicks ?? MEMBERSHIP_DEFAULTS.witnessStaleTicks,
      witnessGraceTicks: c.witnessGraceTicks ?? MEMBERSHIP_DEFAULTS.witnessGraceTicks,
    };
  })
  .superRefine((c, ctx) => {
    const names = c.nodes.map((n) => n.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) ctx.addIssue({ code: 'custom', path: ['nodes'], message: `node "${dup}" is listed twice` });
    if (!names.includes(c.self)) ctx.addIssue({ code: 'custom', path: ['self'], message: `"${c.self}" is not one of the nodes (${names.join(', ')})` });
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

/** One setting's value in effect, as nodes compare them (see `clusterWideSettings`). */
export type SettingValue = string | number | boolean;

/**
 * The settings in effect that every node of a cluster must share, flattened (`links.lan.deadTicks`)
 * and sorted: the `membership` section after the profile, the defaults and this node's overrides,
 * and whether an arbiter decides fence races. A node's `self` and its links are not in it. Daemons
 * exchange it in their reports and refuse to schedule while members' differ.
 */
export function clusterWideSettings(c: ResolvedConfig): Readonly<Record<string, SettingValue>> {
  // Once per settings object: every report a node makes carries them (hundreds a second in a burst).
  let settings = settingsOf.get(c);
  if (settings === undefined) settingsOf.set(c, (settings = Object.freeze(computeSettings(c))));
  return settings;
}

const settingsOf = new WeakMap<ResolvedConfig, Readonly<Record<string, SettingValue>>>();

function computeSettings(c: ResolvedConfig): Record<string, SettingValue> {
  const out: Record<string, SettingValue> = {
    tickMs: c.tickMs,
    heartbeatTicks: c.heartbeatTicks,
    deadTicks: c.deadTicks,
    warnTicks: c.warnTicks,
    twoNode: c.twoNode,
    waitForAll: c.waitForAll,
    partitionPolicy: c.partitionPolicy,
    preferredNode: c.preferred,
    fenceDelayTicks: c.fenceDelayTicks,
    arbiter: c.arbiter,
    voteRenewTicks: c.voteRenewTicks,
    fenceNowIfPeerRefuses: c.fenceNowIfPeerRefuses,
    fenceRetryTicks: c.fenceRetryTicks,
    startupGraceTicks: c.startupGraceTicks,
    witnessStaleTicks: c.witnessStaleTicks,
    witnessGraceTicks: c.witnessGraceTicks,
  };
  for (const [link, t] of Object.entries(c.links)) {
    if (t.deadTicks !== undefined) out[`links.${link}.deadTicks`] = t.deadTicks;
    if (t.warnTicks !== undefined) out[`links.${link}.warnTicks`] = t.warnTicks;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}
