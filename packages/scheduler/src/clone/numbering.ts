/**
 * Which clone instance a history entry belongs to.
 *
 * A node's history names a clone's primitive either by its bare id ("rsc") or with an instance
 * suffix ("rsc:2"). For globally-unique clones the suffix is the instance. For anonymous clones
 * the suffix means nothing: entries are numbered as they are read (node by node, in status order),
 * each one taking the instance already active on that node (for cloned groups: the instance whose
 * other member is already there), else the lowest-numbered instance that is active nowhere yet,
 * else a new orphan instance numbered from clone-max up. An instance whose history shows it
 * stopped stays free, so it may be "known" on several nodes.
 */
import type { ClusterStatus, NodeStatus, ResourceHistory } from '@paceline/model';
import { type CloneSettings, instanceName, splitInstance } from './settings.js';

/** One history entry of a clone primitive on a node, in the order the status is read. */
export interface CloneHistoryRef {
  readonly node: string;
  /** The id as recorded ("rsc" or "rsc:N"). */
  readonly historyId: string;
  /** Whether the history shows the resource active on this node now (any role, failed included). */
  readonly active: boolean;
  /** The node is not online or is unclean (history there may be stale). */
  readonly nodeLost: boolean;
}

export interface CloneHistoryMapping {
  readonly node: string;
  readonly historyId: string;
  readonly clone: string;
  readonly primitive: string;
  readonly number: number;
  /** Instance id of the primitive ("rsc:N"). */
  readonly instance: string;
  /** Instance id of the clone's child ("grp:N" for a cloned group, else the same as `instance`). */
  readonly childInstance: string;
  readonly orphan: boolean;
}

export interface NumberingOptions {
  /** Whether the primitive needs fencing before recovery (requires=fencing); default true. */
  readonly needsFencing?: boolean;
  /** Number of nodes in the cluster (to tell whether the clone runs everywhere). */
  readonly nodeCount: number;
}

/**
 * Resolves history ids to clone instances while the status is being read, the way Pacemaker does:
 * call `resolve` for each history entry in unpack order, and let `runningOn` report what the
 * entries unpacked so far say (the resolver never keeps its own copy of activity).
 */
export class CloneInstanceResolver {
  private readonly byPrimitive = new Map<string, CloneSettings>();
  /** clone id -> number of instances so far (clone-max, plus orphans created while reading). */
  private readonly totals = new Map<string, number>();
  private readonly created: CloneHistoryMapping[] = [];
  /** Every mapping made, in unpack order (for the history names). */
  private readonly resolved: CloneHistoryMapping[] = [];
  /** Primitive id → its instance ids by number, made as they are first asked for. */
  private readonly names = new Map<string, string[]>();

  constructor(
    private readonly clones: ReadonlyMap<string, CloneSettings>,
    private readonly opts: {
      readonly nodeCount: number;
      /** Nodes where an instance id ("prim:N") is active according to the history read so far. */
      readonly runningOn: (instanceId: string) => readonly string[];
      /** Whether the primitive needs fencing before recovery (requires=fencing); default true. */
      readonly needsFencing?: (primitive: string) => boolean;
      /** Whether the node is offline or unclean. */
      readonly nodeLost?: (node: string) => boolean;
    },
  ) {
    for (const c of clones.values()) {
      for (const m of c.members) this.byPrimitive.set(m, c);
      this.totals.set(c.id, Math.max(1, c.cloneMax));
    }
  }

  /** The clone a history id belongs to, if any ("rsc", "rsc:3"). */
  cloneOf(historyId: string): CloneSettings | undefined {
    const direct = this.byPrimitive.get(historyId);
    if (direct !== undefined || !historyId.includes(':')) return direct;
    return this.byPrimitive.get(splitInstance(historyId)[0]);
  }

  /** Instances numbered beyond clone-max so far (orphans), in creation order. */
  orphans(): readonly CloneHistoryMapping[] {
    return this.created;
  }

  /**
   * The name the history last used for an instance on a node where it is active ("rsc", "rsc:N"):
   * agents publish promotion scores under that name. Call after the status has been read.
   */
  historyNames(): ReadonlyMap<string, string> {
    // Only an entry that shows the instance active on its node names it (observed with Pacemaker
    // 2.1.5: a renamed probe that found nothing leaves the instance known by its own id).
    const names = new Map<string, string>();
    for (const m of this.resolved) if (this.opts.runningOn(m.instance).includes(m.node)) names.set(m.instance, m.historyId);
    return names;
  }

  /** Instance count of a clone including orphans found so far. */
  total(cloneId: string): number {
    return this.totals.get(cloneId) ?? 0;
  }

  resolve(node: string, historyId: string): CloneHistoryMapping | undefined {
    const s = this.cloneOf(historyId);
    if (s === undefined) return undefined;
    const isMember = s.members.includes(historyId);
    const [base, suffix] = splitInstance(historyId);
    const primitive = isMember ? historyId : base;
    let total = this.totals.get(s.id)!;
    let n: number | undefined;
    if (s.unique) {
      // a bare id is not an instance of a globally-unique clone (it is an orphan of its own)
      if (isMember || suffix === undefined) return undefined;
      n = suffix;
    } else {
      let inactive: number | undefined;
      let skipInactive = false;
      for (let i = 0; i < total && n === undefined; i++) {
        const where = this.locationOf(s, i);
        if (where !== undefined) {
          if (where === node) {
            if (this.opts.runningOn(this.instanceId(primitive, i)).length > 0) skipInactive = true;
            else n = i;
          }
        } else if (!skipInactive && inactive === undefined) {
          inactive = i;
        }
      }
      if (n === undefined && !skipInactive && inactive !== undefined) n = inactive;
      const needsFencing = this.opts.needsFencing?.(primitive) ?? true;
      if (n !== undefined && !needsFencing && (this.opts.nodeLost?.(node) ?? false) && s.cloneMax < this.opts.nodeCount) n = undefined;
      if (n === undefined) n = total;
    }
    const orphan = n >= s.cloneMax;
    if (n >= total) {
      total = n + 1;
      this.totals.set(s.id, total);
    }
    const m: CloneHistoryMapping = {
      node,
      historyId,
      clone: s.id,
      primitive,
      number: n,
      instance: instanceName(primitive, n),
      childInstance: instanceName(s.childId, n),
      orphan,
    };
    if (orphan && !this.created.some((c) => c.clone === s.id && c.number === n)) this.created.push(m);
    this.resolved.push(m);
    return m;
  }

  /** Where instance `n` of a clone is active: the first node of its first active member. */
  private locationOf(s: CloneSettings, n: number): string | undefined {
    for (const m of s.members) {
      const on = this.opts.runningOn(this.instanceId(m, n));
      if (on.length > 0) return on[0];
    }
    return undefined;
  }

  /** instanceName(primitive, n), each made once (the numbering asks for them once per history entry and instance). */
  private instanceId(primitive: string, n: number): string {
    let byNumber = this.names.get(primitive);
    if (byNumber === undefined) this.names.set(primitive, (byNumber = []));
    return (byNumber[n] ??= instanceName(primitive, n));
  }
}

/**
 * Numbers the history entries of one clone in one go. `refs` must be in unpack order (see
 * `unpackOrder`) and name only primitives of this clone; `active` says what each entry shows.
 */
export function numberCloneHistory(s: CloneSettings, refs: readonly CloneHistoryRef[], opts: NumberingOptions): CloneHistoryMapping[] {
  const running = new Map<string, string[]>();
  const lost = new Set(refs.filter((r) => r.nodeLost).map((r) => r.node));
  const resolver = new CloneInstanceResolver(new Map([[s.id, s]]), {
    nodeCount: opts.nodeCount,
    runningOn: (id) => running.get(id) ?? [],
    needsFencing: () => opts.needsFencing ?? true,
    nodeLost: (node) => lost.has(node),
  });
  const out: CloneHistoryMapping[] = [];
  for (const ref of refs) {
    const m = resolver.resolve(ref.node, ref.historyId);
    if (m === undefined) continue;
    if (ref.active) {
      const list = running.get(m.instance) ?? [];
      if (!list.includes(ref.node)) list.push(ref.node);
      running.set(m.instance, list);
    }
    out.push(m);
  }
  return out;
}

/**
 * The order Pacemaker reads node histories in: status order, except that when fencing and shutdown
 * locks are both off, nodes that are not online come after the online ones (so active instances are
 * numbered first).
 */
export function unpackOrder(status: ClusterStatus, stonithEnabled: boolean, shutdownLock: boolean): NodeStatus[] {
  if (stonithEnabled || shutdownLock) return [...status.nodes];
  const online = status.nodes.filter((n) => n.state === 'online');
  const rest = status.nodes.filter((n) => n.state !== 'online');
  return [...online, ...rest];
}

/**
 * A simple reading of whether a history shows the resource active now: the newest operation
 * (highest call id) decides. A stop that succeeded, or a probe/monitor that found it not running
 * (rc 7), means inactive; anything else (running, promoted, or failed) means active there. The
 * core's own reading may replace this (see `mapCloneHistory`'s `isActive`).
 */
export function historyShowsActive(h: ResourceHistory): boolean {
  let last: ResourceHistory['ops'][number] | undefined;
  for (const op of h.ops) if (last === undefined || op.callId > last.callId) last = op;
  if (last === undefined) return false;
  if (last.status === 'pending') return last.action !== 'stop';
  if (last.action === 'stop' && last.status === 'done' && last.rc === 0) return false;
  if (last.rc === 7 && last.status === 'done') return false;
  return true;
}

/**
 * Collects, in unpack order, the history references of every clone primitive, and numbers them.
 * Returns a lookup `(node, historyId) -> mapping`.
 */
export function mapCloneHistory(
  clones: ReadonlyMap<string, CloneSettings>,
  orderedNodes: readonly NodeStatus[],
  opts: {
    readonly nodeCount: number;
    readonly isActive?: (node: NodeStatus, h: ResourceHistory) => boolean;
    readonly needsFencing?: (primitive: string) => boolean;
  },
): CloneHistoryIndex {
  const byPrimitive = new Map<string, CloneSettings>();
  for (const s of clones.values()) for (const m of s.members) byPrimitive.set(m, s);
  const refsByClone = new Map<string, CloneHistoryRef[]>();
  const isActive = opts.isActive ?? ((_n: NodeStatus, h: ResourceHistory) => historyShowsActive(h));
  for (const node of orderedNodes) {
    for (const h of node.history) {
      const s = byPrimitive.get(h.resource) ?? byPrimitive.get(splitInstance(h.resource)[0]);
      if (s === undefined) continue;
      const list = refsByClone.get(s.id) ?? [];
      list.push({ node: node.name, historyId: h.resource, active: isActive(node, h), nodeLost: node.state !== 'online' });
      refsByClone.set(s.id, list);
    }
  }
  const index = new Map<string, CloneHistoryMapping>();
  for (const [cloneId, refs] of refsByClone) {
    const s = clones.get(cloneId)!;
    const first = s.members[0]!;
    const mapped = numberCloneHistory(s, refs, { nodeCount: opts.nodeCount, needsFencing: opts.needsFencing?.(first) ?? true });
    for (const m of mapped) index.set(`${m.node}\0${m.historyId}`, m);
  }
  return {
    lookup: (node, historyId) => index.get(`${node}\0${historyId}`),
    all: () => [...index.values()],
  };
}

export interface CloneHistoryIndex {
  /** The instance a node's history entry belongs to, or undefined if it is not a clone primitive. */
  lookup(node: string, historyId: string): CloneHistoryMapping | undefined;
  all(): CloneHistoryMapping[];
}
