/**
 * The state the replay of an operation history works on (history/replay.ts), and what it needs to
 * know about the world around the history it replays. The replay is a reducer, `(state, op) →
 * state`, that returns new values and never changes its inputs; each step edits a working copy
 * (a `Draft`) of the state it was given.
 */
import type { OpRecord, Role } from '@paceline/model';
import type { Resource } from '../resources.js';
import { cloneOf } from '../resources.js';
import { roleRank, type RoleOrUnknown } from '../roles.js';
import type { FailResponse } from '../on-fail.js';

/**
 * An active resource whose definition changed since it started on `node` (Pacemaker compares
 * operation digests): `restart` it, or `reload` it when only parameters the agent can reload
 * changed; `monitors` lists recurring monitors whose own definition changed (rescheduled).
 */
export interface ParamChange {
  readonly node: string;
  readonly action: 'restart' | 'reload' | undefined;
  readonly monitors: readonly number[];
  readonly detail: string;
}

/** A change to a resource's score that the history calls for. */
export interface ScoreAdjustment {
  readonly rsc: string;
  /** undefined = every node */
  readonly node: string | undefined;
  readonly score: number;
  readonly reason: string;
}

/**
 * What the histories read so far say about one primitive, over all nodes: the replay of each node's
 * history starts from what the previous nodes left (a failure on one node keeps the resource
 * failed; a node where it is active adds to `runningOn`).
 */
export interface ResourceHistory {
  /** The highest role found on the nodes replayed so far. */
  readonly role: RoleOrUnknown;
  /** Role forced by failure handling or target-role; Unknown = decided by placement. */
  readonly nextRole: RoleOrUnknown;
  readonly nextRoleReason: string | undefined;
  /** Nodes where the primitive is active, in discovery order. */
  readonly runningOn: readonly string[];
  readonly failed: boolean;
  /** Failed in a way that needs a stop (recovery) rather than a demote. */
  readonly stopOnFailure: boolean;
  readonly blocked: boolean;
  readonly managed: boolean;
  readonly failureIgnored: boolean;
  readonly startPending: boolean;
  /** A live migration half done: where from and to. */
  readonly partial: { readonly source: string; readonly target: string } | undefined;
  /** A failed migration: recover with stop/start, do not migrate. */
  readonly noMigrate: boolean;
  readonly paramChanges: readonly ParamChange[];
}

/**
 * The state of the replay of one node's history of one resource: what the earlier nodes' histories
 * said about the resource, and what this node's history shows so far.
 */
export interface NodeReplay extends Omit<ResourceHistory, 'role'> {
  /** The role this node's history shows so far. */
  readonly role: RoleOrUnknown;
  /** The highest role the earlier nodes' histories showed. */
  readonly roleElsewhere: RoleOrUnknown;
  /** The worst failure response of the history so far (on-fail.ts), cleared by later successes. */
  readonly onFail: FailResponse;
  /** `action_interval` of the last failed operation: a later success of the same monitor clears it. */
  readonly lastFailureKey: string | undefined;
  /** Score changes the history calls for, in the order found. */
  readonly adjustments: readonly ScoreAdjustment[];
}

/** A step's working copy of the state: a new object that the step fills in before returning it. */
export type Draft = { -readonly [K in keyof NodeReplay]: NodeReplay[K] };

/*
 * The copies below are written out field by field so that every state has the same shape, which
 * keeps them cheap: the stage replays a history per resource and node (16,000 on a 16-node,
 * 1000-resource cluster), and spreads of changing sets of fields cost it several times its time.
 */

/** A working copy of `s`. */
export function draftOf(s: NodeReplay): Draft {
  return {
    role: s.role,
    roleElsewhere: s.roleElsewhere,
    nextRole: s.nextRole,
    nextRoleReason: s.nextRoleReason,
    runningOn: s.runningOn,
    failed: s.failed,
    stopOnFailure: s.stopOnFailure,
    blocked: s.blocked,
    managed: s.managed,
    failureIgnored: s.failureIgnored,
    startPending: s.startPending,
    partial: s.partial,
    noMigrate: s.noMigrate,
    paramChanges: s.paramChanges,
    onFail: s.onFail,
    lastFailureKey: s.lastFailureKey,
    adjustments: s.adjustments,
  };
}

/** The state before a node's history is read, after what the earlier nodes' histories said. */
export function startReplay(before: ResourceHistory): Draft {
  return {
    role: 'Unknown',
    roleElsewhere: before.role,
    nextRole: before.nextRole,
    nextRoleReason: before.nextRoleReason,
    runningOn: before.runningOn,
    failed: before.failed,
    stopOnFailure: before.stopOnFailure,
    blocked: before.blocked,
    managed: before.managed,
    failureIgnored: before.failureIgnored,
    startPending: before.startPending,
    partial: before.partial,
    noMigrate: before.noMigrate,
    paramChanges: before.paramChanges,
    onFail: 'ignore',
    lastFailureKey: undefined,
    adjustments: NONE,
  };
}

/** No score adjustments (shared: a replay copies the list before adding to it). */
export const NONE: readonly ScoreAdjustment[] = Object.freeze([]);

/** What the resource's state is after this node's history: it keeps the highest role found. */
export function resourceAfter(s: NodeReplay): ResourceHistory {
  return {
    role: roleRank(s.role) > roleRank(s.roleElsewhere) ? s.role : s.roleElsewhere,
    nextRole: s.nextRole,
    nextRoleReason: s.nextRoleReason,
    runningOn: s.runningOn,
    failed: s.failed,
    stopOnFailure: s.stopOnFailure,
    blocked: s.blocked,
    managed: s.managed,
    failureIgnored: s.failureIgnored,
    startPending: s.startPending,
    partial: s.partial,
    noMigrate: s.noMigrate,
    paramChanges: s.paramChanges,
  };
}

/** Forces the next role to `role`, for `why`. */
export function setNextRole(d: Draft, role: RoleOrUnknown, why: string): void {
  d.nextRole = role;
  d.nextRoleReason = why;
}

/** Raises the role found here to Started if it was lower. */
export function atLeastStarted(d: Draft): void {
  if (roleRank(d.role) < roleRank('Started')) d.role = 'Started';
}

/** Adds a score adjustment (the list is copied: the state the step started from keeps its own). */
export function addAdjustment(d: Draft, adjustment: ScoreAdjustment): void {
  d.adjustments = [...d.adjustments, adjustment];
}

/** Notes the resource active on `node` too. */
export function activeOn(d: Draft, node: string): void {
  d.runningOn = withItem(d.runningOn, node);
}

/** `list` with `item` appended unless it is there already (a new array when it changes). */
export function withItem<T>(list: readonly T[], item: T): readonly T[] {
  return list.includes(item) ? list : [...list, item];
}

/** What the replay of one resource's history on one node needs to know, besides the history. */
export interface ReplayContext {
  readonly resource: Resource;
  readonly node: string;
  readonly online: boolean;
  readonly unclean: boolean;
  readonly maintenance: boolean;
  /** The history on this node, in call order (a migration looks up its own record in it). */
  readonly sorted: readonly OpRecord[];
  /** The id the history is recorded under (a migration looks for the same id on the other node). */
  readonly historyId: string;
  readonly cluster: ClusterView;
}

/** What the replay needs to know about the cluster: the same for every history the stage replays. */
export interface ClusterView {
  /** stonith-enabled */
  readonly stonith: boolean;
  /** Fencing enabled and a fencing device configured: a failed stop can be answered by fencing. */
  readonly canFence: boolean;
  /** Has this failure of `r` on `node` expired (failure-timeout passed and the fail count with it)? */
  expired(r: Resource, node: string, op: OpRecord): boolean;
  /** The failure response configured for an operation of `r` (on-fail.ts). */
  onFailFor(r: Resource, action: string, interval: number): { readonly onFail: FailResponse; readonly failRole: Role };
  /** The operations recorded under `historyId` on `node` (a migration's other half), if any. */
  historyOn(node: string, historyId: string): readonly OpRecord[] | undefined;
  isOnline(node: string): boolean;
}

/** The state before any history of a resource was read. */
export function initialHistory(r: Resource): ResourceHistory {
  return {
    role: 'Unknown',
    nextRole: 'Unknown',
    nextRoleReason: undefined,
    runningOn: [],
    failed: false,
    stopOnFailure: false,
    blocked: false,
    managed: r.meta.managed,
    failureIgnored: false,
    startPending: false,
    partial: undefined,
    noMigrate: false,
    paramChanges: [],
  };
}

/** Who a ban found in the history applies to: an anonymous clone's instances share it through the clone. */
export function banTarget(r: Resource): Resource {
  const c = cloneOf(r);
  return c && !c.clone?.meta.globallyUnique ? c : r;
}
