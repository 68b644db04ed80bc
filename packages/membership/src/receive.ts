/**
 * A peer's packet, as `step` receives it (already authenticated and parsed by the codec): is it
 * for this node on this link, is it fresh (the replay window), does it come from an identity in
 * conflict — and then what a leave or a heartbeat says about the peer.
 */
import { deadTicksOf } from './config.js';
import { drop, type P, type S } from './draft.js';
import type { Heartbeat, Leave, WireMessage } from './messages.js';
import { checkReplay, type ReplayCheck, type ReplayWindow } from './replay.js';
import type { MembershipEvent, MembershipInput, MembershipState } from './state.js';

type Refused = Extract<ReplayCheck, { ok: false }>;
type Accepted = Extract<ReplayCheck, { ok: true }>;

/** One packet from peer `m.from` on `link` (`from`: the address it came from, for drop reports). */
export function onMessage(s: S, link: string, from: string, m: WireMessage, ev: MembershipEvent[]): void {
  const p = addressed(s, link, from, m, ev);
  if (p === undefined) return;
  const r = checkReplay(p.replay, m.boot, m.seq);
  // Traffic from an incarnation in conflict keeps the conflict alive (see conflictOver: how it ends).
  if (p.conflict !== undefined && p.conflict.boots.includes(m.boot) && (r.ok || r.freshFromPrevious)) p.conflict = { ...p.conflict, lastTraffic: s.tick };
  if (!r.ok) return onRefused(s, p, link, from, m, r, ev);
  const lastPrevious = Math.max(-1, ...Object.values(p.links).map((x) => x.lastHeard ?? -1));
  p.replay = r.window;
  if (p.conflict !== undefined && !conflictOver(s, p, link, from, m, ev)) return;
  if (m.type === 'heartbeat' && s.selfConflict === undefined) noticeSelfConflict(s, p, m, ev);
  if (m.type === 'leave') return onLeave(s, p, p.replay, m, ev);
  onHeartbeat(s, p, link, m, r, lastPrevious, ev);
}

/**
 * Does this input only say that a member is still there — a fresh heartbeat, in sequence, from the
 * incarnation already known, on a link that is up, with the view it already announced? Then stepping
 * it changes when the link was last heard and the replay window, and nothing else: no event, nothing
 * derived. A caller may queue such inputs and step them just before its next tick (`stepAll`), in
 * order, which gives the same states as stepping each at once. Anything else must be stepped at once.
 */
export function isRefresh(s: MembershipState, input: MembershipInput): boolean {
  if (input.type !== 'message' || input.message.type !== 'heartbeat') return false;
  const m = input.message;
  const p = s.peers[m.from];
  const l = p?.links[input.link];
  if (p === undefined || l === undefined || !l.up || l.warned || l.refusedAt !== undefined) return false;
  if (m.link !== input.link || m.to !== s.self || !s.config.selfLinks.includes(input.link)) return false;
  if (!p.member || p.conflict !== undefined || p.restart !== undefined || s.selfConflict !== undefined) return false;
  if (p.replay === undefined || p.replay.boot !== m.boot || m.seq <= p.replay.highest) return false;
  if (m.conflict !== undefined || (m.peerBoot !== undefined && m.peerBoot > s.boot)) return false;
  const c = p.claim;
  if (c === undefined || c.coordinator !== m.coordinator || c.term !== m.term || c.membershipId !== m.membershipId || c.peerBoot !== m.peerBoot) return false;
  if (c.members.length !== m.members.length) return false;
  const sorted = [...m.members].sort();
  return sorted.every((n, i) => n === c.members[i]);
}

/** The peer that sent `m`, when it was sent to this node on this link by a peer on it; otherwise the packet is dropped. */
function addressed(s: S, link: string, from: string, m: WireMessage, ev: MembershipEvent[]): P | undefined {
  if (!s.config.selfLinks.includes(link)) return drop(s, ev, link, 'malformed', from, `this node has no link "${link}"`);
  const p = s.peers[m.from];
  if (p === undefined) return drop(s, ev, link, 'unknown-sender', from, `"${m.from}" is not a peer of ${s.self}`);
  if (p.links[link] === undefined) return drop(s, ev, link, 'unknown-sender', from, `${m.from} is not on link ${link}`);
  if (m.link !== link) return drop(s, ev, link, 'wrong-link', from, `a ${m.link} packet from ${m.from} arrived on ${link}`);
  if (m.to !== s.self) return drop(s, ev, link, 'misdirected', from, `a packet for ${m.to} from ${m.from}`);
  return p;
}

/** A packet the replay window refuses: dropped; fresh traffic from a replaced incarnation may prove two daemons under one name. */
function onRefused(s: S, p: P, link: string, from: string, m: WireMessage, r: Refused, ev: MembershipEvent[]): void {
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
}

/**
 * A packet from a peer whose name is in conflict. Unclean: nothing it sends makes it a member or
 * "left cleanly" — until every daemon of the conflict has been silent for a dead time and a newer
 * incarnation speaks (the administrator stopped the copy and restarted the node); that one joins
 * as usual. True when the conflict is over and the packet is to be read.
 */
function conflictOver(s: S, p: P, link: string, from: string, m: WireMessage, ev: MembershipEvent[]): boolean {
  const conflict = p.conflict!;
  const quiet = s.tick - conflict.lastTraffic > Math.max(...Object.keys(p.links).map((x) => deadTicksOf(s.config, x)));
  if (!(m.boot > Math.max(...conflict.boots) && quiet)) {
    drop(s, ev, link, 'replayed', from, `from ${m.from}: two daemons run as ${m.from}; ignored until both are gone`);
    return false;
  }
  p.conflict = undefined;
  p.replay = { boot: m.boot, highest: m.seq, bits: 1 };
  if (p.fence.phase === 'confirmed') p.fence = { phase: 'none' };
  return true;
}

/** A heartbeat that knows this node by a newer incarnation, or reports one in conflict with it: another daemon runs under this node's name. */
function noticeSelfConflict(s: S, p: P, m: Heartbeat, ev: MembershipEvent[]): void {
  const other =
    m.peerBoot !== undefined && m.peerBoot > s.boot ? m.peerBoot : m.conflict?.includes(s.boot) === true ? m.conflict.find((b) => b !== s.boot) : undefined;
  if (other === undefined) return;
  s.selfConflict = { boot: other, by: p.name, tick: s.tick };
  ev.push({
    type: 'identity-conflict',
    node: s.self,
    boots: [s.boot, other],
    detail: `${p.name} ${m.peerBoot === other ? 'knows' : 'reports a conflict with'} ${s.self} as incarnation ${other}, besides this daemon's ${s.boot}: another daemon runs as ${s.self}`,
  });
}

/** The peer says it is shutting down (`w`: its replay window, this packet accepted). */
function onLeave(s: S, p: P, w: ReplayWindow, m: Leave, ev: MembershipEvent[]): void {
  if ((w.previous?.fresh ?? 0) > 0) {
    // The incarnation this one replaced is still sending: this is not the node shutting down but
    // one of two daemons under its name leaving. The other still runs: unclean, never "left".
    declareConflict(s, p, [w.previous!.boot, w.boot], ev, `incarnation ${w.boot} of ${p.name} left while incarnation ${w.previous!.boot} still sends`);
    return;
  }
  // A newer incarnation not yet confirmed as a restart cannot speak for the node: the previous one
  // may still run. Ignored: if the node really stopped, it goes silent and is lost (and fenced).
  if (p.restart !== undefined && m.boot === p.restart.boot) return;
  for (const x of Object.values(p.links)) Object.assign(x, { up: false, missed: 0, warned: false, refusedAt: undefined });
  if (p.member || !p.left) {
    p.member = false;
    p.restart = undefined;
    p.left = true;
    p.lostAt = s.tick;
    p.claim = undefined;
    ev.push({ type: 'node-left', node: p.name });
  }
}

/** A fresh heartbeat: the link is up, the peer a member (or a restart on probation), and its view of the cluster is its claim. */
function onHeartbeat(s: S, p: P, link: string, m: Heartbeat, r: Accepted, lastPrevious: number, ev: MembershipEvent[]): void {
  const l = p.links[link]!; // addressed() checked that the peer is on this link
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
