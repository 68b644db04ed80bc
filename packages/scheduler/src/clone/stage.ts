/**
 * The clone step of the assignment stage, written against a small port (`CloneAssignPort`) so
 * that the core's assignment code stays the only owner of its working tables. The core builds a
 * port for one clone and calls `placeCloneInstances(port)` where Pacemaker would call the clone's assign:
 *
 *   1. promotable clones: positive promotion scores raise each instance's weight on that node and
 *      its priority (so the best-scored instances are placed first);
 *   2. instances are distributed (`distributeInstances` semantics: pre-assignment to the current
 *      node with spreading, clone-node-max, clone-max, clone bans);
 *   3. promotable clones: roles are chosen (`chooseRoles`) and written back as next roles.
 */
import { INFINITY, addScores, parseScore, type Role, type Score } from '@paceline/model';
import { compareInstances, sortInstances, type InstanceForAssign } from './assign.js';
import { chooseRoles, promotionScoreApplies, type PromotableInstance, type ReplicaInfo, type RoleDecision } from './promote.js';
import type { CloneSettings } from './settings.js';
import type { InstanceLimit } from '../reasons.js';

/** What the core exposes about one clone while assigning it. `R` is the core's resource type. */
export interface CloneAssignPort<R> {
  readonly settings: CloneSettings;
  /** The clone's instances (primitive or group instances), including orphans. */
  readonly instances: readonly R[];
  readonly nodes: readonly { readonly name: string; readonly available: boolean }[];
  instanceId(r: R): string;
  instanceNumber(r: R): number;
  orphan(r: R): boolean;
  /** Nodes where the instance is active now (a cloned group: where any member is). */
  runningOn(r: R): readonly string[];
  failed(r: R): boolean;
  managed(r: R): boolean;
  priority(r: R): number;
  /** Primitives in the instance (1 for a cloned primitive). */
  size(r: R): number;
  /** Role now (of the first member for a cloned group). */
  currentRole(r: R): Role;
  /** Role limit from target-role or failure handling (Stopped / Unpromoted), if any. */
  roleLimit(r: R): Role | undefined;
  /**
   * The clone's own weights: location constraints on the clone, bans that apply to the clone as a
   * whole, without instance stickiness. A node missing = not allowed (opt-in cluster).
   */
  cloneScores(): ReadonlyMap<string, Score>;
  /** The instance's weights as they stand (first member's for a cloned group). */
  instanceScores(r: R): ReadonlyMap<string, Score>;
  /** Adds a promotion score to an instance's weight on a node (every member of a cloned group). */
  addPromotionScore(r: R, node: string, score: Score): void;
  /** Caps an instance's weight on a node at `score` (the per-node limits), saying which limit. */
  limitInstanceScore(r: R, node: string, score: Score, limit: InstanceLimit): void;
  /**
   * Assigns the instance as the core assigns any resource (colocations, node choice). With
   * `prefer`, the instance is assigned only if `prefer` is at least as good as the best node;
   * otherwise nothing changes and null is returned.
   */
  assign(r: R, prefer: string | undefined): string | null;
  /** Marks the instance stopped (placed nowhere) with a reason. */
  stop(r: R, reason: string): void;
  /** Sets the next role of every primitive in the instance. */
  setNextRole(r: R, role: Role, reason: string): void;
  /** Node attributes (permanent and transient). */
  nodeAttribute(node: string, name: string): string | undefined;
  /** Nodes where the instance's primitive(s) have history (known state). */
  knownOn(r: R): ReadonlySet<string>;
  /**
   * The id the history last used for a primitive instance ("m:N") when it differs from that id
   * ("m" or "m:M"), if any (Pacemaker's clone_name; promotion scores are published under it).
   */
  historyName?(primitiveInstanceId: string): string | undefined;
  /** The last lag report of the instance (or, for an anonymous clone, of any instance) on a node, if its agent reports one. */
  replicaReport?(r: R, node: string): ReplicaInfo | undefined;
  /** Promoted-role extras (see RoleInput): location constraints with role=Promoted, colocations. */
  promotedLocationScore(node: string): Score;
  dependentColocationPriority?(r: R, node: string): Score;
  colocationNodeScores?(): ReadonlyMap<string, Score>;
  /**
   * Tie-break when ordering instances: the clone's colocations evaluated on the instance's current
   * node (Pacemaker's cmp_instance_by_colocation); higher goes first.
   */
  colocationScoreOnCurrent?(r: R, node: string): Score;
  /** See RoleInput.adjustWeights. */
  adjustPromotionWeights?(weights: ReadonlyMap<string, Score>): ReadonlyMap<string, Score>;
  readonly freezeNoQuorum?: boolean;
  readonly cloneManaged?: boolean;
}

export interface CloneAssignResult {
  readonly placed: ReadonlyMap<string, string | null>;
  readonly roles?: readonly RoleDecision[];
}

export function placeCloneInstances<R>(port: CloneAssignPort<R>): CloneAssignResult {
  const s = port.settings;
  const nodeMap = new Map(port.nodes.map((n) => [n.name, n]));
  const available = (node: string): boolean => nodeMap.get(node)?.available === true;
  const priorities = new Map<R, number>(port.instances.map((r) => [r, port.priority(r)]));

  if (s.promotable) {
    for (const r of port.instances) {
      for (const [node] of port.instanceScores(r)) {
        if (!available(node)) continue;
        const score = promotionScoreOf(port, r, node).score;
        if (score > 0) port.addPromotionScore(r, node, score);
        if (score > (priorities.get(r) ?? 0)) priorities.set(r, score);
      }
    }
  }

  const cloneScores = port.cloneScores();
  const view = new Map<R, InstanceForAssign>();
  for (const r of port.instances) {
    view.set(r, {
      id: port.instanceId(r),
      number: port.instanceNumber(r),
      current: port.runningOn(r),
      failed: port.failed(r),
      priority: priorities.get(r) ?? 0,
      orphan: port.orphan(r),
      managed: port.managed(r),
      size: port.size(r),
    });
  }
  const byView = new Map<InstanceForAssign, R>([...view].map(([r, v]) => [v, r]));
  const sorted = sortInstances([...view.values()], (a, b) =>
    compareInstances(a, b, {
      allowedOn: (inst, node) => (port.instanceScores(byView.get(inst)!).get(node) ?? -INFINITY) >= 0,
      nodeAvailable: available,
      cloneAllows: (node) => cloneScores.has(node),
      ...(port.colocationScoreOnCurrent
        ? { colocationScoreOnCurrent: (inst: InstanceForAssign) => port.colocationScoreOnCurrent!(byView.get(inst)!, inst.current[0]!) }
        : {}),
    }),
  ).map((v) => byView.get(v)!);

  let availableNodes = 0;
  for (const [node] of cloneScores) if (available(node)) availableNodes++;
  const max = s.cloneMax;
  const loopMax = Math.max(1, availableNodes > 0 ? Math.floor(max / availableNodes) : 1);
  const count = new Map<string, number>();
  const placed = new Map<string, string | null>();
  let allocated = 0;

  const canRun = (r: R): void => {
    for (const [node] of port.instanceScores(r)) {
      const parent = cloneScores.get(node);
      if (!available(node) || port.orphan(r) || parent === undefined) port.limitInstanceScore(r, node, -INFINITY, { kind: 'cannot-run' });
      else if (parent < 0) port.limitInstanceScore(r, node, parent, { kind: 'clone-banned', clone: s.id });
      else if ((count.get(node) ?? 0) >= s.nodeMax) port.limitInstanceScore(r, node, -INFINITY, { kind: 'node-max', max: s.nodeMax });
    }
  };
  const record = (r: R, node: string | null): void => {
    placed.set(port.instanceId(r), node);
    if (node !== null) count.set(node, (count.get(node) ?? 0) + 1);
  };

  for (const r of sorted) {
    if (port.managed(r)) continue;
    const node = port.assign(r, undefined);
    record(r, node);
    if (node !== null) allocated++;
  }

  for (const r of sorted) {
    if (allocated >= max) break;
    if (placed.has(port.instanceId(r))) continue;
    const cur = port.runningOn(r)[0];
    if (cur === undefined || port.failed(r) || !available(cur)) continue;
    if (cloneScores.has(cur) && (count.get(cur) ?? 0) >= loopMax) continue;
    const w = port.instanceScores(r).get(cur);
    if (w === undefined || w < 0) continue;
    canRun(r);
    const node = port.assign(r, cur);
    if (node !== null) {
      record(r, node);
      allocated++;
    }
  }

  for (const r of sorted) {
    if (placed.has(port.instanceId(r))) continue;
    if (allocated >= max) {
      port.stop(r, `clone-max (${max}) instances already placed`);
      record(r, null);
      continue;
    }
    canRun(r);
    const node = port.assign(r, undefined);
    record(r, node);
    if (node !== null) allocated++;
  }

  if (!s.promotable) return { placed };

  const order = new Map(sorted.map((r, i) => [port.instanceId(r), i]));
  const pis = new Map<string, R>();
  const instances: PromotableInstance[] = port.instances.map((r) => {
    const id = port.instanceId(r);
    pis.set(id, r);
    const limit = port.roleLimit(r);
    return {
      id,
      number: port.instanceNumber(r),
      node: placed.get(id) ?? null,
      currentRole: port.currentRole(r),
      managed: port.managed(r),
      ...(limit === 'Stopped' || limit === 'Unpromoted' ? { targetRole: limit } : {}),
    };
  });
  const roles = chooseRoles({
    promotedMax: s.promotedMax,
    promotedNodeMax: s.promotedNodeMax,
    instances,
    cloneScores,
    nodeAvailable: available,
    promotionScore: (inst, node) => promotionScoreOf(port, pis.get(inst.id)!, node),
    promotedLocationScore: (node) => port.promotedLocationScore(node),
    ...(port.dependentColocationPriority
      ? { dependentColocationPriority: (inst: PromotableInstance, node: string) => port.dependentColocationPriority!(pis.get(inst.id)!, node) }
      : {}),
    ...(port.colocationNodeScores ? { colocationNodeScores: port.colocationNodeScores() } : {}),
    ...(port.adjustPromotionWeights ? { adjustWeights: (w: ReadonlyMap<string, Score>) => port.adjustPromotionWeights!(w) } : {}),
    ...(port.freezeNoQuorum !== undefined ? { freezeNoQuorum: port.freezeNoQuorum } : {}),
    ...(port.cloneManaged !== undefined ? { cloneManaged: port.cloneManaged } : {}),
    compareInstances: (a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0),
    ...(port.replicaReport ? { replica: (inst: PromotableInstance, node: string) => port.replicaReport!(pis.get(inst.id)!, node) } : {}),
    promoteReplica: s.promoteReplica,
  });
  for (const d of roles) {
    const r = pis.get(d.instance)!;
    if (d.node === null) continue;
    port.setNextRole(r, d.role, d.reason);
  }
  return { placed, roles };
}

/** An instance's published promotion score on a node, if it applies there (see promotionScoreApplies). */
export function promotionScoreOf<R>(port: CloneAssignPort<R>, r: R, node: string): { score: Score; isDefault: boolean } {
  const s = port.settings;
  const id = port.instanceId(r);
  const activeHere = s.unique ? undefined : port.instances.find((o) => port.runningOn(o).includes(node));
  const anyKnown = !s.unique && port.instances.some((o) => port.knownOn(o).has(node));
  const known = port.knownOn(r);
  const applies = promotionScoreApplies({
    unique: s.unique,
    node,
    instance: id,
    activeInstanceOnNode: activeHere === undefined ? undefined : port.instanceId(activeHere),
    anyInstanceKnownOnNode: anyKnown,
    knownOnNode: known.has(node) || port.runningOn(r).includes(node),
    knownAnywhere: known.size > 0 || port.runningOn(r).length > 0,
    allowed: (port.instanceScores(r).get(node) ?? -INFINITY) >= 0,
  });
  if (!applies) return { score: 0, isDefault: true };
  // A cloned group's promotion score is the sum over its members.
  let total = 0;
  let any = false;
  const number = port.instanceNumber(r);
  for (const member of s.members) {
    const names: string[] = [];
    const own = `${member}:${number}`;
    names.push(port.historyName?.(own) ?? own);
    if (!s.unique) names.push(member);
    for (const name of names) {
      const raw = port.nodeAttribute(node, `master-${name}`) ?? port.nodeAttribute(node, `promotion-${name}`);
      if (raw !== undefined) {
        const v = parseScore(raw) ?? 0;
        total = addScores(total, v);
        any = true;
        break;
      }
    }
  }
  return any ? { score: total, isDefault: false } : { score: 0, isDefault: true };
}
