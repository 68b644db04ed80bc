/**
 * Where a node's membership starts: its settings resolved (sorted node names, the links it shares
 * with each peer), its first state, and new settings taken while it runs.
 */
import { MembershipConfig, type MembershipConfigInput, type ResolvedConfig } from './config.js';
import { DROP_REASONS, type DropReason } from './codec.js';
import { MembershipError } from './errors.js';
import { quorum } from './reconcile.js';
import { knownIncarnation } from './replay.js';
import { explainMayRun } from './safety.js';
import type { MembershipState, PeerLink, PeerState } from './state.js';

/** Parses and resolves a configuration; throws MembershipError listing every problem. */
export function resolveConfig(input: MembershipConfigInput): ResolvedConfig {
  const parsed = MembershipConfig.safeParse(input);
  if (!parsed.success) throw MembershipError.fromIssues(parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  const c = parsed.data;
  const nodeNames = c.nodes.map((n) => n.name).sort();
  const selfLinks = [...(c.nodes.find((n) => n.name === c.self)?.links ?? [])].sort();
  const peerLinks: Record<string, string[]> = {};
  for (const n of [...c.nodes].sort((a, b) => (a.name < b.name ? -1 : 1)))
    if (n.name !== c.self) peerLinks[n.name] = n.links.filter((l) => selfLinks.includes(l)).sort();
  return {
    ...c,
    waitForAll: c.waitForAll ?? c.twoNode,
    nodeNames,
    selfLinks,
    peerLinks,
    preferred: c.preferredNode ?? nodeNames[0] ?? c.self,
  };
}

/**
 * The same state under new settings (the cluster configuration's `membership` section changed):
 * peers, links, quorum and fencing carry on; counts in ticks are read with the new timing from the
 * next step. The node set and its links cannot change this way (that takes a restart). Throws
 * MembershipError when they differ.
 */
export function reconfigure(state: MembershipState, config: ResolvedConfig): MembershipState {
  const links = (c: ResolvedConfig): string => JSON.stringify([c.self, c.selfLinks, c.peerLinks]);
  if (links(config) !== links(state.config))
    throw new MembershipError('MEMBERSHIP_CONFIG_INVALID', 'reconfigure: the nodes and their links cannot change while running (restart the daemon)');
  return { ...state, config };
}

/**
 * The state of a node that has just started. `boot` is its incarnation and must be larger than in
 * any earlier run (e.g. the start time in ms, or a counter persisted on disk). `peerBoots` are the
 * newest incarnations of the peers seen in earlier runs (persisted by the caller): packets of older
 * incarnations are refused from the start, so a recording made before this node restarted cannot
 * bring back a peer's earlier life.
 */
export function initialState(
  config: MembershipConfigInput | ResolvedConfig,
  options: { boot: number; peerBoots?: Readonly<Record<string, number>> },
): MembershipState {
  const c = 'peerLinks' in config ? config : resolveConfig(config);
  const peers: Record<string, PeerState> = {};
  for (const [name, links] of Object.entries(c.peerLinks)) {
    const l: Record<string, PeerLink> = {};
    for (const link of links) l[link] = { up: false, lastHeard: undefined, missed: 0, warned: false };
    const known = options.peerBoots?.[name];
    peers[name] = {
      name,
      member: false,
      left: false,
      lostAt: undefined,
      links: l,
      replay: known !== undefined ? knownIncarnation(known) : undefined,
      claim: undefined,
      fence: { phase: 'none' },
    };
  }
  const drops = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  const waitingForAll = c.waitForAll && c.nodeNames.length > 1;
  const base: MembershipState = {
    config: c,
    self: c.self,
    boot: options.boot,
    tick: 0,
    seq: 0,
    lastSentTick: undefined,
    peers,
    members: [c.self],
    membershipId: 1,
    coordinator: c.self,
    term: 0,
    quorate: false,
    waitingForAll,
    witness: undefined,
    witnessUpSince: undefined,
    isolated: false,
    mayRun: false,
    leaving: false,
    drops,
    vote: { phase: 'none' },
    weights: {},
  };
  const quorate = quorum(base).quorate;
  const withQuorum = { ...base, quorate };
  return { ...withQuorum, mayRun: explainMayRun(withQuorum).yes };
}
