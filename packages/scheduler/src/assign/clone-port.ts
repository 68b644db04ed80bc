/**
 * The port through which clone/stage.ts places one clone's instances (`CloneAssignPort`), built
 * over the assign state. Its methods come in four groups, one function each:
 *
 *   - `instanceFacts`: what the instances are and what their history says (read only);
 *   - `instanceScores`: the instances' working score tables, read and edited with a noted cause;
 *   - `instanceDecisions`: assign an instance, stop it, set its next role;
 *   - `colocationQueries`: the clone's colocations evaluated for instance order and promotion.
 */
import { INFINITY, addScores } from '@paceline/model';
import type { Resource } from '../resources.js';
import { leaves } from '../resources.js';
import type { ScoreTable } from '../scores.js';
import type { Cause, InstanceLimit } from '../reasons.js';
import { nodeAvailable } from '../nodes.js';
import { rolePriorityDelta, type CloneAssignPort, type CloneSettings } from '../clone/index.js';
import { assign, available, currentRole, isManaged, nodeAttribute, noteScore, runningOn, statusOf, tableOf, type AssignState } from './state.js';
import { FLAG_ACTIVE, FLAG_NONNEG, addColocatedNodeScores, hasInfluence } from './colocation-scores.js';
import { primaryNodes } from './apply-colocation.js';
import { finalize } from './node-choice.js';

type Port = CloneAssignPort<Resource>;

export const firstLeaf = (r: Resource): Resource => leaves(r)[0]!;

/**
 * The port for clone `cl`: `cloneScores` are the clone's own weights (see foldDependentPreferences
 * in clone.ts); `beforeAssign` runs just before an instance is assigned.
 */
export function clonePort(s: AssignState, cl: Resource, settings: CloneSettings, cloneScores: ScoreTable, beforeAssign: (r: Resource) => void): Port {
  return {
    settings,
    instances: cl.children,
    nodes: s.nodes.map((n) => ({ name: n.name, available: nodeAvailable(n) })),
    ...instanceFacts(s, cl, settings),
    ...instanceScores(s, cloneScores),
    ...instanceDecisions(s, beforeAssign),
    ...colocationQueries(s, cl),
    freezeNoQuorum: !s.opts.quorum && s.opts.noQuorumPolicy === 'freeze',
    cloneManaged: cl.meta.managed,
  };
}

type InstanceFacts = Pick<
  Port,
  | 'instanceId'
  | 'instanceNumber'
  | 'orphan'
  | 'runningOn'
  | 'failed'
  | 'managed'
  | 'priority'
  | 'currentRole'
  | 'roleLimit'
  | 'nodeAttribute'
  | 'knownOn'
  | 'historyName'
  | 'replicaReport'
>;

function instanceFacts(s: AssignState, cl: Resource, settings: CloneSettings): InstanceFacts {
  return {
    instanceId: (r) => r.id,
    instanceNumber: (r) => r.instance ?? 0,
    orphan: (r) => r.orphan,
    runningOn: (r) => runningOn(s, r),
    failed: (r) => leaves(r).some((l) => statusOf(s, l)?.failed ?? false),
    managed: (r) => isManaged(s, firstLeaf(r)),
    priority: (r) => r.meta.priority,
    currentRole: (r) => currentRole(s, r),
    roleLimit: (r) => {
      const next = s.nextRole.get(firstLeaf(r).id);
      return next === 'Stopped' || next === 'Unpromoted' ? next : undefined;
    },
    nodeAttribute: (node, name) => nodeAttribute(s, node, name),
    knownOn: (r) => new Set(leaves(r).flatMap((l) => [...(statusOf(s, l)?.knownOn ?? [])])),
    historyName: (id) => s.unpacked.cloneNames?.get(id),
    replicaReport: (r, node) => {
      const on = (l: Resource) => s.unpacked.reports?.get(l.id)?.get(node);
      // An anonymous clone's instances are interchangeable: the one placed on a node may not be the one whose history is there.
      const report =
        leaves(r)
          .map(on)
          .find((x) => x?.replica) ??
        (settings.unique
          ? undefined
          : cl.children
              .flatMap(leaves)
              .map(on)
              .find((x) => x?.replica));
      if (!report?.replica) return undefined;
      const source = s.nodes.find((n) => n.name === report.replica!.source);
      return { report, replica: report.replica, sourceUp: source !== undefined && source.online && !source.unclean };
    },
  };
}

function instanceScores(s: AssignState, cloneScores: ScoreTable): Pick<Port, 'cloneScores' | 'instanceScores' | 'addPromotionScore' | 'limitInstanceScore'> {
  // The cause of each limit, made once per limit (the stage asks per instance and node).
  const causes = new Map<InstanceLimit, Cause>();
  const causeOf = (limit: InstanceLimit): Cause => {
    let cause = causes.get(limit);
    if (cause === undefined) causes.set(limit, (cause = { kind: 'ban', ban: { kind: 'clone-instance', limit } }));
    return cause;
  };
  return {
    cloneScores: () => cloneScores,
    instanceScores: (r) => tableOf(s, firstLeaf(r)),
    addPromotionScore: (r, node, score) => {
      for (const l of leaves(r)) {
        const table = tableOf(s, l);
        table.set(node, addScores(table.get(node) ?? 0, score));
        noteScore(s, l.id, node, { kind: 'promotion-score' }, score);
      }
    },
    limitInstanceScore: (r, node, score, limit) => {
      for (const l of leaves(r)) {
        const table = tableOf(s, l);
        const old = table.get(node);
        if (old !== undefined && old > score) {
          table.set(node, score);
          noteScore(s, l.id, node, causeOf(limit), score);
        }
      }
    },
  };
}

function instanceDecisions(s: AssignState, beforeAssign: (r: Resource) => void): Pick<Port, 'assign' | 'stop' | 'setNextRole'> {
  return {
    assign: (r, prefer) => {
      if (prefer !== undefined && !preferredIsBest(s, r, prefer)) return null;
      beforeAssign(r);
      return assign(s, r, prefer);
    },
    stop: (r, reason) => {
      for (const l of leaves(r)) {
        s.nextRoleReason.set(l.id, reason);
        finalize(s, l, null, true, reason);
      }
      s.provisional.delete(r);
    },
    setNextRole: (r, role, reason) => {
      for (const l of leaves(r)) {
        if (s.nextRole.get(l.id) === 'Stopped' && role !== 'Stopped') continue;
        s.nextRole.set(l.id, role);
        s.nextRoleReason.set(l.id, reason);
      }
    },
  };
}

/** The preferred node is available and scores at least as well as the instance's best available node. */
function preferredIsBest(s: AssignState, r: Resource, prefer: string): boolean {
  const table = tableOf(s, firstLeaf(r));
  let best = -INFINITY;
  for (const [n, score] of table) if (available(s, n) && score > best) best = score;
  const preferred = table.get(prefer);
  if (preferred === undefined || preferred < best) return false;
  return available(s, prefer, preferred);
}

type ColocationQueries = Pick<Port, 'colocationScoreOnCurrent' | 'adjustPromotionWeights' | 'dependentColocationPriority' | 'promotedLocationScore'>;

function colocationQueries(s: AssignState, cl: Resource): ColocationQueries {
  return {
    colocationScoreOnCurrent: (_r, node) => colocationScoreOn(s, cl, node),
    adjustPromotionWeights: (weights) => adjustPromotionWeights(s, cl, weights),
    dependentColocationPriority: (r, node) => dependentColocationPriority(s, cl, r, node),
    promotedLocationScore: (node) => s.opts.promotedLocations.filter((p) => p.rsc === cl && p.node === node).reduce((a, p) => addScores(a, p.score), 0),
  };
}

/** Pacemaker's cmp_instance_by_colocation: the clone's colocations evaluated on one node. */
function colocationScoreOn(s: AssignState, cl: Resource, node: string): number {
  let scores: ScoreTable = new Map([[node, 0]]);
  for (const c of s.thisWith.get(cl) ?? []) {
    const next = addColocatedNodeScores(s, c.primary, scores, c.nodeAttribute, Math.fround(c.score / INFINITY), 0);
    if (next) scores = next;
  }
  for (const c of s.withThis.get(cl) ?? []) {
    if (!hasInfluence(s, c)) continue;
    const next = addColocatedNodeScores(s, c.dependent, scores, c.nodeAttribute, Math.fround(c.score / INFINITY), FLAG_NONNEG);
    if (next) scores = next;
  }
  return scores.get(node) ?? 0;
}

/**
 * Pacemaker's promotion sort: resources colocated with the Promoted role pull (only-positive
 * merge); Promoted-role colocations of the clone with others pull toward their primaries.
 */
function adjustPromotionWeights(s: AssignState, cl: Resource, weights: ReadonlyMap<string, number>): ScoreTable {
  let adjusted: ScoreTable = new Map(weights);
  for (const c of s.thisWith.get(cl) ?? []) {
    if (c.dependentRole !== 'Promoted' || c.primary.kind === 'clone') continue;
    const next = addColocatedNodeScores(s, c.primary, adjusted, c.nodeAttribute, Math.fround(c.score / INFINITY), c.score >= INFINITY ? 0 : FLAG_ACTIVE);
    if (next) adjusted = next;
  }
  for (const c of s.withThis.get(cl) ?? []) {
    if (c.primaryRole !== 'Promoted' || c.dependent.kind === 'clone' || !hasInfluence(s, c)) continue;
    const next = addColocatedNodeScores(s, c.dependent, adjusted, c.nodeAttribute, Math.fround(c.score / INFINITY), FLAG_ACTIVE | FLAG_NONNEG);
    if (next) adjusted = next;
  }
  return adjusted;
}

/** What role colocations of the clone (and of the instance's members) add to an instance's promotion priority on a node. */
function dependentColocationPriority(s: AssignState, cl: Resource, r: Resource, node: string): number {
  let delta = 0;
  for (const c of [...(s.thisWith.get(cl) ?? []), ...leaves(r).flatMap((l) => s.thisWith.get(l) ?? [])]) {
    if (c.dependentRole !== 'Promoted' && c.dependentRole !== 'Unpromoted') continue;
    const nodesOfPrimary =
      c.primary.kind === 'clone' && c.primaryRole !== undefined
        ? c.primary.children
            .map(firstLeaf)
            .filter((l) => s.assigned.get(l) && (s.nextRole.get(l.id) ?? 'Started') === c.primaryRole)
            .map((l) => s.assigned.get(l)!)
        : primaryNodes(s, c.primary);
    const d = rolePriorityDelta({
      score: c.score,
      dependentRole: c.dependentRole,
      node,
      primaryNodes: nodesOfPrimary,
      nodeAttribute: c.nodeAttribute,
      attr: (n, a) => nodeAttribute(s, n, a),
    });
    if (d <= -INFINITY) return -INFINITY;
    delta = addScores(delta, d);
  }
  return delta;
}
