/**
 * Which lost peers are accounted for: proven to run nothing (left cleanly, fenced, released by the
 * partition policy, or fenced by a member), or not — then what they ran stays frozen.
 */
import type { CoreState } from './core-types.js';

/** Is `name` proven to run nothing (left cleanly, fenced, released by the partition policy, or fenced by a member)? */
export function provenDown(s: CoreState, name: string): boolean {
  const p = s.view.peers[name];
  if (p === undefined || p.member || p.seenBy !== undefined || p.conflict === true) return false;
  return p.safelyDown || fencedByMember(s, name);
}

/**
 * Fenced (confirmed) by this node or a current member, or by a node that has since left cleanly,
 * according to a report received after `name` was last lost (simulated seed 1711: a report from
 * before the peer came back still said it was fenced, and it counted as proven down again when it
 * was lost the next time).
 */
function fencedByMember(s: CoreState, name: string): boolean {
  const since = s.lostSeq[name] ?? 0;
  return Object.entries(s.reports).some(
    ([m, rep]) =>
      (m === s.self || s.view.peers[m]?.member === true || s.view.peers[m]?.safelyDown === true) &&
      rep.fenced?.includes(name) === true &&
      (s.reportSeq[m] ?? 0) > since,
  );
}

/** The first peer (by name) that is neither a member nor proven down, with membership's reason. */
export function unaccountedPeer(s: CoreState): { readonly node: string; readonly reason: string } | undefined {
  for (const name of Object.keys(s.view.peers).sort()) {
    const p = s.view.peers[name]!;
    if (!p.member && !provenDown(s, name)) return { node: name, reason: p.reason };
  }
  return undefined;
}
