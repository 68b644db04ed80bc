/**
 * The working copy a step changes: a deep copy of the state with the readonly modifiers removed
 * (`draft`), the packet-drop counter, and a check every part of the step needs.
 */
import type { DropReason } from './codec.js';
import type { ResolvedConfig } from './config.js';
import type { FenceState, MembershipEvent, MembershipState, PeerLink, PeerState, VoteState } from './state.js';

export type Draft<T> = T extends readonly (infer U)[] ? U[] : T extends object ? { -readonly [K in keyof T]: Draft<T[K]> } : T;
/** The state, writable: what one step changes before it is returned as the next state. */
export type S = Draft<MembershipState>;
/** A peer in the writable state. */
export type P = Draft<PeerState>;

export function draft(s: MembershipState): S {
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

/** Counts a dropped packet and reports it (returns undefined, so that a check can `return drop(...)`). */
export function drop(s: S, ev: MembershipEvent[], link: string, reason: DropReason, from?: string, detail?: string): undefined {
  s.drops[reason] += 1;
  ev.push({ type: 'packet-dropped', link, reason, ...(from !== undefined ? { from } : {}), ...(detail !== undefined ? { detail } : {}) });
  return undefined;
}

/** Every link to the peer reported its port closed since the peer was last heard. */
export function daemonDown(p: P): boolean {
  const links = Object.values(p.links);
  return links.length > 0 && links.every((l) => l.refusedAt !== undefined);
}
