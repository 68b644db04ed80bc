/**
 * `applyTransition`: the status that results when every runnable action of a transition succeeds
 * — what crm_simulate's simulated execution does. Pure: the caller passes `now` (ms), used as
 * the time of every new operation record. Linear in the size of the status plus the transition.
 *
 * - Actions run in graph order: a topological order of the edges plus the implicit per-instance
 *   order (probe first; start/promote/demote/migrate_from before that instance's recurring
 *   monitors), ties broken by kind (probes, stops, demotes, starts, promotes, monitors) then id,
 *   so new call ids follow the order a real executor would use.
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

const KIND_RANK: Partial<Record<GraphAction['kind'], number>> = {
  fence: 0,
  probe: 1,
  stop: 2,
  demote: 3,
  migrate_to: 4,
  migrate_from: 5,
  start: 6,
  promote: 7,
  reload: 8,
  monitor: 9,
};

function rank(a: GraphAction): number {
  if (a.kind === 'monitor' && a.interval === 0) return 1; // a one-shot monitor is a probe
  return KIND_RANK[a.kind] ?? 10;
}

/** A binary heap of action indexes ordered by (kind rank, id). */
class ReadyQueue {
  private readonly heap: number[] = [];
  constructor(private readonly less: (a: number, b: number) => boolean) {}
  get size(): number {
    return this.heap.length;
  }
  push(x: number): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): number {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Orders actions so that every edge's `before` comes first, together with the implicit order on
 * one instance (probe first; start/promote/demote/migrate_from before its recurring monitors).
 * Ready actions go by kind, then id. Actions caught in a cycle follow, in the same order.
 */
export function executionOrder(actions: readonly GraphAction[], edges: Transition['edges']): GraphAction[] {
  const index = new Map<string, number>();
  actions.forEach((a, i) => index.set(a.id, i));
  const next: number[][] = actions.map(() => []);
  const indegree = new Array<number>(actions.length).fill(0);
  const addEdge = (b: number, a: number): void => {
    if (b === a) return;
    next[b]!.push(a);
    indegree[a]!++;
  };
  for (const e of edges) {
    const b = index.get(e.before);
    const a = index.get(e.after);
    if (b !== undefined && a !== undefined) addEdge(b, a);
  }
  // Implicit per-instance order.
  const byInstance = new Map<string, number[]>();
  actions.forEach((a, i) => {
    if (a.resource === undefined || a.node === undefined) return;
    const key = `${a.resource}\u0000${a.node}`;
    const list = byInstance.get(key);
    if (list) list.push(i);
    else byInstance.set(key, [i]);
  });
  for (const list of byInstance.values()) {
    if (list.length < 2) continue;
    const probes: number[] = [];
    const firsts: number[] = [];
    const monitors: number[] = [];
    const others: number[] = [];
    for (const i of list) {
      const a = actions[i]!;
      if (a.kind === 'probe' || (a.kind === 'monitor' && a.interval === 0)) probes.push(i);
      else {
        others.push(i);
        if (a.kind === 'monitor') monitors.push(i);
        else if (a.kind === 'start' || a.kind === 'promote' || a.kind === 'demote' || a.kind === 'migrate_from') firsts.push(i);
      }
    }
    for (const p of probes) for (const o of others) addEdge(p, o);
    for (const f of firsts) for (const m of monitors) addEdge(f, m);
  }
  // Priority of every action as one integer: its position when sorted by (kind, id).
  const ranks = actions.map(rank);
  const byPriority = actions
    .map((_, i) => i)
    .sort((x, y) => ranks[x]! - ranks[y]! || (actions[x]!.id < actions[y]!.id ? -1 : actions[x]!.id > actions[y]!.id ? 1 : 0));
  const priority = new Array<number>(actions.length);
  byPriority.forEach((i, p) => {
    priority[i] = p;
  });
  const less = (x: number, y: number): boolean => priority[x]! < priority[y]!;
  const ready = new ReadyQueue(less);
  indegree.forEach((d, i) => {
    if (d === 0) ready.push(i);
  });
  const out: GraphAction[] = [];
  const done = new Array<boolean>(actions.length).fill(false);
  while (ready.size > 0) {
    const i = ready.pop();
    done[i] = true;
    out.push(actions[i]!);
    for (const n of next[i]!) if (--indegree[n]! === 0) ready.push(n);
  }
  if (out.length < actions.length) {
    const rest = byPriority.filter((i) => !done[i]);
    for (const i of rest) out.push(actions[i]!);
  }
  return out;
}

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

export function applyTransition(config: ClusterConfig, status: ClusterStatus, transition: Transition, now: number): ClusterStatus {
  const prims = primitivesById(config);
  const work = new Map<string, NodeWork>();
  const workFor = (name: string): NodeWork | undefined => {
    let w = work.get(name);
    if (w) return w;
    const node = status.nodes.find((n) => n.name === name);
    if (!node) return undefined;
    let max = 0;
    const histories = new Map<string, ResourceHistory>();
    for (const h of node.history) {
      histories.set(h.resource, h);
      for (const o of h.ops) if (o.callId > max) max = o.callId;
    }
    w = { node, histories, order: node.history.map((h) => h.resource), owned: new Set(), aliases: undefined, nextCall: max + 1, changed: false };
    work.set(name, w);
    return w;
  };
  // Touch nodes lazily but resolve names in one pass.
  const nodeByName = new Map(status.nodes.map((n) => [n.name, n]));

  const placementRole = new Map<string, string>();
  for (const p of transition.placement) if (p.node !== null) placementRole.set(`${p.instance}\u0000${p.node}`, p.role);
  // migrate_to on the source names its target through the matching migrate_from.
  const migrateTarget = new Map<string, string>();
  const migrateSource = new Map<string, string>();
  for (const a of transition.actions) {
    if (a.resource === undefined || a.node === undefined || !a.runnable) continue;
    if (a.kind === 'migrate_from') migrateTarget.set(a.resource, a.node);
    if (a.kind === 'migrate_to') migrateSource.set(a.resource, a.node);
  }

  for (const a of executionOrder(transition.actions, transition.edges)) {
    if (!a.runnable || a.pseudo !== undefined || a.kind === 'pseudo' || a.kind === 'notify' || a.node === undefined) continue;
    if (!nodeByName.has(a.node)) continue;
    if (a.kind === 'fence') {
      if (a.fenceType === 'on') continue;
      const w = workFor(a.node)!;
      w.node = emptyNodeStatus(w.node.name, 'offline');
      w.histories = new Map();
      w.order = [];
      w.owned = new Set();
      w.aliases = undefined;
      w.changed = true;
      continue;
    }
    if (a.resource === undefined) continue;
    const w = workFor(a.node)!;
    const instance = a.resource;
    const primitiveId = a.primitive ?? baseId(instance);
    const info = prims.get(primitiveId);
    const prim = info?.primitive;
    // Which history entry: the instance's own, or for anonymous clones the primitive's (or any "rsc:N" one).
    let key = instance;
    if (info?.anonymous) {
      if (!w.aliases) {
        w.aliases = new Map();
        for (const r of w.order) if (!w.aliases.has(baseId(r)) || r === baseId(r)) w.aliases.set(baseId(r), r);
      }
      key = w.aliases.get(primitiveId) ?? primitiveId;
      w.aliases.set(primitiveId, key);
    }
    let hist = w.histories.get(key);
    if (!hist) {
      hist = { resource: key, ...(prim ? { agent: prim.agent } : {}), ops: [] };
      w.histories.set(key, hist);
      w.order.push(key);
      w.owned.add(key);
    }
    if (!w.owned.has(key)) {
      // copy on first write: the input status is never modified
      hist = { ...hist, ops: [...hist.ops] };
      w.histories.set(key, hist);
      w.owned.add(key);
    }
    const callId = w.nextCall++;
    const action = a.kind === 'probe' ? 'monitor' : a.kind;
    const interval = a.kind === 'probe' ? 0 : a.interval;
    let rc = 0;
    if (a.kind === 'probe' || (a.kind === 'monitor' && interval === 0)) rc = 7;
    else if (a.kind === 'monitor') {
      const op = prim?.ops.find((o) => o.name === 'monitor' && o.interval === interval);
      const role = op?.role ?? placementRole.get(`${instance}\u0000${a.node}`);
      rc = role === 'Promoted' ? 8 : role === 'Stopped' ? 7 : 0;
    }
    const record: { -readonly [K in keyof OpRecord]: OpRecord[K] } = {
      action,
      interval,
      callId,
      status: 'done',
      rc,
      expectedRc: rc,
      lastRcChange: now,
      lastRun: now,
      key: `${key}_${action}_${interval}`,
    };
    // The parameters it ran with, as the executor records them (a later definition change shows).
    if (prim && a.node && DEFINING_ACTIONS.has(action))
      record.digest = paramsDigest(
        operationParams(
          prim,
          a.node,
          prim.ops.find((o) => o.name === action && o.interval === 0),
        ),
      );
    if (a.kind === 'migrate_to' || a.kind === 'migrate_from') {
      const src = migrateSource.get(instance);
      const tgt = migrateTarget.get(instance);
      if (src !== undefined) record.migrateSource = src;
      if (tgt !== undefined) record.migrateTarget = tgt;
    }
    const cancelsMonitors = a.kind === 'stop' || a.kind === 'promote' || a.kind === 'demote' || a.kind === 'migrate_to';
    const replacesMonitor = action === 'monitor' && interval > 0;
    const ops = hist.ops as OpRecord[];
    if ((cancelsMonitors || replacesMonitor) && ops.length > 0) {
      let j = 0;
      for (const o of ops) {
        const recurring = o.action === 'monitor' && o.interval > 0;
        if (recurring && (cancelsMonitors || o.interval === interval)) continue;
        ops[j++] = o;
      }
      ops.length = j;
    }
    ops.push(record);
    w.changed = true;
  }

  return {
    ...status,
    nodes: status.nodes.map((n) => {
      const w = work.get(n.name);
      if (!w || !w.changed) return n;
      return { ...w.node, history: w.order.map((r) => w.histories.get(r)!) };
    }),
  };
}
