/**
 * The explanation: per primitive and node, the final score as a sum of named contributions
 * (location constraints, stickiness, colocations, bans with their reasons), plus one sentence
 * per decision, so "why is it not on node X?" and "why did it move?" have printed answers.
 */
import type { Explanation, NodeScore, ScoreContribution, SummaryLine } from '@paceline/model';
import { formatScore } from '@paceline/model';
import type { ScoreBook } from './scores.js';
import type { Assignment, NodeChoice } from './assign/index.js';
import type { ResourceTree } from './resources.js';
import type { NodeView } from './nodes.js';
import { BANNED, formatCause, type Ban, type Cause, type Contribution } from './reasons.js';

type Decision = Explanation['decisions'][number];

type PlacementStrategy = 'default' | 'utilization' | 'minimal' | 'balanced';

export function buildExplanation(
  tree: ResourceTree,
  nodes: readonly NodeView[],
  book: ScoreBook,
  assignment: Assignment,
  summary: readonly SummaryLine[],
  placementStrategy: PlacementStrategy = 'default',
): Explanation {
  const scores = scoreExplanations(tree, nodes, book, assignment);
  const decisions = [...changeDecisions(summary, scores), ...placementDecisions(tree, assignment, placementStrategy)];
  return { scores, decisions };
}

/**
 * Every primitive's score on every node with its contributions: the node criteria's, then the
 * assign stage's, then the node's own state; a node missing from the table is "not allowed".
 */
function scoreExplanations(tree: ResourceTree, nodes: readonly NodeView[], book: ScoreBook, assignment: Assignment): NodeScore[] {
  const shown = causeTexts();
  const notAllowed: ScoreContribution = { source: formatCause({ kind: 'not-allowed' }), score: BANNED };
  const nodeBans = nodeStateBans(nodes);
  const EMPTY: readonly ScoreContribution[] = Object.freeze([]);
  const scores: NodeScore[] = [];
  for (const p of tree.primitives) {
    const table = assignment.scores.get(p.id);
    const fromCriteria = book.contributions.get(p.id);
    const fromAssign = assignment.contributions.get(p.id);
    for (const n of nodes) {
      const total = table?.get(n.name);
      const early = fromCriteria?.get(n.name);
      const late = fromAssign?.get(n.name);
      const bans = nodeBans.get(n.name)!;
      let list: readonly ScoreContribution[] = EMPTY;
      if (early !== undefined || late !== undefined || bans.length > 0 || total === undefined) {
        const out: ScoreContribution[] = [];
        if (early !== undefined) for (const c of early) out.push(shown(c));
        if (late !== undefined) for (const c of late) out.push(shown(c));
        out.push(...bans);
        if (total === undefined) out.push(notAllowed);
        list = out;
      }
      scores.push({ resource: p.id, node: n.name, total: bans.length || total === undefined ? BANNED : total, contributions: list });
    }
  }
  return scores;
}

/**
 * A contribution as printed, through the one formatter (reasons.ts); colocation causes are shared
 * objects, so each is formatted once.
 */
function causeTexts(): (c: Contribution) => ScoreContribution {
  const texts = new Map<Cause, string>();
  return (c) => {
    let source = texts.get(c.cause);
    if (source === undefined) texts.set(c.cause, (source = formatCause(c.cause)));
    return { source, score: c.score };
  };
}

/** The bans a node's state puts on every resource (one shared list per node). */
function nodeStateBans(nodes: readonly NodeView[]): Map<string, readonly ScoreContribution[]> {
  const banned = (ban: Ban): ScoreContribution => ({ source: formatCause({ kind: 'ban', ban }), score: BANNED });
  return new Map(
    nodes.map((n) => {
      const bans: ScoreContribution[] = [];
      if (!n.online) bans.push(banned({ kind: 'node-state', state: 'offline' }));
      if (n.unclean) bans.push(banned({ kind: 'node-state', state: 'unclean' }));
      if (n.standby) bans.push(banned({ kind: 'node-state', state: 'in standby' }));
      if (n.maintenance) bans.push(banned({ kind: 'node-state', state: 'in maintenance' }));
      if (n.shutdown) bans.push(banned({ kind: 'node-state', state: 'shutting down' }));
      return [n.name, bans] as const;
    }),
  );
}

/**
 * One sentence per change of the summary: what happens and why, and for a move the score of the
 * node it leaves and of the node it goes to, with what pulled them down.
 */
function changeDecisions(summary: readonly SummaryLine[], scores: readonly NodeScore[]): Decision[] {
  const byRsc = new Map<string, NodeScore[]>();
  for (const x of scores) {
    const l = byRsc.get(x.resource);
    if (l) l.push(x);
    else byRsc.set(x.resource, [x]);
  }
  /** "n1 scores -INFINITY (banned: node in standby)" — the node's total and what pulled it down. */
  const why = (rsc: string, node: string): string => {
    const sc = byRsc.get(rsc)?.find((x) => x.node === node);
    if (!sc) return '';
    const negative = sc.contributions.filter((c) => c.score < 0).map((c) => c.source);
    return `${node} scores ${formatScore(sc.total)}${negative.length ? ` (${negative.join(', ')})` : ''}`;
  };
  return summary
    .filter((l) => l.resource !== undefined)
    .map((l) => {
      const id = l.instance ?? l.resource!;
      const parts = [`${id}: ${l.action}${l.from ? ` from ${l.from}` : ''}${l.to ? ` to ${l.to}` : ''}`];
      if (l.reason) parts.push(`because of ${l.reason}`);
      if (l.from && l.from !== l.to) {
        const from = why(id, l.from);
        if (from) parts.push(`— ${from}`);
        if (l.to) parts.push(`and ${why(id, l.to)}`);
      }
      if (l.blocked) parts.push('(blocked)');
      return { resource: l.resource!, text: parts.join(' ') };
    });
}

/**
 * One sentence per primitive: where it was placed and with which score, why that node won (the
 * deciding ranker), and for promotable instances why they got their role; or why it is not placed.
 */
function placementDecisions(tree: ResourceTree, assignment: Assignment, placementStrategy: PlacementStrategy): Decision[] {
  const decisions: Decision[] = [];
  for (const p of tree.primitives) {
    const node = assignment.node.get(p.id);
    const table = assignment.scores.get(p.id);
    if (node) {
      const role = assignment.nextRole.get(p.id);
      const roleWhy = role === 'Promoted' || role === 'Unpromoted' ? assignment.nextRoleReason.get(p.id) : undefined;
      const choice = assignment.choices.get(p.id);
      const over = choice !== undefined && choice.node === node ? `; ${formatNodeChoice(choice, placementStrategy)}` : '';
      decisions.push({
        resource: p.id,
        text: `${p.id}: placed on ${node} (score ${formatScore(table?.get(node) ?? 0)})${over}${roleWhy ? `; ${role}: ${roleWhy}` : ''}`,
      });
    } else
      decisions.push({
        resource: p.id,
        text: `${p.id}: not placed (${assignment.nextRoleReason.get(p.id) ?? 'no node with a non-negative score is available'})`,
      });
  }
  return decisions;
}

/**
 * Why the node beat the runner-up, from the ranker that decided (assign/node-choice.ts):
 * "serv2 over serv1: equal score, fewer resources (0 < 1)".
 */
export function formatNodeChoice(c: NodeChoice, placementStrategy: PlacementStrategy = 'default'): string {
  if (c.decidedBy === 'only-candidate' || c.runnerUp === undefined) return `${c.node}: the only node that can run it`;
  const head = `${c.node} over ${c.runnerUp}`;
  const [mine, theirs] = c.scores ?? [0, 0];
  switch (c.decidedBy) {
    case 'score':
      return `${head}: higher score (${formatScore(mine)} > ${formatScore(theirs)})`;
    case 'strategy':
      return placementStrategy === 'minimal'
        ? `${head}: equal score, first by name (placement-strategy=minimal)`
        : `${head}: equal score, more free capacity (placement-strategy=${placementStrategy})`;
    case 'fewest-assigned':
      return `${head}: equal score, fewer resources${c.compared ? ` (${c.compared[0]} < ${c.compared[1]})` : ''}`;
    case 'current-node':
      return `${head}: ${mine === theirs ? 'equal score, ' : ''}it is active there`;
    case 'name':
      return `${head}: equal score and load, first by name`;
    case 'preferred':
      return `${head}: offered first (${formatScore(mine)} ≥ ${formatScore(theirs)})`;
  }
}
