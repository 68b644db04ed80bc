/**
 * What the executor needs to know about an instance from the configuration: its primitive, the
 * parameters for an operation, the operation's timeout, the meta attributes OCF agents expect,
 * and where its state directory is.
 */
import { join } from 'node:path';
import { listPrimitives, type ClusterConfig, type Operation, type PrimitiveEntry } from '@paceline/model';
import { DEFAULT_ACTION_TIMEOUT_MS, type AgentAction, type ResourceAgent } from '@paceline/agent-api';

/** The primitive behind an instance id ("web", "httpd:1" → "httpd"). */
export function findPrimitive(config: ClusterConfig, instance: string, primitive?: string): PrimitiveEntry | undefined {
  const index = primitiveIndex(config);
  return index.get(primitive ?? instance) ?? index.get(instance.replace(/:\d+$/, ''));
}

// Configurations are immutable values: index each one once (monitors look primitives up on every tick).
const indexes = new WeakMap<ClusterConfig, ReadonlyMap<string, PrimitiveEntry>>();
function primitiveIndex(config: ClusterConfig): ReadonlyMap<string, PrimitiveEntry> {
  let index = indexes.get(config);
  if (!index) {
    const m = new Map<string, PrimitiveEntry>();
    for (const e of listPrimitives(config)) if (!m.has(e.primitive.id)) m.set(e.primitive.id, e);
    index = m;
    indexes.set(config, index);
  }
  return index;
}

/** The configured operation for an action and interval (probes use the interval-0 monitor). */
export function findOperation(entry: PrimitiveEntry, action: string, interval: number): Operation | undefined {
  return entry.primitive.ops.find((o) => o.name === action && o.interval === interval && o.enabled !== false);
}

type TimeoutKey = keyof NonNullable<ResourceAgent['meta']['defaultTimeouts']>;

/** Timeout: the graph action's, else the operation's, else op defaults, else the agent's, else 20 s. */
export function timeoutFor(
  config: ClusterConfig,
  agent: ResourceAgent | undefined,
  action: AgentAction,
  graphTimeout: number | undefined,
  op: Operation | undefined,
): number {
  return graphTimeout ?? op?.timeout ?? config.defaults.operation.timeout ?? agent?.meta.defaultTimeouts?.[action as TimeoutKey] ?? DEFAULT_ACTION_TIMEOUT_MS;
}

/** Pacemaker-style meta attributes for clone instances (clone_max, notify, ...), as strings. */
export function metaFor(config: ClusterConfig, entry: PrimitiveEntry): Record<string, string> {
  const c = entry.clone;
  if (!c) return {};
  const m = c.meta;
  const out: Record<string, string> = {
    clone_max: String(m.cloneMax ?? config.nodes.length),
    clone_node_max: String(m.cloneNodeMax ?? 1),
    notify: String(m.notify ?? false),
    globally_unique: String(m.globallyUnique ?? false),
  };
  if (c.promotable) {
    out.promotable = 'true';
    out.promoted_max = String(m.promotedMax ?? 1);
    out.promoted_node_max = String(m.promotedNodeMax ?? 1);
  }
  return out;
}

/** The state directory of an instance on a node: STATE_ROOT/NODE/INSTANCE (":" kept, "/" replaced). */
export function stateDirFor(stateRoot: string, node: string, instance: string): string {
  const safe = (s: string): string => s.replace(/[/\\]/g, '_').replace(/^\.+$/, '_');
  return join(stateRoot, safe(node), safe(instance));
}

/**
 * The id an instance is known by on its node (to its agent, in its state directory and in the
 * status history). Instances of anonymous clones are interchangeable and their numbers are not
 * stable between transitions, so on a node they are known by the primitive id ("web:1" → "web"),
 * as Pacemaker does; everything else keeps its instance id.
 */
export function localInstanceId(entry: PrimitiveEntry | undefined, instance: string): string {
  if (!entry?.clone || entry.clone.meta.globallyUnique === true) return instance;
  return entry.primitive.id;
}
