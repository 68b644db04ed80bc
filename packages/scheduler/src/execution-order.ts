/**
 * The order a simulated execution runs a transition's actions in (`executionOrder`): a topological
 * order of the edges plus the implicit per-instance order (probe first; start, promote, demote and
 * migrate_from before that instance's recurring monitors), ready actions taken by kind (fencing,
 * probes, stops, demotes, migrations, starts, promotes, reloads, monitors) then id, so that call ids
 * follow the order a real executor would use. apply.ts records the operations in this order.
 */
import type { GraphAction, Transition } from '@paceline/model';

const KIND_RANK: Partial<Record<GraphAction['kind'], number>> = {
  fence: 0,
  probe: 1,
  stop: 2,
  demote: 3,
  migrate_to: 4,
  migrate_from: 5,
  start: 6,
  promote: 7,
  reload: 8,
  monitor: 9,
};

function rank(a: GraphAction): number {
  if (a.kind === 'monitor' && a.interval === 0) return 1; // a one-shot monitor is a probe
  return KIND_RANK[a.kind] ?? 10;
}

/** A binary heap of action indexes ordered by (kind rank, id). */
class ReadyQueue {
  private readonly heap: number[] = [];
  constructor(private readonly less: (a: number, b: number) => boolean) {}
  get size(): number {
    return this.heap.length;
  }
  push(x: number): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): number {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Orders actions so that every edge's `before` comes first, together with the implicit order on
 * one instance (probe first; start/promote/demote/migrate_from before its recurring monitors).
 * Ready actions go by kind, then id. Actions caught in a cycle follow, in the same order.
 */
export function executionOrder(actions: readonly GraphAction[], edges: Transition['edges']): GraphAction[] {
  const index = new Map<string, number>();
  actions.forEach((a, i) => index.set(a.id, i));
  const next: number[][] = actions.map(() => []);
  const indegree = new Array<number>(actions.length).fill(0);
  const addEdge = (b: number, a: number): void => {
    if (b === a) return;
    next[b]!.push(a);
    indegree[a]!++;
  };
  for (const e of edges) {
    const b = index.get(e.before);
    const a = index.get(e.after);
    if (b !== undefined && a !== undefined) addEdge(b, a);
  }
  // Implicit per-instance order.
  const byInstance = new Map<string, number[]>();
  actions.forEach((a, i) => {
    if (a.resource === undefined || a.node === undefined) return;
    const key = `${a.resource}\u0000${a.node}`;
    const list = byInstance.get(key);
    if (list) list.push(i);
    else byInstance.set(key, [i]);
  });
  for (const list of byInstance.values()) {
    if (list.length < 2) continue;
    const probes: number[] = [];
    const firsts: number[] = [];
    const monitors: number[] = [];
    const others: number[] = [];
    for (const i of list) {
      const a = actions[i]!;
      if (a.kind === 'probe' || (a.kind === 'monitor' && a.interval === 0)) probes.push(i);
      else {
        others.push(i);
        if (a.kind === 'monitor') monitors.push(i);
        else if (a.kind === 'start' || a.kind === 'promote' || a.kind === 'demote' || a.kind === 'migrate_from') firsts.push(i);
      }
    }
    for (const p of probes) for (const o of others) addEdge(p, o);
    for (const f of firsts) for (const m of monitors) addEdge(f, m);
  }
  // Priority of every action as one integer: its position when sorted by (kind, id).
  const ranks = actions.map(rank);
  const byPriority = actions
    .map((_, i) => i)
    .sort((x, y) => ranks[x]! - ranks[y]! || (actions[x]!.id < actions[y]!.id ? -1 : actions[x]!.id > actions[y]!.id ? 1 : 0));
  const priority = new Array<number>(actions.length);
  byPriority.forEach((i, p) => {
    priority[i] = p;
  });
  const less = (x: number, y: number): boolean => priority[x]! < priority[y]!;
  const ready = new ReadyQueue(less);
  indegree.forEach((d, i) => {
    if (d === 0) ready.push(i);
  });
  const out: GraphAction[] = [];
  const done = new Array<boolean>(actions.length).fill(false);
  while (ready.size > 0) {
    const i = ready.pop();
    done[i] = true;
    out.push(actions[i]!);
    for (const n of next[i]!) if (--indegree[n]! === 0) ready.push(n);
  }
  if (out.length < actions.length) {
    const rest = byPriority.filter((i) => !done[i]);
    for (const i of rest) out.push(actions[i]!);
  }
  return out;
}
