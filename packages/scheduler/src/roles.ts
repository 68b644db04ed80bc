/**
 * Resource roles ordered as Pacemaker orders them, so "higher" comparisons work
 * (Unknown < Stopped < Started < Unpromoted < Promoted).
 */
import type { Role } from '@paceline/model';

export type RoleOrUnknown = Role | 'Unknown';

const RANK: Record<RoleOrUnknown, number> = { Unknown: 0, Stopped: 1, Started: 2, Unpromoted: 3, Promoted: 4 };

export function roleRank(r: RoleOrUnknown): number {
  return RANK[r];
}

export function roleAbove(a: RoleOrUnknown, b: RoleOrUnknown): boolean {
  return RANK[a] > RANK[b];
}
