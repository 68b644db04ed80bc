/**
 * A transition graph as the executor walks it: actions by position, each with its successors and
 * its count of predecessors (the graph's edges plus the implicit orderings every graph must have),
 * and the queue of actions ready to run, lowest position first.
 */
import type { ClusterConfig, GraphAction, Transition } from '@paceline/model';
import type { Logger } from '@paceline/agent-api';
import { findPrimitive, localInstanceId } from './lookup.js';

export interface WalkGraph {
  /** action id → position in `graph.actions`. */
  readonly index: ReadonlyMap<string, number>;
  /** Each action's successors, by position (no duplicates). */
  readonly succs: readonly (readonly number[])[];
  /** Each action's number of distinct predecessors. */
  readonly preds: Int32Array;
}

/** The graph's orderings (an edge naming an unknown action is logged and ignored) and the implicit ones. */
export function walkGraph(graph: Transition, config: ClusterConfig, log: Logger): WalkGraph {
  const actions = graph.actions;
  const index = new Map(actions.map((a, i) => [a.id, i]));
  const preds = actions.map(() => new Set<number>());
  const add = (before: number, after: number): void => {
    if (before !== after) preds[after]!.add(before);
  };
  for (const e of graph.edges) {
    const before = index.get(e.before);
    const after = index.get(e.after);
    if (before === undefined || after === undefined) {
      log.warn('ordering edge names an unknown action; ignored', { before: e.before, after: e.after });
      continue;
    }
    add(before, after);
  }
  addImplicitEdges(actions, config, preds);
  const succs: number[][] = actions.map(() => []);
  preds.forEach((ps, after) => ps.forEach((before) => succs[before]!.push(after)));
  return { index, succs, preds: Int32Array.from(preds, (ps) => ps.size) };
}

/**
 * Safety nets for orderings a graph must have but might omit, on the same node and the same
 * local instance (anonymous clone instances share one): a recurring monitor waits for what changes
 * the instance's state (start, promote, demote, migrate_from, reload), and every other action
 * waits for the probes. An edge that would reverse an existing one is not added.
 */
function addImplicitEdges(actions: readonly GraphAction[], config: ClusterConfig, preds: readonly Set<number>[]): void {
  const changers = new Set<GraphAction['kind']>(['start', 'promote', 'demote', 'migrate_from', 'reload']);
  const add = (before: number, after: number): void => {
    if (before === after || preds[after]!.has(before) || preds[before]!.has(after)) return;
    preds[after]!.add(before);
  };
  // Pairs within each local instance only (a few actions each; all pairs of a 4,000-action graph took seconds).
  const byKey = new Map<string, number[]>();
  actions.forEach((a, i) => {
    if (!a.resource || !a.node || a.kind === 'pseudo' || a.kind === 'fence') return;
    const key = `${a.node}\u0000${localInstanceId(findPrimitive(config, a.resource, a.primitive), a.resource)}`;
    const group = byKey.get(key);
    if (group) group.push(i);
    else byKey.set(key, [i]);
  });
  for (const group of byKey.values())
    for (const x of group)
      for (const y of group) {
        if (y === x) continue;
        const ax = actions[x]!;
        const ay = actions[y]!;
        if (ax.kind === 'probe' && ay.kind !== 'probe') add(x, y);
        else if (changers.has(ax.kind) && ay.kind === 'monitor' && ay.interval > 0) add(x, y);
      }
}

/** A binary min-heap of positions: the ready action earliest in the graph comes out first. */
export class ReadyQueue {
  private readonly heap: number[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(i: number): void {
    const h = this.heap;
    h.push(i);
    let c = h.length - 1;
    while (c > 0) {
      const p = (c - 1) >> 1;
      if (h[p]! <= h[c]!) break;
      [h[p], h[c]] = [h[c]!, h[p]!];
      c = p;
    }
  }

  pop(): number | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length === 0 || last === undefined) return top;
    h[0] = last;
    for (let p = 0; ;) {
      const l = 2 * p + 1;
      const r = l + 1;
      let m = p;
      if (l < h.length && h[l]! < h[m]!) m = l;
      if (r < h.length && h[r]! < h[m]!) m = r;
      if (m === p) break;
      [h[p], h[m]] = [h[m]!, h[p]!];
      p = m;
    }
    return top;
  }
}
