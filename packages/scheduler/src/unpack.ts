/**
 * Stage "unpack": reads each node's operation history and works out, per primitive, where it
 * is active, in which role, whether it failed and what its failure handling demands (recover,
 * block, stop, ban from a node, fence the node, put the node in standby). Mirrors Pacemaker's
 * unpack_lrm_resource / unpack_rsc_op: operations are replayed in call order; expired failures
 * (failure-timeout) are ignored; probes that say "not installed" only ban the node.
 */
import type { ClusterConfig, ClusterStatus, OnFail, OpRecord, Primitive, RecordedReport, Role } from '@paceline/model';
import { DEFINING_ACTIONS, INFINITY, OcfRc, isNativeDigest, operationParams, paramsDigest } from '@paceline/model';
import type { NodeView } from './nodes.js';
import type { ResourceTree, Resource } from './resources.js';
import { cloneOf, needsFencing } from './resources.js';
import type { FailCountIndex } from './failcounts.js';
import { roleRank, type RoleOrUnknown } from './roles.js';
import { CloneInstanceResolver, allCloneSettings } from './clone/index.js';

import { FAIL_RESPONSES, failResponseFor, worseResponse, type FailResponse } from './on-fail.js';

/** What the history says about one primitive. */
export interface RscStatus {
  readonly role: Role;
  /** Nodes where the primitive is active, in discovery order. */
  readonly runningOn: readonly string[];
  /**
   * The node it counts as running on (Pacemaker's pe__current_node): the first active node, or
   * for resources that do not need fencing, the first active node that is online and clean.
   */
  readonly current: string | undefined;
  readonly failed: boolean;
  /** Failed in a way that needs a stop (recovery) rather than a demote. */
  readonly stopOnFailure: boolean;
  readonly blocked: boolean;
  readonly managed: boolean;
  readonly failureIgnored: boolean;
  readonly startPending: boolean;
  /** A live migration half done (migrate_to succeeded, migrate_from not yet): where from and to. */
  readonly partialMigration?: { readonly source: string; readonly target: string };
  /** A failed migration: the resource must be recovered with stop/start, not migrated. */
  readonly noMigrate?: boolean;
  /** Role forced by failure handling or target-role; undefined = decided by placement. */
  readonly nextRole: Role | undefined;
  readonly nextRoleReason?: string;
  /** Nodes where the resource's state is known (no probe needed). */
  readonly knownOn: ReadonlySet<string>;
  /** Nodes where it is active with parameters that differ from its current definition. */
  readonly paramChanges?: readonly ParamChange[];
}

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

export interface ScoreAdjustment {
  readonly rsc: string;
  /** undefined = every node */
  readonly node: string | undefined;
  readonly score: number;
  readonly reason: string;
}

export interface UnpackResult {
  readonly resources: ReadonlyMap<string, RscStatus>;
  readonly adjustments: readonly ScoreAdjustment[];
  /** Nodes that must be fenced, with the first reason found. */
  readonly fenceReasons: ReadonlyMap<string, string>;
  /** Nodes after failure handling (unclean / standby changes). */
  readonly nodes: readonly NodeView[];
  readonly warnings: readonly string[];
  /** Clone instance id -> the id its history last used when different (Pacemaker's clone_name). */
  readonly cloneNames?: ReadonlyMap<string, string>;
  /** Clone instances numbered beyond clone-max while reading the history (orphans), per clone. */
  readonly orphanInstances: ReadonlyMap<string, readonly number[]>;
  /** Primitive (instance) id -> node -> the last monitor report there (a replica's lag), where one was recorded. */
  readonly reports?: ReadonlyMap<string, ReadonlyMap<string, RecordedReport>>;
}

interface Work {
  role: RoleOrUnknown;
  nextRole: RoleOrUnknown;
  nextRoleReason?: string;
  runningOn: string[];
  failed: boolean;
  stopOnFailure: boolean;
  blocked: boolean;
  managed: boolean;
  failureIgnored: boolean;
  startPending: boolean;
  knownOn: Set<string>;
  partial?: { source: string; target: string };
  noMigrate?: boolean;
  paramChanges: ParamChange[];
}

const EXEC_OK_STATES = new Set(['done', 'error']);

/**
 * The stage's own working copy of a node view: unpack may only add reasons to distrust a node
 * (unclean after a failure that needs fencing, standby after on-fail=standby); its output is new
 * views, the nodes stage's are left as they were.
 */
type NodeWork = NodeView & { unclean: boolean; standby: boolean };

export function unpackStatus(
  config: ClusterConfig,
  status: ClusterStatus,
  tree: ResourceTree,
  baseNodes: readonly NodeView[],
  fails: FailCountIndex,
  now: number,
): UnpackResult {
  const stonith = config.properties.stonithEnabled;
  const nodes = new Map<string, NodeWork>(baseNodes.map((n) => [n.name, { ...n }]));
  const fenceReasons = new Map<string, string>();
  const adjustments: ScoreAdjustment[] = [];
  const warnings: string[] = [];
  const works = new Map<string, Work>();
  const canFence = (): boolean => stonith && tree.hasFencingResource;

  const fenceNode = (node: string, reason: string): void => {
    const n = nodes.get(node);
    if (!n) return;
    if (!n.unclean) {
      n.unclean = true;
      fenceReasons.set(node, reason);
    }
  };
  for (const n of baseNodes) if (n.unclean) fenceReasons.set(n.name, n.uncleanReason ?? 'peer is no longer part of the cluster');
  if (!status.quorum && effectiveQuorumPolicy(config, status) === 'suicide')
    for (const n of baseNodes) if (n.online) fenceNode(n.name, 'cluster does not have quorum');

  const work = (r: Resource): Work => {
    let w = works.get(r.id);
    if (!w) {
      w = {
        role: 'Unknown',
        nextRole: 'Unknown',
        runningOn: [],
        failed: false,
        stopOnFailure: false,
        blocked: false,
        managed: r.meta.managed,
        failureIgnored: false,
        startPending: false,
        knownOn: new Set(),
        paramChanges: [],
      };
      works.set(r.id, w);
    }
    return w;
  };
  const setNextRole = (w: Work, role: RoleOrUnknown, why: string): void => {
    w.nextRole = role;
    w.nextRoleReason = why;
  };

  const onFailFor = (r: Resource, action: string, interval: number): { onFail: FailResponse; failRole: Role } => {
    const op = r.ops.find((o) => o.name === action && o.interval === interval && o.enabled !== false);
    const configured: OnFail | undefined = op?.onFail ?? config.defaults.operation.onFail;
    return failResponseFor(configured, action, stonith);
  };

  // Which resource does a history entry belong to?
  const claimed = new Map<string, Set<string>>(); // instance id -> nodes with history
  const reports = new Map<string, Map<string, RecordedReport>>();
  const cloneResolver = new CloneInstanceResolver(allCloneSettings(config), {
    nodeCount: config.nodes.length,
    runningOn: (id) => works.get(id)?.runningOn ?? [],
    needsFencing: (prim) => {
      const r = tree.byId.get(`${prim}:0`);
      return r ? needsFencing(r) : true;
    },
    nodeLost: (n) => !(nodes.get(n)?.online ?? false) || (nodes.get(n)?.unclean ?? true),
  });
  const resolve = (historyId: string, node: string): Resource | undefined => {
    // Clone instances are numbered the way Pacemaker numbers them (clone/numbering.ts).
    const mapped = cloneResolver.resolve(node, historyId);
    if (mapped) return tree.byId.get(mapped.instance);
    const direct = tree.byId.get(historyId);
    if (direct && direct.kind === 'primitive') return direct;
    // Anonymous clone child recorded by its bare id (or a group member in a cloned group).
    const base = historyId.replace(/:\d+$/, '');
    const candidates = tree.primitives.filter((p) => p.baseId === base && p.instance !== undefined);
    if (candidates.length === 0) return undefined;
    const free =
      candidates.find((c) => !claimed.get(c.id)?.has(node) && (works.get(c.id)?.runningOn.length ?? 0) === 0) ??
      candidates.find((c) => !claimed.get(c.id)?.has(node));
    return free;
  };

  const orderedNodes = [...status.nodes].sort((a, b) => {
    const an = nodes.get(a.name);
    const bn = nodes.get(b.name);
    // Online nodes first (Pacemaker numbers active clone instances on online nodes first).
    return Number(!(an?.online ?? false)) - Number(!(bn?.online ?? false));
  });

  for (const ns of orderedNodes) {
    const node = nodes.get(ns.name);
    if (!node) continue;
    if (!stonith && !node.online && !config.properties.shutdownLock) continue;
    for (const h of ns.history) {
      if (h.ops.length === 0) continue;
      const r = resolve(h.resource, ns.name);
      if (!r) {
        warnings.push(`history for unknown resource "${h.resource}" on ${ns.name} ignored`);
        continue;
      }
      const c = claimed.get(r.id) ?? new Set<string>();
      c.add(ns.name);
      claimed.set(r.id, c);
      if (h.report) reports.set(r.id, (reports.get(r.id) ?? new Map<string, RecordedReport>()).set(ns.name, h.report));
      unpackResourceOnNode(r, ns.name, h.ops, h.resource);
    }
  }

  function unpackResourceOnNode(r: Resource, nodeName: string, ops: readonly OpRecord[], historyId: string): void {
    const node = nodes.get(nodeName)!;
    const w = work(r);
    const savedRole = w.role;
    w.role = 'Unknown';
    let onFail = 'ignore' as FailResponse;
    let lastFailureKey: string | undefined;
    const sorted = [...ops].sort((a, b) => callOrder(a) - callOrder(b));
    const banParent = (score: number, reason: string, everywhere = false): void => {
      const target = cloneOf(r) && !cloneOf(r)!.clone?.meta.globallyUnique ? cloneOf(r)! : r;
      adjustments.push({ rsc: target.id, node: everywhere ? undefined : nodeName, score, reason });
    };

    for (const op of sorted) {
      if (op.action === 'notify' || op.action === 'meta-data') continue;
      const isProbe = op.action === 'monitor' && op.interval === 0;
      const key = `${op.action}_${op.interval}`;
      let rc = op.rc;
      let st = op.status;
      const target = op.expectedRc ?? defaultExpectedRc(op);
      const expired = st !== 'not-installed' && operationExpired(r, nodeName, op, rc);
      // remap
      if (op.action === 'monitor') {
        if (rc === OcfRc.DEGRADED) rc = OcfRc.SUCCESS;
        if (rc === OcfRc.DEGRADED_PROMOTED) rc = OcfRc.RUNNING_PROMOTED;
      }
      const maskable = isProbe && (rc === OcfRc.ERR_INSTALLED || rc === OcfRc.ERR_CONFIGURED || st === 'not-installed');
      const oldRc = op.rc;
      if (maskable) {
        st = 'done';
        rc = OcfRc.NOT_RUNNING;
      }
      if (EXEC_OK_STATES.has(st)) {
        st = 'done';
        if (target !== rc) st = 'error';
        switch (rc) {
          case OcfRc.SUCCESS:
            if (isProbe && target === OcfRc.NOT_RUNNING) st = 'done';
            break;
          case OcfRc.NOT_RUNNING:
            if (isProbe || target === rc || !w.managed) {
              st = 'done';
              w.role = 'Stopped';
              onFail = 'ignore';
              setNextRole(w, 'Unknown', 'not running');
            }
            break;
          case OcfRc.RUNNING_PROMOTED:
            if (isProbe && rc !== target) st = 'done';
            w.role = 'Promoted';
            break;
          case OcfRc.FAILED_PROMOTED:
            w.role = 'Promoted';
            st = 'error';
            break;
          case OcfRc.ERR_CONFIGURED:
            st = 'error-fatal';
            break;
          case OcfRc.ERR_UNIMPLEMENTED:
            if (op.interval === 0) {
              checkRecoverable(op.action);
              st = 'error-hard';
            } else st = 'not-supported';
            break;
          case OcfRc.ERR_INSTALLED:
          case OcfRc.ERR_ARGS:
          case OcfRc.ERR_PERM:
            checkRecoverable(op.action);
            st = 'error-hard';
            break;
          default:
            if (st === 'done') st = 'error';
        }
      }
      if (expired && maskable && oldRc !== target) {
        if (roleRank(w.role) <= roleRank('Stopped')) w.role = 'Unknown';
        continue;
      }
      if (expired && rc !== target) {
        if (op.interval === 0) continue;
        if (node.online && !node.unclean) continue;
      }
      if (maskable) {
        updateState(op.action, target, key, true);
        banParent(-INFINITY, 'masked-probe-failure');
        continue;
      }
      if (st === 'cancelled') continue;
      if (st === 'pending') {
        if (op.action === 'start') {
          w.startPending = true;
          if (roleRank(w.role) < roleRank('Started')) w.role = 'Started';
        } else if (op.action === 'promote') w.role = 'Promoted';
        continue;
      }
      if (st === 'done') {
        updateState(op.action, rc, key);
        continue;
      }
      if (st === 'not-installed') {
        const f = onFailFor(r, op.action, op.interval);
        if (f.onFail === 'ignore') onFail = 'migrate';
        banParent(-INFINITY, 'hard-error');
        failure(op, rc, key);
        continue;
      }
      const f = onFailFor(r, op.action, op.interval);
      if (f.onFail === 'ignore') {
        updateState(op.action, target, key);
        w.failureIgnored = true;
      } else {
        failure(op, rc, key);
        if (st === 'error-hard') banParent(-INFINITY, 'hard-error');
        else if (st === 'error-fatal') banParent(-INFINITY, 'fatal-error', true);
      }
    }

    // process_rsc_state
    if (w.role !== 'Unknown') w.knownOn.add(nodeName);
    if (roleRank(w.role) > roleRank('Stopped') && !node.online && !node.maintenance && w.managed) {
      if (stonith) fenceNode(nodeName, `${r.id} is thought to be active there`);
    }
    // The effects of the worst failure response (on-fail.ts); a node being fenced ignores them.
    const response = FAIL_RESPONSES[node.unclean ? 'ignore' : onFail];
    if (response.node === 'fence') fenceNode(nodeName, `${r.id} failed there`);
    else if (response.node === 'standby') node.standby = true;
    switch (response.resource) {
      case undefined:
        break;
      case 'mark-failed':
        w.failed = true;
        break;
      case 'block':
        w.managed = false;
        w.blocked = true;
        break;
      case 'ban-here':
        adjustments.push({ rsc: r.id, node: nodeName, score: -INFINITY, reason: 'failed there (on-fail=migrate)' });
        break;
      case 'stop':
        setNextRole(w, 'Stopped', 'on-fail=stop');
        break;
      case 'recover-if-active':
        if (w.role !== 'Stopped' && w.role !== 'Unknown') {
          w.failed = true;
          w.stopOnFailure = true;
        }
        break;
    }
    if (w.role !== 'Stopped' && w.role !== 'Unknown') {
      if (!w.runningOn.includes(nodeName)) w.runningOn.push(nodeName);
      if (node.maintenance) w.managed = false;
      if (!w.managed) adjustments.push({ rsc: r.id, node: nodeName, score: INFINITY, reason: 'unmanaged and active here' });
      else if (w.runningOn.length > 1) {
        if (r.meta.multipleActive === 'stop_only')
          adjustments.push({ rsc: r.id, node: undefined, score: -INFINITY, reason: 'multiply active (multiple-active=stop_only)' });
        else if (r.meta.multipleActive === 'block') {
          w.managed = false;
          w.blocked = true;
        }
      }
      if (response.whenActive !== 'nothing') w.failed = true;
      if (response.whenActive === 'recover') w.stopOnFailure = true;
      if (node.online && !node.unclean && w.managed && r.primitive) {
        const change = definitionChange(r.primitive, nodeName, sorted);
        if (change) w.paramChanges.push(change);
      }
    }
    // target-role
    const tr = effectiveTargetRole(r);
    if (tr !== undefined) {
      if (w.nextRole === 'Unknown' || roleRank(tr) < roleRank(w.nextRole)) setNextRole(w, tr, 'target-role');
    }
    if (roleRank(savedRole) > roleRank(w.role)) w.role = savedRole;

    /**
     * A successful migrate_to (Pacemaker's unpack_migrate_to_success, simplified): if the target
     * recorded a successful migrate_from, the migration completed and the source is stopped;
     * otherwise the resource is still active on the source.
     */
    function migrateToSucceeded(key: string): void {
      const op = sorted.find((o) => `${o.action}_${o.interval}` === key && o.action === 'migrate_to');
      const target = op?.migrateTarget;
      const targetOps = target ? (status.nodes.find((n) => n.name === target)?.history.find((h) => h.resource === historyId)?.ops ?? []) : [];
      const from = targetOps.find((o) => o.action === 'migrate_from' && (o.migrateSource === undefined || o.migrateSource === nodeName));
      const newerOnSource = op !== undefined && sorted.some((o) => o.action !== 'monitor' && o.callId > op.callId);
      if (from && newerOnSource) return;
      // Newer state on the target: a start/stop there after the migration (by time of last change).
      // (against migrate_from by call id on the same node, else against migrate_to by time).
      const since = op?.lastRcChange;
      const laterThere = (o: OpRecord): boolean => o.action !== 'monitor' || (o.interval === 0 && o.rc === OcfRc.NOT_RUNNING);
      const targetNewer = from
        ? targetOps.some((o) => o !== from && o.callId > from.callId && laterThere(o))
        : since !== undefined && targetOps.some((o) => laterThere(o) && o.lastRcChange !== undefined && o.lastRcChange > since);
      if (newerOnSource && targetNewer) return;
      w.role = 'Started';
      const targetNode = target ? nodes.get(target) : undefined;
      if (from && from.rc === OcfRc.SUCCESS && from.status === 'done') {
        // Both halves succeeded: the migration completed and the source is stopped.
        w.role = 'Stopped';
        return;
      }
      if (from && from.status !== 'pending') {
        // migrate_from failed: the resource may be active on the target too.
        if (!targetNewer && targetNode?.online) {
          if (!w.runningOn.includes(target!)) w.runningOn.push(target!);
        } else {
          w.failed = true;
          w.stopOnFailure = true;
          w.noMigrate = true;
        }
        return;
      }
      // migrate_to done, migrate_from pending or never recorded: a partial migration.
      if (!targetNewer && targetNode?.online) {
        if (!w.runningOn.includes(target!)) w.runningOn.push(target!);
        if (nodes.get(nodeName)?.online) w.partial = { source: nodeName, target: target! };
      } else if (!newerOnSource) {
        w.failed = true;
        w.stopOnFailure = true;
        w.noMigrate = true;
      }
    }
    /**
     * A failed migrate_to (on the source) or migrate_from (on the target): the resource must be
     * assumed active here, and also on the other node unless that node has newer state for it
     * (Pacemaker's unpack_migrate_to_failure / unpack_migrate_from_failure).
     */
    function migrationFailed(op: OpRecord): void {
      w.role = 'Started';
      w.noMigrate = true;
      const toSource = op.action === 'migrate_from';
      const other = toSource ? op.migrateSource : op.migrateTarget;
      if (!other || other === nodeName) return;
      const otherHistory = status.nodes.find((n) => n.name === other)?.history.find((h) => h.resource === historyId);
      if (!otherHistory || otherHistory.ops.length === 0) return;
      const partner = otherHistory.ops.find((o) => o.action === (toSource ? 'migrate_to' : 'migrate_from') && o.rc === OcfRc.SUCCESS);
      const laterThere = (o: OpRecord): boolean => o.action !== 'monitor' || (o.interval === 0 && o.rc === OcfRc.NOT_RUNNING);
      const since = (partner ?? op).lastRcChange;
      const newer = partner
        ? otherHistory.ops.some((o) => o !== partner && o.callId > partner.callId && laterThere(o))
        : since !== undefined && otherHistory.ops.some((o) => laterThere(o) && o.lastRcChange !== undefined && o.lastRcChange > since);
      if (newer || !nodes.get(other)?.online) return;
      if (!w.runningOn.includes(other)) w.runningOn.push(other);
    }
    function updateState(action: string, code: number, key: string, masked = false): void {
      let clear = false;
      if (code === OcfRc.ERR_INSTALLED || masked) w.role = 'Stopped';
      else if (code === OcfRc.NOT_RUNNING) clear = true;
      else if (action === 'monitor') {
        if (lastFailureKey === key) clear = true;
        if (roleRank(w.role) < roleRank('Started')) w.role = 'Started';
      } else if (action === 'start') {
        w.role = 'Started';
        clear = true;
      } else if (action === 'stop') {
        w.role = 'Stopped';
        clear = true;
      } else if (action === 'promote') {
        w.role = 'Promoted';
        clear = true;
      } else if (action === 'demote') {
        if (onFail === 'demote') clear = true;
        w.role = 'Unpromoted';
      } else if (action === 'migrate_from') {
        w.role = 'Started';
        clear = true;
      } else if (action === 'migrate_to') migrateToSucceeded(key);
      else if (roleRank(w.role) < roleRank('Started')) w.role = 'Started';
      if (clear) {
        if (onFail === 'block' || onFail === 'ignore' || onFail === 'demote' || onFail === 'recover') {
          onFail = 'ignore';
          setNextRole(w, 'Unknown', 'clear past failures');
        }
      }
    }
    function checkRecoverable(action: string): void {
      if (action !== 'stop') return;
      if (canFence()) return;
      w.managed = false;
      w.blocked = true;
    }
    function failure(op: OpRecord, rc: number, key: string): void {
      lastFailureKey = key;
      const f = onFailFor(r, op.action, op.interval);
      onFail = worseResponse(onFail, f.onFail);
      if (op.action === 'stop') adjustments.push({ rsc: r.id, node: nodeName, score: -INFINITY, reason: 'stop failed here' });
      else if (op.action === 'migrate_to' || op.action === 'migrate_from') migrationFailed(op);
      else if (op.action === 'promote') w.role = 'Promoted';
      else if (op.action === 'demote') {
        if (f.onFail === 'block') {
          w.role = 'Promoted';
          setNextRole(w, 'Stopped', 'demote with on-fail=block');
        } else if (rc === OcfRc.NOT_RUNNING) w.role = 'Stopped';
        else w.role = 'Unpromoted';
      }
      const isProbe = op.action === 'monitor' && op.interval === 0;
      if (isProbe && rc === OcfRc.ERR_INSTALLED) w.role = 'Stopped';
      else if (roleRank(w.role) < roleRank('Started')) w.role = 'Started';
      if (f.failRole !== 'Started' && roleRank(w.nextRole) < roleRank(f.failRole)) setNextRole(w, f.failRole, 'failure');
      if (f.failRole === 'Stopped') {
        const c = cloneOf(r);
        const target = c && !c.clone?.meta.globallyUnique ? c : r;
        adjustments.push({ rsc: target.id, node: undefined, score: -INFINITY, reason: `${op.action} failed with on-fail=stop` });
      }
    }
  }

  function operationExpired(r: Resource, node: string, op: OpRecord, rc: number): boolean {
    const timeout = r.meta.failureTimeout;
    if (!(timeout > 0) || op.lastRcChange === undefined) return false;
    let expired = now >= op.lastRcChange + timeout;
    if (expired) {
      const raw = fails.raw(r, node).count;
      if (raw > 0 && fails.effective(r, node) > 0) expired = false;
    }
    if (expired && op.interval === 0 && op.action === 'monitor' && [0, 7, 8, 190, 191].includes(rc)) expired = false;
    return expired;
  }

  const resources = new Map<string, RscStatus>();
  for (const r of tree.primitives) {
    const w = works.get(r.id);
    const tr = effectiveTargetRole(r);
    let role: Role = !w || w.role === 'Unknown' ? 'Stopped' : w.role;
    if (role === 'Started' && cloneOf(r)?.clone?.promotable) role = 'Unpromoted';
    let nextRole: Role | undefined = w && w.nextRole !== 'Unknown' ? w.nextRole : undefined;
    let nextRoleReason = w?.nextRoleReason;
    if (!w && tr !== undefined) {
      nextRole = tr;
      nextRoleReason = 'target-role';
    }
    const runningOn = w?.runningOn ?? [];
    let current = runningOn[0];
    if (w?.partial && runningOn.includes(w.partial.source)) current = w.partial.source;
    else if (!needsFencing(r)) {
      const happy = runningOn.find((n) => {
        const v = nodes.get(n);
        return v !== undefined && v.online && !v.unclean;
      });
      if (happy !== undefined) current = happy;
    }
    resources.set(r.id, {
      role,
      runningOn,
      current,
      failed: w?.failed ?? false,
      stopOnFailure: w?.stopOnFailure ?? false,
      blocked: w?.blocked ?? false,
      managed: w?.managed ?? r.meta.managed,
      failureIgnored: w?.failureIgnored ?? false,
      startPending: w?.startPending ?? false,
      ...(w?.partial ? { partialMigration: w.partial } : {}),
      ...(w?.noMigrate ? { noMigrate: true } : {}),
      nextRole,
      ...(nextRoleReason !== undefined ? { nextRoleReason } : {}),
      knownOn: w?.knownOn ?? new Set(),
      ...(w?.paramChanges.length ? { paramChanges: w.paramChanges } : {}),
    });
  }
  const nodeList = baseNodes.map((n) => nodes.get(n.name)!);
  const orphanInstances = new Map<string, number[]>();
  for (const o of cloneResolver.orphans()) {
    const l = orphanInstances.get(o.clone) ?? [];
    if (!l.includes(o.number)) l.push(o.number);
    orphanInstances.set(o.clone, l);
  }
  return {
    resources,
    adjustments,
    fenceReasons,
    nodes: nodeList,
    warnings,
    cloneNames: cloneResolver.historyNames(),
    orphanInstances,
    ...(reports.size ? { reports } : {}),
  };
}

/**
 * Has the definition of an active resource changed since it started on `node`? Looks at the
 * operations since its last successful start (or migrate_from; or the probe that found it
 * running): where the record says how its parameters compare (a CIB import compares Pacemaker's
 * digests), that answer; otherwise the
 * native digest of the parameters it ran with against the current ones (one-shot actions only:
 * recurring monitors' records are rewritten by every run).
 */
function definitionChange(prim: Primitive, node: string, sorted: readonly OpRecord[]): ParamChange | undefined {
  let from = 0;
  sorted.forEach((o, i) => {
    if ((o.action === 'start' || o.action === 'migrate_from') && o.status === 'done' && o.rc === OcfRc.SUCCESS) from = i;
  });
  let action: ParamChange['action'];
  const monitors: number[] = [];
  const changed: string[] = [];
  for (const op of sorted.slice(from)) {
    if (op.status !== 'done') continue;
    let change = op.paramsChange;
    // Native digests only: a Pacemaker digest (imported) cannot be recomputed here.
    if (change === undefined && op.digest !== undefined && isNativeDigest(op.digest) && op.interval === 0) {
      const def = prim.ops.find((o) => o.name === op.action && o.interval === 0);
      change = paramsDigest(operationParams(prim, node, def)) === op.digest ? 'same' : 'restart';
    }
    if (op.action === 'reload' && op.interval === 0) {
      // A reload applied the definition of its time: what earlier one-shot records say is superseded.
      action = undefined;
      changed.splice(0, changed.length, ...changed.filter((c) => c.startsWith('monitor')));
    }
    if (change === undefined || change === 'same') continue;
    if (op.interval === 0) {
      const foundRunning = op.action === 'monitor' && (op.rc === OcfRc.SUCCESS || op.rc === OcfRc.RUNNING_PROMOTED);
      if (!DEFINING_ACTIONS.has(op.action) && !foundRunning) continue;
      // Only a reload-capable agent records a restart digest (the parameters a reload cannot change).
      const wanted = change === 'restart' || op.restartDigest === undefined ? 'restart' : 'reload';
      if (action !== 'restart') action = wanted;
      changed.push(op.action === 'monitor' ? 'probe' : op.action);
    } else if (op.action === 'monitor' && prim.ops.some((o) => o.name === 'monitor' && o.interval === op.interval && o.enabled !== false)) {
      monitors.push(op.interval);
      changed.push(`monitor every ${op.interval / 1000}s`);
    }
  }
  if (action === undefined && monitors.length === 0) return undefined;
  return { node, action, monitors, detail: `definition changed since its ${changed.join(', ')} on ${node}` };
}

function callOrder(op: OpRecord): number {
  return op.callId < 0 ? Number.MAX_SAFE_INTEGER : op.callId;
}

function defaultExpectedRc(op: OpRecord): number {
  if (op.action === 'monitor' && op.interval === 0) return OcfRc.NOT_RUNNING;
  return OcfRc.SUCCESS;
}

/** no-quorum-policy as Pacemaker applies it: suicide needs fencing and a partition that had quorum. */
export function effectiveQuorumPolicy(config: ClusterConfig, status: ClusterStatus): ClusterConfig['properties']['noQuorumPolicy'] {
  const p = config.properties.noQuorumPolicy;
  if (p !== 'suicide') return p;
  if (!config.properties.stonithEnabled) return 'stop';
  return status.quorum || status.quorumPanic !== false ? 'suicide' : 'stop';
}

/**
 * target-role as Pacemaker honours it: Started (the default) and Promoted impose nothing; Unpromoted
 * only makes sense for promotable clone instances and is ignored elsewhere.
 */
function effectiveTargetRole(r: Resource): Role | undefined {
  const tr = r.meta.targetRole;
  if (tr === undefined || tr === 'Started' || tr === 'Promoted') return undefined;
  if (tr === 'Unpromoted' && !cloneOf(r)?.clone?.promotable) return undefined;
  return tr;
}
