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
 * `indexOf(a)`: the action's position in the graph (undefined = not in the graph); `size`: how
 * many actions the graph has. `passable(a)`: an action not in the graph that orderings may run
 * through (collective pseudo actions). Returns the graph's edges, each once: direct ones, then
 * `between` (edges between real actions known to differ from every other, as they are), then
 * ones found through passable actions (with the reason of the ordering that leaves the real action).
 */
export function edgesThroughPseudo<A, B = never>(
  orderings: readonly EdgeLike<A>[],
  indexOf: (a: A) => number | undefined,
  size: number,
  passable: (a: A) => boolean,
  between: readonly EdgeLike<B>[] = [],
): EdgeLike<A | B>[] {
  const out: EdgeLike<A | B>[] = [];
  // The edges kept so far, per first action: most have one (a number), a few many (a set). A
  // single set keyed fi * size + ti would hold numbers past the small-integer range, each boxed.
  const seen: (number | Set<number> | undefined)[] = new Array<number | Set<number> | undefined>(size);
  const add = (fi: number, first: A, ti: number, then: A, reason: string): void => {
    if (fi === ti) return;
    const thens = seen[fi];
    if (thens === undefined) seen[fi] = ti;
    else if (typeof thens === 'number') {
      if (thens === ti) return;
      seen[fi] = new Set([thens, ti]);
    } else {
      if (thens.has(ti)) return;
      thens.add(ti);
    }
    out.push({ first, then, reason });
  };
  const next = new Map<A, A[]>();
  for (const o of orderings) {
    const fi = indexOf(o.first);
    const ti = indexOf(o.then);
    if (fi !== undefined && ti !== undefined) add(fi, o.first, ti, o.then, o.reason);
    else if (fi === undefined && passable(o.first)) {
      const l = next.get(o.first);
      if (l) l.push(o.then);
      else next.set(o.first, [o.then]);
    }
  }
  // Edges known to differ from every other one (a runnable probe is the first of no ordering).
  for (const e of between) out.push(e);
  // Real actions reachable from a passable action through passable actions only (memoised).
  const memo = new Map<A, readonly A[]>();
  const visiting = new Set<A>();
  const reach = (p: A): readonly A[] => {
    const known = memo.get(p);
    if (known) return known;
    if (visiting.has(p)) return [];
    visiting.add(p);
    const found: A[] = [];
    const have = new Set<A>();
    for (const t of next.get(p) ?? []) {
      if (indexOf(t) !== undefined) {
        if (!have.has(t)) {
          have.add(t);
          found.push(t);
        }
      } else if (passable(t)) {
        for (const a of reach(t))
          if (!have.has(a)) {
            have.add(a);
            found.push(a);
          }
      }
    }
    visiting.delete(p);
    memo.set(p, found);
    return found;
  };
  for (const o of orderings) {
    const fi = indexOf(o.first);
    if (fi === undefined || indexOf(o.then) !== undefined || !passable(o.then)) continue;
    for (const a of reach(o.then)) add(fi, o.first, indexOf(a)!, a, `${o.reason} (through ${describe(o.then)})`);
  }
  return out;
}

function describe(a: unknown): string {
  const id = (a as { id?: unknown }).id;
  return typeof id === 'string' ? id : 'a pseudo action';
}
