/**
 * Applying one colocation to the dependent's scores once the primary is placed (Pacemaker's
 * apply_coloc_score and its per-variant forms), and folding in the preferences of resources that
 * are colocated with a resource ("with this", attenuated by score / INFINITY).
 */
import { INFINITY, addScores } from '@paceline/model';
import type { Resource } from '../resources.js';
import { leaves } from '../resources.js';
import type { Coloc } from '../colocations.js';
import { roleRank } from '../roles.js';
import type { Cause } from '../reasons.js';
import { colocateWithClone } from '../clone/index.js';
import { anyAvailable, available, nextRoleOf, noteScore, nodeAttribute, statusOf, tableOf, type AssignRequest, type AssignState } from './state.js';
import { copyTable } from '../scores.js';
import { FLAG_ACTIVE, addColocatedNodeScores, hasInfluence } from './colocation-scores.js';

function colocationCause(s: AssignState, c: Coloc, primary: Resource): Cause {
  let m = s.colocationCauses.get(c);
  if (!m) s.colocationCauses.set(c, (m = new Map()));
  let cause = m.get(primary);
  if (cause === undefined) m.set(primary, (cause = { kind: 'colocation', colocation: c.id, primary: primary.id }));
  return cause;
}

function preferenceCause(s: AssignState, c: Coloc): Cause {
  let cause = s.preferenceCauses.get(c);
  if (cause === undefined) s.preferenceCauses.set(c, (cause = { kind: 'preferences', colocation: c.id, dependent: c.dependent.id }));
  return cause;
}

/** What a colocation changes for the dependent now: its node scores, its role priority, or nothing. */
export function colocationEffect(s: AssignState, dependent: Resource, primary: Resource, c: Coloc, preview: boolean): 'nothing' | 'location' | 'role' {
  if (!preview && s.provisional.has(primary)) return 'nothing';
  if (
    c.dependentRole !== undefined &&
    roleRank(c.dependentRole) >= roleRank('Unpromoted') &&
    dependent.parent?.clone?.promotable &&
    !s.provisional.has(dependent)
  )
    return 'role';
  if (!preview && !s.provisional.has(dependent)) return 'nothing';
  const dNext = nextRoleOf(s, dependent) ?? 'Unknown';
  const pNext = nextRoleOf(s, primary) ?? 'Unknown';
  if (c.score > 0 && c.dependentRole !== undefined && c.dependentRole !== dNext) return 'nothing';
  if (c.score > 0 && c.primaryRole !== undefined && c.primaryRole !== pNext) return 'nothing';
  if (c.score < 0 && c.dependentRole !== undefined && c.dependentRole === dNext) return 'nothing';
  if (c.score < 0 && c.primaryRole !== undefined && c.primaryRole === pNext) return 'nothing';
  return 'location';
}

/** Nodes the primary ended up on (a clone: every instance's node). */
export function primaryNodes(s: AssignState, p: Resource): string[] {
  if (p.kind === 'clone') {
    const out: string[] = [];
    for (const child of p.children)
      for (const l of leaves(child).slice(0, 1)) {
        const n = s.assigned.get(l);
        if (n) out.push(n);
      }
    return out;
  }
  const n = s.assigned.get(p);
  return n ? [n] : [];
}

/** Replaces the dependent's table, noting each node's change. */
function replaceTable(s: AssignState, dependent: Resource, next: Map<string, number>, cause: Cause): void {
  const old = tableOf(s, dependent);
  for (const [node, score] of next) {
    const was = old.get(node);
    if (was !== undefined && score !== was) noteScore(s, dependent.id, node, cause, score <= -INFINITY ? -INFINITY : score - was);
  }
  s.tables.set(dependent.id, next);
}

function applyToWeights(s: AssignState, dependent: Resource, primary: Resource, c: Coloc): void {
  const attribute = c.nodeAttribute;
  const pNodes = primaryNodes(s, primary);
  if (pNodes.length === 0 && c.score < 0) return;
  // The primaries' attribute values, compared as sameAttribute does (case-insensitively), each lowered once.
  const values = pNodes.map((n) => nodeAttribute(s, n, attribute)?.toLowerCase());
  const work = copyTable(tableOf(s, dependent));
  for (const [node, score] of work) {
    let next = score;
    const mine = pNodes.length === 0 ? undefined : nodeAttribute(s, node, attribute)?.toLowerCase();
    if (pNodes.length === 0) next = addScores(-c.score, score);
    else if (mine !== undefined && values.includes(mine)) {
      if (c.score < INFINITY) next = addScores(c.score, score);
    } else if (c.score >= INFINITY) next = addScores(-c.score, score);
    work.set(node, next);
  }
  if (c.score <= -INFINITY || c.score >= INFINITY || anyAvailable(s, work)) replaceTable(s, dependent, work, colocationCause(s, c, primary));
}

/** Applies colocation `c` (dependent with primary) to the dependent's scores, per variant of each side. */
export function applyColocationScore(s: AssignState, dependent: Resource, primary: Resource, c: Coloc, forDependent: boolean): void {
  if (forDependent) {
    if (dependent.kind === 'group') {
      const first = dependent.children[0];
      if (first) applyColocationScore(s, first, primary, c, true);
      return;
    }
    if (dependent.kind === 'clone') {
      for (const child of dependent.children) applyColocationScore(s, child, primary, c, true);
      return;
    }
    applyColocationScore(s, dependent, primary, c, false);
    return;
  }
  if (primary.kind === 'group') {
    if (s.provisional.has(primary)) return;
    const member = c.score >= INFINITY ? primary.children[primary.children.length - 1] : primary.children[0];
    if (member) applyColocationScore(s, dependent, member, c, false);
    return;
  }
  if (primary.kind === 'clone') {
    if (s.provisional.has(primary) || !s.provisional.has(dependent)) return;
    applyWithClone(s, dependent, primary, c);
    return;
  }
  if (colocationEffect(s, dependent, primary, c, false) === 'location') applyToWeights(s, dependent, primary, c);
}

/** Colocation with a clone (clone module semantics: roles, interleave, mandatory/advisory). */
function applyWithClone(s: AssignState, dependent: Resource, primary: Resource, c: Coloc): void {
  const dependentClone = c.dependent.kind === 'clone' ? c.dependent : undefined;
  const table = tableOf(s, dependent);
  const effect = colocateWithClone({
    score: c.score,
    nodeAttribute: c.nodeAttribute,
    primaryRole: c.primaryRole,
    dependentRole: c.dependentRole,
    primaryPromotable: primary.clone?.promotable ?? false,
    interleave: dependentClone !== undefined && (dependentClone.clone?.meta.interleave ?? false),
    instances: primary.children.map((instance) => {
      const l = leaves(instance)[0]!;
      const n = s.assigned.get(l) ?? null;
      return {
        node: n,
        role: s.nextRole.get(l.id) ?? 'Started',
        blocked: statusOf(s, l)?.blocked ?? false,
        weight: n === null ? 0 : (tableOf(s, l).get(n) ?? 0),
      };
    }),
    dependentTable: table,
    attr: (n, a) => nodeAttribute(s, n, a),
    available: (n) => available(s, n),
  });
  if (effect.kind === 'table') {
    replaceTable(s, dependent, effect.table, colocationCause(s, c, primary));
  } else if (effect.kind === 'instance') {
    const instance = primary.children[effect.index]!;
    applyColocationScore(s, dependent, leaves(instance)[0]!, c, false);
  } else if (effect.kind === 'stop') {
    for (const [node] of table) table.set(node, -INFINITY);
    noteScore(s, dependent.id, '*', { kind: 'ban', ban: { kind: 'no-partner', colocation: c.id, primary: primary.id } }, -INFINITY);
  }
}

/**
 * A colocation that, if it left the resource nowhere to run, is taken back: role colocations
 * (Promoted) and finite negative ones (Pacemaker archives the table and restores it).
 */
export function revertibleColocation(c: Coloc): boolean {
  return (c.dependentRole !== undefined && roleRank(c.dependentRole) >= roleRank('Promoted')) || (c.score < 0 && c.score > -INFINITY);
}

/** "This with": assigns the primary first, then applies its placement to r's scores. */
export function* applyThisWith(s: AssignState, r: Resource, c: Coloc): Generator<AssignRequest, void, string | null> {
  const archive = revertibleColocation(c) ? copyTable(tableOf(s, r)) : undefined;
  yield { r: c.primary };
  applyColocationScore(s, r, c.primary, c, true);
  if (archive && !anyAvailable(s, tableOf(s, r))) s.tables.set(r.id, archive);
}

/** "With this": folds the dependent's attenuated preferences into r's scores. */
export function applyWithThis(s: AssignState, r: Resource, c: Coloc): void {
  if (!hasInfluence(s, c)) return;
  const factor = Math.fround(c.score / INFINITY);
  // The merge works on copies and returns a new table: r's stays as it was, to compare with.
  const before = tableOf(s, r);
  const next = addColocatedNodeScores(s, c.dependent, before, c.nodeAttribute, factor, FLAG_ACTIVE);
  if (next) {
    for (const [node, score] of next) {
      const old = before.get(node);
      if (old !== undefined && score !== old) noteScore(s, r.id, node, preferenceCause(s, c), score - old);
    }
    s.tables.set(r.id, next);
  }
}
