/** Replicas' last reported lag, read from the nodes' histories for the status (and the metrics, which read the status). */
import type { ClusterStatus, ReplicaLag } from '@paceline/model';

/** One replica's last report: an instance on a node, the monitor's time (epoch ms) and what it measured. */
export interface ReplicaStatus extends ReplicaLag {
  readonly instance: string;
  readonly node: string;
  readonly at: number;
}

/** Every instance whose last monitor report describes a replica, by node then instance. */
export function replicaReports(status: ClusterStatus): ReplicaStatus[] {
  const out: ReplicaStatus[] = [];
  for (const n of status.nodes)
    for (const h of n.history) {
      const r = h.report;
      if (r?.replica) out.push({ instance: h.resource, node: n.name, at: r.at, ...r.replica });
    }
  return out.sort((a, b) => a.node.localeCompare(b.node) || a.instance.localeCompare(b.instance));
}
