/**
 * The two questions the resource layer asks before acting, answered from the membership state
 * alone. The rule: no node runs a resource it cannot prove the peer is not running.
 */
import type { MembershipState, PeerState } from './state.js';

export interface Answer {
  readonly yes: boolean;
  readonly reason: string;
}

/** The last witness report says reachable and is not older than `witnessStaleTicks`. */
export function witnessFresh(s: MembershipState): boolean {
  return s.witness !== undefined && s.witness.reachable && s.tick - s.witness.tick <= s.config.witnessStaleTicks;
}

/**
 * The incarnation of a peer that planning may use: the one heard in this run, except while a newer
 * one is on probation (`restart`), when it is still the previous one. Undefined: none heard yet.
 */
export function settledBoot(p: PeerState): number | undefined {
  if (p.restart !== undefined) return p.restart.previous;
  return p.replay !== undefined && p.replay.highest >= 0 ? p.replay.boot : undefined;
}

/** The arbiter's last answer (also while a renewal is under way); undefined: not asked. */
export function voteResult(s: MembershipState): 'granted' | 'refused' | 'unreachable' | undefined {
  const v = s.vote;
  return v.phase === 'none' ? undefined : v.phase === 'asking' ? v.last : v.phase;
}

const missing = (s: MembershipState): PeerState[] => Object.values(s.peers).filter((p) => !p.member && !p.left && !(p.fence.phase === 'confirmed'));

/**
 * May this node run resources at all (keep its own, start new ones)? False without quorum, while
 * waiting for all nodes, while leaving, and — depending on the partition policy — while a peer is
 * unaccounted for (`stop-all`), or while a peer is unaccounted for and the witness is not reachable
 * (`witness`). Under `fence`, a node keeps running while its peer is lost: the fence race decides
 * which side survives.
 */
export function explainMayRun(s: MembershipState): Answer {
  if (s.leaving) return { yes: false, reason: 'this node is leaving the cluster' };
  if (s.selfConflict !== undefined)
    return {
      yes: false,
      reason: `another daemon runs as ${s.self} (${s.selfConflict.by} knows incarnation ${s.selfConflict.boot}; this one is ${s.boot}): this node stops its resources; stop the other daemon, then restart this one`,
    };
  if (s.waitingForAll) return { yes: false, reason: 'waiting until every node has been seen (waitForAll)' };
  if (!s.quorate) return { yes: false, reason: `no quorum (${s.members.length} of ${s.config.nodeNames.length} nodes)` };
  if (s.isolated) return { yes: false, reason: 'a peer was lost while the witness was unreachable; waiting until every peer sees this node again' };
  const gone = missing(s).map((p) => p.name);
  if (gone.length === 0) return { yes: true, reason: 'quorate and every peer is accounted for' };
  switch (s.config.partitionPolicy) {
    case 'fence': {
      if (s.config.arbiter && voteResult(s) === 'refused') {
        const holder = s.vote.phase !== 'none' ? s.vote.holder : undefined;
        return {
          yes: false,
          reason: `${gone.join(', ')} lost and the arbiter gave its vote to ${holder ?? 'another node'}: this node stops its resources and waits to be fenced or to rejoin`,
        };
      }
      return { yes: true, reason: `quorate; ${gone.join(', ')} not fenced yet (its resources stay where they were)` };
    }
    case 'witness':
      return witnessFresh(s)
        ? { yes: true, reason: `${gone.join(', ')} lost but the witness is reachable` }
        : { yes: false, reason: `${gone.join(', ')} lost and the witness is not reachable` };
    case 'stop-all':
      return { yes: false, reason: `${gone.join(', ')} lost (policy stop-all)` };
  }
}

export function mayRunResources(s: MembershipState): boolean {
  return explainMayRun(s).yes;
}

/**
 * Is it proven that `peer` runs nothing, so that its resources may be started here? True when the
 * peer left cleanly, when fencing it was confirmed, or (policy `witness`) when it has been lost for
 * `witnessGraceTicks` while this node reached the witness without interruption since the loss (the
 * peer, unable to reach us or the witness, has stopped its resources). Never true for a member.
 */
export function explainPeerSafelyDown(s: MembershipState, peer: string): Answer {
  const p = s.peers[peer];
  if (p === undefined) return { yes: false, reason: `"${peer}" is not a peer of ${s.self}` };
  if (p.member) return { yes: false, reason: `${peer} is a member` };
  if (p.conflict !== undefined)
    return {
      yes: false,
      reason: `two daemons run as ${peer} (incarnations ${p.conflict.boots.join(' and ')}): unclean until both are gone and a newer incarnation joins${p.fence.phase === 'confirmed' ? ' (fencing powered off one machine; the other may still run)' : ''}`,
    };
  if (p.left) return { yes: true, reason: `${peer} left cleanly` };
  if (p.fence.phase === 'confirmed') return { yes: true, reason: `${peer} was fenced` };
  switch (s.config.partitionPolicy) {
    case 'fence':
      return {
        yes: false,
        reason: `${peer} ${p.lostAt === undefined ? 'not seen since this node started' : 'lost'}; fencing ${p.fence.phase === 'none' ? (s.config.arbiter && voteResult(s) !== 'granted' ? `waits for the arbiter's vote (${voteResult(s) ?? 'not asked'})` : 'not started') : p.fence.phase}`,
      };
    case 'witness': {
      if (!s.quorate || s.waitingForAll) return { yes: false, reason: 'no quorum' };
      if (s.isolated) return { yes: false, reason: 'this node is isolated (it lost a peer and the witness)' };
      if (!witnessFresh(s)) return { yes: false, reason: `${peer} lost and the witness is not reachable` };
      const lostAt = p.lostAt ?? s.config.startupGraceTicks;
      if (s.witnessUpSince === undefined || s.witnessUpSince > lostAt)
        return { yes: false, reason: `the witness was not reachable without interruption since ${peer} was lost` };
      const since = s.tick - lostAt;
      return since >= s.config.witnessGraceTicks
        ? { yes: true, reason: `${peer} lost for ${since} ticks and the witness is reachable` }
        : { yes: false, reason: `${peer} lost ${since} ticks ago; waiting ${s.config.witnessGraceTicks} ticks for it to stop` };
    }
    case 'stop-all':
      return { yes: false, reason: `${peer} lost without leaving cleanly (policy stop-all)` };
  }
}

export function peerSafelyDown(s: MembershipState, peer: string): boolean {
  return explainPeerSafelyDown(s, peer).yes;
}
