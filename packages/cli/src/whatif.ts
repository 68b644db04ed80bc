/**
 * What-if events applied to a status, as crm_simulate's --node-fail / --node-up / --op-fail do.
 * Pure: each returns a new status. Used by `paceline simulate` and by the demo's story replay.
 */
import { ConfigError, emptyNodeStatus, type ClusterConfig, type ClusterStatus, type NodeStatus, type OpRecord } from '@paceline/model';

export type WhatIf =
  | { readonly type: 'node-fail'; readonly node: string }
  | { readonly type: 'node-up'; readonly node: string; readonly standby?: string }
  | { readonly type: 'standby'; readonly node: string; readonly on: boolean; readonly reason?: string }
  | { readonly type: 'op-fail'; readonly resource: string; readonly action: string; readonly node: string; readonly interval: number; readonly rc?: number };

/** The attribute that records why a node is held in standby (quarantine) until an administrator clears it. */
export const QUARANTINE_ATTRIBUTE = 'paceline-quarantine';

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

/** Applies one what-if event at time `now` (epoch ms). Throws ConfigError naming an unknown node or resource. */
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
      const op: OpRecord = { action: event.action, interval: event.interval, callId: nextCallId(n), status: 'done', rc, lastRcChange: now, lastRun: now };
      const existing = n.history.find((h) => h.resource === event.resource);
      const history = existing
        ? n.history.map((h) => (h === existing ? { ...h, ops: [...h.ops, op] } : h))
        : [...n.history, { resource: event.resource, ops: [op] }];
      const key = (f: { resource: string; action?: string | undefined; interval?: number | undefined }): boolean =>
        f.resource === event.resource && f.action === event.action && f.interval === event.interval;
      const prev = n.failures.find(key);
      const failures = prev
        ? n.failures.map((f) => (f === prev ? { ...f, count: f.count + 1, lastFailure: now } : f))
        : [...n.failures, { resource: event.resource, action: event.action, interval: event.interval, count: 1, lastFailure: now }];
      return replaceNode(status, { ...n, history, failures });
    }
  }
}

/** Parses "rsc:action:node" or "rsc_action_interval@node" into an op-fail event. */
export function parseOpFail(text: string, defaultInterval = 0): WhatIf {
  const parts = text.split(':');
  if (parts.length < 3 || parts.some((p) => p === ''))
    throw new ConfigError([{ path: '--op-fail', message: `"${text}" is not RESOURCE:ACTION:NODE[:INTERVAL_MS[:RC]]` }]);
  const [resource, action, node, interval, rc] = parts as [string, string, string, string?, string?];
  return {
    type: 'op-fail', resource, action, node,
    interval: interval === undefined ? defaultInterval : Number(interval),
    ...(rc === undefined ? {} : { rc: Number(rc) }),
  };
}
