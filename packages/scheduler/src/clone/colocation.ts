/**
 * Colocations whose primary is a clone (Pacemaker 2.1.5's clone colocation rules, own code):
 *
 * - with a role of a promotable clone (`withResourceRole: Promoted`): while the dependent is being
 *   placed, only instances whose next role matches count; an advisory score is added on their nodes,
 *   a mandatory one limits the dependent to those nodes (adding the instance's own weight there) —
 *   except Promoted-with-Promoted, which is left to the role phase so dependents can still start;
 * - interleaved clone with clone: each dependent instance pairs with the primary instance on its
 *   best node and is colocated with that one instance (mandatory and no partner: stopped);
 * - mandatory (INFINITY): the dependent may run only where some (unblocked) instance runs;
 * - advisory: every instance adds the score on its node.
 */
import { INFINITY, addScores, type Role, type Score } from '@paceline/model';

export interface PrimaryInstance {
  /** Where the instance was placed (null = stopped). */
  readonly node: string | null;
  /** Its next role (Started for non-promotable instances). */
  readonly role: Role;
  readonly blocked: boolean;
  /** The instance's weight on its node when placed. */
  readonly weight: Score;
}

export interface CloneColocationInput {
  readonly score: Score;
  readonly nodeAttribute: string;
  readonly primaryRole: Role | undefined;
  readonly dependentRole: Role | undefined;
  readonly primaryPromotable: boolean;
  /** The dependent is an instance of a clone with interleave=true (and the same clone-node-max). */
  readonly interleave: boolean;
  readonly instances: readonly PrimaryInstance[];
  /** The dependent's current weights (mutable copy is made). */
  readonly dependentTable: ReadonlyMap<string, Score>;
  attr(node: string, attribute: string): string | undefined;
  available(node: string): boolean;
}

export type CloneColocationEffect =
  | { readonly kind: 'none' }
  | { readonly kind: 'table'; readonly table: Map<string, Score> }
  /** Colocate with this one primary instance (interleave), as with any primitive. */
  | { readonly kind: 'instance'; readonly index: number }
  /** Mandatory interleaved colocation without a partner: the dependent cannot run. */
  | { readonly kind: 'stop' };

const same = (a: string | undefined, b: string | undefined): boolean => a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();

/** What a colocation with a clone does to a dependent that is being placed. */
export function colocateWithClone(input: CloneColocationInput): CloneColocationEffect {
  const attrOf = (n: string) => input.attr(n, input.nodeAttribute);
  if (input.primaryPromotable && input.primaryRole !== undefined && input.primaryRole !== 'Started') {
    const table = new Map(input.dependentTable);
    const affected = new Map<string, Score>();
    for (const inst of input.instances) {
      if (inst.node === null) continue;
      const role = inst.role === 'Started' ? 'Unpromoted' : inst.role;
      if (role !== input.primaryRole) continue;
      if (input.score < INFINITY) {
        const v = attrOf(inst.node);
        for (const [n, w] of table) if (same(attrOf(n), v)) table.set(n, addScores(w, input.score));
      }
      affected.set(inst.node, inst.weight);
    }
    if (input.score >= INFINITY && !(input.dependentRole === 'Promoted' && input.primaryRole === 'Promoted')) {
      for (const [n, w] of table) {
        const iw = affected.get(n);
        table.set(n, iw === undefined ? -INFINITY : addScores(w, iw));
      }
    }
    return { kind: 'table', table };
  }
  if (input.interleave) {
    const ordered = [...input.dependentTable.entries()]
      .map(([n, w]) => [n, input.available(n) ? w : -INFINITY] as const)
      .sort((a, b) => (a[1] !== b[1] ? b[1] - a[1] : a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [n] of ordered) {
      const idx = input.instances.findIndex((i) => i.node === n && !i.blocked);
      if (idx >= 0) return { kind: 'instance', index: idx };
    }
    return input.score >= INFINITY ? { kind: 'stop' } : { kind: 'none' };
  }
  if (input.score >= INFINITY) {
    const nodes = new Set(input.instances.filter((i) => i.node !== null && !i.blocked).map((i) => i.node!));
    const table = new Map(input.dependentTable);
    for (const [n] of table) if (!nodes.has(n)) table.set(n, -INFINITY);
    return { kind: 'table', table };
  }
  const table = new Map(input.dependentTable);
  for (const inst of input.instances) {
    if (inst.node === null) continue;
    if (input.primaryRole !== undefined && input.primaryRole !== 'Started') {
      const role = inst.role === 'Started' ? 'Unpromoted' : inst.role;
      if (role !== input.primaryRole) continue;
    }
    const v = attrOf(inst.node);
    for (const [n, w] of table) if (same(attrOf(n), v)) table.set(n, addScores(w, input.score));
  }
  return { kind: 'table', table };
}

/**
 * The promotion-priority change for an instance of a promotable clone placed on `node`, from a
 * colocation in which the clone (in role `dependentRole`) depends on `primaryNodes` (the nodes
 * where the primary is, in the required role): same node -> +score (-score for Unpromoted);
 * elsewhere, a mandatory Promoted colocation forbids promotion (-INFINITY).
 */
export function rolePriorityDelta(q: {
  readonly score: Score;
  readonly dependentRole: Role;
  readonly node: string;
  readonly primaryNodes: readonly string[];
  readonly nodeAttribute: string;
  attr(node: string, attribute: string): string | undefined;
}): Score {
  const mine = q.attr(q.node, q.nodeAttribute);
  const match = q.primaryNodes.some((n) => same(q.attr(n, q.nodeAttribute), mine));
  if (!match) return q.score >= INFINITY && q.dependentRole === 'Promoted' ? -INFINITY : 0;
  return q.dependentRole === 'Unpromoted' ? -q.score : q.score;
}
