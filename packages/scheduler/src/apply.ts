/**
 * `applyTransition`: the status that results when every runnable action of a transition succeeds
 * — what crm_simulate's simulated execution does. Pure: the caller passes `now` (ms), used as
 * the time of every new operation record. Linear in the size of the status plus the transition.
 *
 * - Actions run in graph order (execution-order.ts): a topological order of the edges plus the
 *   implicit per-instance order, ties broken by kind then id, so new call ids follow the order a
 *   real executor would use.
 * - start / stop / promote / demote / reload / migrate_* record success (rc 0); recurring
 *   monitors record rc 0, or 8 for the Promoted role, or 7 for a Stopped-role monitor; probes
 *   record "not running" (rc 7, as expected).
 * - A stop, promote, demote or migrate_to cancels the instance's recurring monitors on that node
 *   (their records are dropped, as the controller erases cancelled operations); a new recurring
 *   monitor replaces the record of the same interval.
 * - Anonymous clone instances are recorded under the primitive's own id, as Pacemaker 2.x does
 *   (one history entry per node), reusing an existing "rsc:N" entry when the status has one.
 * - Fencing (reboot/off) leaves the node offline and clean, with its operation history,
 *   transient attributes and fail counts cleared; unfencing (`on`) changes nothing.
 * - Pseudo actions, notifications and actions that are not runnable change nothing.
 */
import type { ClusterConfig, ClusterStatus, GraphAction, NodeStatus, OpRecord, Primitive, ResourceHistory, Transition } from '@paceline/model';
import { DEFINING_ACTIONS, emptyNodeStatus, operationParams, paramsDigest } from '@paceline/model';
import { executionOrder } from './execution-order.js';

interface PrimitiveInfo {
  readonly primitive: Primitive;
  /** In a clone that is not globally unique: instances share the primitive's own id in the history. */
  readonly anonymous: boolean;
}

function primitivesById(config: ClusterConfig): Map<string, PrimitiveInfo> {
  const out = new Map<string, PrimitiveInfo>();
  const visit = (r: ClusterConfig['resources'][number], anonymous: boolean): void => {
    if (r.type === 'primitive') out.set(r.id, { primitive: r, anonymous });
    else if (r.type === 'group') r.members.forEach((m) => visit(m, anonymous));
    else visit(r.child, !(r.meta.globallyUnique ?? false));
  };
  config.resources.forEach((r) => visit(r, false));
  return out;
}

/** The primitive id behind an instance id ("web:2" → "web"). */
function baseId(instance: string): string {
  const i = instance.lastIndexOf(':');
  return i > 0 && /^\d+$/.test(instance.slice(i + 1)) ? instance.slice(0, i) : instance;
}

/**
 * The status after every runnable action of `transition` succeeded, at time `now`: each action in
 * execution order either fences its node or appends its operation to the history of the resource
 * on its node (a working copy per node, opened on the first write; the input is never modified).
 */
export function applyTransition(config: ClusterConfig, status: ClusterStatus, transition: Transition, now: number): ClusterStatus {
  const histories = new NodeHistories(status);
  const run: RunContext = { prims: primitivesById(config), placementRole: placementRoles(transition), ...migrationEnds(transition), now };
  for (const a of executionOrder(transition.actions, transition.edges)) {
    if (!a.runnable || a.pseudo !== undefined || a.kind === 'pseudo' || a.kind === 'notify' || a.node === undefined) continue;
    if (!histories.has(a.node)) continue;
    if (a.kind === 'fence') {
      if (a.fenceType !== 'on') histories.fence(a.node);
      continue;
    }
    if (a.resource !== undefined) recordOperation(histories.open(a.node), a, a.resource, run);
  }
  return histories.revisedStatus(status);
}

/** What recording an operation reads besides the action itself. */
interface RunContext {
  readonly prims: ReadonlyMap<string, PrimitiveInfo>;
  /** The role each instance has on a node after the transition, keyed "instance\0node". */
  readonly placementRole: ReadonlyMap<string, string>;
  /** Where each migrating instance comes from (migrate_to's node) and goes to (migrate_from's). */
  readonly migrateSource: ReadonlyMap<string, string>;
  readonly migrateTarget: ReadonlyMap<string, string>;
  readonly now: number;
}

function placementRoles(transition: Transition): Map<string, string> {
  const roles = new Map<string, string>();
  for (const p of transition.placement) if (p.node !== null) roles.set(`${p.instance}\u0000${p.node}`, p.role);
  return roles;
}

/** migrate_to on the source names its target through the matching migrate_from, and the reverse. */
function migrationEnds(transition: Transition): Pick<RunContext, 'migrateSource' | 'migrateTarget'> {
  const migrateTarget = new Map<string, string>();
  const migrateSource = new Map<string, string>();
  for (const a of transition.actions) {
    if (a.resource === undefined || a.node === undefined || !a.runnable) continue;
    if (a.kind === 'migrate_from') migrateTarget.set(a.resource, a.node);
    if (a.kind === 'migrate_to') migrateSource.set(a.resource, a.node);
  }
  return { migrateSource, migrateTarget };
}

/** One node's history while the transition runs on it. */
interface NodeWork {
  node: NodeStatus;
  /** History entries by resource id; replaced entries are written back at the end. */
  histories: Map<string, ResourceHistory>;
  order: string[];
  /** Entries whose ops array is this apply's own copy. */
  owned: Set<string>;
  /** Anonymous clone primitive id → the history entry it is recorded under on this node. */
  aliases: Map<string, string> | undefined;
  nextCall: number;
  changed: boolean;
}

/** The nodes' working histories, each opened on its first write. */
class NodeHistories {
  private readonly opened = new Map<string, NodeWork>();
  private readonly nodeByName: ReadonlyMap<string, NodeStatus>;

  constructor(status: ClusterStatus) {
    this.nodeByName = new Map(status.nodes.map((n) => [n.name, n]));
  }

  has(name: string): boolean {
    return this.nodeByName.has(name);
  }

  /** The node's working history; new call ids continue after the highest it has. */
  open(name: string): NodeWork {
    let work = this.opened.get(name);
    if (work) return work;
    const node = this.nodeByName.get(name)!;
    let max = 0;
    const histories = new Map<string, ResourceHistory>();
    for (const h of node.history) {
      histories.set(h.resource, h);
      for (const o of h.ops) if (o.callId > max) max = o.callId;
    }
    work = { node, histories, order: node.history.map((h) => h.resource), owned: new Set(), aliases: undefined, nextCall: max + 1, changed: false };
    this.opened.set(name, work);
    return work;
  }

  /** Fencing (reboot/off): the node is offline and clean, its history cleared. */
  fence(name: string): void {
    const work = this.open(name);
    work.node = emptyNodeStatus(work.node.name, 'offline');
    work.histories = new Map();
    work.order = [];
    work.owned = new Set();
    work.aliases = undefined;
    work.changed = true;
  }

  /** The status with every changed node's history written back. */
  revisedStatus(status: ClusterStatus): ClusterStatus {
    return {
      ...status,
      nodes: status.nodes.map((n) => {
        const work = this.opened.get(n.name);
        if (!work || !work.changed) return n;
        return { ...work.node, history: work.order.map((r) => work.histories.get(r)!) };
      }),
    };
  }
}

/** Appends the operation of a succeeded action on `instance` to its history entry on the action's node. */
function recordOperation(work: NodeWork, a: GraphAction, instance: string, run: RunContext): void {
  const primitiveId = a.primitive ?? baseId(instance);
  const info = run.prims.get(primitiveId);
  const { key, hist } = writableEntry(work, instance, primitiveId, info);
  const record = operationRecord(a, instance, key, work.nextCall++, info?.primitive, run);
  const ops = hist.ops as OpRecord[];
  dropCancelledMonitors(ops, a, record.interval);
  ops.push(record);
  work.changed = true;
}

/**
 * The history entry an operation is recorded under — the instance's own, or for an anonymous
 * clone the primitive's (or an existing "rsc:N" one) — as this apply's own copy (copied on first
 * write; created when the node has none).
 */
function writableEntry(work: NodeWork, instance: string, primitiveId: string, info: PrimitiveInfo | undefined): { key: string; hist: ResourceHistory } {
  let key = instance;
  if (info?.anonymous) {
    if (!work.aliases) {
      work.aliases = new Map();
      for (const r of work.order) if (!work.aliases.has(baseId(r)) || r === baseId(r)) work.aliases.set(baseId(r), r);
    }
    key = work.aliases.get(primitiveId) ?? primitiveId;
    work.aliases.set(primitiveId, key);
  }
  let hist = work.histories.get(key);
  if (!hist) {
    hist = { resource: key, ...(info ? { agent: info.primitive.agent } : {}), ops: [] };
    work.histories.set(key, hist);
    work.order.push(key);
    work.owned.add(key);
  }
  if (!work.owned.has(key)) {
    hist = { ...hist, ops: [...hist.ops] };
    work.histories.set(key, hist);
    work.owned.add(key);
  }
  return { key, hist };
}

/**
 * The record of a succeeded action: probes (and one-shot monitors) report "not running" (7); a
 * recurring monitor reports its role (8 Promoted, 7 Stopped, else 0); everything else 0. The
 * parameters digest is recorded as the executor records it, and migrations name both ends.
 */
function operationRecord(a: GraphAction, instance: string, key: string, callId: number, prim: Primitive | undefined, run: RunContext): OpRecord {
  const action = a.kind === 'probe' ? 'monitor' : a.kind;
  const interval = a.kind === 'probe' ? 0 : a.interval;
  let rc = 0;
  if (a.kind === 'probe' || (a.kind === 'monitor' && interval === 0)) rc = 7;
  else if (a.kind === 'monitor') {
    const op = prim?.ops.find((o) => o.name === 'monitor' && o.interval === interval);
    const role = op?.role ?? run.placementRole.get(`${instance}\u0000${a.node}`);
    rc = role === 'Promoted' ? 8 : role === 'Stopped' ? 7 : 0;
  }
  const record: { -readonly [K in keyof OpRecord]: OpRecord[K] } = {
    action,
    interval,
    callId,
    status: 'done',
    rc,
    expectedRc: rc,
    lastRcChange: run.now,
    lastRun: run.now,
    key: `${key}_${action}_${interval}`,
  };
  if (prim && a.node && DEFINING_ACTIONS.has(action))
    record.digest = paramsDigest(
      operationParams(
        prim,
        a.node,
        prim.ops.find((o) => o.name === action && o.interval === 0),
      ),
    );
  if (a.kind === 'migrate_to' || a.kind === 'migrate_from') {
    const src = run.migrateSource.get(instance);
    const tgt = run.migrateTarget.get(instance);
    if (src !== undefined) record.migrateSource = src;
    if (tgt !== undefined) record.migrateTarget = tgt;
  }
  return record;
}

/**
 * A stop, promote, demote or migrate_to cancels the instance's recurring monitors on the node
 * (the controller erases cancelled operations); a new recurring monitor replaces the record of
 * the same interval. Edits `ops` in place (this apply's own copy).
 */
function dropCancelledMonitors(ops: OpRecord[], a: GraphAction, interval: number): void {
  const cancelsMonitors = a.kind === 'stop' || a.kind === 'promote' || a.kind === 'demote' || a.kind === 'migrate_to';
  const replacesMonitor = a.kind === 'monitor' && interval > 0;
  if (!(cancelsMonitors || replacesMonitor) || ops.length === 0) return;
  let j = 0;
  for (const o of ops) {
    const recurring = o.action === 'monitor' && o.interval > 0;
    if (recurring && (cancelsMonitors || o.interval === interval)) continue;
    ops[j++] = o;
  }
  ops.length = j;
}
