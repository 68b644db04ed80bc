/**
 * Order constraints with resource sets, expanded the way Pacemaker expands them
 * (unpack_order_set / order_rsc_sets): inside a sequential set each member's action follows the
 * previous member's; between consecutive sets the last member of the earlier set comes before
 * the first member of the later one (every member when a set is not sequential); symmetrical
 * constraints add the inverse (stops in reverse). When the earlier set has require-all=false,
 * any one of its members is enough: the later set waits on a "one-or-more" point instead.
 */
import type { OrderConstraint, ResourceSet } from '@paceline/model';
import type { ResourceTree, Resource } from './resources.js';

export interface SetOrdering {
  readonly first: Resource;
  readonly firstAction: string;
  readonly then: Resource;
  readonly thenAction: string;
  readonly kind: 'Mandatory' | 'Optional' | 'Serialize';
  /** 'forward', 'inverse' (symmetrical stop side) or 'asymmetric'. */
  readonly symmetry: 'forward' | 'inverse' | 'asymmetric';
  /** Set when the first side is "any one of" (require-all=false): the id of that point. */
  readonly anyOf?: string;
  readonly reason: string;
}

const INVERT: Record<string, string> = { start: 'stop', stop: 'start', promote: 'demote', demote: 'promote' };

export function expandOrderSets(c: OrderConstraint, tree: ResourceTree): SetOrdering[] {
  const out: SetOrdering[] = [];
  const sets = (c.sets ?? []).map((s, i) => ({
    s,
    id: s.id ?? `${c.id}-set${i}`,
    members: s.resources.map((id) => tree.byId.get(id)).filter((r): r is Resource => r !== undefined),
  }));
  const symmetricFor = (kind: string): boolean => c.symmetrical ?? kind !== 'Serialize';
  for (let k = 0; k < sets.length; k++) {
    const { s, members } = sets[k]!;
    const action = s.action ?? 'start';
    const kind = s.kind ?? c.kind;
    const symmetric = symmetricFor(kind);
    if (members.length > 1) {
      if (kind === 'Serialize') {
        for (let i = 0; i < members.length; i++)
          for (let j = i + 1; j < members.length; j++)
            out.push({
              first: members[i]!,
              firstAction: action,
              then: members[j]!,
              thenAction: action,
              kind,
              symmetry: 'asymmetric',
              reason: `order set ${c.id}`,
            });
      } else if (s.sequential) {
        for (let i = 1; i < members.length; i++)
          out.push({
            first: members[i - 1]!,
            firstAction: action,
            then: members[i]!,
            thenAction: action,
            kind,
            symmetry: symmetric ? 'forward' : 'asymmetric',
            reason: `order set ${c.id}`,
          });
        const inv = INVERT[action];
        if (symmetric && inv)
          for (let i = 1; i < members.length; i++)
            out.push({
              first: members[i]!,
              firstAction: inv,
              then: members[i - 1]!,
              thenAction: inv,
              kind,
              symmetry: 'inverse',
              reason: `order set ${c.id} (inverse)`,
            });
      }
    }
    if (k === 0) continue;
    const prev = sets[k - 1]!;
    const symmetric2 = symmetricFor(c.kind);
    out.push(...between(c, prev, sets[k]!, symmetric2 ? 'forward' : 'asymmetric'));
    if (symmetric2) out.push(...between(c, sets[k]!, prev, 'inverse'));
  }
  return out;
}

function between(
  c: OrderConstraint,
  set1: { s: ResourceSet; id: string; members: Resource[] },
  set2: { s: ResourceSet; id: string; members: Resource[] },
  symmetry: 'forward' | 'inverse' | 'asymmetric',
): SetOrdering[] {
  let a1: string = set1.s.action ?? 'start';
  let a2: string = set2.s.action ?? 'start';
  if (symmetry === 'inverse') {
    a1 = INVERT[a1] ?? a1;
    a2 = INVERT[a2] ?? a2;
  }
  let requireAll = set1.s.requireAll !== false;
  if (a1 === 'stop' || a1 === 'demote') requireAll = true;
  const reason = `order ${c.id}${symmetry === 'inverse' ? ' (inverse)' : ''}`;
  const out: SetOrdering[] = [];
  if (!requireAll) {
    for (const f of set1.members)
      for (const t of set2.members)
        out.push({ first: f, firstAction: a1, then: t, thenAction: a2, kind: c.kind, symmetry, anyOf: `one-or-more:${set1.id}`, reason });
    return out;
  }
  const firsts = set1.s.sequential ? (symmetry === 'inverse' ? set1.members.slice(0, 1) : set1.members.slice(-1)) : set1.members;
  const thens = set2.s.sequential ? (symmetry === 'inverse' ? set2.members.slice(-1) : set2.members.slice(0, 1)) : set2.members;
  for (const f of firsts) for (const t of thens) out.push({ first: f, firstAction: a1, then: t, thenAction: a2, kind: c.kind, symmetry, reason });
  return out;
}
