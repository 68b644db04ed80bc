/**
 * Edges of the transition graph across collective pseudo actions. Clones and groups order their
 * members through pseudo actions ("mirror-samba demote" -> each instance's demote); the graph
 * shows only real actions, so an ordering that runs through pseudo actions must become a direct
 * edge between the real actions on either side (e.g. "stop samba on serv2" -> "demote
 * samba-data:0 on serv2", through "samba-svc stopped" and "mirror-samba demote").
 */
export interface EdgeLike<A> {
  readonly first: A;
  readonly then: A;
  readonly reason: string;
}

/**
 * `inGraph(a)`: the action appears in the graph. `passable(a)`: an action not in the graph that
 * orderings may run through (collective pseudo actions). Returns the graph's edges, direct ones
 * first, then the ones found through passable actions, each once.
 */
export function edgesThroughPseudo<A>(orderings: readonly EdgeLike<A>[], inGraph: (a: A) => boolean, passable: (a: A) => boolean): EdgeLike<A>[] {
  const out: EdgeLike<A>[] = [];
  const seen = new Map<A, Set<A>>();
  const add = (first: A, then: A, reason: string): void => {
    if (first === then) return;
    let s = seen.get(first);
    if (!s) seen.set(first, (s = new Set()));
    if (s.has(then)) return;
    s.add(then);
    out.push({ first, then, reason });
  };
  const next = new Map<A, EdgeLike<A>[]>();
  for (const o of orderings) {
    if (inGraph(o.first) && inGraph(o.then)) add(o.first, o.then, o.reason);
    if (passable(o.then) || passable(o.first)) {
      const l = next.get(o.first) ?? [];
      l.push(o);
      next.set(o.first, l);
    }
  }
  // Real actions reachable from a passable action through passable actions only (memoised).
  const memo = new Map<A, Map<A, string>>();
  const visiting = new Set<A>();
  const reach = (p: A): Map<A, string> => {
    const known = memo.get(p);
    if (known) return known;
    const found = new Map<A, string>();
    if (visiting.has(p)) return found;
    visiting.add(p);
    for (const o of next.get(p) ?? []) {
      if (inGraph(o.then)) {
        if (!found.has(o.then)) found.set(o.then, o.reason);
      } else if (passable(o.then)) {
        for (const [a, why] of reach(o.then)) if (!found.has(a)) found.set(a, why);
      }
    }
    visiting.delete(p);
    memo.set(p, found);
    return found;
  };
  for (const o of orderings) {
    if (!inGraph(o.first) || !passable(o.then)) continue;
    for (const [a, why] of reach(o.then)) add(o.first, a, `${o.reason}, then ${why}`);
  }
  return out;
}
