/**
 * The resource view that `paceline status` shows: where every instance is, as the scheduler reads
 * the cluster status. A status request never runs the scheduler. The coordinator's last scheduler
 * run leaves the view (its transition's `current`, see `CoreState.placement`); when what the status
 * is built from has changed since (a report, the membership, the document), or on a node that does
 * not coordinate, the status is read once per change (`readPlacement`: the scheduler's first stages
 * only, no placement, actions or graph) and kept until the next change.
 */
import type { ClusterStatus, InstancePlacement, Transition } from '@paceline/model';
import { readPlacement, type ScheduleInput } from '@paceline/scheduler';
import type { CoreState } from './core.js';

/** A view (where every instance is, the scheduler's warnings) and the key of the status it was read from (`statusKey`). */
export interface PlacementView {
  readonly key: string;
  readonly resources: readonly InstancePlacement[];
  readonly warnings: readonly string[];
}

/**
 * What the view depends on, as a string: the document, and per node its state and flags as
 * `buildStatus` made them and the report its history and fail counts come from (boot and revision:
 * a node's revision changes with every change of its history or fail counts). The clock is not part
 * of it: a failure that expires with time shows once anything else changes (or the coordinator
 * schedules again, e.g. at the cluster-recheck-interval).
 */
export function statusKey(s: CoreState, status: ClusterStatus): string {
  const parts: string[] = [s.docKey, status.quorum ? 'q' : '-', status.dc ?? ''];
  for (const n of status.nodes) {
    const r = s.reports[n.name];
    const attrs = Object.keys(n.attributes).length === 0 ? '' : JSON.stringify(n.attributes);
    parts.push(
      `${n.name}:${n.state}:${n.standby ? 1 : 0}${n.maintenance ? 1 : 0}${n.shutdown ? 1 : 0}:${r ? `${r.boot}/${r.rev}` : '-'}:${n.history.length}/${n.failures.length}:${attrs}`,
    );
  }
  return parts.join('\u0000');
}

/** Keeps the last view read here, so that repeated status requests without a change cost nothing. */
export class PlacementViews {
  private last: PlacementView | undefined;

  /** `read`: how a status is read when no view fits it (tests count the calls). */
  constructor(private readonly read: (input: ScheduleInput) => Pick<Transition, 'current' | 'warnings'> = readPlacement) {}

  /** The view for `status` (built from `s` by `buildStatus`): the coordinator's, the one kept here, or read now once. */
  view(s: CoreState, status: ClusterStatus, now: number): PlacementView {
    const key = statusKey(s, status);
    if (s.placement?.key === key) return s.placement;
    if (this.last?.key === key) return this.last;
    const r = this.read({ config: s.config, status, now });
    this.last = { key, resources: r.current, warnings: r.warnings };
    return this.last;
  }
}
