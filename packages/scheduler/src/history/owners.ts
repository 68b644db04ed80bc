/**
 * Which resource a history entry belongs to: clone instances are numbered the way Pacemaker numbers
 * them (clone/numbering.ts); a primitive by its id; an anonymous clone's instance recorded by its bare
 * id (or a group member in a cloned group) gets a free instance, one not yet claimed on that node.
 */
import type { ClusterConfig } from '@paceline/model';
import type { Resource, ResourceTree } from '../resources.js';
import { needsFencing } from '../resources.js';
import { CloneInstanceResolver, allCloneSettings } from '../clone/index.js';

export class HistoryOwners {
  /** Instance id → the nodes whose history was given to it. */
  private readonly claimed = new Map<string, Set<string>>();
  /** Clone instances by the id of the primitive they are instances of, in the tree's order. */
  private readonly instancesOf = new Map<string, Resource[]>();
  private readonly clones: CloneInstanceResolver;

  constructor(
    config: ClusterConfig,
    private readonly tree: ResourceTree,
    /** Where the histories read so far have a resource active. */
    private readonly runningOn: (id: string) => readonly string[],
    /** Is the node offline or unclean? */
    nodeLost: (node: string) => boolean,
  ) {
    for (const p of tree.primitives) if (p.instance !== undefined) this.instancesOf.set(p.baseId, [...(this.instancesOf.get(p.baseId) ?? []), p]);
    this.clones = new CloneInstanceResolver(allCloneSettings(config), {
      nodeCount: config.nodes.length,
      runningOn,
      needsFencing: (prim) => {
        const r = tree.byId.get(`${prim}:0`);
        return r ? needsFencing(r) : true;
      },
      nodeLost,
    });
  }

  /**
   * The primitive (instance) the history `historyId` on `node` belongs to, now claimed there (only
   * a clone instance's claims are kept: only they are looked up).
   */
  claim(historyId: string, node: string): Resource | undefined {
    const r = this.owner(historyId, node);
    if (r?.instance !== undefined) this.claimed.set(r.id, (this.claimed.get(r.id) ?? new Set<string>()).add(node));
    return r;
  }

  private owner(historyId: string, node: string): Resource | undefined {
    const mapped = this.clones.resolve(node, historyId);
    if (mapped) return this.tree.byId.get(mapped.instance);
    const direct = this.tree.byId.get(historyId);
    if (direct && direct.kind === 'primitive') return direct;
    const candidates = this.instancesOf.get(historyId.replace(/:\d+$/, ''));
    if (candidates === undefined) return undefined;
    const unclaimed = (c: Resource): boolean => !this.claimed.get(c.id)?.has(node);
    return candidates.find((c) => unclaimed(c) && this.runningOn(c.id).length === 0) ?? candidates.find(unclaimed);
  }

  /** Clone instance id → the id its history last used when different (Pacemaker's clone_name). */
  historyNames(): ReadonlyMap<string, string> {
    return this.clones.historyNames();
  }

  /** Clone instances numbered beyond clone-max while reading the history (orphans), per clone. */
  orphanInstances(): Map<string, number[]> {
    const orphans = new Map<string, number[]>();
    for (const orphan of this.clones.orphans()) {
      const numbers = orphans.get(orphan.clone) ?? [];
      if (!numbers.includes(orphan.number)) numbers.push(orphan.number);
      orphans.set(orphan.clone, numbers);
    }
    return orphans;
  }
}
