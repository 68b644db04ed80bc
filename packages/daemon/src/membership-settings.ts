/**
 * The membership settings a daemon runs with: the configuration's `membership` section (replicated
 * with the document, so every node has the same) under this node's overrides (`paceline daemon
 * --membership/--profile/--partition-policy`, validated with the same schema). Nodes exchange the
 * settings in effect in their reports; the coordinator schedules nothing while members' differ.
 */
import { MembershipSettings, formatIssues, zodIssues, type ClusterConfig } from '@paceline/model';
import { clusterWideSettings, resolveConfig, type MembershipNode, type ResolvedConfig } from '@paceline/membership';
import { DaemonError } from './errors.js';

/** A node's name and its address on each link. */
export interface NodeAddresses {
  readonly name: string;
  readonly addresses: Record<string, string>;
}

/** This node's overrides, checked with the model's schema (an unknown setting is an error with a did-you-mean). */
export function checkOverrides(overrides: MembershipSettings | undefined): void {
  const r = MembershipSettings.safeParse(overrides ?? {});
  if (!r.success) throw new DaemonError('DAEMON_CONFIG', formatIssues(zodIssues(r.error), "this node's membership overrides"));
}

/** Every configured node's addresses, with this process's overrides (e.g. 127.0.0.1:PORT in tests). */
export function nodesWithAddresses(config: ClusterConfig, overrides?: Readonly<Record<string, Readonly<Record<string, string>>>>): NodeAddresses[] {
  return config.nodes.map((n) => ({ name: n.name, addresses: { ...n.addresses, ...overrides?.[n.name] } }));
}

/**
 * The settings in effect: the configuration's `membership` section under this node's overrides;
 * two-node mode unless said otherwise when the cluster has two nodes. `nodes` (and their links) are
 * the ones the daemon started with: changing them takes a restart. Throws when they do not resolve.
 */
export function resolveMembership(
  config: ClusterConfig,
  o: { readonly self: string; readonly nodes: readonly MembershipNode[]; readonly overrides?: MembershipSettings | undefined; readonly arbiter: boolean },
): ResolvedConfig {
  return resolveConfig({
    twoNode: o.nodes.length === 2,
    ...config.membership,
    ...o.overrides,
    arbiter: o.arbiter,
    self: o.self,
    nodes: [...o.nodes],
  });
}

/** This node's overrides that differ from the configuration, for the log (undefined: none do). */
export function describeOverrides(config: ClusterConfig, overrides: MembershipSettings | undefined): string | undefined {
  const section = config.membership as Record<string, unknown> | undefined;
  const differ = Object.entries(overrides ?? {}).filter(([k, v]) => JSON.stringify(section?.[k]) !== JSON.stringify(v));
  if (differ.length === 0) return undefined;
  const each = differ.map(([k, v]) => `${k}=${JSON.stringify(v)} (configuration: ${JSON.stringify(section?.[k]) ?? 'unset'})`);
  return `membership settings overridden on this node: ${each.join(', ')}; every node must run with the same settings`;
}

/** The cluster-wide settings that differ from `before` to `after`, each as "name old -> new" (empty: none). */
export function settingChanges(before: ResolvedConfig, after: ResolvedConfig): string[] {
  const b = clusterWideSettings(before);
  const a = clusterWideSettings(after);
  return [...new Set([...Object.keys(b), ...Object.keys(a)])]
    .filter((k) => b[k] !== a[k])
    .map((k) => `${k} ${String(b[k] ?? 'unset')} -> ${String(a[k] ?? 'unset')}`);
}
