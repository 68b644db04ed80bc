/**
 * Stage "create actions": for every primitive, the stops, starts, promotions and demotions that
 * take it from its current state to its assigned state (Pacemaker's create_actions: restart on
 * recovery or when multiply active, move when the node changes, role transitions), each marked
 * optional/required and runnable/unrunnable (offline node, no quorum, unmanaged); pseudo actions
 * for groups and clones; fencing of unclean nodes; probes where a resource's state is unknown;
 * recurring monitors for what will run. action-builder.ts holds the set under construction and
 * decides what can run; primitive-actions.ts makes a primitive's actions; action-set.ts is the
 * result's type.
 */
import type { Resource } from './resources.js';
import { unfencingEnabled } from './resources.js';
import { collectivePseudoTasks } from './clone/index.js';
import type { Action, ActionContext, ActionSet } from './action-set.js';
import { ActionBuilder } from './action-builder.js';
import { primitiveActions } from './primitive-actions.js';

export function createActions(ctx: ActionContext): ActionSet {
  const b = new ActionBuilder(ctx);
  // Fencing first: stops on nodes being fenced become pseudo actions implied by the fencing.
  fencingActions(b);
  for (const r of ctx.tree.primitives) primitiveActions(b, r);
  for (const r of ctx.tree.byId.values()) {
    if (r.kind === 'primitive') continue;
    for (const task of collectivePseudoTasks(r.kind === 'clone' ? 'clone' : 'group', r.clone?.promotable ?? false))
      b.make(r, task, undefined, true, { pseudo: true });
  }
  unfencingActions(b);
  return b.result();
}

/** Fencing of unclean nodes (when fencing can run and something managed needs it). */
function fencingActions(b: ActionBuilder): void {
  const ctx = b.ctx;
  const fenceType = ctx.config.properties.stonithAction === 'reboot' ? 'reboot' : 'off';
  const anyManaged = ctx.tree.primitives.some((p) => b.managed(p));
  for (const n of ctx.nodes) {
    if (!n.unclean) continue;
    if (!(ctx.canFence && anyManaged)) continue;
    if (!ctx.quorum && ctx.quorumPolicy !== 'ignore' && !n.online) continue;
    const reason = ctx.unpacked.fenceReasons.get(n.name) ?? n.uncleanReason ?? 'node is unclean';
    const a: Action = {
      id: `fence ${n.name}`,
      task: 'fence',
      rsc: undefined,
      node: n.name,
      interval: 0,
      optional: false,
      runnable: true,
      pseudo: false,
      reason,
      fenceType,
    };
    b.addNodeAction(a);
    b.fencing.set(n.name, a);
  }
}

/**
 * Unfencing: nodes that have never been unfenced must be before a fencing device is probed there
 * or a resource requiring unfencing starts there (probes first, as Pacemaker schedules).
 */
function unfencingActions(b: ActionBuilder): void {
  const ctx = b.ctx;
  if (!ctx.canFence || !unfencingEnabled(ctx.config)) return;
  const wants = (r: Resource): boolean => r.isFencing || r.meta.requires === 'unfencing';
  const unfence = (node: string, why: string): void => {
    const n = b.nodeByName.get(node);
    if (!n || !n.online || n.unclean || n.shutdown || b.fencing.has(node)) return;
    const unfenced = n.attributes.get('#node-unfenced');
    if (unfenced !== undefined && unfenced !== '0') return;
    const id = `fence-on ${node}`;
    if (b.byKey.has(id)) return;
    const a: Action = { id, task: 'fence', rsc: undefined, node, interval: 0, optional: false, runnable: true, pseudo: false, reason: why, fenceType: 'on' };
    b.addNodeAction(a);
    b.unfencings.set(node, a);
  };
  for (const n of ctx.nodes)
    for (const r of ctx.tree.primitives) if (wants(r) && b.probes.get(r.id)?.nodes.includes(n.name)) unfence(n.name, `required by ${r.id} monitor`);
  for (const r of ctx.tree.primitives)
    if (wants(r)) for (const a of b.byRsc.get(r.id) ?? []) if (a.task === 'start' && a.node && !a.optional) unfence(a.node, `required by ${r.id} start`);
}
