/**
 * What one node's replayed history leaves behind (Pacemaker's process_rsc_state): the node is fenced
 * if the resource is active on it while it is gone, or put in standby or fenced by the worst failure
 * response; the resource is marked failed, blocked, banned or stopped by it; an active resource
 * joins `runningOn` and may be multiply active; target-role limits the next role.
 */
import type { Role } from '@paceline/model';
import { INFINITY } from '@paceline/model';
import type { Resource } from '../resources.js';
import { cloneOf } from '../resources.js';
import { roleRank } from '../roles.js';
import { FAIL_RESPONSES, type FailResponseRule } from '../on-fail.js';
import { definitionChange } from './definition.js';
import {
  activeOn,
  addAdjustment,
  draftOf,
  resourceAfter,
  setNextRole,
  type Draft,
  type NodeReplay,
  type ReplayContext,
  type ResourceHistory,
  type ScoreAdjustment,
} from './state.js';

/** The result of one node's history: the resource's state, and what the stage must apply. */
export interface Settled {
  readonly resource: ResourceHistory;
  readonly adjustments: readonly ScoreAdjustment[];
  /** Reasons to fence the node, in the order found (the first one is reported). */
  readonly fence: readonly string[];
  /** The failure response puts the node in standby. */
  readonly standby: boolean;
  /** The history says what state the resource is in on this node (no probe needed there). */
  readonly known: boolean;
}

/**
 * target-role as Pacemaker honours it: Started (the default) and Promoted impose nothing; Unpromoted
 * only makes sense for promotable clone instances and is ignored elsewhere.
 */
export function effectiveTargetRole(r: Resource): Role | undefined {
  const tr = r.meta.targetRole;
  if (tr === undefined || tr === 'Started' || tr === 'Promoted') return undefined;
  if (tr === 'Unpromoted' && !cloneOf(r)?.clone?.promotable) return undefined;
  return tr;
}

/** The failure response's effect on the resource, active or not (on-fail.ts). */
function applyResponse(d: Draft, response: FailResponseRule, active: boolean, ctx: ReplayContext): void {
  switch (response.resource) {
    case undefined:
      return;
    case 'mark-failed':
      d.failed = true;
      return;
    case 'block':
      d.managed = false;
      d.blocked = true;
      return;
    case 'ban-here':
      addAdjustment(d, { rsc: ctx.resource.id, node: ctx.node, score: -INFINITY, reason: 'failed there (on-fail=migrate)' });
      return;
    case 'stop':
      setNextRole(d, 'Stopped', 'on-fail=stop');
      return;
    case 'recover-if-active':
      if (active) {
        d.failed = true;
        d.stopOnFailure = true;
      }
  }
}

/** A resource active on this node: where it runs, whether it is multiply active, failed or changed. */
function settleActive(d: Draft, response: FailResponseRule, ctx: ReplayContext, unclean: boolean): void {
  const rsc = ctx.resource;
  activeOn(d, ctx.node);
  if (ctx.maintenance) d.managed = false;
  if (!d.managed) addAdjustment(d, { rsc: rsc.id, node: ctx.node, score: INFINITY, reason: 'unmanaged and active here' });
  else if (d.runningOn.length > 1) {
    if (rsc.meta.multipleActive === 'stop_only')
      addAdjustment(d, { rsc: rsc.id, node: undefined, score: -INFINITY, reason: 'multiply active (multiple-active=stop_only)' });
    else if (rsc.meta.multipleActive === 'block') {
      d.managed = false;
      d.blocked = true;
    }
  }
  if (response.whenActive !== 'nothing') d.failed = true;
  if (response.whenActive === 'recover') d.stopOnFailure = true;
  if (ctx.online && !unclean && d.managed && rsc.primitive) {
    const change = definitionChange(rsc.primitive, ctx.node, ctx.sorted);
    if (change) d.paramChanges = [...d.paramChanges, change];
  }
}

/** No reason to fence the node (shared). */
export const NO_FENCING: readonly string[] = Object.freeze([]);

/** Settles a replayed history, writing into its working copy `d` (replay.ts's replayNode owns it). */
export function settleInto(d: Draft, ctx: ReplayContext): Settled {
  const rsc = ctx.resource;
  const known = d.role !== 'Unknown';
  const active = known && d.role !== 'Stopped';
  let fence = NO_FENCING;
  let standby = false;
  let unclean = ctx.unclean;
  if (roleRank(d.role) > roleRank('Stopped') && !ctx.online && !ctx.maintenance && d.managed && ctx.cluster.stonith) {
    fence = [`${rsc.id} is thought to be active there`];
    unclean = true;
  }
  // The effects of the worst failure response; a node being fenced ignores them.
  const response = FAIL_RESPONSES[unclean ? 'ignore' : d.onFail];
  if (response.node === 'fence') {
    fence = [...fence, `${rsc.id} failed there`];
    unclean = true;
  } else if (response.node === 'standby') standby = true;
  applyResponse(d, response, active, ctx);
  if (active) settleActive(d, response, ctx, unclean);
  const targetRole = effectiveTargetRole(rsc);
  if (targetRole !== undefined && (d.nextRole === 'Unknown' || roleRank(targetRole) < roleRank(d.nextRole))) setNextRole(d, targetRole, 'target-role');
  return { resource: resourceAfter(d), adjustments: d.adjustments, fence, standby, known };
}

/**
 * What the replayed history `s` of one node leaves behind: the resource's new state (it keeps the
 * highest role found over the nodes: a node where it is stopped does not hide one where it runs),
 * and what the stage must do to the node and the scores. `s` is left as it was.
 */
export function settle(s: NodeReplay, ctx: ReplayContext): Settled {
  return settleInto(draftOf(s), ctx);
}
