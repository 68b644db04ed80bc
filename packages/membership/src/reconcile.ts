/**
 * After every input: what follows from the peers' state — the view and its id, the coordinator
 * and its term, quorum, the arbiter's vote, fencing, isolation and whether resources may run.
 */
import type { ResolvedConfig } from './config.js';
import { daemonDown, type P, type S } from './draft.js';
import { explainMayRun, voteResult, witnessFresh } from './safety.js';
import type { MembershipEvent, MembershipState } from './state.js';

/** Whether this view has quorum, and why (waiting for all nodes, two-node mode, a majority or not). */
export function quorum(s: MembershipState | S): { quorate: boolean; reason: string } {
  const total = s.config.nodeNames.length;
  const n = s.members.length;
  if (s.waitingForAll) return { quorate: false, reason: `waiting for all ${total} nodes (${n} seen)` };
  if (s.config.twoNode) return { quorate: n >= 1, reason: `two-node mode, ${n} of 2 nodes` };
  return n * 2 > total
    ? { quorate: true, reason: `${n} of ${total} nodes is a majority` }
    : { quorate: false, reason: `${n} of ${total} nodes is not a majority` };
}

/** Derives membership, coordinator, quorum, fencing and permission from the peers' state. */
export function reconcile(s: S, ev: MembershipEvent[]): void {
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
