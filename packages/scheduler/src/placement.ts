/**
 * Where instances are before and after the transition. "After" is what executing the graph
 * yields when every runnable, required action succeeds: required runnable stops remove an
 * instance from a node, required runnable starts add it; blocked actions leave things as they are.
 */
import type { InstancePlacement, Role } from '@paceline/model';
import type { Action, ActionSet } from './action-set.js';
import type { ResourceTree, Resource } from './resources.js';
import { cloneOf, groupOf } from './resources.js';
import type { UnpackResult } from './unpack.js';
import type { Assignment } from './assign/index.js';

/**
 * One placement, its keys in the model's order (resource, instance, group, clone, node, role,
 * managed, failed): built as one of four literals rather than spread from a partial one, which
 * V8 copies the slow way (two placements per primitive, 16,000 at 32 × 5,000).
 */
function placementOf(r: Resource, node: string | null, role: Role, managed: boolean, failed: boolean): InstancePlacement {
  const resource = r.baseId;
  const instance = r.id;
  const g = groupOf(r);
  const c = cloneOf(r);
  if (g && c) return { resource, instance, group: g.baseId, clone: c.id, node, role, managed, failed };
  if (g) return { resource, instance, group: g.baseId, node, role, managed, failed };
  if (c) return { resource, instance, clone: c.id, node, role, managed, failed };
  return { resource, instance, node, role, managed, failed };
}

export function currentPlacement(tree: ResourceTree, unpacked: UnpackResult): InstancePlacement[] {
  const out: InstancePlacement[] = [];
  for (const r of tree.primitives) {
    const st = unpacked.resources.get(r.id)!;
    for (const n of st.runningOn) out.push(placementOf(r, n, st.role === 'Stopped' ? 'Started' : st.role, st.managed, st.failed));
    if (st.runningOn.length === 0 && !r.orphan) out.push(placementOf(r, null, 'Stopped', st.managed, false));
  }
  return out;
}

export function finalPlacement(tree: ResourceTree, unpacked: UnpackResult, assignment: Assignment, actions: ActionSet): InstancePlacement[] {
  const out: InstancePlacement[] = [];
  for (const r of tree.primitives) {
    const st = unpacked.resources.get(r.id)!;
    const mine = actions.byRsc.get(r.id) ?? [];
    const active = new Map<string, Role>();
    for (const n of st.runningOn) active.set(n, st.role === 'Stopped' ? 'Started' : st.role);
    const runs = runningActions(mine);
    for (const a of runs.demote) if (a.node && active.has(a.node)) active.set(a.node, 'Unpromoted');
    for (const a of runs.stop) if (a.node) active.delete(a.node);
    // Fencing takes down everything on the node.
    for (const n of [...active.keys()]) if (actions.fencing.get(n)?.runnable) active.delete(n);
    for (const a of runs.start) if (a.node) active.set(a.node, 'Started');
    const nextRole = assignment.nextRole.get(r.id);
    for (const a of runs.promote) if (a.node) active.set(a.node, 'Promoted');
    if (nextRole === 'Unpromoted') for (const [n, role] of active) if (role === 'Started') active.set(n, 'Unpromoted');
    const managed = !assignment.unmanaged.has(r.id) && st.managed;
    for (const [node, role] of active)
      out.push(placementOf(r, node, role, managed, st.failed && st.runningOn.includes(node) && !runs.stop.some((a) => a.node === node)));
    if (active.size === 0 && !r.orphan) out.push(placementOf(r, null, 'Stopped', managed, false));
  }
  return out;
}

const NONE: readonly Action[] = [];

/** A primitive's required, runnable demotes, stops, starts and promotes, each in the set's order (one pass over its actions). */
function runningActions(mine: readonly Action[]): Record<'demote' | 'stop' | 'start' | 'promote', readonly Action[]> {
  const out: Record<string, Action[]> = {};
  for (const a of mine) {
    if (a.interval !== 0 || a.optional || !a.runnable) continue;
    if (a.task === 'demote' || a.task === 'stop' || a.task === 'start' || a.task === 'promote') (out[a.task] ??= []).push(a);
  }
  return { demote: out.demote ?? NONE, stop: out.stop ?? NONE, start: out.start ?? NONE, promote: out.promote ?? NONE };
}
