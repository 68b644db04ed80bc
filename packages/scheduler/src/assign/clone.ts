/**
 * The clone's assignment method: the clone module (clone/stage.ts) places the instances and
 * chooses roles through a port; this file builds that port over the assign state (the state stays
 * the only owner of the working tables) and applies the clone's own colocations to each instance
 * as it is placed.
 */
import { INFINITY, addScores } from '@paceline/model';
import type { Resource } from '../resources.js';
import { leaves } from '../resources.js';
import type { Coloc } from '../colocations.js';
import type { ScoreTable } from '../scores.js';
import { nodeAvailable } from '../nodes.js';
import { cloneSettings, placeCloneInstances, rolePriorityDelta, type CloneAssignPort } from '../clone/index.js';
import {
  anyAvailable,
  assign,
  available,
  currentRole,
  isManaged,
  nodeAttribute,
  noteScore,
  runningOn,
  statusOf,
  tableOf,
  type AssignState,
  type AssignStep,
} from './state.js';
import { FLAG_ACTIVE, FLAG_NONNEG, addColocatedNodeScores, hasInfluence } from './colocation-scores.js';
import { applyColocationScore, primaryNodes, revertibleColocation } from './apply-colocation.js';
import { finalize } from './node-choice.js';

/**
 * A clone's own weights (what other resources see when they take its preferences into account):
 * its first instance's starting scores (from the node-criteria stage) without that instance's
 * stickiness. Undefined when the clone has no instance with scores.
 */
export function cloneOwnWeights(s: AssignState, cl: Resource): ScoreTable | undefined {
  const first = cl.children[0] ? leaves(cl.children[0])[0] : undefined;
  const base = first ? s.criteria.tables.get(first.id) : undefined;
  if (!first || !base) return undefined;
  const sticky = s.criteria.contributions.get(first.id);
  const out: ScoreTable = new Map();
  for (const [n, score] of base) out.set(n, score - (sticky?.get(n) ?? []).filter((c) => c.cause.kind === 'stickiness').reduce((a, c) => a + c.score, 0));
  return out;
}

const firstLeaf = (r: Resource): Resource => leaves(r)[0]!;

export function* assignClone(s: AssignState, cl: Resource): AssignStep {
  if (!s.provisional.has(cl) || s.allocating.has(cl)) return null;
  s.allocating.add(cl);
  // The clone's own colocations apply to each instance as it is placed (after the earlier
  // instances took their nodes), like Pacemaker's parent colocations: mandatory and negative ones
  // always, advisory ones only when the clone cannot run on every available node; a role
  // colocation that would leave an instance nowhere is reverted.
  const settings = cloneSettings(cl.clone!, s.nodes.length, s.opts.defaults);
  for (const c of [...(s.thisWith.get(cl) ?? [])]) yield { r: c.primary };
  const allColocations = settings.cloneMax < s.nodes.filter(nodeAvailable).length;
  const deferred = [...(s.thisWith.get(cl) ?? [])].filter((c) => allColocations || c.score < 0 || c.score >= INFINITY);
  const deferredDone = new Set<Resource>();
  const applyParentColocation = (r: Resource, c: Coloc): void => {
    const l = firstLeaf(r);
    const archive = revertibleColocation(c) ? new Map(tableOf(s, l)) : undefined;
    applyColocationScore(s, r, c.primary, c, true);
    if (archive && !anyAvailable(s, tableOf(s, l))) s.tables.set(l.id, archive);
  };
  const cloneBase = cl.children[0] ? (cloneOwnWeights(s, cl) ?? new Map<string, number>()) : new Map<string, number>();
  // Dependents' preferences fold into the clone's own scores, never making a node negative.
  for (const c of [...(s.withThis.get(cl) ?? [])]) {
    if (!hasInfluence(s, c)) continue;
    const before = new Map(cloneBase);
    const next = addColocatedNodeScores(s, c.dependent, cloneBase, c.nodeAttribute, Math.fround(c.score / INFINITY), FLAG_ACTIVE | FLAG_NONNEG);
    if (!next) continue;
    for (const [n, score] of next) {
      cloneBase.set(n, score);
      const delta = score - (before.get(n) ?? 0);
      // Instances take the dependents' preferences only when the clone cannot cover every
      // available node, or for anti-colocations (Pacemaker's parent colocations).
      if (delta === 0 || !before.has(n) || !(allColocations || c.score < 0)) continue;
      for (const child of cl.children)
        for (const l of leaves(child)) {
          const table = tableOf(s, l);
          const old = table.get(n);
          if (old === undefined) continue;
          table.set(n, addScores(old, delta));
          noteScore(s, l.id, n, { kind: 'preferences', colocation: c.id, dependent: c.dependent.id, via: cl.id }, delta);
        }
    }
  }
  const port: CloneAssignPort<Resource> = {
    settings,
    instances: cl.children,
    nodes: s.nodes.map((n) => ({ name: n.name, available: nodeAvailable(n) })),
    instanceId: (r) => r.id,
    instanceNumber: (r) => r.instance ?? 0,
    orphan: (r) => r.orphan,
    runningOn: (r) => runningOn(s, r),
    failed: (r) => leaves(r).some((l) => statusOf(s, l)?.failed ?? false),
    managed: (r) => isManaged(s, firstLeaf(r)),
    priority: (r) => r.meta.priority,
    size: (r) => leaves(r).length,
    currentRole: (r) => currentRole(s, r),
    roleLimit: (r) => {
      const next = s.nextRole.get(firstLeaf(r).id);
      return next === 'Stopped' || next === 'Unpromoted' ? next : undefined;
    },
    cloneScores: () => cloneBase,
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
          noteScore(s, l.id, node, { kind: 'ban', ban: { kind: 'clone-instance', limit } }, score);
        }
      }
    },
    assign: (r, prefer) => {
      if (prefer !== undefined) {
        const table = tableOf(s, firstLeaf(r));
        let best = -INFINITY;
        for (const [n, score] of table) if (available(s, n) && score > best) best = score;
        const pw = table.get(prefer);
        if (pw === undefined || pw < best || !available(s, prefer, pw)) return null;
      }
      if (deferred.length && !deferredDone.has(r)) {
        deferredDone.add(r);
        for (const c of deferred) applyParentColocation(r, c);
      }
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
    nodeAttribute: (node, name) => nodeAttribute(s, node, name),
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
    colocationScoreOnCurrent: (_r, node) => {
      // Pacemaker's cmp_instance_by_colocation: the clone's colocations evaluated on that node.
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
    },
    adjustPromotionWeights: (weights) => {
      // Pacemaker's promotion sort: resources colocated with the Promoted role pull (only-positive
      // merge); Promoted-role colocations of the clone with others pull toward their primaries.
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
    },
    dependentColocationPriority: (r, node) => {
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
    },
    knownOn: (r) => new Set(leaves(r).flatMap((l) => [...(statusOf(s, l)?.knownOn ?? [])])),
    promotedLocationScore: (node) => s.opts.promotedLocations.filter((p) => p.rsc === cl && p.node === node).reduce((a, p) => addScores(a, p.score), 0),
    freezeNoQuorum: !s.opts.quorum && s.opts.noQuorumPolicy === 'freeze',
    cloneManaged: cl.meta.managed,
  };
  placeCloneInstances(port);
  s.allocating.delete(cl);
  s.provisional.delete(cl);
  return null;
}
