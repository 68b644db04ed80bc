/**
 * Clone-specific action and ordering rules (Pacemaker 2.1.5 semantics, own code), as data the
 * core's action and ordering stages consume:
 *
 * - a clone has pseudo actions start/running, stop/stopped and, when promotable, also
 *   promote/promoted and demote/demoted; as the "first" of an ordering a clone offers the
 *   completion pseudo action (running, stopped, promoted, demoted);
 * - inside a promotable clone: "promote" -> each instance's promote -> "promoted", "demote" ->
 *   each instance's demote -> "demoted", each instance demotes before it promotes, the clone is
 *   running before it promotes, and every stop and demote comes before any start or promote
 *   (so with promoted-max 1 the old promoted instance is demoted before the new one is promoted);
 * - interleave: an ordering between two clones is applied instance by instance on the same node
 *   when the clone that the ordering constrains (the "then" clone, or for stop/demote the "first"
 *   one) has interleave=true; a then-instance without a partner on its node cannot run when the
 *   ordering is mandatory.
 */

/** Pseudo actions of a collective resource. */
export function collectivePseudoTasks(kind: 'group' | 'clone', promotable: boolean): string[] {
  const base = ['start', 'running', 'stop', 'stopped'];
  return kind === 'clone' && promotable ? [...base, 'promote', 'promoted', 'demote', 'demoted'] : base;
}

/** The pseudo action a collective offers as the "first" of an ordering. */
export const COLLECTIVE_FIRST_TASK: Readonly<Record<string, string>> = {
  start: 'running',
  stop: 'stopped',
  promote: 'promoted',
  demote: 'demoted',
  running: 'running',
  stopped: 'stopped',
  promoted: 'promoted',
  demoted: 'demoted',
};

/** The member action behind a collective pseudo action ("running" -> "start"). */
export function memberTaskOf(task: string): string {
  switch (task) {
    case 'running':
      return 'start';
    case 'stopped':
      return 'stop';
    case 'promoted':
      return 'promote';
    case 'demoted':
      return 'demote';
    default:
      return task;
  }
}

export type OrderKind = 'optional' | 'runnable-left' | 'implies-then' | 'implies-first';

export interface OrderSpec {
  readonly first: { readonly rsc: string; readonly task: string };
  readonly then: { readonly rsc: string; readonly task: string };
  readonly kinds: readonly OrderKind[];
  readonly reason: string;
}

/**
 * The internal orderings of a promotable clone (the start/stop ones are the same as for any
 * collective and not repeated here). `instances` are the instance ids of the clone's child
 * (primitive instance ids, or each member of a cloned group).
 */
export function promotableInternalOrderings(cloneId: string, instances: readonly string[], ordered: boolean): OrderSpec[] {
  const out: OrderSpec[] = [];
  const order = (firstRsc: string, firstTask: string, thenRsc: string, thenTask: string, kinds: OrderKind[], reason: string): void => {
    out.push({ first: { rsc: firstRsc, task: firstTask }, then: { rsc: thenRsc, task: thenTask }, kinds, reason });
  };
  order(cloneId, 'running', cloneId, 'promote', ['runnable-left'], `${cloneId}: instances run before any is promoted`);
  order(cloneId, 'demoted', cloneId, 'stop', ['optional'], `${cloneId}: demote before stop`);
  order(cloneId, 'stopped', cloneId, 'start', ['optional'], `${cloneId}: stopped before started again`);
  // Pacemaker's promotable restart ordering: start and promote wait for every stop and demote.
  order(cloneId, 'stopped', cloneId, 'promote', ['optional'], `${cloneId}: stops before promotions`);
  order(cloneId, 'demoted', cloneId, 'start', ['optional'], `${cloneId}: demotions before starts`);
  order(cloneId, 'demoted', cloneId, 'promote', ['optional'], `${cloneId}: demotions before promotions`);
  order(cloneId, 'demote', cloneId, 'demoted', ['optional'], `${cloneId}: demote before demoted`);
  let prev: string | undefined;
  for (const id of instances) {
    order(id, 'demote', id, 'promote', ['optional'], `${id}: demote before promote`);
    order(cloneId, 'promote', id, 'promote', ['optional'], `${cloneId} promote`);
    order(id, 'promote', cloneId, 'promoted', ['optional'], `${cloneId} promoted`);
    order(cloneId, 'demote', id, 'demote', ['optional'], `${cloneId} demote`);
    order(id, 'demote', cloneId, 'demoted', ['optional'], `${cloneId} demoted`);
    if (ordered && prev !== undefined) {
      order(prev, 'promote', id, 'promote', ['optional'], `${cloneId} is ordered`);
      order(id, 'demote', prev, 'demote', ['optional'], `${cloneId} is ordered`);
    }
    prev = id;
  }
  return out;
}

/**
 * Whether an ordering between two clones applies instance by instance: Pacemaker looks at the
 * interleave option of the clone the ordering constrains — the "then" clone, except when the then
 * action is a stop or demote (an inverse ordering), where it is the "first" clone.
 */
export function interleaveApplies(q: {
  readonly firstIsClone: boolean;
  readonly thenIsClone: boolean;
  readonly sameResource: boolean;
  readonly thenTask: string;
  readonly firstInterleave: boolean;
  readonly thenInterleave: boolean;
}): boolean {
  if (!q.firstIsClone || !q.thenIsClone || q.sameResource) return false;
  return q.thenTask === 'stop' || q.thenTask === 'demote' ? q.firstInterleave : q.thenInterleave;
}

/**
 * Pairs each instance of the "then" clone with the instance of the "first" clone on the same node.
 * `nodeOf(instance, current)` gives where an instance is (current = now, for stop/demote orderings;
 * otherwise where it will be). Instances placed nowhere are left out; `unpaired` lists then-instances
 * with a node but no partner there.
 */
export function interleavePairs<R>(q: {
  readonly firstInstances: readonly R[];
  readonly thenInstances: readonly R[];
  readonly current: boolean;
  nodeOf(instance: R, current: boolean): string | null;
}): { pairs: [R, R][]; unpaired: R[] } {
  const byNode = new Map<string, R>();
  for (const f of q.firstInstances) {
    const n = q.nodeOf(f, q.current);
    if (n !== null && !byNode.has(n)) byNode.set(n, f);
  }
  const pairs: [R, R][] = [];
  const unpaired: R[] = [];
  for (const t of q.thenInstances) {
    const n = q.nodeOf(t, q.current);
    if (n === null) continue;
    const f = byNode.get(n);
    if (f === undefined) unpaired.push(t);
    else pairs.push([f, t]);
  }
  return { pairs, unpaired };
}
