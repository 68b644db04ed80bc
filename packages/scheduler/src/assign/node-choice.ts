/**
 * Choosing a node for one primitive: a declared chain of rankers, each a comparison that either
 * decides between two nodes or passes them to the next (Nomad's rank iterators, Pacemaker's
 * pcmk__sort_nodes plus the current-node preference of assign_best_node):
 *
 *   score → placement strategy → fewest assigned → current node → name
 *
 * The choice records which ranker put the chosen node ahead of the runner-up, so the explanation
 * can say "serv2 over serv1: equal score, fewer resources". `finalize` then commits the choice
 * (or stops the resource when the best node is not good enough).
 */
import { INFINITY, addScores } from '@paceline/model';
import type { Resource } from '../resources.js';
import { leaves } from '../resources.js';
import type { ScoreTable } from '../scores.js';
import { usageOf } from '../capacity.js';
import { available, currentNode, tableOf, noteScore, type AssignState } from './state.js';

/** What put the chosen node first. */
export type RankerName =
  /** Higher score (or the other node cannot run it). */
  | 'score'
  /** placement-strategy: balanced (more free capacity) or minimal (first by name). */
  | 'strategy'
  /** Fewer resources assigned to it so far. */
  | 'fewest-assigned'
  /** The resource runs there now. */
  | 'current-node'
  /** Node name order, the last tie-break. */
  | 'name'
  /** The caller offered the node first (a clone instance's current node, the node with most room). */
  | 'preferred'
  /** No other node could run it. */
  | 'only-candidate';

export interface NodeChoice {
  readonly node: string;
  readonly decidedBy: RankerName;
  /** The best node that was not chosen, if any could run the resource. */
  readonly runnerUp?: string;
  /** Scores of the two nodes, and what the deciding ranker compared (resources assigned, for instance). */
  readonly scores?: readonly [number, number];
  readonly compared?: readonly [number, number];
}

interface RankContext {
  readonly s: AssignState;
  readonly table: ScoreTable;
  /** The node the resource runs on now, when the current-node ranker may use it. */
  readonly active: string | undefined;
}

interface NodeRanker {
  readonly name: RankerName;
  /** Negative when node a ranks before b, 0 when this ranker cannot tell them apart. */
  compare(a: string, b: string, ctx: RankContext): number;
  /** The values this ranker compared, for the explanation. */
  values?(a: string, b: string, ctx: RankContext): [number, number];
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
/** A node that cannot run resources ranks as if banned. */
const effectiveScore = (ctx: RankContext, n: string): number => (available(ctx.s, n) ? (ctx.table.get(n) ?? -INFINITY) : -INFINITY);

const SCORE: NodeRanker = {
  name: 'score',
  compare: (a, b, ctx) => {
    const x = effectiveScore(ctx, a);
    const y = effectiveScore(ctx, b);
    return x === y ? 0 : x > y ? -1 : 1;
  },
  values: (a, b, ctx) => [effectiveScore(ctx, a), effectiveScore(ctx, b)],
};
const STRATEGY: NodeRanker = {
  name: 'strategy',
  compare: (a, b, ctx) => {
    const strategy = ctx.s.opts.placementStrategy;
    if (strategy === 'minimal') return byName(a, b);
    if (strategy === 'balanced') return Math.sign(ctx.s.ledger.compare(a, b));
    return 0;
  },
};
const FEWEST_ASSIGNED: NodeRanker = {
  name: 'fewest-assigned',
  compare: (a, b, ctx) => {
    const x = ctx.s.assignedCount.get(a) ?? 0;
    const y = ctx.s.assignedCount.get(b) ?? 0;
    return x === y ? 0 : x < y ? -1 : 1;
  },
  values: (a, b, ctx) => [ctx.s.assignedCount.get(a) ?? 0, ctx.s.assignedCount.get(b) ?? 0],
};
const CURRENT_NODE: NodeRanker = {
  name: 'current-node',
  compare: (a, b, ctx) => (ctx.active === undefined ? 0 : a === ctx.active ? -1 : b === ctx.active ? 1 : 0),
};
const NAME: NodeRanker = { name: 'name', compare: byName };

/** The chain, in order. Pacemaker's minimal strategy decides by name right after the score. */
export const NODE_RANKERS: readonly NodeRanker[] = [SCORE, STRATEGY, FEWEST_ASSIGNED, CURRENT_NODE, NAME];

function rank(ctx: RankContext, chain: readonly NodeRanker[], a: string, b: string): { order: number; by: NodeRanker } {
  for (const r of chain) {
    const order = r.compare(a, b, ctx);
    if (order !== 0) return { order, by: r };
  }
  return { order: 0, by: NAME };
}

/** The rankers after the score, in order (the first one that tells two nodes apart decides). */
const TIE_BREAKERS: readonly NodeRanker[] = NODE_RANKERS.slice(1);

function tieOrder(ctx: RankContext, a: string, b: string): number {
  for (const r of TIE_BREAKERS) {
    const order = r.compare(a, b, ctx);
    if (order !== 0) return order;
  }
  return 0;
}

/**
 * The resource's table sorted by the ranker chain (best first). The same order as sorting by
 * `rank(NODE_RANKERS)`, with each node's effective score read once instead of once per comparison
 * (this runs once per primitive and node count, the hottest sort of the assign stage).
 */
export function sortedNodes(s: AssignState, table: ScoreTable, active: string | undefined): [string, number][] {
  const ctx: RankContext = { s, table, active };
  const keyed: { readonly entry: [string, number]; readonly score: number }[] = [];
  for (const entry of table.entries()) keyed.push({ entry, score: available(s, entry[0]) ? entry[1] : -INFINITY });
  keyed.sort((x, y) => (x.score === y.score ? tieOrder(ctx, x.entry[0], y.entry[0]) : x.score > y.score ? -1 : 1));
  return keyed.map((k) => k.entry);
}

/**
 * The first two entries of `sortedNodes` in one pass instead of a sort (assignBestNode reads only
 * those unless the current node ties with the best): the ranker chain is a total order, the name
 * deciding last, so the pass finds the same two. Undefined for balanced placement, whose
 * free-capacity comparison is left to the sort.
 */
function bestTwoNodes(s: AssignState, table: ScoreTable, active: string | undefined): [string, number][] | undefined {
  if (s.opts.placementStrategy === 'balanced') return undefined;
  const ctx: RankContext = { s, table, active };
  const ahead = (score: number, node: string, otherScore: number, other: string): boolean =>
    score === otherScore ? tieOrder(ctx, node, other) < 0 : score > otherScore;
  let first: [string, number] | undefined;
  let second: [string, number] | undefined;
  let firstScore = 0;
  let secondScore = 0;
  for (const entry of table) {
    const score = available(s, entry[0]) ? entry[1] : -INFINITY;
    if (first === undefined || ahead(score, entry[0], firstScore, first[0])) {
      second = first;
      secondScore = firstScore;
      first = entry;
      firstScore = score;
    } else if (second === undefined || ahead(score, entry[0], secondScore, second[0])) {
      second = entry;
      secondScore = score;
    }
  }
  return first === undefined ? [] : second === undefined ? [first] : [first, second];
}

/** Why `chosen` beat `runnerUp` (the first ranker of `chain` that tells them apart). */
function explainChoice(ctx: RankContext, chain: readonly NodeRanker[], chosen: string, runnerUp: string | undefined): NodeChoice {
  if (runnerUp === undefined || !available(ctx.s, runnerUp, ctx.table.get(runnerUp))) {
    return { node: chosen, decidedBy: 'only-candidate', ...(runnerUp !== undefined ? { runnerUp } : {}) };
  }
  const { by } = rank(ctx, chain, chosen, runnerUp);
  return {
    node: chosen,
    decidedBy: by.name,
    runnerUp,
    scores: [ctx.table.get(chosen) ?? -INFINITY, ctx.table.get(runnerUp) ?? -INFINITY],
    ...(by.values && by.name !== 'score' ? { compared: by.values(chosen, runnerUp, ctx) } : {}),
  };
}

/**
 * Commits a choice: the resource goes to `chosen` unless (without `force`) its score there is
 * negative or the node cannot run it, in which case it stops with `reason`. Returns whether it
 * was placed.
 */
export function finalize(s: AssignState, r: Resource, chosen: string | null, force: boolean, reason = 'node availability'): boolean {
  if (!force && chosen !== null) {
    const score = tableOf(s, r).get(chosen) ?? -INFINITY;
    if (score < 0 || !available(s, chosen)) {
      s.nextRole.set(r.id, 'Stopped');
      s.nextRoleReason.set(r.id, reason);
      chosen = null;
    }
  }
  const old = s.assigned.get(r);
  if (old) {
    s.assignedCount.set(old, (s.assignedCount.get(old) ?? 1) - 1);
    s.ledger.consume(old, r, 1);
  }
  s.provisional.delete(r);
  if (chosen === null) {
    s.assigned.set(r, null);
    s.choices.delete(r.id);
    s.nextRole.set(r.id, 'Stopped');
    if (!s.nextRoleReason.has(r.id)) s.nextRoleReason.set(r.id, 'unable to allocate');
    return false;
  }
  s.assigned.set(r, chosen);
  s.assignedCount.set(chosen, (s.assignedCount.get(chosen) ?? 0) + 1);
  s.ledger.consume(chosen, r, -1);
  return true;
}

/**
 * Pacemaker's assign_best_node: the first node of the ranked table, except that `preferred` wins
 * when it scores at least as well as that node, and (for anonymous resources with a positive best
 * score) the current node wins over other nodes with the same score.
 */
export function assignBestNode(s: AssignState, r: Resource, preferred?: string): boolean {
  const mostFree = banInsufficientCapacity(s, r);
  const prefer = preferred ?? mostFree;
  if (!s.provisional.has(r)) return s.assigned.get(r) != null;
  const table = tableOf(s, r);
  const running = currentNode(s, r);
  const ctx: RankContext = { s, table, active: running };
  // The best two nodes; all of them, in order, only where the current node may tie with the best.
  const topTwo = bestTwoNodes(s, table, running);
  const ranked = topTwo ?? sortedNodes(s, table, running);
  const best = ranked[0];
  if (prefer !== undefined && best) {
    const pw = table.get(prefer);
    if (pw !== undefined && pw >= best[1] && available(s, prefer, pw)) {
      const placed = finalize(s, r, prefer, false);
      if (placed) {
        const other = ranked.find(([n]) => n !== prefer)?.[0];
        const why: RankerName = prefer === running ? 'current-node' : 'preferred';
        s.choices.set(
          r.id,
          other !== undefined && available(s, other, table.get(other))
            ? { node: prefer, decidedBy: why, runnerUp: other, scores: [pw, table.get(other) ?? -INFINITY] }
            : { node: prefer, decidedBy: 'only-candidate' },
        );
      }
      return placed;
    }
  }
  let chosen: string | null = null;
  let choice: NodeChoice | undefined;
  if (best) {
    chosen = best[0];
    choice = explainChoice(ctx, NODE_RANKERS, best[0], ranked[1]?.[0]);
    const unique = r.instance !== undefined && r.parent?.clone?.meta.globallyUnique;
    if (!unique && best[1] > 0 && available(s, best[0]) && running !== undefined && running !== best[0] && available(s, running, table.get(running))) {
      for (const [n, score] of (topTwo === undefined ? ranked : sortedNodes(s, table, running)).slice(1)) {
        if (score !== best[1]) break;
        if (n === running) {
          chosen = n;
          choice = { node: n, decidedBy: 'current-node', runnerUp: best[0], scores: [score, best[1]] };
        }
      }
    }
  }
  const placed = finalize(s, r, chosen, false);
  if (placed && choice) s.choices.set(r.id, choice);
  return placed;
}

// ---- utilization ---------------------------------------------------------------------------

/** The primitive and everything that must be colocated with it (mandatory colocations). */
function colocatedSet(s: AssignState, r: Resource): Resource[] {
  const out: Resource[] = [];
  const seen = new Set<Resource>();
  const stack: Resource[] = [r];
  // Depth-first in the order the recursive walk had (pushed in reverse), without recursion.
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (seen.has(x)) continue;
    seen.add(x);
    const next: Resource[] = [];
    if (x.kind !== 'primitive') next.push(...leaves(x));
    else out.push(x);
    for (const c of s.thisWith.get(x) ?? []) if (c.score >= INFINITY && c.primary !== r) next.push(c.primary);
    for (const c of s.withThis.get(x) ?? [])
      if (c.score >= INFINITY && c.dependent !== r && !(x.kind === 'clone' && c.dependent.kind !== 'clone')) next.push(c.dependent);
    if (x.parent?.kind === 'group') next.push(x.parent);
    for (let i = next.length - 1; i >= 0; i--) stack.push(next[i]!);
  }
  return out;
}

/**
 * With a placement strategy other than default: bans nodes without room for the resource (and
 * what must be colocated with it); returns the node with the most room when none has enough.
 */
function banInsufficientCapacity(s: AssignState, r: Resource): string | undefined {
  if (s.opts.placementStrategy === 'default') return undefined;
  const need = new Map<string, number>();
  for (const x of colocatedSet(s, r)) {
    if (!s.provisional.has(x) && x !== r) continue;
    for (const [k, v] of Object.entries(usageOf(x))) need.set(k, (need.get(k) ?? 0) + v);
  }
  const table = tableOf(s, r);
  let anyCapable = false;
  let mostCapable: string | undefined;
  for (const [n, score] of table) {
    if (!available(s, n, score)) continue;
    if (s.ledger.enough(n, need)) anyCapable = true;
    if (mostCapable === undefined || s.ledger.compare(n, mostCapable) < 0) mostCapable = n;
  }
  const own = new Map(Object.entries(usageOf(r)));
  for (const [n, score] of [...table]) {
    if (!available(s, n, score)) continue;
    if (!s.ledger.enough(n, anyCapable ? need : own)) {
      table.set(n, addScores(score, -INFINITY));
      noteScore(s, r.id, n, { kind: 'ban', ban: { kind: 'capacity' } }, -INFINITY);
    }
  }
  return anyCapable ? undefined : mostCapable;
}
