/**
 * Stage "nodes": what each configured node can do in this transition, merged from the
 * configuration (permanent attributes, administrative standby) and the status (membership,
 * transient attributes). Later stages may only add reasons to distrust a node (see unpack).
 */
import type { ClusterConfig, ClusterStatus } from '@paceline/model';

export interface NodeView {
  readonly name: string;
  readonly id: string;
  /** Configuration order, used for Pacemaker's node iteration order. */
  readonly index: number;
  readonly online: boolean;
  readonly unclean: boolean;
  readonly standby: boolean;
  readonly maintenance: boolean;
  readonly shutdown: boolean;
  readonly pending: boolean;
  readonly isDc: boolean;
  readonly uncleanReason?: string;
  /** Permanent and transient attributes, plus #uname / #id / #kind. */
  readonly attributes: ReadonlyMap<string, string>;
  /** Capacity per utilization attribute (Pacemaker's node utilization). */
  readonly utilization: Readonly<Record<string, number>>;
}

export function buildNodeViews(config: ClusterConfig, status: ClusterStatus): NodeView[] {
  const byName = new Map(status.nodes.map((n) => [n.name, n]));
  return config.nodes.map((n, index) => {
    const s = byName.get(n.name);
    const attributes = new Map<string, string>(Object.entries(n.attributes));
    for (const [k, v] of Object.entries(s?.attributes ?? {})) attributes.set(k, v);
    attributes.set('#uname', n.name);
    attributes.set('#id', n.id ?? n.name);
    attributes.set('#kind', 'cluster');
    attributes.set('#is_dc', status.dc === n.name ? 'true' : 'false');
    if (config.properties.clusterName !== undefined) attributes.set('#cluster-name', config.properties.clusterName);
    const state = s?.state ?? 'offline';
    const maintenance = n.maintenance || (s?.maintenance ?? false) || config.properties.maintenanceMode;
    return {
      name: n.name,
      id: n.id ?? n.name,
      index,
      online: state === 'online' || state === 'pending',
      unclean: state === 'unclean',
      standby: n.standby || (s?.standby ?? false) || state === 'pending',
      maintenance,
      shutdown: s?.shutdown ?? false,
      pending: state === 'pending',
      isDc: status.dc === n.name,
      ...(s?.uncleanReason !== undefined ? { uncleanReason: s.uncleanReason } : {}),
      attributes,
      utilization: n.utilization,
    };
  });
}

/** Pacemaker's "can this node run resources at all" (ignoring scores). */
export function nodeAvailable(n: NodeView): boolean {
  return n.online && !n.shutdown && !n.unclean && !n.standby && !n.maintenance;
}
