/**
 * Placing clone instances on nodes (Pacemaker 2.1.5's clone assignment, re-expressed):
 *
 * 1. Instances are sorted so that the ones worth keeping come first (`compareInstances`).
 * 2. Pre-assignment: each active, healthy instance is offered its current node first, while that
 *    node holds fewer than max(1, floor(clone-max / available nodes)) instances ("spreading"); the
 *    offer is taken only if the current node is also the instance's best choice.
 * 3. The remaining instances are placed on their best node, skipping nodes that already hold
 *    clone-node-max instances or where the clone as a whole is banned; once clone-max instances are
 *    placed, the rest stay stopped.
 *
 * Scores come from the caller (`scoreInstance`): the instance's node weights from location
 * constraints on the clone and its child, stickiness on its current node, failures, and colocations.
 * This module only adds the per-node limits and the choice of node.
 */
import { INFINITY, type Score } from '@paceline/model';

export interface InstanceForAssign {
  /** "child:N" */
  readonly id: string;
  readonly number: number;
  /** Nodes where the instance is active now (more than one = multiply active). */
  readonly current: readonly string[];
  readonly failed: boolean;
  /** Configured priority (meta priority), higher first. */
  readonly priority: number;
  /** Orphan instances (numbered beyond clone-max) are never placed. */
  readonly orphan: boolean;
  /** Unmanaged instances keep their current node, counted against the limits. */
  readonly managed: boolean;
  /** Primitives in the instance (1, or the members of a cloned group): each counts as a resource on its node. */
  readonly size: number;
}

export interface NodeForAssign {
  readonly name: string;
  /** Online, not standby/maintenance/unclean/shutting down. */
  readonly available: boolean;
  /** Resources already placed on the node (tie-break: fewer first). */
  readonly load: number;
}

export interface DistributeInput {
  readonly cloneMax: number;
  readonly nodeMax: number;
  /** Whether instances of this clone are globally unique (no preference for the current node on ties). */
  readonly unique: boolean;
  readonly nodes: readonly NodeForAssign[];
  /**
   * The clone's own node weights (location constraints on the clone, colocations of other
   * resources with it). A node missing from the map is not allowed (asymmetric clusters).
   */
  readonly cloneScores: ReadonlyMap<string, Score>;
  readonly instances: readonly InstanceForAssign[];
  /**
   * The node weights of one instance. `allColocations` is true when the clone cannot run on every
   * available node, so the clone's advisory colocations count for each instance too.
   */
  scoreInstance(instance: InstanceForAssign, allColocations: boolean): ReadonlyMap<string, Score>;
  /** Optional tie-break: colocation score of the instance on its current node (higher first). */
  colocationScoreOnCurrent?(instance: InstanceForAssign): Score;
}

export interface InstanceAssignment {
  readonly instance: string;
  readonly node: string | null;
  /** Why it is where it is, or why it is stopped. */
  readonly reason: string;
  /** The weights it was placed with (after the per-node limits). */
  readonly scores: ReadonlyMap<string, Score>;
}

export interface DistributeResult {
  /** In the order instances were considered. */
  readonly assignments: readonly InstanceAssignment[];
  /** Instances per node after assignment. */
  readonly perNode: ReadonlyMap<string, number>;
  /** Nodes the clone could use (available and present in cloneScores). */
  readonly availableNodes: number;
}

/** Pacemaker's instance assignment order (pcmk__cmp_instance): negative = `a` first. */
export function compareInstances(
  a: InstanceForAssign,
  b: InstanceForAssign,
  ctx: {
    readonly allowedOn: (inst: InstanceForAssign, node: string) => boolean;
    readonly nodeAvailable: (node: string) => boolean;
    readonly cloneAllows: (node: string) => boolean;
    readonly colocationScoreOnCurrent?: (inst: InstanceForAssign) => Score;
  },
): number {
  const n1 = a.current.length;
  const n2 = b.current.length;
  if (n1 > 0 && n2 > 0 && n1 !== n2) return n1 < n2 ? -1 : 1;
  let node1: string | undefined = a.current[0];
  let node2: string | undefined = b.current[0];
  const can1 = node1 === undefined || ctx.allowedOn(a, node1);
  const can2 = node2 === undefined || ctx.allowedOn(b, node2);
  if (!can1) node1 = undefined;
  if (!can2) node2 = undefined;
  if (can1 !== can2) return can1 ? -1 : 1;
  if (a.priority !== b.priority) return a.priority > b.priority ? -1 : 1;
  if (node1 === undefined && node2 === undefined) return 0;
  if (node1 === undefined) return 1;
  if (node2 === undefined) return -1;
  const av1 = ctx.nodeAvailable(node1);
  const av2 = ctx.nodeAvailable(node2);
  if (av1 !== av2) return av1 ? -1 : 1;
  const p1 = ctx.cloneAllows(node1);
  const p2 = ctx.cloneAllows(node2);
  if (!p1 && !p2) return 0;
  if (p1 !== p2) return p1 ? -1 : 1;
  if (a.failed !== b.failed) return a.failed ? 1 : -1;
  if (ctx.colocationScoreOnCurrent !== undefined) {
    const c1 = ctx.colocationScoreOnCurrent(a);
    const c2 = ctx.colocationScoreOnCurrent(b);
    if (c1 !== c2) return c1 > c2 ? -1 : 1;
  }
  return a.number - b.number;
}

/** A stable sort (Array.prototype.sort is stable in every supported Node). */
export function sortInstances<T extends InstanceForAssign>(instances: readonly T[], cmp: (a: T, b: T) => number): T[] {
  return [...instances].sort(cmp);
}

/**
 * Picks the best node from weights (Pacemaker's node choice for one primitive): highest weight
 * among available nodes, ties broken by fewer placed resources, then the current node, then name.
 * For anonymous clone instances (and plain primitives), when several nodes share the best positive
 * weight the current node wins. Returns null when no node has a weight >= 0.
 */
export function chooseNode(
  scores: ReadonlyMap<string, Score>,
  nodes: ReadonlyMap<string, NodeForAssign>,
  opts: { readonly current?: string | undefined; readonly prefer?: string | undefined; readonly unique: boolean; readonly load: (node: string) => number },
): string | null {
  const list: { name: string; w: Score }[] = [];
  for (const [name, w] of scores) {
    const n = nodes.get(name);
    list.push({ name, w: n?.available === true ? w : -INFINITY });
  }
  list.sort((x, y) => {
    if (x.w !== y.w) return y.w - x.w;
    const lx = opts.load(x.name);
    const ly = opts.load(y.name);
    if (lx !== ly) return lx - ly;
    if (opts.current !== undefined) {
      if (x.name === opts.current) return -1;
      if (y.name === opts.current) return 1;
    }
    return x.name < y.name ? -1 : x.name > y.name ? 1 : 0;
  });
  const best = list[0];
  if (best === undefined) return null;
  let chosen: { name: string; w: Score } | undefined;
  if (opts.prefer !== undefined) {
    const p = list.find((e) => e.name === opts.prefer);
    if (p !== undefined && p.w >= best.w && p.w >= 0) chosen = p;
  }
  if (chosen === undefined) {
    chosen = best;
    if (!opts.unique && chosen.w > 0 && opts.current !== undefined) {
      const cur = list.find((e) => e.name === opts.current && e.w === best.w);
      if (cur !== undefined) chosen = cur;
    }
  }
  return chosen.w < 0 ? null : chosen.name;
}

/** Places the instances of one clone. */
export function distributeInstances(input: DistributeInput): DistributeResult {
  const nodeMap = new Map(input.nodes.map((n) => [n.name, n]));
  const load = new Map(input.nodes.map((n) => [n.name, n.load]));
  const count = new Map<string, number>();
  let availableNodes = 0;
  for (const [name] of input.cloneScores) if (nodeMap.get(name)?.available === true) availableNodes++;
  const max = input.cloneMax;
  const allColoc = max < availableNodes;
  const loopMax = Math.max(1, availableNodes > 0 ? Math.floor(max / availableNodes) : 1);

  const scoreCache = new Map<string, ReadonlyMap<string, Score>>();
  const baseScores = (inst: InstanceForAssign): ReadonlyMap<string, Score> => {
    let s = scoreCache.get(inst.id);
    if (s === undefined) {
      s = input.scoreInstance(inst, allColoc);
      scoreCache.set(inst.id, s);
    }
    return s;
  };
  const cmpCtx = {
    allowedOn: (inst: InstanceForAssign, node: string) => (baseScores(inst).get(node) ?? -INFINITY) >= 0,
    nodeAvailable: (node: string) => nodeMap.get(node)?.available === true,
    cloneAllows: (node: string) => input.cloneScores.has(node),
    ...(input.colocationScoreOnCurrent ? { colocationScoreOnCurrent: input.colocationScoreOnCurrent } : {}),
  };
  const sorted = sortInstances(input.instances, (a, b) => compareInstances(a, b, cmpCtx));

  const done = new Map<string, InstanceAssignment>();
  const order: string[] = [];
  let allocated = 0;

  /** The instance's weights with the per-node limits applied (Pacemaker's can_run_instance). */
  const limited = (inst: InstanceForAssign): Map<string, Score> => {
    const out = new Map<string, Score>();
    for (const [node, w] of baseScores(inst)) {
      const parent = input.cloneScores.get(node);
      let v = w;
      if (nodeMap.get(node)?.available !== true || inst.orphan || parent === undefined) v = -INFINITY;
      else if (parent < 0) v = parent < v ? parent : v;
      else if ((count.get(node) ?? 0) >= input.nodeMax) v = -INFINITY;
      out.set(node, v);
    }
    return out;
  };

  const place = (inst: InstanceForAssign, node: string | null, reason: string, scores: ReadonlyMap<string, Score>): void => {
    done.set(inst.id, { instance: inst.id, node, reason, scores });
    order.push(inst.id);
    if (node !== null) {
      count.set(node, (count.get(node) ?? 0) + 1);
      load.set(node, (load.get(node) ?? 0) + inst.size);
    }
  };

  const tryAssign = (inst: InstanceForAssign, prefer: string | undefined): string | null => {
    if (prefer !== undefined) {
      const w = baseScores(inst).get(prefer);
      if (w === undefined || w < 0) return null;
    }
    const scores = limited(inst);
    const chosen = chooseNode(scores, nodeMap, { current: inst.current[0], prefer, unique: input.unique, load: (n) => load.get(n) ?? 0 });
    if (prefer !== undefined && chosen !== prefer) return null;
    if (chosen !== null) place(inst, chosen, prefer !== undefined ? `kept on ${chosen} where it runs` : `best node ${chosen}`, scores);
    return chosen;
  };

  // Unmanaged instances stay where they are and count against the limits.
  for (const inst of sorted) {
    if (!inst.managed) {
      const node = inst.current[0] ?? null;
      place(inst, node, node === null ? 'unmanaged and stopped' : `unmanaged: left on ${node}`, baseScores(inst));
      if (node !== null) allocated++;
    }
  }

  // Pre-assign active instances to their current node, spreading at most loopMax per node.
  for (const inst of sorted) {
    if (allocated >= max) break;
    if (done.has(inst.id) || inst.current.length === 0 || inst.failed) continue;
    const cur = inst.current[0]!;
    if (nodeMap.get(cur)?.available !== true) continue;
    if (input.cloneScores.has(cur) && (count.get(cur) ?? 0) >= loopMax) continue;
    if (tryAssign(inst, cur) !== null) allocated++;
  }

  for (const inst of sorted) {
    if (done.has(inst.id)) continue;
    if (allocated >= max) {
      place(inst, null, `clone-max (${max}) instances already placed`, new Map());
      continue;
    }
    if (tryAssign(inst, undefined) !== null) {
      allocated++;
    } else {
      place(inst, null, inst.orphan ? 'orphan instance (beyond clone-max)' : 'no node can take it', limited(inst));
    }
  }

  return { assignments: order.map((id) => done.get(id)!), perNode: count, availableNodes };
}
