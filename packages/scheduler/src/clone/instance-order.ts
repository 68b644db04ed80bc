/**
 * The order in which a clone's instances are placed (Pacemaker 2.1.5's pcmk__cmp_instance): the
 * ones worth keeping first — active on fewer nodes, allowed where they run, higher priority, on an
 * available node the clone may use, not failed, better colocated there, lower number. clone/stage.ts
 * sorts by it, then distributes the instances in that order (`distributeInstances`).
 */
import type { Score } from '@paceline/model';

/** What the order reads of an instance. */
export interface InstanceForAssign {
  /** "child:N" */
  readonly id: string;
  readonly number: number;
  /** Nodes where the instance is active now (more than one = multiply active). */
  readonly current: readonly string[];
  readonly failed: boolean;
  /** Configured priority (meta priority), higher first. */
  readonly priority: number;
}

/** Pacemaker's instance assignment order (pcmk__cmp_instance): negative = `a` first. */
export function compareInstances(
  a: InstanceForAssign,
  b: InstanceForAssign,
  ctx: {
    readonly allowedOn: (inst: InstanceForAssign, node: string) => boolean;
    readonly nodeAvailable: (node: string) => boolean;
    readonly cloneAllows: (node: string) => boolean;
    readonly colocationScoreOnCurrent?: (inst: InstanceForAssign) => Score;
  },
): number {
  const n1 = a.current.length;
  const n2 = b.current.length;
  if (n1 > 0 && n2 > 0 && n1 !== n2) return n1 < n2 ? -1 : 1;
  let node1: string | undefined = a.current[0];
  let node2: string | undefined = b.current[0];
  const can1 = node1 === undefined || ctx.allowedOn(a, node1);
  const can2 = node2 === undefined || ctx.allowedOn(b, node2);
  if (!can1) node1 = undefined;
  if (!can2) node2 = undefined;
  if (can1 !== can2) return can1 ? -1 : 1;
  if (a.priority !== b.priority) return a.priority > b.priority ? -1 : 1;
  if (node1 === undefined && node2 === undefined) return 0;
  if (node1 === undefined) return 1;
  if (node2 === undefined) return -1;
  const av1 = ctx.nodeAvailable(node1);
  const av2 = ctx.nodeAvailable(node2);
  if (av1 !== av2) return av1 ? -1 : 1;
  const p1 = ctx.cloneAllows(node1);
  const p2 = ctx.cloneAllows(node2);
  if (!p1 && !p2) return 0;
  if (p1 !== p2) return p1 ? -1 : 1;
  if (a.failed !== b.failed) return a.failed ? 1 : -1;
  if (ctx.colocationScoreOnCurrent !== undefined) {
    const c1 = ctx.colocationScoreOnCurrent(a);
    const c2 = ctx.colocationScoreOnCurrent(b);
    if (c1 !== c2) return c1 > c2 ? -1 : 1;
  }
  return a.number - b.number;
}

/** A stable sort (Array.prototype.sort is stable in every supported Node). */
export function sortInstances<T extends InstanceForAssign>(instances: readonly T[], cmp: (a: T, b: T) => number): T[] {
  return [...instances].sort(cmp);
}
