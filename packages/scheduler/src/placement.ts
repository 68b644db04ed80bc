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

function base(r: Resource): Pick<InstancePlacement, 'resource' | 'instance' | 'group' | 'clone'> {
  const g = groupOf(r);
  const c = cloneOf(r);
  return {
    resource: r.baseId,
    instance: r.id,
    ...(g ? { group: g.baseId } : {}),
    ...(c ? { clone: c.id } : {}),
  };
}

export function currentPlacement(tree: ResourceTree, unpacked: UnpackResult): InstancePlacement[] {
  const out: InstancePlacement[] = [];
  for (const r of tree.primitives) {
    const st = unpacked.resources.get(r.id)!;
    for (const n of st.runningOn) out.push({ ...base(r), node: n, role: st.role === 'Stopped' ? 'Started' : st.role, managed: st.managed, failed: st.failed });
    if (st.runningOn.length === 0 && !r.orphan) out.push({ ...base(r), node: null, role: 'Stopped', managed: st.managed, failed: false });
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
      out.push({ ...base(r), node, role, managed, failed: st.failed && st.runningOn.includes(node) && !runs.stop.some((a) => a.node === node) });
    if (active.size === 0 && !r.orphan) out.push({ ...base(r), node: null, role: 'Stopped', managed, failed: false });
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
