/**
 * What-if simulation, as crm_simulate's --node-fail / --node-up / --op-fail do: events applied to a
 * status, then the scheduler run on the result. Pure: each function returns new values. Used by
 * `paceline simulate`, by the demo's story replay, and by programs that ask "what happens if serv1
 * fails?" without the CLI:
 *
 *   const { transition, revisedStatus } = simulate({ config, status: coldStartStatus(config), now: Date.now(),
 *     whatIf: [{ type: 'node-fail', node: 'serv1' }] });
 */
import {
  ConfigError,
  QUARANTINE_ATTRIBUTE,
  emptyNodeStatus,
  listPrimitives,
  type ClusterConfig,
  type ClusterStatus,
  type NodeStatus,
  type OpRecord,
  type Transition,
} from '@paceline/model';
import { schedule } from './schedule.js';
import { applyTransition } from './apply.js';

/** One what-if event. */
export type WhatIf =
  /** The node is lost without a clean shutdown: unclean (to be fenced) when fencing is enabled, else offline. */
  | { readonly type: 'node-fail'; readonly node: string }
  /** The node comes up (with nothing running when it was not online); `standby` quarantines it with that reason. */
  | { readonly type: 'node-up'; readonly node: string; readonly standby?: string }
  /** The node is put in standby (`on`) or taken out of it; `reason` is recorded as its quarantine. */
  | { readonly type: 'standby'; readonly node: string; readonly on: boolean; readonly reason?: string }
  /**
   * An operation failed: recorded in the node's history with `rc` (default 1, OCF generic error)
   * and counted as a failure. `interval` defaults to the resource's configured recurring monitor
   * for `monitor`, else 0.
   */
  | { readonly type: 'op-fail'; readonly resource: string; readonly action: string; readonly node: string; readonly interval?: number; readonly rc?: number };

export { QUARANTINE_ATTRIBUTE };

/** The status of a cold start: every configured node online, nothing running, nothing failed. */
export function coldStartStatus(config: ClusterConfig): ClusterStatus {
  return { quorum: true, nodes: config.nodes.map((n) => emptyNodeStatus(n.name, 'online')) };
}

function nodeOrThrow(config: ClusterConfig, status: ClusterStatus, name: string, what: string): NodeStatus | undefined {
  if (!config.nodes.some((n) => n.name === name) && !status.nodes.some((n) => n.name === name))
    throw new ConfigError([{ path: what, message: `node "${name}" is not configured (known: ${config.nodes.map((n) => n.name).join(', ')})` }]);
  return status.nodes.find((n) => n.name === name);
}

function replaceNode(status: ClusterStatus, node: NodeStatus): ClusterStatus {
  const others = status.nodes.filter((n) => n.name !== node.name);
  return { ...status, nodes: [...others, node].sort((a, b) => a.name.localeCompare(b.name)) };
}

function nextCallId(node: NodeStatus): number {
  let max = 0;
  for (const h of node.history) for (const op of h.ops) max = Math.max(max, op.callId);
  return max + 1;
}

/** The interval of a resource's configured recurring monitor (0 when it has none). `web:1` is an instance of `web`. */
export function monitorInterval(config: ClusterConfig, resource: string): number {
  const base = resource.replace(/:\d+$/, '');
  const entry = listPrimitives(config).find((e) => e.primitive.id === base);
  return entry?.primitive.ops.find((o) => o.name === 'monitor' && o.interval > 0)?.interval ?? 0;
}

/**
 * Applies one what-if event at time `now` (epoch ms). Throws ConfigError naming an unknown node
 * (path `--node-fail`, `--node-up`, `--standby` or `--op-fail`, as the CLI options are named).
 */
export function applyWhatIf(config: ClusterConfig, status: ClusterStatus, event: WhatIf, now: number): ClusterStatus {
  switch (event.type) {
    case 'node-fail': {
      const n = nodeOrThrow(config, status, event.node, '--node-fail') ?? emptyNodeStatus(event.node, 'online');
      const state = config.properties.stonithEnabled ? 'unclean' : 'offline';
      return replaceNode(status, { ...n, state, uncleanReason: 'peer lost without a clean shutdown' });
    }
    case 'node-up': {
      const n = nodeOrThrow(config, status, event.node, '--node-up');
      const fresh = !n || n.state !== 'online';
      const base = fresh ? emptyNodeStatus(event.node, 'online') : n;
      const attributes = { ...base.attributes };
      if (event.standby) attributes[QUARANTINE_ATTRIBUTE] = event.standby;
      return replaceNode(status, { ...base, state: 'online', standby: event.standby !== undefined || base.standby, attributes, failures: n?.failures ?? [] });
    }
    case 'standby': {
      const n = nodeOrThrow(config, status, event.node, '--standby') ?? emptyNodeStatus(event.node, 'online');
      const attributes = { ...n.attributes };
      if (event.on && event.reason) attributes[QUARANTINE_ATTRIBUTE] = event.reason;
      if (!event.on) delete attributes[QUARANTINE_ATTRIBUTE];
      return replaceNode(status, { ...n, standby: event.on, attributes });
    }
    case 'op-fail': {
      const n = nodeOrThrow(config, status, event.node, '--op-fail');
      if (!n) throw new ConfigError([{ path: '--op-fail', message: `node "${event.node}" has no status yet` }]);
      const rc = event.rc ?? 1;
      const interval = event.interval ?? (event.action === 'monitor' ? monitorInterval(config, event.resource) : 0);
      const op: OpRecord = { action: event.action, interval, callId: nextCallId(n), status: 'done', rc, lastRcChange: now, lastRun: now };
      const existing = n.history.find((h) => h.resource === event.resource);
      const history = existing
        ? n.history.map((h) => (h === existing ? { ...h, ops: [...h.ops, op] } : h))
        : [...n.history, { resource: event.resource, ops: [op] }];
      const key = (f: { resource: string; action?: string | undefined; interval?: number | undefined }): boolean =>
        f.resource === event.resource && f.action === event.action && f.interval === interval;
      const prev = n.failures.find(key);
      const failures = prev
        ? n.failures.map((f) => (f === prev ? { ...f, count: f.count + 1, lastFailure: now } : f))
        : [...n.failures, { resource: event.resource, action: event.action, interval, count: 1, lastFailure: now }];
      return replaceNode(status, { ...n, history, failures });
    }
  }
}

/** Parses crm_simulate-style "RESOURCE:ACTION:NODE[:INTERVAL_MS[:RC]]" into an op-fail event. */
export function parseOpFail(text: string): WhatIf {
  const parts = text.split(':');
  if (parts.length < 3 || parts.length > 5 || parts.some((p) => p === ''))
    throw new ConfigError([{ path: '--op-fail', message: `"${text}" is not RESOURCE:ACTION:NODE[:INTERVAL_MS[:RC]]` }]);
  const [resource, action, node, interval, rc] = parts as [string, string, string, string?, string?];
  const integer = (what: string, v: string): number => {
    if (!/^\d+$/.test(v)) throw new ConfigError([{ path: '--op-fail', message: `"${text}": ${what} "${v}" is not a whole number` }]);
    return Number(v);
  };
  return {
    type: 'op-fail',
    resource,
    action,
    node,
    ...(interval === undefined ? {} : { interval: integer('INTERVAL_MS', interval) }),
    ...(rc === undefined ? {} : { rc: integer('RC', rc) }),
  };
}

export interface SimulateInput {
  readonly config: ClusterConfig;
  readonly status: ClusterStatus;
  /** Epoch milliseconds: when the events happen and the scheduler runs. */
  readonly now: number;
  /** Applied to `status` in order before scheduling. */
  readonly whatIf?: readonly WhatIf[];
}

export interface Simulation {
  /** The status after the what-if events: what the scheduler saw. */
  readonly status: ClusterStatus;
  /** What the scheduler decided, with its explanation (see `explainResource`). */
  readonly transition: Transition;
  /** The status once every action of the transition has succeeded (computed when first read). */
  readonly revisedStatus: ClusterStatus;
}

/** Applies the what-if events, schedules once, and applies the transition as if every action succeeded. */
export function simulate(input: SimulateInput): Simulation {
  const { config, now } = input;
  let status = input.status;
  for (const e of input.whatIf ?? []) status = applyWhatIf(config, status, e, now);
  const transition = schedule({ config, status, now });
  // The applied end state is computed the first time it is read (a graph or a CIB's result needs none).
  let revised: ClusterStatus | undefined;
  return {
    status,
    transition,
    get revisedStatus(): ClusterStatus {
      return (revised ??= applyTransition(config, status, transition, now));
    },
  };
}
