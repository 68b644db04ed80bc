/**
 * Colocation constraints as the assignment stage uses them: each one links a dependent with a
 * primary (any variant), indexed both ways and sorted the way Pacemaker sorts them (by the
 * other side's priority, clones before groups before primitives, then id). Groups add an
 * internal mandatory colocation of each member with the previous one; resource sets become
 * chains of pairs.
 */
import type { ClusterConfig, ColocationConstraint, Role } from '@paceline/model';
import { INFINITY } from '@paceline/model';
import type { ResourceTree, Rsc } from './resources.js';

export interface Coloc {
  readonly id: string;
  readonly dependent: Rsc;
  readonly primary: Rsc;
  readonly score: number;
  /** undefined = any role. */
  readonly dependentRole: Role | undefined;
  readonly primaryRole: Role | undefined;
  readonly nodeAttribute: string;
  readonly influence: boolean;
}

export interface ColocationIndex {
  readonly all: readonly Coloc[];
  /** Colocations where the resource is the dependent ("this with"), sorted. */
  readonly thisWith: ReadonlyMap<Rsc, readonly Coloc[]>;
  /** Colocations where the resource is the primary ("with this"), sorted. */
  readonly withThis: ReadonlyMap<Rsc, readonly Coloc[]>;
}

const VARIANT_RANK: Record<Rsc['kind'], number> = { primitive: 0, group: 1, clone: 2 };

function cmpSide(a: Rsc, b: Rsc): number {
  if (a.meta.priority !== b.meta.priority) return a.meta.priority > b.meta.priority ? -1 : 1;
  if (VARIANT_RANK[a.kind] !== VARIANT_RANK[b.kind]) return VARIANT_RANK[a.kind] > VARIANT_RANK[b.kind] ? -1 : 1;
  if (a.kind === 'clone' && b.kind === 'clone' && a.clone?.promotable !== b.clone?.promotable) return a.clone?.promotable ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** GLib's g_list_insert_sorted: before the first element that is not smaller. */
export function insertSorted(list: Coloc[], c: Coloc, cmp: (a: Coloc, b: Coloc) => number): void {
  let i = 0;
  while (i < list.length && cmp(c, list[i]!) > 0) i++;
  list.splice(i, 0, c);
}

export const byPrimary = (a: Coloc, b: Coloc): number => cmpSide(a.primary, b.primary);
export const byDependent = (a: Coloc, b: Coloc): number => cmpSide(a.dependent, b.dependent);

export function buildColocations(config: ClusterConfig, tree: ResourceTree): { index: ColocationIndex; warnings: string[] } {
  const all: Coloc[] = [];
  const thisWith = new Map<Rsc, Coloc[]>();
  const withThis = new Map<Rsc, Coloc[]>();
  const warnings: string[] = [];

  const add = (c: Coloc): void => {
    if (c.score === 0) return;
    all.push(c);
    const tw = thisWith.get(c.dependent) ?? [];
    insertSorted(tw, c, byPrimary);
    thisWith.set(c.dependent, tw);
    const wt = withThis.get(c.primary) ?? [];
    insertSorted(wt, c, byDependent);
    withThis.set(c.primary, wt);
  };
  const roleOf = (r: string | undefined): Role | undefined => (r === undefined || r === 'Started' ? undefined : (r as Role));
  const influenceOf = (c: ColocationConstraint, dependent: Rsc): boolean => c.influence ?? dependent.meta.critical;

  for (const c of config.constraints) {
    if (c.type !== 'colocation') continue;
    if (c.sets === undefined) {
      const dependent = tree.byId.get(c.resource!);
      const primary = tree.byId.get(c.withResource!);
      if (!dependent || !primary) {
        warnings.push(`colocation ${c.id}: unknown resource`);
        continue;
      }
      add({
        id: c.id, dependent, primary, score: c.score, dependentRole: roleOf(c.resourceRole), primaryRole: roleOf(c.withResourceRole),
        nodeAttribute: c.nodeAttribute, influence: influenceOf(c, dependent),
      });
      continue;
    }
    // Resource sets: within a sequential set each member is placed with the previous one;
    // between sets, members of a later set are placed with members of the earlier one.
    const sets = c.sets.map((s) => ({ s, members: s.resources.map((id) => tree.byId.get(id)).filter((r): r is Rsc => r !== undefined) }));
    for (const { s, members } of sets) {
      const score = s.score ?? c.score;
      if (!s.sequential) continue;
      for (let i = 1; i < members.length; i++) {
        const dependent = members[i]!;
        add({ id: c.id, dependent, primary: members[i - 1]!, score, dependentRole: roleOf(s.role), primaryRole: roleOf(s.role), nodeAttribute: c.nodeAttribute, influence: c.influence ?? dependent.meta.critical });
      }
    }
    for (let k = 1; k < sets.length; k++) {
      const prev = sets[k - 1]!;
      const cur = sets[k]!;
      const primaries = prev.s.sequential ? prev.members.slice(-1) : prev.members;
      const dependents = cur.s.sequential ? cur.members.slice(0, 1) : cur.members;
      for (const dependent of dependents)
        for (const primary of primaries)
          add({ id: c.id, dependent, primary, score: c.score, dependentRole: roleOf(cur.s.role), primaryRole: roleOf(prev.s.role), nodeAttribute: c.nodeAttribute, influence: c.influence ?? dependent.meta.critical });
    }
  }

  // Group internals: each member with the previous one (added after user constraints, as Pacemaker does).
  for (const r of tree.byId.values()) {
    if (r.kind !== 'group') continue;
    r.children.forEach((m, i) => {
      if (i === 0) return;
      add({ id: 'group:internal_colocation', dependent: m, primary: r.children[i - 1]!, score: INFINITY, dependentRole: undefined, primaryRole: undefined, nodeAttribute: '#uname', influence: m.meta.critical });
    });
  }
  return { index: { all, thisWith, withThis }, warnings };
}
