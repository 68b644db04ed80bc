/**
 * Stage "inhibit" (between assign and create actions): interleaved mandatory orderings between clones take back instances that have no partner
 * (Pacemaker: "inhibiting ... from being active"): when clone B is ordered after clone A with
 * interleave, an instance of B placed on a node where no instance of A will be cannot run there,
 * so it is placed nowhere. Applied between assignment and action creation.
 */
import type { ClusterConfig } from '@paceline/model';
import type { Assignment } from './assign/index.js';
import type { ResourceTree, Resource } from './resources.js';
import { leaves } from './resources.js';
import { interleaveApplies } from './clone/orderings.js';

export function inhibitUnpairedInstances(
  config: ClusterConfig,
  tree: ResourceTree,
  assignment: Assignment,
  /** Whether a primitive instance runs on a node now: such an instance keeps its place here and is
   * stopped through its unrunnable start instead (see orderings.ts), as in Pacemaker. */
  runsThere: (primitiveId: string, node: string) => boolean = () => false,
): Assignment {
  const node = new Map(assignment.node);
  const nextRole = new Map(assignment.nextRole);
  const nextRoleReason = new Map(assignment.nextRoleReason);
  let changed = false;
  const placedOn = (inst: Resource): string | null => {
    const l = leaves(inst)[0];
    return l === undefined ? null : (node.get(l.id) ?? null);
  };
  // Taking an instance back can leave instances of clones ordered after it without a partner:
  // repeat until nothing changes (Pacemaker revisits orderings as their actions change).
  let again = true;
  while (again) {
    again = false;
    for (const c of config.constraints) {
      if (c.type !== 'order' || c.sets !== undefined || c.kind !== 'Mandatory' || c.requireAll === false) continue;
      const first = tree.byId.get(c.first!);
      const then = tree.byId.get(c.then!);
      if (!first || !then || first.kind !== 'clone' || then.kind !== 'clone') continue;
      if (first.clone?.meta.cloneMin) continue;
      const thenAction = c.thenAction ?? c.firstAction;
      if (c.firstAction === 'stop' || c.firstAction === 'demote') continue;
      if (
        !interleaveApplies({
          firstIsClone: true,
          thenIsClone: true,
          sameResource: first === then,
          thenTask: thenAction,
          firstInterleave: first.clone?.meta.interleave ?? false,
          thenInterleave: then.clone?.meta.interleave ?? false,
        })
      )
        continue;
      const firstNodes = new Set(first.children.map(placedOn).filter((n): n is string => n !== null));
      for (const inst of then.children) {
        const n = placedOn(inst);
        if (n === null || firstNodes.has(n) || leaves(inst).some((l) => runsThere(l.id, n))) continue;
        for (const l of leaves(inst)) {
          node.set(l.id, null);
          nextRole.set(l.id, 'Stopped');
          nextRoleReason.set(l.id, `no instance of ${first.id} on ${n} (interleaved order ${c.id})`);
        }
        changed = true;
        again = true;
      }
    }
  }
  return changed ? { ...assignment, node, nextRole, nextRoleReason } : assignment;
}
