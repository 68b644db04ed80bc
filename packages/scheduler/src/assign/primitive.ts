/**
 * The primitive's assignment method (Pacemaker's pcmk__primitive_assign): its container first,
 * then the primaries it is colocated with, then the preferences of resources colocated with it,
 * then role limits, and finally the node choice (or its current node when unmanaged).
 */
import { INFINITY, NO_FENCING_DEVICE, addScores } from '@paceline/model';
import type { Resource } from '../resources.js';
import { roleRank } from '../roles.js';
import { currentNode, currentRole, isManaged, noteScore, tableOf, type AssignState, type AssignStep } from './state.js';
import { applyThisWith, applyWithThis } from './apply-colocation.js';
import { assignBestNode, finalize } from './node-choice.js';

export function* assignPrimitive(s: AssignState, r: Resource, prefer?: string): AssignStep {
  if (r.parent && !s.allocating.has(r.parent) && s.provisional.has(r.parent)) yield { r: r.parent };
  if (!s.provisional.has(r)) return s.assigned.get(r) ?? null;
  if (s.allocating.has(r)) return null;
  s.allocating.add(r);
  for (const c of [...(s.thisWith.get(r) ?? [])]) yield* applyThisWith(s, r, c);
  for (const c of [...(s.withThis.get(r) ?? [])]) applyWithThis(s, r, c);
  const next = s.nextRole.get(r.id);
  if (next === 'Stopped') {
    const table = tableOf(s, r);
    for (const n of s.nodes) {
      table.set(n.name, addScores(table.get(n.name) ?? -INFINITY, -INFINITY));
      noteScore(s, r.id, n.name, { kind: 'ban', ban: { kind: 'role-stopped', why: s.nextRoleReason.get(r.id) ?? 'target-role' } }, -INFINITY);
    }
  } else if (next !== undefined && roleRank(next) > roleRank(currentRole(s, r)) && !s.opts.quorum && s.opts.noQuorumPolicy === 'freeze') {
    s.nextRole.set(r.id, currentRole(s, r));
    s.nextRoleReason.set(r.id, 'no-quorum-policy=freeze');
  }
  if (s.opts.unmanageAll) {
    s.unmanaged.add(r.id);
    // The cause `explain` prints, instead of "unable to allocate" next to a fine score.
    if (!s.nextRoleReason.has(r.id)) s.nextRoleReason.set(r.id, `unmanaged: ${NO_FENCING_DEVICE}`);
  }
  if (!isManaged(s, r)) {
    if (!s.nextRole.has(r.id)) s.nextRole.set(r.id, currentRole(s, r));
    finalize(s, r, currentNode(s, r) ?? null, true);
  } else if (s.opts.stopAll) {
    finalize(s, r, null, true, 'stop-all-resources');
  } else {
    assignBestNode(s, r, prefer);
  }
  s.allocating.delete(r);
  return s.assigned.get(r) ?? null;
}
