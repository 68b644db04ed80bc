/**
 * Stage "unpack": reads each node's operation history and works out, per primitive, where it
 * is active, in which role, whether it failed and what its failure handling demands (recover,
 * block, stop, ban from a node, fence the node, put the node in standby). Mirrors Pacemaker's
 * unpack_status / unpack_lrm_resource: this file finds which resource each history belongs to
 * (clone instances are numbered as Pacemaker numbers them) and folds the histories, node by
 * node, through the replay in history/ (a pure reducer over the operations, in call order); it
 * then applies what each node's history calls for (fence the node, standby, score changes).
 */
import type { ClusterConfig, ClusterStatus, OnFail, OpRecord, RecordedReport, Role } from '@paceline/model';
import type { NodeView } from './nodes.js';
import type { ResourceTree, Resource } from './resources.js';
import { cloneOf, needsFencing } from './resources.js';
import type { FailCountIndex } from './failcounts.js';
import { HistoryOwners } from './history/owners.js';
import { failResponseFor } from './on-fail.js';
import { afterStoppedProbe, callOrder, isLoneStoppedProbe, replayNode } from './history/replay.js';
import { effectiveTargetRole } from './history/settle.js';
import { initialHistory, type ClusterView, type ParamChange, type ReplayContext, type ResourceHistory, type ScoreAdjustment } from './history/state.js';

export type { ParamChange, ScoreAdjustment } from './history/state.js';

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

/**
 * The stage's own working copy of a node view: unpack may only add reasons to distrust a node
 * (unclean after a failure that needs fencing, standby after on-fail=standby); its output is new
 * views, the nodes stage's are left as they were.
 */
type NodeWork = NodeView & { unclean: boolean; standby: boolean };

/** Fences nodes and puts them in standby as the histories call for; the first reason to fence is kept. */
class NodeWorks {
  readonly byName: Map<string, NodeWork>;
  readonly fenceReasons = new Map<string, string>();

  constructor(baseNodes: readonly NodeView[]) {
    this.byName = new Map(baseNodes.map((n) => [n.name, { ...n }]));
    for (const n of baseNodes) if (n.unclean) this.fenceReasons.set(n.name, n.uncleanReason ?? 'peer is no longer part of the cluster');
  }

  fence(node: string, reason: string): void {
    const n = this.byName.get(node);
    if (!n || n.unclean) return;
    n.unclean = true;
    this.fenceReasons.set(node, reason);
  }

  /** Online and clean. */
  healthy(node: string): boolean {
    const v = this.byName.get(node);
    return v !== undefined && v.online && !v.unclean;
  }
}

export function unpackStatus(
  config: ClusterConfig,
  status: ClusterStatus,
  tree: ResourceTree,
  baseNodes: readonly NodeView[],
  fails: FailCountIndex,
  now: number,
): UnpackResult {
  const stonith = config.properties.stonithEnabled;
  const nodes = new NodeWorks(baseNodes);
  const adjustments: ScoreAdjustment[] = [];
  const warnings: string[] = [];
  const histories = new Map<string, ResourceHistory>();
  const knownOn = new Map<string, Set<string>>();
  const reports = new Map<string, Map<string, RecordedReport>>();
  if (!status.quorum && effectiveQuorumPolicy(config, status) === 'suicide')
    for (const n of baseNodes) if (n.online) nodes.fence(n.name, 'cluster does not have quorum');
  const owners = new HistoryOwners(
    config,
    tree,
    (id) => histories.get(id)?.runningOn ?? NOWHERE,
    (n) => !(nodes.byName.get(n)?.online ?? false) || (nodes.byName.get(n)?.unclean ?? true),
  );
  const cluster = clusterView(config, status, tree, nodes, fails, now);
  // Online nodes first (Pacemaker numbers active clone instances on online nodes first).
  const online = (name: string): boolean => nodes.byName.get(name)?.online ?? false;
  const orderedNodes = [...status.nodes].sort((a, b) => Number(!online(a.name)) - Number(!online(b.name)));

  for (const ns of orderedNodes) {
    const node = nodes.byName.get(ns.name);
    if (!node) continue;
    if (!stonith && !node.online && !config.properties.shutdownLock) continue;
    for (const h of ns.history) {
      if (h.ops.length === 0) continue;
      const r = owners.claim(h.resource, ns.name);
      if (!r) {
        warnings.push(`history for unknown resource "${h.resource}" on ${ns.name} ignored`);
        continue;
      }
      if (h.report) reports.set(r.id, (reports.get(r.id) ?? new Map<string, RecordedReport>()).set(ns.name, h.report));
      if (isLoneStoppedProbe(h.ops)) {
        // What replayNode makes of it, without its context and working copies: most histories of a large cluster.
        const before = histories.get(r.id);
        const after = afterStoppedProbe(before ?? initialHistory(r), r);
        if (after !== before) histories.set(r.id, after);
        known(knownOn, r.id).add(ns.name);
        continue;
      }
      const ctx: ReplayContext = {
        resource: r,
        node: ns.name,
        online: node.online,
        unclean: node.unclean,
        maintenance: node.maintenance,
        sorted: inCallOrder(h.ops),
        historyId: h.resource,
        cluster,
      };
      const settled = replayNode(histories.get(r.id) ?? initialHistory(r), ctx);
      histories.set(r.id, settled.resource);
      if (settled.adjustments.length > 0) adjustments.push(...settled.adjustments);
      if (settled.fence.length > 0) for (const reason of settled.fence) nodes.fence(ns.name, reason);
      if (settled.standby) node.standby = true;
      if (settled.known) known(knownOn, r.id).add(ns.name);
    }
  }

  const resources = new Map<string, RscStatus>();
  for (const r of tree.primitives) resources.set(r.id, resourceStatus(r, histories.get(r.id), knownOn.get(r.id), nodes));
  return {
    resources,
    adjustments,
    fenceReasons: nodes.fenceReasons,
    nodes: baseNodes.map((n) => nodes.byName.get(n.name)!),
    warnings,
    cloneNames: owners.historyNames(),
    orphanInstances: owners.orphanInstances(),
    ...(reports.size ? { reports } : {}),
  };
}

const NOWHERE: readonly string[] = Object.freeze([]);

/** The nodes where `id`'s state is known so far (a new set the first time). */
function known(knownOn: Map<string, Set<string>>, id: string): Set<string> {
  let nodes = knownOn.get(id);
  if (nodes === undefined) knownOn.set(id, (nodes = new Set<string>()));
  return nodes;
}

/** A history's operations in call order (most histories are recorded in it already: no copy then). */
function inCallOrder(ops: readonly OpRecord[]): readonly OpRecord[] {
  for (let i = 1; i < ops.length; i++) if (callOrder(ops[i - 1]!) > callOrder(ops[i]!)) return [...ops].sort((a, b) => callOrder(a) - callOrder(b));
  return ops;
}

/** What the replay needs to know about the cluster (the same for every history). */
function clusterView(config: ClusterConfig, status: ClusterStatus, tree: ResourceTree, nodes: NodeWorks, fails: FailCountIndex, now: number): ClusterView {
  const stonith = config.properties.stonithEnabled;
  return {
    stonith,
    canFence: stonith && tree.hasFencingResource,
    // Expired: failure-timeout passed, and the fail count expired with it (a probe that found it
    // running, stopped or promoted never expires).
    expired: (r, node, op) => {
      const timeout = r.meta.failureTimeout;
      if (!(timeout > 0) || op.lastRcChange === undefined) return false;
      let expired = now >= op.lastRcChange + timeout;
      if (expired) {
        const raw = fails.raw(r, node).count;
        if (raw > 0 && fails.effective(r, node) > 0) expired = false;
      }
      if (expired && op.interval === 0 && op.action === 'monitor' && [0, 7, 8, 190, 191].includes(op.rc)) expired = false;
      return expired;
    },
    onFailFor: (r, action, interval) => {
      const op = r.ops.find((o) => o.name === action && o.interval === interval && o.enabled !== false);
      const configured: OnFail | undefined = op?.onFail ?? config.defaults.operation.onFail;
      return failResponseFor(configured, action, stonith);
    },
    historyOn: (node, historyId) => status.nodes.find((n) => n.name === node)?.history.find((h) => h.resource === historyId)?.ops,
    isOnline: (node) => nodes.byName.get(node)?.online ?? false,
  };
}

/** What the histories said about `r` (`h`: undefined when it has none; `knownOn`: where its state is known), as the stage's output. */
function resourceStatus(r: Resource, h: ResourceHistory | undefined, knownOn: ReadonlySet<string> | undefined, nodes: NodeWorks): RscStatus {
  let role: Role = !h || h.role === 'Unknown' ? 'Stopped' : h.role;
  if (role === 'Started' && cloneOf(r)?.clone?.promotable) role = 'Unpromoted';
  let nextRole: Role | undefined = h && h.nextRole !== 'Unknown' ? h.nextRole : undefined;
  let nextRoleReason = h?.nextRoleReason;
  const targetRole = effectiveTargetRole(r);
  if (!h && targetRole !== undefined) {
    nextRole = targetRole;
    nextRoleReason = 'target-role';
  }
  const runningOn = h?.runningOn ?? [];
  let current = runningOn[0];
  if (h?.partial && runningOn.includes(h.partial.source)) current = h.partial.source;
  else if (!needsFencing(r)) {
    const healthy = runningOn.find((n) => nodes.healthy(n));
    if (healthy !== undefined) current = healthy;
  }
  return {
    role,
    runningOn,
    current,
    failed: h?.failed ?? false,
    stopOnFailure: h?.stopOnFailure ?? false,
    blocked: h?.blocked ?? false,
    managed: h?.managed ?? r.meta.managed,
    failureIgnored: h?.failureIgnored ?? false,
    startPending: h?.startPending ?? false,
    ...(h?.partial ? { partialMigration: h.partial } : {}),
    ...(h?.noMigrate ? { noMigrate: true } : {}),
    nextRole,
    ...(nextRoleReason !== undefined ? { nextRoleReason } : {}),
    knownOn: knownOn ?? new Set(),
    ...(h?.paramChanges.length ? { paramChanges: h.paramChanges } : {}),
  };
}

/** no-quorum-policy as Pacemaker applies it: suicide needs fencing and a partition that had quorum. */
export function effectiveQuorumPolicy(config: ClusterConfig, status: ClusterStatus): ClusterConfig['properties']['noQuorumPolicy'] {
  const p = config.properties.noQuorumPolicy;
  if (p !== 'suicide') return p;
  if (!config.properties.stonithEnabled) return 'stop';
  return status.quorum || status.quorumPanic !== false ? 'suicide' : 'stop';
}
