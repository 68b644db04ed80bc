/**
 * Colocation constraints as the assignment stage uses them: each one links a dependent with a
 * primary (any variant), indexed both ways and sorted the way Pacemaker sorts them (by the
 * other side's priority, clones before groups before primitives, then id). Groups add an
 * internal mandatory colocation of each member with the previous one; resource sets become
 * chains of pairs.
 */
import type { ClusterConfig, ColocationConstraint, Role } from '@paceline/model';
import { INFINITY } from '@paceline/model';
import type { ResourceTree, Resource } from './resources.js';

export interface Coloc {
  readonly id: string;
  readonly dependent: Resource;
  readonly primary: Resource;
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
  readonly thisWith: ReadonlyMap<Resource, readonly Coloc[]>;
  /** Colocations where the resource is the primary ("with this"), sorted. */
  readonly withThis: ReadonlyMap<Resource, readonly Coloc[]>;
}

const VARIANT_RANK: Record<Resource['kind'], number> = { primitive: 0, group: 1, clone: 2 };

function cmpSide(a: Resource, b: Resource): number {
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

const roleOf = (r: string | undefined): Role | undefined => (r === undefined || r === 'Started' ? undefined : (r as Role));

/**
 * Resource sets (Pacemaker's unpack_colocation_set / colocate_rsc_sets): within a sequential set
 * with a positive score each member is placed with the previous one; with a negative score each
 * member avoids every earlier one. Between two sets, the first member of the earlier set is placed
 * with the last member of the later one (all members when a set is not sequential).
 */
function addSetColocations(c: ColocationConstraint, tree: ResourceTree, add: (c: Coloc) => void): void {
  if (c.sets === undefined) return;
  const sets = c.sets.map((s) => ({ s, members: s.resources.map((id) => tree.byId.get(id)).filter((r): r is Resource => r !== undefined) }));
  const pair = (dependent: Resource, primary: Resource, score: number, dRole: string | undefined, pRole: string | undefined): void =>
    add({
      id: c.id,
      dependent,
      primary,
      score,
      dependentRole: roleOf(dRole),
      primaryRole: roleOf(pRole),
      nodeAttribute: c.nodeAttribute,
      influence: c.influence ?? dependent.meta.critical,
    });
  for (let k = 0; k < sets.length; k++) {
    const { s, members } = sets[k]!;
    const score = s.score ?? c.score;
    if (s.sequential && score > 0) {
      for (let i = 1; i < members.length; i++) pair(members[i]!, members[i - 1]!, score, s.role, s.role);
    } else if (s.sequential && score < 0) {
      for (let i = 1; i < members.length; i++) for (let j = 0; j < i; j++) pair(members[i]!, members[j]!, score, s.role, s.role);
    }
    if (k === 0) continue;
    const prev = sets[k - 1]!;
    const dependents = prev.s.sequential ? prev.members.slice(0, 1) : prev.members;
    const primaries = s.sequential ? members.slice(-1) : members;
    for (const d of dependents) for (const p of primaries) pair(d, p, c.score, prev.s.role, s.role);
  }
}

export function buildColocations(config: ClusterConfig, tree: ResourceTree): { index: ColocationIndex; warnings: string[] } {
  const all: Coloc[] = [];
  const thisWith = new Map<Resource, Coloc[]>();
  const withThis = new Map<Resource, Coloc[]>();
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
  const influenceOf = (c: ColocationConstraint, dependent: Resource): boolean => c.influence ?? dependent.meta.critical;

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
        id: c.id,
        dependent,
        primary,
        score: c.score,
        dependentRole: roleOf(c.resourceRole),
        primaryRole: roleOf(c.withResourceRole),
        nodeAttribute: c.nodeAttribute,
        influence: influenceOf(c, dependent),
      });
      continue;
    }
    addSetColocations(c, tree, add);
  }

  // Group internals: each member with the previous one (added after user constraints, as Pacemaker does).
  for (const r of tree.byId.values()) {
    if (r.kind !== 'group' || r.collocated === false) continue;
    r.children.forEach((m, i) => {
      if (i === 0) return;
      add({
        id: 'group:internal_colocation',
        dependent: m,
        primary: r.children[i - 1]!,
        score: INFINITY,
        dependentRole: undefined,
        primaryRole: undefined,
        nodeAttribute: '#uname',
        influence: m.meta.critical,
      });
    });
  }
  return { index: { all, thisWith, withThis }, warnings };
}
