/**
 * Node capacity for placement strategies other than "default" (Pacemaker's utilization): what
 * each node has left as resources are assigned, comparisons between nodes, and the "enough
 * room" test. A mutable ledger owned by the assign stage while it runs.
 */
import type { NodeView } from './nodes.js';
import type { Resource } from './resources.js';

export interface CapacityLedger {
  /** Takes (sign -1) or gives back (sign +1) the resource's utilization on a node. */
  consume(node: string, r: Resource, sign: number): void;
  /** Negative when node a has more remaining capacity than b (Pacemaker's compare_node_capacities). */
  compare(a: string, b: string): number;
  enough(node: string, need: ReadonlyMap<string, number>): boolean;
}

export function usageOf(r: Resource): Readonly<Record<string, number>> {
  return r.primitive?.utilization ?? {};
}

export function newCapacityLedger(nodes: readonly NodeView[], enabled: boolean): CapacityLedger {
  const capacity = new Map<string, Map<string, number>>(nodes.map((n) => [n.name, new Map(Object.entries(n.utilization))]));
  const empty = new Map<string, number>();
  return {
    consume(node, r, sign) {
      if (!enabled) return;
      const cap = capacity.get(node);
      if (!cap) return;
      for (const [k, v] of Object.entries(usageOf(r))) {
        const cur = cap.get(k);
        if (sign < 0) cap.set(k, (cur ?? 0) - v);
        else if (cur !== undefined) cap.set(k, cur + v);
      }
    },
    compare(a, b) {
      const ca = capacity.get(a) ?? empty;
      const cb = capacity.get(b) ?? empty;
      let result = 0;
      for (const [k, v] of ca) {
        const w = cb.get(k) ?? 0;
        if (v > w) result--;
        else if (v < w) result++;
      }
      for (const [k, w] of cb) {
        if (ca.has(k)) continue;
        if (0 > w) result--;
        else if (0 < w) result++;
      }
      return result;
    },
    enough(node, need) {
      const cap = capacity.get(node) ?? empty;
      for (const [k, v] of need) if (v > (cap.get(k) ?? 0)) return false;
      return true;
    },
  };
}
