/**
 * Fail counts as the scheduler sees them: per resource and node, with failure-timeout expiry
 * measured against `now` (Pacemaker: pe_get_failcount). A resource with an on-fail=block
 * operation never lets its failures expire.
 */
import type { ClusterStatus } from '@paceline/model';
import { INFINITY, addScores } from '@paceline/model';
import type { Resource } from './resources.js';
import { cloneOf } from './resources.js';

export interface FailCountIndex {
  /** Raw fail count (no expiry) and the newest failure time, for a resource on a node. */
  readonly raw: (rsc: Resource, node: string) => { readonly count: number; readonly lastFailure: number };
  /** Fail count after failure-timeout expiry. */
  readonly effective: (rsc: Resource, node: string) => number;
  /** Nodes that have any fail count at all. */
  readonly nodesWithFailures: ReadonlySet<string>;
}

export function indexFailCounts(status: ClusterStatus, now: number): FailCountIndex {
  const table = new Map<string, Map<string, { count: number; lastFailure: number }>>();
  for (const n of status.nodes) {
    const perNode = new Map<string, { count: number; lastFailure: number }>();
    for (const f of n.failures) {
      const e = perNode.get(f.resource) ?? { count: 0, lastFailure: 0 };
      e.count = addScores(e.count, f.count);
      e.lastFailure = Math.max(e.lastFailure, f.lastFailure ?? 0);
      perNode.set(f.resource, e);
    }
    table.set(n.name, perNode);
  }
  const raw = (rsc: Resource, node: string): { count: number; lastFailure: number } => {
    const perNode = table.get(node);
    if (!perNode) return { count: 0, lastFailure: 0 };
    // An anonymous clone instance counts every instance-numbered fail count of its primitive on the
    // node (Pacemaker matches "fail-count-<rsc>(:N)?"): numbering may differ from the one recorded.
    const anonymous = rsc.instance !== undefined && !(cloneOf(rsc)?.clone?.meta.globallyUnique ?? false);
    const names = anonymous
      ? [...perNode.keys()].filter((k) => k === rsc.baseId || k.replace(/:\d+$/, '') === rsc.baseId)
      : rsc.instance !== undefined
        ? [rsc.id, rsc.baseId]
        : [rsc.id];
    let count = 0;
    let lastFailure = 0;
    for (const name of names) {
      const e = perNode.get(name);
      if (!e) continue;
      count = addScores(count, e.count);
      lastFailure = Math.max(lastFailure, e.lastFailure);
    }
    return { count, lastFailure };
  };
  const effective = (rsc: Resource, node: string): number => {
    const { count, lastFailure } = raw(rsc, node);
    if (count <= 0) return 0;
    const timeout = rsc.meta.failureTimeout;
    const blocks = rsc.ops.some((o) => o.onFail === 'block');
    if (timeout > 0 && lastFailure > 0 && !blocks && now >= lastFailure + timeout) return 0;
    return Math.min(count, INFINITY);
  };
  const nodesWithFailures = new Set([...table].filter(([, m]) => m.size > 0).map(([n]) => n));
  return { raw, effective, nodesWithFailures };
}
