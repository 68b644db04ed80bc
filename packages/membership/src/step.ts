/**
 * The membership state machine: `step(state, input) → { state, outbox, events }`. Pure and
 * deterministic: no clock, no randomness, no I/O; peers and links are visited in sorted order.
 * The caller feeds a `tick` every `tickMs`, feeds decoded packets, sends the outbox, and acts on
 * the events.
 */
import { MembershipConfig, deadTicksOf, warnTicksOf, type MembershipConfigInput, type ResolvedConfig } from './config.js';
import { DROP_REASONS, type DropReason } from './codec.js';
import { MembershipError } from './errors.js';
import type { Heartbeat, WireMessage } from './messages.js';
import { checkReplay, knownIncarnation } from './replay.js';
import { explainMayRun, settledBoot, voteResult, witnessFresh } from './safety.js';
import type { FenceState, MembershipEvent, MembershipInput, MembershipState, Outgoing, PeerLink, PeerState, StepResult, VoteState } from './state.js';

type Draft<T> = T extends readonly (infer U)[] ? U[] : T extends object ? { -readonly [K in keyof T]: Draft<T[K]> } : T;
type S = Draft<MembershipState>;
type P = Draft<PeerState>;

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

function draft(s: MembershipState): S {
  const peers: Record<string, P> = {};
  for (const [k, p] of Object.entries(s.peers)) {
    const links: Record<string, Draft<PeerLink>> = {};
    for (const [l, v] of Object.entries(p.links)) links[l] = { ...v };
    peers[k] = {
      ...p,
      links,
      replay: p.replay && { ...p.replay },
      claim: p.claim && { ...p.claim, members: [...p.claim.members] },
      fence: { ...p.fence } as Draft<FenceState>,
      conflict: p.conflict && { ...p.conflict, boots: [...p.conflict.boots] as [number, number] },
      restart: p.restart && { ...p.restart },
    };
  }
  return {
    ...s,
    config: s.config as Draft<ResolvedConfig>,
    peers,
    members: [...s.members],
    witness: s.witness && { ...s.witness },
    drops: { ...s.drops },
    vote: { ...s.vote } as Draft<VoteState>,
    weights: { ...s.weights },
    selfConflict: s.selfConflict && { ...s.selfConflict },
  };
}

/** Advances the state machine by one input. Never throws on peer input; invalid input is counted. */
export function step(state: MembershipState, input: MembershipInput): StepResult {
  const s = draft(state);
  const out: Outgoing[] = [];
  const ev: MembershipEvent[] = [];
  switch (input.type) {
    case 'tick':
      onTick(s, out, ev);
      break;
    case 'message':
      onMessage(s, input.link, input.from, input.message, ev);
      break;
    case 'dropped':
      drop(s, ev, input.link, input.reason, input.from, input.detail);
      break;
    case 'witness': {
      const wasUp = witnessFresh(state);
      s.witnessUpSince = input.reachable ? (wasUp ? s.witnessUpSince : s.tick) : undefined;
      s.witness = { reachable: input.reachable, tick: s.tick };
      break;
    }
    case 'fence-result':
      onFenceResult(s, input.node, input.ok, input.detail, ev);
      break;
    case 'unreachable':
      onUnreachable(s, input.link, input.node, ev);
      break;
    case 'vote': {
      if (s.vote.phase === 'none') break; // a late answer after the vote was given back
      const before = voteResult(state);
      s.vote = {
        phase: input.result,
        at: s.tick,
        ...(input.holder !== undefined ? { holder: input.holder } : {}),
        ...(input.detail !== undefined ? { detail: input.detail } : {}),
      };
      if (before !== input.result)
        ev.push({
          type: 'vote-changed',
          result: input.result,
          ...(input.holder !== undefined ? { holder: input.holder } : {}),
          ...(input.detail !== undefined ? { detail: input.detail } : {}),
        });
      break;
    }
    case 'weights':
      s.weights = { ...input.weights };
      break;
    case 'leave':
      if (!s.leaving) {
        s.leaving = true;
        for (const [peer, links] of Object.entries(s.config.peerLinks))
          for (const link of links) out.push({ link, to: peer, message: { v: 1, type: 'leave', from: s.self, to: peer, link, boot: s.boot, seq: ++s.seq } });
      }
      break;
  }
  reconcile(s, ev);
  return { state: s as MembershipState, outbox: out, events: ev };
}

function drop(s: S, ev: MembershipEvent[], link: string, reason: DropReason, from?: string, detail?: string): void {
  s.drops[reason] += 1;
  ev.push({ type: 'packet-dropped', link, reason, ...(from !== undefined ? { from } : {}), ...(detail !== undefined ? { detail } : {}) });
}

function onTick(s: S, out: Outgoing[], ev: MembershipEvent[]): void {
  s.tick += 1;
  const c = s.config;
  for (const p of Object.values(s.peers)) {
    const rs = p.restart;
    if (rs !== undefined && s.tick - rs.lastPrevious > Math.max(...Object.keys(p.links).map((l) => deadTicksOf(c, l)))) {
      p.restart = undefined;
      if (p.member) ev.push({ type: 'node-restarted', node: p.name, boot: rs.boot });
    }
    for (const [link, l] of Object.entries(p.links)) {
      if (!l.up || l.lastHeard === undefined) continue;
      const silent = s.tick - l.lastHeard;
      l.missed = Math.floor(silent / c.heartbeatTicks);
      if (silent > deadTicksOf(c, link)) {
        l.up = false;
        ev.push({ type: 'link-down', node: p.name, link, silentTicks: silent });
      } else if (!l.warned && silent >= warnTicksOf(c, link)) {
        l.warned = true;
        ev.push({ type: 'link-late', node: p.name, link, silentTicks: silent });
      }
    }
    if (p.member && !Object.values(p.links).some((l) => l.up)) {
      p.member = false;
      p.restart = undefined;
      p.lostAt = s.tick;
      ev.push({ type: 'node-lost', node: p.name });
      if (daemonDown(p)) ev.push({ type: 'peer-daemon-down', node: p.name });
    }
  }
  if (!s.leaving && (s.lastSentTick === undefined || s.tick - s.lastSentTick >= c.heartbeatTicks)) {
    s.lastSentTick = s.tick;
    for (const [peer, links] of Object.entries(c.peerLinks)) {
      for (const link of links) {
        // The peer's incarnation as planning knows it: not a newer one on probation (a clone would
        // otherwise learn that it is accepted), none while its name is in conflict (then the
        // incarnations in conflict instead, so that both daemons learn it).
        const q = s.peers[peer];
        const conflict = q?.conflict?.boots;
        const known = q !== undefined && conflict === undefined ? settledBoot(q as PeerState) : undefined;
        const message: Heartbeat = {
          v: 1,
          type: 'heartbeat',
          from: s.self,
          to: peer,
          link,
          boot: s.boot,
          seq: ++s.seq,
          membershipId: s.membershipId,
          members: [...s.members],
          coordinator: s.coordinator,
          term: s.term,
          ...(known !== undefined ? { peerBoot: known } : {}),
          ...(conflict !== undefined ? { conflict: [...conflict] } : {}),
        };
        out.push({ link, to: peer, message });
      }
    }
  }
}

function onMessage(s: S, link: string, from: string, m: WireMessage, ev: MembershipEvent[]): void {
  if (!s.config.selfLinks.includes(link)) return drop(s, ev, link, 'malformed', from, `this node has no link "${link}"`);
  const p = s.peers[m.from];
  if (p === undefined) return drop(s, ev, link, 'unknown-sender', from, `"${m.from}" is not a peer of ${s.self}`);
  const l = p.links[link];
  if (l === undefined) return drop(s, ev, link, 'unknown-sender', from, `${m.from} is not on link ${link}`);
  if (m.link !== link) return drop(s, ev, link, 'wrong-link', from, `a ${m.link} packet from ${m.from} arrived on ${link}`);
  if (m.to !== s.self) return drop(s, ev, link, 'misdirected', from, `a packet for ${m.to} from ${m.from}`);
  const r = checkReplay(p.replay, m.boot, m.seq);
  // Traffic from an incarnation in conflict keeps the conflict alive (see below: how it ends).
  if (p.conflict !== undefined && p.conflict.boots.includes(m.boot) && (r.ok || r.freshFromPrevious)) p.conflict = { ...p.conflict, lastTraffic: s.tick };
  if (!r.ok) {
    // Evidence of a second live daemon must be fresh in this node's current life: a heartbeat that
    // names this incarnation. Heartbeats recorded before this node restarted and replayed (simulated
    // replay seed 13: two incarnations' recordings, shuffled) cannot.
    const evidence = r.freshFromPrevious === true && m.type === 'heartbeat' && m.peerBoot === s.boot;
    if (r.window !== undefined && evidence) p.replay = r.window;
    drop(s, ev, link, 'replayed', from, `from ${m.from}: ${r.detail}`);
    if (!evidence) return;
    // Fresh traffic from the incarnation a newer one replaced: more packets than one round of
    // heartbeats still in flight when it stopped (one per link) means it has not stopped.
    const prev = r.window?.previous;
    if (r.freshFromPrevious && p.restart !== undefined) p.restart = { ...p.restart, lastPrevious: s.tick };
    if (r.freshFromPrevious && prev !== undefined && prev.fresh > Object.keys(p.links).length)
      declareConflict(
        s,
        p,
        [prev.boot, p.replay!.boot],
        ev,
        `fresh packets from incarnation ${prev.boot} of ${p.name} after incarnation ${p.replay!.boot} appeared`,
      );
    return;
  }
  const lastPrevious = Math.max(-1, ...Object.values(p.links).map((x) => x.lastHeard ?? -1));
  p.replay = r.window;
  if (p.conflict !== undefined) {
    // Unclean: nothing it sends makes it a member or "left cleanly" — until every daemon of the
    // conflict has been silent for a dead time and a newer incarnation speaks (the administrator
    // stopped the copy and restarted the node); that one joins as usual.
    const quiet = s.tick - p.conflict.lastTraffic > Math.max(...Object.keys(p.links).map((x) => deadTicksOf(s.config, x)));
    if (!(m.boot > Math.max(...p.conflict.boots) && quiet))
      return drop(s, ev, link, 'replayed', from, `from ${m.from}: two daemons run as ${m.from}; ignored until both are gone`);
    p.conflict = undefined;
    p.replay = { boot: m.boot, highest: m.seq, bits: 1 };
    if (p.fence.phase === 'confirmed') p.fence = { phase: 'none' };
  }
  if (m.type === 'heartbeat' && s.selfConflict === undefined) {
    const other =
      m.peerBoot !== undefined && m.peerBoot > s.boot ? m.peerBoot : m.conflict?.includes(s.boot) === true ? m.conflict.find((b) => b !== s.boot) : undefined;
    if (other !== undefined) {
      s.selfConflict = { boot: other, by: p.name, tick: s.tick };
      ev.push({
        type: 'identity-conflict',
        node: s.self,
        boots: [s.boot, other],
        detail: `${p.name} ${m.peerBoot === other ? 'knows' : 'reports a conflict with'} ${s.self} as incarnation ${other}, besides this daemon's ${s.boot}: another daemon runs as ${s.self}`,
      });
    }
  }
  if (m.type === 'leave' && (p.replay.previous?.fresh ?? 0) > 0) {
    // The incarnation this one replaced is still sending: this is not the node shutting down but
    // one of two daemons under its name leaving. The other still runs: unclean, never "left".
    declareConflict(
      s,
      p,
      [p.replay.previous!.boot, p.replay.boot],
      ev,
      `incarnation ${p.replay.boot} of ${p.name} left while incarnation ${p.replay.previous!.boot} still sends`,
    );
    return;
  }
  if (m.type === 'leave' && p.restart !== undefined && m.boot === p.restart.boot) {
    // A newer incarnation not yet confirmed as a restart cannot speak for the node: the previous one
    // may still run. Ignored: if the node really stopped, it goes silent and is lost (and fenced).
    return;
  }
  if (m.type === 'leave') {
    for (const x of Object.values(p.links)) Object.assign(x, { up: false, missed: 0, warned: false, refusedAt: undefined });
    if (p.member || !p.left) {
      p.member = false;
      p.restart = undefined;
      p.left = true;
      p.lostAt = s.tick;
      p.claim = undefined;
      ev.push({ type: 'node-left', node: p.name });
    }
    return;
  }
  Object.assign(l, { lastHeard: s.tick, missed: 0, warned: false, refusedAt: undefined });
  if (!l.up) {
    l.up = true;
    ev.push({ type: 'link-up', node: p.name, link });
  }
  if (!p.member) {
    p.member = true;
    p.left = false;
    p.lostAt = undefined;
    ev.push({ type: 'node-joined', node: p.name, boot: m.boot });
  } else if (r.newIncarnation) {
    // Not yet a restart: the previous incarnation must first be silent for a dead time (a second
    // daemon under the name keeps sending, and becomes an identity conflict instead).
    const previous = p.restart?.previous ?? r.window.previous?.boot;
    if (previous !== undefined) p.restart = { boot: m.boot, previous, lastPrevious: p.restart?.lastPrevious ?? lastPrevious };
  }
  p.claim = {
    coordinator: m.coordinator,
    term: m.term,
    membershipId: m.membershipId,
    members: [...m.members].sort(),
    ...(m.peerBoot !== undefined ? { peerBoot: m.peerBoot } : {}),
  };
}

/** Two daemons run under `p`'s name: unclean (not a member, not left) until fenced. */
function declareConflict(s: S, p: P, boots: [number, number], ev: MembershipEvent[], detail: string): void {
  if (p.conflict !== undefined) return;
  p.conflict = { boots, tick: s.tick, lastTraffic: s.tick };
  p.restart = undefined;
  ev.push({ type: 'identity-conflict', node: p.name, boots, detail });
  for (const x of Object.values(p.links)) Object.assign(x, { up: false, missed: 0, warned: false, refusedAt: undefined });
  p.claim = undefined;
  p.left = false;
  if (p.member) {
    p.member = false;
    ev.push({ type: 'node-lost', node: p.name });
  }
  p.lostAt = s.tick;
}

function onUnreachable(s: S, link: string, node: string, ev: MembershipEvent[]): void {
  const p = s.peers[node];
  const l = p?.links[link];
  if (p === undefined || l === undefined) return; // not a peer on that link: nothing to learn
  if (l.refusedAt !== undefined) return;
  l.refusedAt = s.tick;
  // A peer never seen since this node started is not news (its daemon is not up yet).
  if (!p.member && !p.left && p.lostAt !== undefined && daemonDown(p)) ev.push({ type: 'peer-daemon-down', node });
}

/** Every link to the peer reported its port closed since the peer was last heard. */
function daemonDown(p: P): boolean {
  const links = Object.values(p.links);
  return links.length > 0 && links.every((l) => l.refusedAt !== undefined);
}

function onFenceResult(s: S, node: string, ok: boolean, detail: string | undefined, ev: MembershipEvent[]): void {
  const p = s.peers[node];
  if (p === undefined || p.fence.phase !== 'requested') return; // stale or unsolicited result: ignore
  if (ok) {
    // (An identity conflict stays: the fencing device powered off one machine; a copy elsewhere may
    // still run. It ends when every copy is silent and a newer incarnation speaks.)
    p.fence = { phase: 'confirmed', at: s.tick };
    ev.push({ type: 'fence-confirmed', node });
  } else {
    const retry = s.config.fenceRetryTicks;
    p.fence = { phase: 'failed', retryTick: s.tick + retry };
    ev.push({ type: 'fence-failed', node, retryInTicks: retry, ...(detail !== undefined ? { detail } : {}) });
  }
}

function quorum(s: MembershipState | S): { quorate: boolean; reason: string } {
  const total = s.config.nodeNames.length;
  const n = s.members.length;
  if (s.waitingForAll) return { quorate: false, reason: `waiting for all ${total} nodes (${n} seen)` };
  if (s.config.twoNode) return { quorate: n >= 1, reason: `two-node mode, ${n} of 2 nodes` };
  return n * 2 > total
    ? { quorate: true, reason: `${n} of ${total} nodes is a majority` }
    : { quorate: false, reason: `${n} of ${total} nodes is not a majority` };
}

/** Derives membership, coordinator, quorum, fencing and permission from the peers' state. */
function reconcile(s: S, ev: MembershipEvent[]): void {
  const c = s.config;
  const members = [
    s.self,
    ...Object.values(s.peers)
      .filter((p) => p.member)
      .map((p) => p.name),
  ].sort();
  const memberPeers = Object.values(s.peers).filter((p) => p.member);
  if (members.join(',') !== s.members.join(',')) {
    const seen = Math.max(s.membershipId, ...memberPeers.map((p) => p.claim?.membershipId ?? 0));
    s.members = members;
    s.membershipId = seen + 1;
    ev.push({ type: 'membership-changed', membershipId: s.membershipId, members });
  }
  // Views that agree converge on the highest membership id among them.
  for (const p of memberPeers)
    if (p.claim !== undefined && p.claim.membershipId > s.membershipId && p.claim.members.join(',') === members.join(','))
      s.membershipId = p.claim.membershipId;
  // waitForAll is satisfied when every node is a member and every peer's own view includes this
  // node (so no peer still believes this node is down or fenced).
  // "Sees this node" means this incarnation: heartbeats recorded before this node restarted (replayed
  // by an attacker) name its previous incarnation, or none, and must not end the wait (simulated
  // replay seed 72: a stale view let a restarted node with an old document fence its peer).
  const seesSelf = (p: P): boolean => p.claim?.members.includes(s.self) === true && p.claim.peerBoot === s.boot;
  if (s.waitingForAll && members.length === c.nodeNames.length && memberPeers.every(seesSelf)) s.waitingForAll = false;

  // Coordinator: keep the current one while it is a member; otherwise elect the lowest member
  // name with a term above every term seen. Where views merge, the claim with the highest term
  // wins (ties: the lowest name), provided its coordinator is a member of this node's view.
  const previous = s.coordinator;
  const maxTerm = Math.max(s.term, ...memberPeers.map((p) => p.claim?.term ?? 0));
  if (!members.includes(s.coordinator)) {
    s.coordinator = members[0] ?? s.self;
    s.term = maxTerm + 1;
  }
  for (const p of memberPeers) {
    const claim = p.claim;
    if (claim === undefined || !members.includes(claim.coordinator)) continue;
    if (claim.term > s.term || (claim.term === s.term && claim.coordinator < s.coordinator)) {
      s.coordinator = claim.coordinator;
      s.term = claim.term;
    }
  }
  if (s.coordinator !== previous) ev.push({ type: 'coordinator-changed', coordinator: s.coordinator, term: s.term });

  const q = quorum(s);
  if (q.quorate !== s.quorate) {
    s.quorate = q.quorate;
    ev.push({ type: 'quorum-changed', quorate: q.quorate, reason: q.reason });
  }

  reconcileVote(s, ev);
  reconcileFencing(s, ev);

  if (c.partitionPolicy === 'witness') {
    const peers = Object.values(s.peers);
    // A peer never seen since startup counts only after the startup grace, as for fencing.
    const missing = peers.some((p) => !p.member && !p.left && p.fence.phase !== 'confirmed' && (p.lostAt !== undefined || s.tick >= c.startupGraceTicks));
    if (!s.isolated && missing && !witnessFresh(s as MembershipState)) s.isolated = true;
    else if (s.isolated && peers.every((p) => p.left || p.fence.phase === 'confirmed' || (p.member && seesSelf(p)))) s.isolated = false;
  }

  const may = explainMayRun(s as MembershipState);
  if (may.yes !== s.mayRun) {
    s.mayRun = may.yes;
    ev.push({ type: 'may-run-changed', mayRun: may.yes, reason: may.reason });
  }
}

/**
 * The fence-race delay: only two-node clusters race (with a majority, only one side is quorate).
 * The node that runs the most (its weight) fences at once, ties go to the preferred node, then by
 * name; the others wait `fenceDelayTicks` times their rank — so the side that keeps the services
 * survives a split, whatever its name.
 */
export function fenceDelay(c: ResolvedConfig, self: string, weights: Readonly<Record<string, number>> = {}): number {
  if (!c.twoNode) return 0;
  const w = (n: string): number => weights[n] ?? 0;
  const order = [...c.nodeNames].sort((a, b) => w(b) - w(a) || (a === c.preferred ? -1 : b === c.preferred ? 1 : a < b ? -1 : 1));
  return order.indexOf(self) * c.fenceDelayTicks;
}

/** Peers that are neither members, nor gone cleanly, nor fenced — and were seen, or had their startup grace. */
function unaccounted(s: S): P[] {
  return Object.values(s.peers).filter(
    (p) => !p.member && !p.left && p.fence.phase !== 'confirmed' && (p.lostAt !== undefined || s.tick >= s.config.startupGraceTicks),
  );
}

/**
 * With an arbiter: the coordinator of a quorate side that lost a peer asks for the vote, and keeps
 * renewing it while the peer is unaccounted for; once every peer is accounted for it gives it back.
 */
function reconcileVote(s: S, ev: MembershipEvent[]): void {
  const c = s.config;
  const lost = unaccounted(s).map((p) => p.name);
  const need =
    c.arbiter &&
    c.partitionPolicy === 'fence' &&
    s.quorate &&
    !s.waitingForAll &&
    !s.leaving &&
    s.coordinator === s.self &&
    s.selfConflict === undefined &&
    lost.length > 0;
  const v = s.vote;
  if (!need) {
    if (v.phase !== 'none') {
      if (voteResult(s as MembershipState) === 'granted') ev.push({ type: 'vote-released' });
      s.vote = { phase: 'none' };
    }
    return;
  }
  const due =
    v.phase === 'none' || (v.phase !== 'asking' && s.tick - v.at >= c.voteRenewTicks) || (v.phase === 'asking' && s.tick - v.since >= 4 * c.voteRenewTicks); // the answer never came: ask again
  if (!due) return;
  const last = voteResult(s as MembershipState);
  const holder = v.phase !== 'none' ? v.holder : undefined;
  s.vote = { phase: 'asking', since: s.tick, ...(last !== undefined ? { last } : {}), ...(holder !== undefined ? { holder } : {}) };
  ev.push({ type: 'vote-requested', lost });
}

function reconcileFencing(s: S, ev: MembershipEvent[]): void {
  const c = s.config;
  const inCharge = c.partitionPolicy === 'fence' && s.quorate && !s.leaving && s.coordinator === s.self && s.selfConflict === undefined;
  for (const p of Object.values(s.peers)) {
    const f = p.fence;
    if (p.member || p.left) {
      if (f.phase === 'pending' || f.phase === 'requested' || f.phase === 'failed')
        ev.push({ type: 'fence-cancelled', node: p.name, reason: p.member ? `${p.name} is back` : `${p.name} left cleanly` });
      if (f.phase !== 'none') p.fence = { phase: 'none' };
      continue;
    }
    if (!inCharge) {
      if (f.phase === 'pending') {
        p.fence = { phase: 'none' };
        ev.push({ type: 'fence-cancelled', node: p.name, reason: 'this node is no longer in charge of fencing' });
      }
      continue;
    }
    // A peer whose daemon is provably dead cannot fence this node: no race, no delay.
    const noRace = c.fenceNowIfPeerRefuses && daemonDown(p);
    // With an arbiter only the holder of its vote fences (at once); nobody else ever does.
    const mayFence = noRace || !c.arbiter || voteResult(s as MembershipState) === 'granted';
    if (!mayFence) {
      if (f.phase === 'pending') p.fence = { phase: 'none' };
      continue;
    }
    if (f.phase === 'none') {
      if (p.lostAt === undefined && s.tick < c.startupGraceTicks) continue; // never seen: give it time to boot
      const delay = noRace || c.arbiter ? 0 : fenceDelay(c, s.self, s.weights);
      p.fence = { phase: 'pending', dueTick: s.tick + delay };
      if (delay > 0) ev.push({ type: 'fence-pending', node: p.name, delayTicks: delay });
    } else if (f.phase === 'pending' && noRace && f.dueTick > s.tick) {
      p.fence = { phase: 'pending', dueTick: s.tick };
    }
    const g = p.fence;
    if ((g.phase === 'pending' && s.tick >= g.dueTick) || (g.phase === 'failed' && s.tick >= g.retryTick)) {
      p.fence = { phase: 'requested', since: s.tick };
      ev.push({ type: 'fence-requested', node: p.name });
    }
  }
}
