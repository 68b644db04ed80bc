/**
 * The clone's assignment method. In order:
 *
 *   1. the primaries the clone is colocated with are assigned first;
 *   2. the preferences of resources colocated with the clone fold into the clone's own weights
 *      (`foldDependentPreferences`), and into its instances' when Pacemaker would pass them on;
 *   3. clone/stage.ts (`placeCloneInstances`) places the instances and chooses roles through a
 *      port over the assign state (`clonePort`, clone-port.ts), which applies the clone's own
 *      colocations to each instance just before it is placed (`instanceColocations`).
 *
 * The assign state stays the only owner of the working tables.
 */
import { INFINITY, addScores } from '@paceline/model';
import type { Resource } from '../resources.js';
import { leaves } from '../resources.js';
import type { Coloc } from '../colocations.js';
import { copyTable, type ScoreTable } from '../scores.js';
import { nodeAvailable } from '../nodes.js';
import { cloneSettings, placeCloneInstances } from '../clone/index.js';
import { anyAvailable, noteScore, tableOf, type AssignState, type AssignStep } from './state.js';
import { FLAG_ACTIVE, FLAG_NONNEG, addColocatedNodeScores, hasInfluence } from './colocation-scores.js';
import { applyColocationScore, revertibleColocation } from './apply-colocation.js';
import { clonePort, firstLeaf } from './clone-port.js';

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

export function* assignClone(s: AssignState, cl: Resource): AssignStep {
  if (!s.provisional.has(cl) || s.allocating.has(cl)) return null;
  s.allocating.add(cl);
  const settings = cloneSettings(cl.clone!, s.nodes.length, s.opts.defaults);
  for (const c of [...(s.thisWith.get(cl) ?? [])]) yield { r: c.primary };
  // Like Pacemaker's parent colocations, the clone's colocations reach its instances in full only
  // when the clone cannot run on every available node; otherwise only mandatory and negative ones do.
  const partialCover = settings.cloneMax < s.nodes.filter(nodeAvailable).length;
  const beforeAssign = instanceColocations(s, cl, partialCover);
  const cloneScores = foldDependentPreferences(s, cl, partialCover);
  placeCloneInstances(clonePort(s, cl, settings, cloneScores, beforeAssign));
  s.allocating.delete(cl);
  s.provisional.delete(cl);
  return null;
}

/**
 * The clone's own weights with the preferences of resources colocated with it folded in, never
 * making a node negative. The instances take each change too (noted as `preferences`) when the
 * clone cannot cover every available node, or for anti-colocations.
 */
function foldDependentPreferences(s: AssignState, cl: Resource, partialCover: boolean): ScoreTable {
  const cloneBase = cl.children[0] ? (cloneOwnWeights(s, cl) ?? new Map<string, number>()) : new Map<string, number>();
  for (const c of [...(s.withThis.get(cl) ?? [])]) {
    if (!hasInfluence(s, c)) continue;
    const before = new Map(cloneBase);
    const next = addColocatedNodeScores(s, c.dependent, cloneBase, c.nodeAttribute, Math.fround(c.score / INFINITY), FLAG_ACTIVE | FLAG_NONNEG);
    if (!next) continue;
    for (const [n, score] of next) {
      cloneBase.set(n, score);
      const delta = score - (before.get(n) ?? 0);
      if (delta === 0 || !before.has(n) || !(partialCover || c.score < 0)) continue;
      passPreferenceToInstances(s, cl, c, n, delta);
    }
  }
  return cloneBase;
}

function passPreferenceToInstances(s: AssignState, cl: Resource, c: Coloc, node: string, delta: number): void {
  for (const child of cl.children)
    for (const l of leaves(child)) {
      const table = tableOf(s, l);
      const old = table.get(node);
      if (old === undefined) continue;
      table.set(node, addScores(old, delta));
      noteScore(s, l.id, node, { kind: 'preferences', colocation: c.id, dependent: c.dependent.id, via: cl.id }, delta);
    }
}

/**
 * The clone's own colocations as they reach each instance, applied once per instance just before
 * it is placed (after the earlier instances took their nodes): mandatory and negative ones always,
 * advisory ones only under partial cover; a role colocation that would leave the instance nowhere
 * is reverted.
 */
function instanceColocations(s: AssignState, cl: Resource, partialCover: boolean): (instance: Resource) => void {
  const colocations = [...(s.thisWith.get(cl) ?? [])].filter((c) => partialCover || c.score < 0 || c.score >= INFINITY);
  const done = new Set<Resource>();
  return (instance) => {
    if (!colocations.length || done.has(instance)) return;
    done.add(instance);
    for (const c of colocations) {
      const l = firstLeaf(instance);
      const archive = revertibleColocation(c) ? copyTable(tableOf(s, l)) : undefined;
      applyColocationScore(s, instance, c.primary, c, true);
      if (archive && !anyAvailable(s, tableOf(s, l))) s.tables.set(l.id, archive);
    }
  };
}
