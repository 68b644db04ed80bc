/**
 * Pacemaker's pcmk__add_colocated_node_scores: a resource's node scores with the attenuated
 * preferences of the resources colocated with it (or that it is colocated with) folded in,
 * following colocation chains as far as they go. Chains of thousands of resources are walked with
 * an explicit stack (each level is a generator frame), not the JavaScript call stack.
 */
import { INFINITY, addScores } from '@paceline/model';
import type { Resource } from '../resources.js';
import type { Coloc } from '../colocations.js';
import { copyTable, type ScoreTable } from '../scores.js';
import { anyAvailable, available, nodeAttribute, runningOn, tableOf, type AssignState } from './state.js';
import { runOnStack } from './stack.js';

/** Follow "this with" colocations (towards primaries) instead of "with this" ones (towards dependents). */
export const FLAG_THIS_WITH = 1;
/** Only-positive merge: a node's score never goes negative through the merge (see MARK_NEGATIVE). */
export const FLAG_NONNEG = 2;
/** A nested merge: give up (no change) when the resource can run nowhere. */
export const FLAG_ACTIVE = 4;

/**
 * Pacemaker's INFINITY_HACK (INFINITY * -100): during an only-positive merge, marks a node whose
 * positive score the merge would have made negative. Marked nodes are skipped for the rest of the
 * merge and end with score 1 (still allowed, least preferred).
 */
const MARK_NEGATIVE = INFINITY * -100;

/** A colocation counts for the primary's placement when it has influence, or the primary is not active. */
export function hasInfluence(s: AssignState, c: Coloc): boolean {
  return c.influence || runningOn(s, c.primary).length === 0;
}

/**
 * r's best score on an available node, per value of the attribute (lower-cased: node attributes
 * match case-insensitively for colocations, see sameAttribute). One pass over the table, not one
 * per node of the merge (nodes × nodes for every colocation merged was most of a 32-node
 * cluster's assign stage).
 */
function bestScoresByValue(s: AssignState, r: Resource, attribute: string): Map<string, number> {
  const best = new Map<string, number>();
  for (const [n, score] of tableOf(s, r)) {
    const value = nodeAttribute(s, n, attribute);
    if (value === undefined || !available(s, n)) continue;
    const key = value.toLowerCase();
    if (score > (best.get(key) ?? -INFINITY)) best.set(key, score);
  }
  return best;
}

/** Adds factor × r's best matching score to every node of `nodes` (in place). */
function addScoresMatchingAttribute(s: AssignState, nodes: ScoreTable, r: Resource, attribute: string, factor: number, onlyPositive: boolean): void {
  const table = tableOf(s, r);
  // Node names are unique: under #uname the only matching node is the node itself.
  const byValue = attribute === '#uname' ? undefined : bestScoresByValue(s, r, attribute);
  for (const [node, weight] of nodes) {
    const value = nodeAttribute(s, node, attribute);
    let score = -INFINITY;
    if (byValue !== undefined) score = value === undefined ? -INFINITY : (byValue.get(value.toLowerCase()) ?? -INFINITY);
    else if (value !== undefined && available(s, value)) score = table.get(value) ?? -INFINITY;
    if (factor < 0 && score < 0) continue;
    if (weight === MARK_NEGATIVE) continue;
    const scaled = Math.fround(Math.fround(factor) * Math.fround(score));
    let added = Math.trunc(scaled < 0 ? scaled - 0.5 : scaled + 0.5);
    if (added === 0 && score !== 0) added = factor > 0 ? 1 : factor < 0 ? -1 : 0;
    const next = addScores(added, weight);
    if (onlyPositive && next < 0 && weight > 0) {
      nodes.set(node, MARK_NEGATIVE);
      continue;
    }
    if (onlyPositive && next < 0 && weight === 0) continue;
    nodes.set(node, next);
  }
}

interface MergeCall {
  readonly r: Resource;
  readonly nodes: ScoreTable | undefined;
  readonly attribute: string;
  readonly factor: number;
  readonly flags: number;
}

type Frame = Generator<MergeCall, ScoreTable | undefined, ScoreTable | undefined>;

/**
 * Returns `nodes` (or, when undefined, r's own table) with r's colocated preferences merged in, as
 * a new table; undefined when nothing changes. `factor` scales r's scores.
 */
export function addColocatedNodeScores(
  s: AssignState,
  r: Resource,
  nodes: ScoreTable | undefined,
  attribute: string,
  factor: number,
  flags: number,
): ScoreTable | undefined {
  return runOnStack(mergeFrame(s, { r, nodes, attribute, factor, flags }), (call) => mergeFrame(s, call));
}

/** One level of the merge; `yield call` stands for a recursive call and receives its result. */
function* mergeFrame(s: AssignState, call: MergeCall): Frame {
  const { r, nodes, attribute, factor, flags } = call;
  if (s.merging.has(r)) return undefined;
  s.merging.add(r);
  let work: ScoreTable;
  if (r.kind === 'group') {
    if (r.children.length === 0) {
      s.merging.delete(r);
      return undefined;
    }
    const member = nodes === undefined ? r.children[r.children.length - 1]! : r.children[0]!;
    const start = nodes === undefined ? undefined : copyTable(nodes);
    work = (yield { r: member, nodes: start, attribute, factor, flags }) ?? start ?? new Map();
  } else if (nodes === undefined) {
    work = copyTable(tableOf(s, r));
  } else {
    work = copyTable(nodes);
    addScoresMatchingAttribute(s, work, r, attribute, factor, (flags & FLAG_NONNEG) !== 0);
  }
  if (anyAvailable(s, work)) {
    const multiplier = factor < 0 ? -1 : 1;
    let list: readonly Coloc[];
    if (flags & FLAG_THIS_WITH) list = s.thisWith.get(r) ?? [];
    else if (r.kind === 'group') list = s.withThis.get(r.children[r.children.length - 1]!) ?? [];
    else list = s.withThis.get(r) ?? [];
    for (const c of list) {
      let other: Resource;
      if (flags & FLAG_THIS_WITH) other = c.primary;
      else if (!hasInfluence(s, c)) continue;
      else other = c.dependent;
      const f = Math.fround(Math.fround(multiplier * c.score) / INFINITY);
      const next = yield { r: other, nodes: work, attribute: c.nodeAttribute, factor: f, flags: flags | FLAG_ACTIVE };
      if (next) work = next;
    }
  } else if (flags & FLAG_ACTIVE) {
    s.merging.delete(r);
    return undefined;
  }
  if (flags & FLAG_NONNEG) for (const [n, score] of work) if (score === MARK_NEGATIVE) work.set(n, 1);
  s.merging.delete(r);
  return work;
}
