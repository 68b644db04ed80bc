/**
 * Stage "orderings" (build.ts): the ordering edges between actions (stop before start, group member
 * chains, order constraints with their symmetrical inverse, fencing before recovery, probes
 * before starts) and the propagation of "required" and "unrunnable" along them until nothing
 * changes (Pacemaker's update_action machinery): a required first action makes a then action
 * required (implies-then), a required then action makes its first required (implies-first),
 * an unrunnable first start makes the then action unrunnable (runnable-left), and a restart
 * ordering keeps a stop with its start. edges.ts: the flags and the edge builder; internal.ts:
 * a resource's own orderings; constraints.ts: order constraints; propagate.ts: the propagation.
 */
import type { ClusterConfig } from '@paceline/model';
import type { ActionSet } from '../action-set.js';
import { copyActionSet } from '../action-set.js';
import type { ResourceTree } from '../resources.js';
import { expandOrderSets } from '../ordersets.js';
import { EdgeBuilder, type Ordering } from './edges.js';
import { collectiveOrderings, primitiveOrderings, promotableOrderings } from './internal.js';
import { addConstraint, addSetOrdering, orderPairs } from './constraints.js';

/**
 * Stage "orderings" (build.ts): the ordering edges of the configuration, groups and clones between the
 * actions. Returns a new action set (a copy: one-or-more points added, interleaved instances
 * without a partner made unrunnable) with the orderings between its actions.
 */
export function buildOrderings(
  config: ClusterConfig,
  tree: ResourceTree,
  created: ActionSet,
  unpackedRole: ReadonlyMap<string, string>,
): { actions: ActionSet; orderings: Ordering[] } {
  const b = new EdgeBuilder(copyActionSet(created).actions, unpackedRole);
  for (const p of tree.primitives) primitiveOrderings(b, p);
  for (const r of tree.byId.values()) if (r.kind !== 'primitive') collectiveOrderings(b, r);
  for (const r of tree.byId.values()) promotableOrderings(b, r, tree);
  for (const c of config.constraints) {
    if (c.type !== 'order') continue;
    if (c.sets !== undefined) for (const spec of expandOrderSets(c, tree)) addSetOrdering(b, spec);
    else for (const [first, then] of orderPairs(c, tree)) addConstraint(b, c, first, then);
  }
  return { actions: b.actions, orderings: b.orderings };
}
