/**
 * The orderings of order constraints: plain (first → then, with the symmetrical inverse), ordered
 * sets (ordersets.ts), clone-min (through a one-or-more point: "then" may run once that many
 * instances of the first clone can), and interleaved clones (instance by instance, node by node).
 */
import type { OrderConstraint } from '@paceline/model';
import type { Resource, ResourceTree } from '../resources.js';
import { leaves } from '../resources.js';
import type { SetOrdering } from '../ordersets.js';
import { interleaveApplies, interleavePairs } from '../clone/index.js';
import { F_ASYMMETRICAL, F_IMPLIES_FIRST, F_IMPLIES_THEN, F_ONE_OR_MORE, F_OPTIONAL, F_RUNNABLE_LEFT, INVERSE_TASK, type EdgeBuilder } from './edges.js';

/** One ordering of an ordered set (expanded by ordersets.ts). */
export function addSetOrdering(b: EdgeBuilder, spec: SetOrdering): void {
  let flags = F_OPTIONAL;
  if (spec.kind === 'Mandatory') {
    if (spec.symmetry === 'asymmetric') flags |= F_ASYMMETRICAL;
    else if (spec.symmetry === 'inverse') flags |= F_IMPLIES_FIRST;
    else {
      flags |= F_IMPLIES_THEN;
      if (spec.thenAction === 'start' || spec.thenAction === 'promote') flags |= F_RUNNABLE_LEFT;
    }
  } else if (spec.kind === 'Serialize') flags = 0;
  const thens = b.rscActions(spec.then, spec.thenAction, false);
  if (spec.anyOf === undefined) {
    b.order(b.firstActionsFor(spec.first, spec.firstAction), thens, flags, spec.reason);
    return;
  }
  const point = b.onePoint(spec.anyOf);
  b.order(b.firstActionsFor(spec.first, spec.firstAction), [point], F_ONE_OR_MORE, spec.reason);
  b.order([point], thens, flags | F_RUNNABLE_LEFT, spec.reason);
}

/** The resource pairs an order constraint orders (sets: along each sequential set and between sets). */
export function orderPairs(c: OrderConstraint, tree: ResourceTree): [Resource, Resource][] {
  if (c.sets === undefined) {
    const first = tree.byId.get(c.first!);
    const then = tree.byId.get(c.then!);
    return first && then ? [[first, then]] : [];
  }
  const pairs: [Resource, Resource][] = [];
  const sets = c.sets.map((s) => ({ s, members: s.resources.map((id) => tree.byId.get(id)).filter((r): r is Resource => r !== undefined) }));
  for (const { s, members } of sets) if (s.sequential) for (let i = 1; i < members.length; i++) pairs.push([members[i - 1]!, members[i]!]);
  for (let k = 1; k < sets.length; k++) {
    const prev = sets[k - 1]!;
    const cur = sets[k]!;
    const firsts = prev.s.sequential ? prev.members.slice(-1) : prev.members;
    const thens = cur.s.sequential ? cur.members.slice(0, 1) : cur.members;
    for (const first of firsts) for (const then of thens) pairs.push([first, then]);
  }
  return pairs;
}

/** The inverse of a symmetrical ordering (stop then before stop first, …), if it has one. */
function inverseOf(c: OrderConstraint, firstAction: string, thenAction: string): { firstTask: string; thenTask: string; flags: number } | undefined {
  const symmetrical = c.symmetrical ?? c.kind !== 'Serialize';
  if (!symmetrical || c.kind === 'Serialize') return undefined;
  const firstTask = INVERSE_TASK.get(thenAction);
  const thenTask = INVERSE_TASK.get(firstAction);
  if (!firstTask || !thenTask) return undefined;
  return { firstTask, thenTask, flags: F_OPTIONAL | (c.kind === 'Mandatory' ? F_IMPLIES_FIRST : 0) };
}

/** The flags of an order constraint's edge from its kind and symmetry. */
function constraintFlags(c: OrderConstraint, then: Resource, firstAction: string): number {
  const symmetrical = c.symmetrical ?? c.kind !== 'Serialize';
  let flags = F_OPTIONAL;
  if (c.kind === 'Mandatory') {
    if (!symmetrical) flags |= F_ASYMMETRICAL;
    else {
      flags |= F_IMPLIES_THEN;
      if (firstAction === 'start' || firstAction === 'promote') flags |= F_RUNNABLE_LEFT;
    }
  }
  if (c.kind === 'Optional' && then.meta.restartOnOrder) flags |= F_IMPLIES_THEN;
  return flags;
}

/** One order constraint between `first` and `then`. */
export function addConstraint(b: EdgeBuilder, c: OrderConstraint, first: Resource, then: Resource): void {
  const firstAction = c.firstAction;
  const thenAction = c.thenAction ?? firstAction;
  const flags = constraintFlags(c, then, firstAction);
  const inverse = inverseOf(c, firstAction, thenAction);
  // clone-min (or the deprecated require-all=false, i.e. clone-min 1) on the first clone: "then"
  // may run once that many instances can (Pacemaker's clone_min_ordering).
  const cloneMin = first.kind === 'clone' ? (first.clone?.meta.cloneMin ?? (c.requireAll === false ? 1 : 0)) : 0;
  if (cloneMin > 0) {
    const point = b.onePoint(`clone-one-or-more:${c.id}`, cloneMin);
    let firsts = 0;
    for (const child of first.children) {
      const childFirsts = b.rscActions(child, firstAction, true);
      firsts += childFirsts.length;
      b.order(childFirsts, [point], F_ONE_OR_MORE, `order ${c.id} (clone-min ${cloneMin})`);
    }
    if (firsts < cloneMin) point.runnable = false;
    b.order([point], b.rscActions(then, thenAction, false), flags | F_RUNNABLE_LEFT, `order ${c.id}`);
    if (inverse) b.order(b.firstActionsFor(then, inverse.firstTask), b.rscActions(first, inverse.thenTask, false), inverse.flags, `order ${c.id} (inverse)`);
    return;
  }
  if (c.requireAll !== false && !first.clone?.meta.cloneMin && orderInterleaved(b, first, then, firstAction, thenAction, flags, `order ${c.id}`)) {
    if (inverse) orderInterleaved(b, then, first, inverse.firstTask, inverse.thenTask, inverse.flags, `order ${c.id} (inverse)`);
    return;
  }
  b.order(b.firstActionsFor(first, firstAction), b.rscActions(then, thenAction, false), flags, `order ${c.id}`);
  if (inverse) b.order(b.firstActionsFor(then, inverse.firstTask), b.rscActions(first, inverse.thenTask, false), inverse.flags, `order ${c.id} (inverse)`);
}

/**
 * Clone-to-clone orderings with interleave (clone module rules): instance by instance on the
 * same node; a then-instance without a partner cannot run when the ordering is mandatory.
 * Returns false when interleaving does not apply (the caller orders the clones as wholes).
 */
function orderInterleaved(b: EdgeBuilder, first: Resource, then: Resource, firstAction: string, thenAction: string, flags: number, reason: string): boolean {
  const actions = b.actions;
  if (
    !interleaveApplies({
      firstIsClone: first.kind === 'clone',
      thenIsClone: then.kind === 'clone',
      sameResource: first === then,
      thenTask: thenAction,
      firstInterleave: first.clone?.meta.interleave ?? false,
      thenInterleave: then.clone?.meta.interleave ?? false,
    })
  )
    return false;
  const current = firstAction === 'stop' || firstAction === 'demote';
  const nodeOf = (inst: Resource, cur: boolean): string | null => {
    const leaf = leaves(inst)[0];
    if (!leaf) return null;
    if (cur) return (actions.running.get(leaf.id) ?? [])[0] ?? null;
    const own = actions.byRsc.get(leaf.id) ?? [];
    const starts = own.filter((a) => (a.task === 'start' || a.task === 'promote' || a.task === 'monitor') && a.node !== undefined);
    const stays = (actions.running.get(leaf.id) ?? []).find((n) => !own.some((a) => a.task === 'stop' && a.node === n && !a.optional));
    return starts.find((a) => a.task === 'start')?.node ?? stays ?? starts[0]?.node ?? null;
  };
  const { pairs, unpaired } = interleavePairs({ firstInstances: first.children, thenInstances: then.children, current, nodeOf });
  for (const [firstInst, thenInst] of pairs)
    b.order(b.rscActions(firstInst, firstAction, true), b.rscActions(thenInst, thenAction, false), flags, `${reason} (interleaved)`);
  if (!current && flags & (F_RUNNABLE_LEFT | F_IMPLIES_THEN)) {
    for (const thenInst of unpaired)
      for (const a of b.rscActions(thenInst, thenAction, false)) {
        // Pacemaker unassigns such an instance: a new one does not start (and is not reported as
        // blocked); one already running there must stop, its start required but unrunnable.
        const runsHere = a.rsc !== undefined && a.node !== undefined && (actions.running.get(a.rsc.id) ?? []).includes(a.node);
        if (a.runnable) {
          a.runnable = false;
          a.optional = !runsHere;
          a.reason ??= `no instance of ${first.id} to pair with (interleave)`;
        }
      }
  }
  return true;
}
