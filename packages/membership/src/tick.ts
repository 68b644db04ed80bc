/**
 * A tick: links fall silent (late, then down), a peer silent on every link is lost, a restart on
 * probation is confirmed, and every heartbeat period this node's heartbeats go out on every link.
 */
import { deadTicksOf, warnTicksOf } from './config.js';
import { daemonDown, type S } from './draft.js';
import type { Heartbeat } from './messages.js';
import { settledBoot } from './safety.js';
import type { MembershipEvent, Outgoing, PeerState } from './state.js';

export function onTick(s: S, out: Outgoing[], ev: MembershipEvent[]): void {
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
