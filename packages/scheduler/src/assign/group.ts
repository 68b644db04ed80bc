/**
 * The group's assignment method (Pacemaker's pcmk__group_assign): the group's own colocations
 * move to its members (the first member takes the group's "this with" ones, the last its "with
 * this" ones), then the members are assigned in order; the group's node is its first member's.
 */
import { INFINITY } from '@paceline/model';
import type { Resource } from '../resources.js';
import { byDependent, byPrimary, insertSorted } from '../colocations.js';
import { isManaged, type AssignState, type AssignStep } from './state.js';

function expandGroupColocations(s: AssignState, g: Resource): void {
  if (s.expandedGroups.has(g) || g.children.length === 0) return;
  s.expandedGroups.add(g);
  const first = g.children[0]!;
  const own = s.thisWith.get(g) ?? [];
  const firstList = s.thisWith.get(first) ?? [];
  for (const c of own) insertSorted(firstList, c, byPrimary);
  s.thisWith.set(first, firstList);
  // Once a member is unmanaged, the members after it take the group's mandatory colocations too.
  let anyUnmanaged = !isManaged(s, first);
  for (const m of g.children.slice(1)) {
    if (anyUnmanaged) {
      const list = s.thisWith.get(m) ?? [];
      for (const c of own) if (c.score >= INFINITY) insertSorted(list, c, byPrimary);
      s.thisWith.set(m, list);
    } else if (!isManaged(s, m)) anyUnmanaged = true;
  }
  s.thisWith.set(g, []);
  const last = g.children[g.children.length - 1]!;
  const lastList = s.withThis.get(last) ?? [];
  for (const c of s.withThis.get(g) ?? []) insertSorted(lastList, c, byDependent);
  s.withThis.set(last, lastList);
  s.withThis.set(g, []);
}

export function* assignGroup(s: AssignState, g: Resource, prefer?: string): AssignStep {
  if (!s.provisional.has(g)) return s.assigned.get(g) ?? null;
  if (s.allocating.has(g)) return null;
  if (g.children.length === 0) {
    s.provisional.delete(g);
    return null;
  }
  s.allocating.add(g);
  expandGroupColocations(s, g);
  let first: string | null | undefined;
  for (const m of g.children) {
    const n = yield { r: m, prefer };
    if (first === undefined) first = n;
  }
  s.allocating.delete(g);
  s.provisional.delete(g);
  s.assigned.set(g, first ?? null);
  return first ?? null;
}
