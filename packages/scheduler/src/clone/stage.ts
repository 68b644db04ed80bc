/**
 * The clone step of the assignment stage, written against a small port (`CloneAssignPort`) so
 * that the core's assignment code stays the only owner of its working tables. The core builds a
 * port for one clone and calls `placeCloneInstances(port)` where Pacemaker would call the clone's assign:
 *
 *   1. promotable clones: positive promotion scores raise each instance's weight on that node and
 *      its priority, so the best-scored instances are placed first (`applyPromotionScores`);
 *   2. the instances are sorted, the ones worth keeping first (`orderInstances`);
 *   3. they are distributed (`distributeInstances`: unmanaged ones stay, then pre-assignment to
 *      the current node with spreading, then the best node, under clone-node-max, clone-max and
 *      clone bans);
 *   4. promotable clones: roles are chosen (`chooseRoles`) and written back as next roles
 *      (`chooseInstanceRoles`).
 */
import { INFINITY, addScores, parseScore, type Role, type Score } from '@paceline/model';
import { compareInstances, sortInstances, type InstanceForAssign } from './instance-order.js';
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
  const nodeMap = new Map(port.nodes.map((n) => [n.name, n]));
  const available = (node: string): boolean => nodeMap.get(node)?.available === true;
  const priorities = port.settings.promotable ? applyPromotionScores(port, available) : basePriorities(port);
  const cloneScores = port.cloneScores();
  const sorted = orderInstances(port, priorities, cloneScores, available);
  const placed = distributeInstances(port, sorted, cloneScores, available);
  if (!port.settings.promotable) return { placed };
  return { placed, roles: chooseInstanceRoles(port, sorted, placed, cloneScores, available) };
}

const basePriorities = <R>(port: CloneAssignPort<R>): Map<R, number> => new Map<R, number>(port.instances.map((r) => [r, port.priority(r)]));

/**
 * Step 1 (promotable clones): a positive promotion score raises the instance's weight on that
 * node, and the best score on an available node becomes its priority when higher than the
 * configured one, so the best-scored instances are placed first.
 */
function applyPromotionScores<R>(port: CloneAssignPort<R>, available: (node: string) => boolean): Map<R, number> {
  const priorities = basePriorities(port);
  for (const r of port.instances) {
    for (const [node] of port.instanceScores(r)) {
      if (!available(node)) continue;
      const score = promotionScoreOf(port, r, node).score;
      if (score > 0) port.addPromotionScore(r, node, score);
      if (score > (priorities.get(r) ?? 0)) priorities.set(r, score);
    }
  }
  return priorities;
}

/** Step 2: the instances in Pacemaker's assignment order (`compareInstances`): the ones worth keeping first. */
function orderInstances<R>(
  port: CloneAssignPort<R>,
  priorities: ReadonlyMap<R, number>,
  cloneScores: ReadonlyMap<string, Score>,
  available: (node: string) => boolean,
): R[] {
  const view = new Map<R, InstanceForAssign>();
  for (const r of port.instances) {
    view.set(r, {
      id: port.instanceId(r),
      number: port.instanceNumber(r),
      current: port.runningOn(r),
      failed: port.failed(r),
      priority: priorities.get(r) ?? 0,
    });
  }
  const byView = new Map<InstanceForAssign, R>([...view].map(([r, v]) => [v, r]));
  // Nothing changes while the instances are sorted: each instance's colocation score is worked
  // out once, not once per comparison (it merges the clone's colocation chains).
  const colocation = new Map<InstanceForAssign, Score>();
  const colocationScoreOnCurrent = (inst: InstanceForAssign): Score => {
    let score = colocation.get(inst);
    if (score === undefined) colocation.set(inst, (score = port.colocationScoreOnCurrent!(byView.get(inst)!, inst.current[0]!)));
    return score;
  };
  const ctx = {
    allowedOn: (inst: InstanceForAssign, node: string) => (port.instanceScores(byView.get(inst)!).get(node) ?? -INFINITY) >= 0,
    nodeAvailable: available,
    cloneAllows: (node: string) => cloneScores.has(node),
    ...(port.colocationScoreOnCurrent ? { colocationScoreOnCurrent } : {}),
  };
  return sortInstances([...view.values()], (a, b) => compareInstances(a, b, ctx)).map((v) => byView.get(v)!);
}

/**
 * Step 3: the instances distributed over the nodes, in order, in three passes: unmanaged instances
 * where they are; active healthy instances on their current node while it holds fewer than
 * max(1, floor(clone-max / available nodes)) ("spreading") and that node is also their best; the
 * rest on their best node. Before an instance is offered nodes, the per-node limits cap its
 * weights (`limitToCloneNodes`); once clone-max instances are placed the rest stop. Returns the
 * node of each instance id (null: stopped).
 */
function distributeInstances<R>(
  port: CloneAssignPort<R>,
  sorted: readonly R[],
  cloneScores: ReadonlyMap<string, Score>,
  available: (node: string) => boolean,
): Map<string, string | null> {
  const max = port.settings.cloneMax;
  let availableNodes = 0;
  for (const [node] of cloneScores) if (available(node)) availableNodes++;
  const spread = Math.max(1, availableNodes > 0 ? Math.floor(max / availableNodes) : 1);
  const tally: Tally = { placed: new Map(), perNode: new Map(), allocated: 0 };
  const record = (r: R, node: string | null): void => tallyPlacement(tally, port.instanceId(r), node);

  for (const r of sorted) if (!port.managed(r)) record(r, port.assign(r, undefined));

  for (const r of sorted) {
    if (tally.allocated >= max) break;
    if (tally.placed.has(port.instanceId(r))) continue;
    const cur = port.runningOn(r)[0];
    if (cur === undefined || port.failed(r) || !available(cur)) continue;
    if (cloneScores.has(cur) && (tally.perNode.get(cur) ?? 0) >= spread) continue;
    const weight = port.instanceScores(r).get(cur);
    if (weight === undefined || weight < 0) continue;
    limitToCloneNodes(port, r, tally, cloneScores, available);
    const node = port.assign(r, cur);
    if (node !== null) record(r, node);
  }

  for (const r of sorted) {
    if (tally.placed.has(port.instanceId(r))) continue;
    if (tally.allocated >= max) {
      port.stop(r, `clone-max (${max}) instances already placed`);
      record(r, null);
      continue;
    }
    limitToCloneNodes(port, r, tally, cloneScores, available);
    record(r, port.assign(r, undefined));
  }
  return tally.placed;
}

/** Where the instances went so far: per instance id, instances per node, how many are placed. */
interface Tally {
  readonly placed: Map<string, string | null>;
  readonly perNode: Map<string, number>;
  allocated: number;
}

function tallyPlacement(tally: Tally, id: string, node: string | null): void {
  tally.placed.set(id, node);
  if (node === null) return;
  tally.perNode.set(node, (tally.perNode.get(node) ?? 0) + 1);
  tally.allocated++;
}

/**
 * The per-node limits on an instance's weights (Pacemaker's can_run_instance): nowhere when the
 * node is unavailable, the instance an orphan or the clone not allowed there; no higher than the
 * clone's own negative weight; nowhere on a node that holds clone-node-max instances already.
 */
function limitToCloneNodes<R>(
  port: CloneAssignPort<R>,
  r: R,
  tally: Tally,
  cloneScores: ReadonlyMap<string, Score>,
  available: (node: string) => boolean,
): void {
  const s = port.settings;
  const orphan = port.orphan(r);
  // One object per kind of limit, not per instance and node (a 32-node clone asks 1,024 times).
  let banned: InstanceLimit | undefined;
  let full: InstanceLimit | undefined;
  for (const node of port.instanceScores(r).keys()) {
    const parent = cloneScores.get(node);
    if (!available(node) || orphan || parent === undefined) port.limitInstanceScore(r, node, -INFINITY, CANNOT_RUN);
    else if (parent < 0) port.limitInstanceScore(r, node, parent, (banned ??= { kind: 'clone-banned', clone: s.id }));
    else if ((tally.perNode.get(node) ?? 0) >= s.nodeMax) port.limitInstanceScore(r, node, -INFINITY, (full ??= { kind: 'node-max', max: s.nodeMax }));
  }
}

const CANNOT_RUN: InstanceLimit = Object.freeze({ kind: 'cannot-run' });

/** Step 4 (promotable clones): roles chosen over the placed instances (`chooseRoles`) and written back as next roles. */
function chooseInstanceRoles<R>(
  port: CloneAssignPort<R>,
  sorted: readonly R[],
  placed: ReadonlyMap<string, string | null>,
  cloneScores: ReadonlyMap<string, Score>,
  available: (node: string) => boolean,
): readonly RoleDecision[] {
  const s = port.settings;
  const order = new Map(sorted.map((r, i) => [port.instanceId(r), i]));
  const byId = new Map<string, R>();
  const instances: PromotableInstance[] = port.instances.map((r) => {
    const id = port.instanceId(r);
    byId.set(id, r);
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
  const of = (inst: PromotableInstance): R => byId.get(inst.id)!;
  const roles = chooseRoles({
    promotedMax: s.promotedMax,
    promotedNodeMax: s.promotedNodeMax,
    instances,
    cloneScores,
    nodeAvailable: available,
    promotionScore: (inst, node) => promotionScoreOf(port, of(inst), node),
    promotedLocationScore: (node) => port.promotedLocationScore(node),
    ...(port.dependentColocationPriority
      ? { dependentColocationPriority: (inst: PromotableInstance, node: string) => port.dependentColocationPriority!(of(inst), node) }
      : {}),
    ...(port.colocationNodeScores ? { colocationNodeScores: port.colocationNodeScores() } : {}),
    ...(port.adjustPromotionWeights ? { adjustWeights: (w: ReadonlyMap<string, Score>) => port.adjustPromotionWeights!(w) } : {}),
    ...(port.freezeNoQuorum !== undefined ? { freezeNoQuorum: port.freezeNoQuorum } : {}),
    ...(port.cloneManaged !== undefined ? { cloneManaged: port.cloneManaged } : {}),
    compareInstances: (a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0),
    ...(port.replicaReport ? { replica: (inst: PromotableInstance, node: string) => port.replicaReport!(of(inst), node) } : {}),
    promoteReplica: s.promoteReplica,
  });
  for (const d of roles) if (d.node !== null) port.setNextRole(byId.get(d.instance)!, d.role, d.reason);
  return roles;
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
