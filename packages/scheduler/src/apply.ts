/**
 * `applyTransition`: the status that results when every runnable action of a transition succeeds
 * — what crm_simulate's simulated execution does. Pure: the caller passes `now` (ms), used as
 * the time of every new operation record.
 *
 * - Actions run in graph order (a topological order of the edges; ties by action id), so new
 *   call ids follow the order a real executor would use.
 * - start / stop / promote / demote / reload / migrate_* record success (rc 0); recurring
 *   monitors record rc 0, or 8 for the Promoted role, or 7 for a Stopped-role monitor; probes
 *   record "not running" (rc 7, as expected).
 * - A stop, promote, demote or migrate_to cancels the instance's recurring monitors on that node
 *   (their records are dropped, as the controller erases cancelled operations); a new recurring
 *   monitor replaces the record of the same interval.
 * - Fencing (reboot/off) leaves the node offline and clean, with its operation history,
 *   transient attributes and fail counts cleared; unfencing (`on`) changes nothing.
 * - Pseudo actions, notifications and actions that are not runnable change nothing.
 */
import type {
  ClusterConfig,
  ClusterStatus,
  GraphAction,
  NodeStatus,
  OpRecord,
  Primitive,
  ResourceHistory,
  Transition,
} from '@paceline/model';

type MutableNode = Omit<NodeStatus, 'history'> & { history: ResourceHistory[] };

/** Orders actions so that every edge's `before` comes first; unrelated actions by id. Cycles fall back to id order. */
export function executionOrder(actions: readonly GraphAction[], edges: Transition['edges']): GraphAction[] {
  const byId = new Map(actions.map((a) => [a.id, a]));
  const indegree = new Map<string, number>(actions.map((a) => [a.id, 0]));
  const next = new Map<string, string[]>();
  for (const e of edges) {
    if (!byId.has(e.before) || !byId.has(e.after) || e.before === e.after) continue;
    next.set(e.before, [...(next.get(e.before) ?? []), e.after]);
    indegree.set(e.after, (indegree.get(e.after) ?? 0) + 1);
  }
  const ready = [...indegree].filter(([, d]) => d === 0).map(([id]) => id).sort();
  const out: GraphAction[] = [];
  const done = new Set<string>();
  while (ready.length > 0) {
    const id = ready.shift()!;
    done.add(id);
    out.push(byId.get(id)!);
    const added: string[] = [];
    for (const n of next.get(id) ?? []) {
      const d = (indegree.get(n) ?? 0) - 1;
      indegree.set(n, d);
      if (d === 0) added.push(n);
    }
    if (added.length > 0) {
      ready.push(...added);
      ready.sort();
    }
  }
  for (const a of [...actions].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))) if (!done.has(a.id)) out.push(a);
  return out;
}

function primitivesById(config: ClusterConfig): Map<string, Primitive> {
  const out = new Map<string, Primitive>();
  const visit = (r: ClusterConfig['resources'][number]): void => {
    if (r.type === 'primitive') out.set(r.id, r);
    else if (r.type === 'group') r.members.forEach(visit);
    else visit(r.child);
  };
  config.resources.forEach(visit);
  return out;
}

/** The primitive id behind an instance id ("web:2" → "web"). */
function baseId(instance: string): string {
  const i = instance.lastIndexOf(':');
  return i > 0 && /^\d+$/.test(instance.slice(i + 1)) ? instance.slice(0, i) : instance;
}

export function applyTransition(config: ClusterConfig, status: ClusterStatus, transition: Transition, now: number): ClusterStatus {
  const prims = primitivesById(config);
  const nodes = new Map<string, MutableNode>(
    status.nodes.map((n) => [n.name, { ...n, history: n.history.map((h) => ({ ...h, ops: [...h.ops] })) }]),
  );
  const nextCall = new Map<string, number>();
  for (const n of status.nodes) {
    let max = 0;
    for (const h of n.history) for (const o of h.ops) max = Math.max(max, o.callId);
    nextCall.set(n.name, max + 1);
  }
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
    const node = nodes.get(a.node);
    if (!node) continue;
    if (a.kind === 'fence') {
      if (a.fenceType === 'on') continue;
      const fenced: MutableNode = {
        name: node.name,
        state: 'offline',
        standby: false,
        maintenance: false,
        shutdown: false,
        attributes: {},
        history: [],
        failures: [],
      };
      nodes.set(a.node, fenced);
      continue;
    }
    if (a.resource === undefined) continue;
    const instance = a.resource;
    const primitiveId = a.primitive ?? baseId(instance);
    const prim = prims.get(primitiveId);
    let hist = node.history.find((h) => h.resource === instance);
    if (!hist) {
      hist = { resource: instance, ...(prim ? { agent: prim.agent } : {}), ops: [] };
      node.history.push(hist);
    }
    const callId = nextCall.get(a.node) ?? 1;
    nextCall.set(a.node, callId + 1);
    const action = a.kind === 'probe' ? 'monitor' : a.kind;
    const interval = a.kind === 'probe' ? 0 : a.interval;
    let rc = 0;
    if (a.kind === 'probe') rc = 7;
    else if (a.kind === 'monitor' && interval > 0) {
      const op = prim?.ops.find((o) => o.name === 'monitor' && o.interval === interval);
      const role = op?.role ?? placementRole.get(`${instance}\u0000${a.node}`);
      rc = role === 'Promoted' ? 8 : role === 'Stopped' ? 7 : 0;
    }
    const record: OpRecord = {
      action,
      interval,
      callId,
      status: 'done',
      rc,
      expectedRc: rc,
      lastRcChange: now,
      lastRun: now,
      key: `${instance}_${action}_${interval}`,
      ...(a.kind === 'migrate_to' || a.kind === 'migrate_from'
        ? {
            ...(migrateSource.has(instance) ? { migrateSource: migrateSource.get(instance)! } : {}),
            ...(migrateTarget.has(instance) ? { migrateTarget: migrateTarget.get(instance)! } : {}),
          }
        : {}),
    };
    const cancelsMonitors = a.kind === 'stop' || a.kind === 'promote' || a.kind === 'demote' || a.kind === 'migrate_to';
    const kept = hist.ops.filter((o) => {
      const recurring = o.action === 'monitor' && o.interval > 0;
      if (cancelsMonitors && recurring) return false;
      if (action === 'monitor' && interval > 0 && recurring && o.interval === interval) return false;
      return true;
    });
    const updated: ResourceHistory = { ...hist, ops: [...kept, record] };
    node.history = node.history.map((h) => (h === hist ? updated : h));
  }

  return {
    quorum: status.quorum,
    ...(status.dc !== undefined ? { dc: status.dc } : {}),
    nodes: status.nodes.map((n) => {
      const m = nodes.get(n.name)!;
      return { ...m, history: m.history };
    }),
  };
}
