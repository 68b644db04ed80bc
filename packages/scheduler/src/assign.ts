/**
 * Stage "assign": chooses a node (or none) for every primitive, in Pacemaker's order and with
 * Pacemaker's rules:
 *  - top-level resources in priority order (stable), each assigned with its dependencies first:
 *    a resource first assigns the primaries it is colocated with ("this with"), applies their
 *    placement to its own scores, then folds in the attenuated preferences of resources that
 *    are colocated with it ("with this", scaled by score/INFINITY, recursively);
 *  - groups assign their members in order (member N is colocated with member N-1);
 *  - the best node is the highest score, then the fewest assigned resources, then the current
 *    node, then the lowest name; a score below 0 or an unavailable node means "stopped".
 * The working tables are private to this stage; it returns the final, read-only assignment.
 */
import type { ResourceMeta, Role } from '@paceline/model';
import { assignClone as assignCloneWithPort, cloneSettings, colocateWithClone, rolePriorityDelta, type CloneAssignPort } from './clone/index.js';
import { INFINITY, NO_FENCING_DEVICE, addScores } from '@paceline/model';
import type { NodeView } from './nodes.js';
import { nodeAvailable } from './nodes.js';
import type { ResourceTree, Rsc } from './resources.js';
import { leaves } from './resources.js';
import type { UnpackResult } from './unpack.js';
import type { Coloc, ColocationIndex } from './colocations.js';
import { byDependent, byPrimary, insertSorted } from './colocations.js';
import { note, type ScoreBook } from './scores.js';
import { roleRank } from './roles.js';
import { newCapacityLedger, usageOf } from './capacity.js';

const INFINITY_HACK = INFINITY * -100;

export interface AssignOptions {
  readonly quorum: boolean;
  readonly noQuorumPolicy: 'stop' | 'freeze' | 'ignore' | 'demote' | 'suicide';
  readonly stopAll: boolean;
  /** Fencing is enabled but no fencing device exists: nothing is managed. */
  readonly unmanageAll: boolean;
  readonly defaults: ResourceMeta;
  readonly promotedLocations: readonly { readonly rsc: Rsc; readonly node: string; readonly score: number }[];
  readonly placementStrategy: 'default' | 'utilization' | 'minimal' | 'balanced';
}

export interface Assignment {
  /** Node per primitive id (null = stopped). */
  readonly node: ReadonlyMap<string, string | null>;
  /** Next role per primitive id. */
  readonly nextRole: ReadonlyMap<string, Role>;
  readonly nextRoleReason: ReadonlyMap<string, string>;
  /** Final score tables (after colocations) per primitive. */
  readonly scores: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** Primitives made unmanaged during assignment. */
  readonly unmanaged: ReadonlySet<string>;
}

type Table = Map<string, number>;

export function assignResources(
  tree: ResourceTree,
  nodes: readonly NodeView[],
  unpacked: UnpackResult,
  book: ScoreBook,
  colocs: ColocationIndex,
  opts: AssignOptions,
): Assignment {
  const nodeByName = new Map(nodes.map((n) => [n.name, n]));
  const tables = new Map<string, Table>();
  for (const [id, t] of book.tables) tables.set(id, new Map(t));
  // A clone's own weights (what other resources see when they take its preferences into account):
  // its first instance's starting scores without that instance's stickiness.
  for (const r of tree.byId.values()) {
    if (r.kind !== 'clone' || tables.has(r.id)) continue;
    const l = r.children[0] ? leaves(r.children[0])[0] : undefined;
    const base = l ? book.tables.get(l.id) : undefined;
    if (!l || !base) continue;
    const sticky = book.contributions.get(l.id);
    const t = new Map<string, number>();
    for (const [n, w] of base) t.set(n, w - (sticky?.get(n) ?? []).filter((c) => c.source === 'stickiness').reduce((a, c) => a + c.score, 0));
    tables.set(r.id, t);
  }
  const table = (r: Rsc): Table => {
    let t = tables.get(r.id);
    if (!t) {
      t = new Map();
      tables.set(r.id, t);
    }
    return t;
  };
  const provisional = new Set<Rsc>(tree.byId.values());
  const allocating = new Set<Rsc>();
  const merging = new Set<Rsc>();
  const assigned = new Map<Rsc, string | null>();
  const nextRole = new Map<string, Role>();
  const nextRoleReason = new Map<string, string>();
  const unmanaged = new Set<string>();
  const counts = new Map<string, number>();
  const thisWith = new Map<Rsc, Coloc[]>();
  const withThis = new Map<Rsc, Coloc[]>();
  for (const [r, l] of colocs.thisWith) thisWith.set(r, [...l]);
  for (const [r, l] of colocs.withThis) withThis.set(r, [...l]);
  const expanded = new Set<Rsc>();

  const status = (r: Rsc) => unpacked.resources.get(r.id);
  const runningOn = (r: Rsc): string[] => {
    if (r.kind === 'primitive') return [...(status(r)?.runningOn ?? [])];
    const out: string[] = [];
    for (const l of leaves(r)) for (const n of status(l)?.runningOn ?? []) if (!out.includes(n)) out.push(n);
    return out;
  };
  const currentNode = (r: Rsc): string | undefined => (r.kind === 'primitive' ? status(r)?.current : runningOn(r)[0]);
  const currentRole = (r: Rsc): Role => {
    if (r.kind === 'primitive') return status(r)?.role ?? 'Stopped';
    const first = leaves(r)[0];
    return first ? currentRole(first) : 'Stopped';
  };
  for (const p of tree.primitives) {
    const st = status(p);
    if (st?.nextRole) {
      nextRole.set(p.id, st.nextRole);
      if (st.nextRoleReason) nextRoleReason.set(p.id, st.nextRoleReason);
    }
  }
  const getNextRole = (r: Rsc): Role | undefined => {
    if (r.kind === 'primitive') return nextRole.get(r.id);
    const first = leaves(r)[0];
    return first ? getNextRole(first) : undefined;
  };
  const isManaged = (r: Rsc): boolean => !unmanaged.has(r.id) && (status(r)?.managed ?? r.meta.managed);

  const availableNodes = new Set(nodes.filter(nodeAvailable).map((n) => n.name));
  const available = (name: string, weight?: number): boolean => availableNodes.has(name) && (weight === undefined || weight >= 0);
  const anyAvailable = (t: Table): boolean => {
    for (const [n, w] of t) if (available(n, w)) return true;
    return false;
  };
  const attr = (node: string, attribute: string): string | undefined => nodeByName.get(node)?.attributes.get(attribute);
  const sameAttr = (a: string | undefined, b: string | undefined): boolean =>
    a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();

  // ---- utilization ---------------------------------------------------------------------------
  const strategy = opts.placementStrategy;
  const ledger = newCapacityLedger(nodes, strategy !== 'default');
  const usage = usageOf;
  const consume = ledger.consume;
  const compareCapacities = ledger.compare;
  const enoughCapacity = ledger.enough;
  /** The primitive and everything that must be colocated with it (mandatory colocations), unassigned. */
  const colocatedSet = (r: Rsc): Rsc[] => {
    const out: Rsc[] = [];
    const seen = new Set<Rsc>();
    const visit = (x: Rsc): void => {
      if (seen.has(x)) return;
      seen.add(x);
      if (x.kind !== 'primitive') {
        for (const l of leaves(x)) visit(l);
      } else out.push(x);
      for (const c of thisWith.get(x) ?? []) if (c.score >= INFINITY && c.primary !== r) visit(c.primary);
      for (const c of withThis.get(x) ?? []) if (c.score >= INFINITY && c.dependent !== r && !(x.kind === 'clone' && c.dependent.kind !== 'clone')) visit(c.dependent);
      if (x.parent?.kind === 'group') visit(x.parent);
    };
    visit(r);
    return out;
  };
  /** Bans nodes without room for the resource (and its colocated set); returns the node to prefer, if any. */
  const banInsufficientCapacity = (r: Rsc): string | undefined => {
    if (strategy === 'default') return undefined;
    const set = colocatedSet(r);
    const need = new Map<string, number>();
    for (const x of set) {
      if (!provisional.has(x) && x !== r) continue;
      for (const [k, v] of Object.entries(usage(x))) need.set(k, (need.get(k) ?? 0) + v);
    }
    const t = table(r);
    let anyCapable = false;
    let mostCapable: string | undefined;
    for (const [n, w] of t) {
      if (!available(n, w)) continue;
      if (enoughCapacity(n, need)) anyCapable = true;
      if (mostCapable === undefined || compareCapacities(n, mostCapable) < 0) mostCapable = n;
    }
    const own = new Map(Object.entries(usage(r)));
    for (const [n, w] of [...t]) {
      if (!available(n, w)) continue;
      if (!enoughCapacity(n, anyCapable ? need : own)) {
        t.set(n, addScores(w, -INFINITY));
        note(book, r.id, n, 'banned: not enough capacity (utilization)', -INFINITY);
      }
    }
    return anyCapable ? undefined : mostCapable;
  };

  // ---- node choice -------------------------------------------------------------------------
  const sortedNodes = (t: Table, active: string | undefined): [string, number][] =>
    [...t.entries()].sort(([an, aw], [bn, bw]) => {
      const x = available(an) ? aw : -INFINITY;
      const y = available(bn) ? bw : -INFINITY;
      if (x !== y) return x > y ? -1 : 1;
      if (strategy === 'minimal') return an < bn ? -1 : an > bn ? 1 : 0;
      if (strategy === 'balanced') {
        const cap = compareCapacities(an, bn);
        if (cap !== 0) return cap < 0 ? -1 : 1;
      }
      const ca = counts.get(an) ?? 0;
      const cb = counts.get(bn) ?? 0;
      if (ca !== cb) return ca < cb ? -1 : 1;
      if (active !== undefined) {
        if (an === active) return -1;
        if (bn === active) return 1;
      }
      return an < bn ? -1 : an > bn ? 1 : 0;
    });

  const finalize = (r: Rsc, chosen: string | null, force: boolean, reason = 'node availability'): boolean => {
    if (!force && chosen !== null) {
      const w = table(r).get(chosen) ?? -INFINITY;
      if (w < 0 || !available(chosen)) {
        nextRole.set(r.id, 'Stopped');
        nextRoleReason.set(r.id, reason);
        chosen = null;
      }
    }
    const old = assigned.get(r);
    if (old) {
      counts.set(old, (counts.get(old) ?? 1) - 1);
      consume(old, r, 1);
    }
    provisional.delete(r);
    if (chosen === null) {
      assigned.set(r, null);
      nextRole.set(r.id, 'Stopped');
      if (!nextRoleReason.has(r.id)) nextRoleReason.set(r.id, 'unable to allocate');
      return false;
    }
    assigned.set(r, chosen);
    counts.set(chosen, (counts.get(chosen) ?? 0) + 1);
    consume(chosen, r, -1);
    return true;
  };

  const assignBestNode = (r: Rsc, preferred?: string): boolean => {
    const mostFree = banInsufficientCapacity(r);
    const prefer = preferred ?? mostFree;
    if (!provisional.has(r)) return assigned.get(r) != null;
    const running = currentNode(r);
    const nodesSorted = sortedNodes(table(r), running);
    const best = nodesSorted[0];
    let chosen: string | null = null;
    if (prefer !== undefined && best) {
      const pw = table(r).get(prefer);
      if (pw !== undefined && pw >= best[1] && available(prefer, pw)) return finalize(r, prefer, false);
    }
    if (best) {
      chosen = best[0];
      const unique = r.instance !== undefined && r.parent?.clone?.meta.globallyUnique;
      if (!unique && best[1] > 0 && available(best[0]) && running !== undefined && available(running, table(r).get(running))) {
        for (const [n, w] of nodesSorted.slice(1)) {
          if (w !== best[1]) break;
          if (n === running) chosen = n;
        }
      }
    }
    return finalize(r, chosen, false);
  };

  // Contribution labels are built once per colocation (not per node).
  const colocLabels = new Map<Coloc, Map<Rsc, string>>();
  const colocLabel = (c: Coloc, primary: Rsc): string => {
    let m = colocLabels.get(c);
    if (!m) colocLabels.set(c, (m = new Map()));
    let l = m.get(primary);
    if (l === undefined) m.set(primary, (l = `colocation ${c.id} with ${primary.id}`));
    return l;
  };
  const prefLabels = new Map<Coloc, string>();
  const prefLabel = (c: Coloc): string => {
    let l = prefLabels.get(c);
    if (l === undefined) prefLabels.set(c, (l = `preferences of ${c.dependent.id} (colocated with it by ${c.id})`));
    return l;
  };

  // ---- colocation application ---------------------------------------------------------------
  const affects = (dependent: Rsc, primary: Rsc, c: Coloc, preview: boolean): 'nothing' | 'location' | 'role' => {
    if (!preview && provisional.has(primary)) return 'nothing';
    if (c.dependentRole !== undefined && roleRank(c.dependentRole) >= roleRank('Unpromoted') && dependent.parent?.clone?.promotable && !provisional.has(dependent)) return 'role';
    if (!preview && !provisional.has(dependent)) return 'nothing';
    const dNext = getNextRole(dependent) ?? 'Unknown';
    const pNext = getNextRole(primary) ?? 'Unknown';
    if (c.score > 0 && c.dependentRole !== undefined && c.dependentRole !== dNext) return 'nothing';
    if (c.score > 0 && c.primaryRole !== undefined && c.primaryRole !== pNext) return 'nothing';
    if (c.score < 0 && c.dependentRole !== undefined && c.dependentRole === dNext) return 'nothing';
    if (c.score < 0 && c.primaryRole !== undefined && c.primaryRole === pNext) return 'nothing';
    return 'location';
  };

  /** Nodes the primary ended up on (a clone: every instance's node). */
  const primaryNodes = (p: Rsc): string[] => {
    if (p.kind === 'clone') {
      const out: string[] = [];
      for (const child of p.children) for (const l of leaves(child).slice(0, 1)) {
        const n = assigned.get(l);
        if (n) out.push(n);
      }
      return out;
    }
    const n = assigned.get(p);
    return n ? [n] : [];
  };

  const applyColocToWeights = (dependent: Rsc, primary: Rsc, c: Coloc): void => {
    const attribute = c.nodeAttribute;
    const pNodes = primaryNodes(primary);
    if (pNodes.length === 0 && c.score < 0) return;
    const values = pNodes.map((n) => attr(n, attribute));
    const work = new Map(table(dependent));
    for (const [node, w] of work) {
      let next = w;
      if (pNodes.length === 0) next = addScores(-c.score, w);
      else if (values.some((v) => sameAttr(attr(node, attribute), v))) {
        if (c.score < INFINITY) next = addScores(c.score, w);
      } else if (c.score >= INFINITY) next = addScores(-c.score, w);
      work.set(node, next);
    }
    if (c.score <= -INFINITY || c.score >= INFINITY || anyAvailable(work)) {
      for (const [node, w] of work) {
        const old = table(dependent).get(node)!;
        if (w !== old) note(book, dependent.id, node, colocLabel(c, primary), w <= -INFINITY ? -INFINITY : w - old);
      }
      tables.set(dependent.id, work);
    }
  };

  /** Apply colocation `c` (dependent with primary) to the dependent's scores. */
  const applyColocScore = (dependent: Rsc, primary: Rsc, c: Coloc, forDependent: boolean): void => {
    if (forDependent) {
      if (dependent.kind === 'group') {
        const first = dependent.children[0];
        if (first) applyColocScore(first, primary, c, true);
        return;
      }
      if (dependent.kind === 'clone') {
        for (const child of dependent.children) applyColocScore(child, primary, c, true);
        return;
      }
      applyColocScore(dependent, primary, c, false);
      return;
    }
    if (primary.kind === 'group') {
      if (provisional.has(primary)) return;
      const member = c.score >= INFINITY ? primary.children[primary.children.length - 1] : primary.children[0];
      if (member) applyColocScore(dependent, member, c, false);
      return;
    }
    if (primary.kind === 'clone') {
      if (provisional.has(primary) || !provisional.has(dependent)) return;
      applyColocWithClone(dependent, primary, c);
      return;
    }
    const effect = affects(dependent, primary, c, false);
    if (effect === 'location') applyColocToWeights(dependent, primary, c);
  };

  /** Colocation with a clone (clone module semantics: roles, interleave, mandatory/advisory). */
  const applyColocWithClone = (dependent: Rsc, primary: Rsc, c: Coloc): void => {
    const depClone = c.dependent.kind === 'clone' ? c.dependent : undefined;
    const effect = colocateWithClone({
      score: c.score, nodeAttribute: c.nodeAttribute, primaryRole: c.primaryRole, dependentRole: c.dependentRole,
      primaryPromotable: primary.clone?.promotable ?? false,
      interleave: depClone !== undefined && (depClone.clone?.meta.interleave ?? false),
      instances: primary.children.map((inst) => {
        const l = leaves(inst)[0]!;
        const n = assigned.get(l) ?? null;
        return { node: n, role: nextRole.get(l.id) ?? 'Started', blocked: status(l)?.blocked ?? false, weight: n === null ? 0 : table(l).get(n) ?? 0 };
      }),
      dependentTable: table(dependent), attr: (n, a) => attr(n, a), available: (n) => available(n),
    });
    if (effect.kind === 'table') {
      for (const [node, w] of effect.table) {
        const old = table(dependent).get(node);
        if (old !== undefined && w !== old) note(book, dependent.id, node, colocLabel(c, primary), w <= -INFINITY ? -INFINITY : w - old);
      }
      tables.set(dependent.id, effect.table);
    } else if (effect.kind === 'instance') {
      const inst = primary.children[effect.index]!;
      applyColocScore(dependent, leaves(inst)[0]!, c, false);
    } else if (effect.kind === 'stop') {
      for (const [node] of table(dependent)) table(dependent).set(node, -INFINITY);
      note(book, dependent.id, '*', `colocation ${c.id}: no instance of ${primary.id} to pair with`, -INFINITY);
    }
  };

  const bestScoreMatching = (r: Rsc, attribute: string, value: string | undefined): number => {
    if (attribute === '#uname' && value !== undefined) {
      // Node names are unique: the only matching node is the one with that name.
      const w = table(r).get(value);
      return w !== undefined && available(value) ? w : -INFINITY;
    }
    let best = -INFINITY;
    for (const [n, w] of table(r)) {
      if (w > best && available(n) && sameAttr(value, attr(n, attribute))) best = w;
    }
    return best;
  };

  const addScoresMatchingAttr = (nodes: Table, r: Rsc, attribute: string, factor: number, onlyPositive: boolean): void => {
    for (const [node, weight] of nodes) {
      const score = bestScoreMatching(r, attribute, attr(node, attribute));
      if (factor < 0 && score < 0) continue;
      if (weight === INFINITY_HACK) continue;
      const wf = Math.fround(Math.fround(factor) * Math.fround(score));
      let w = Math.trunc(wf < 0 ? wf - 0.5 : wf + 0.5);
      if (w === 0 && score !== 0) w = factor > 0 ? 1 : factor < 0 ? -1 : 0;
      const next = addScores(w, weight);
      if (onlyPositive && next < 0 && weight > 0) {
        nodes.set(node, INFINITY_HACK);
        continue;
      }
      if (onlyPositive && next < 0 && weight === 0) continue;
      nodes.set(node, next);
    }
  };

  const FLAG_THIS_WITH = 1;
  const FLAG_NONNEG = 2;
  const FLAG_ACTIVE = 4;

  /** Pacemaker's pcmk__add_colocated_node_scores; returns the new table or undefined (no change). */
  const addColocatedNodeScores = (r: Rsc, nodes: Table | undefined, attribute: string, factor: number, flags: number): Table | undefined => {
    if (merging.has(r)) return undefined;
    merging.add(r);
    let work: Table | undefined;
    if (r.kind === 'group') {
      if (r.children.length === 0) {
        merging.delete(r);
        return undefined;
      }
      const member = nodes === undefined ? r.children[r.children.length - 1]! : r.children[0]!;
      const start = nodes === undefined ? undefined : new Map(nodes);
      work = addColocatedNodeScores(member, start, attribute, factor, flags) ?? start ?? new Map();
    } else if (nodes === undefined) {
      work = new Map(table(r));
    } else {
      work = new Map(nodes);
      addScoresMatchingAttr(work, r, attribute, factor, (flags & FLAG_NONNEG) !== 0);
    }
    if (anyAvailable(work)) {
      const multiplier = factor < 0 ? -1 : 1;
      let list: readonly Coloc[];
      if (flags & FLAG_THIS_WITH) list = thisWith.get(r) ?? [];
      else if (r.kind === 'group') list = withThis.get(r.children[r.children.length - 1]!) ?? [];
      else list = withThis.get(r) ?? [];
      for (const c of list) {
        let other: Rsc;
        if (flags & FLAG_THIS_WITH) other = c.primary;
        else if (!hasInfluence(c)) continue;
        else other = c.dependent;
        const f = Math.fround(Math.fround(multiplier * c.score) / INFINITY);
        const next = addColocatedNodeScores(other, work, c.nodeAttribute, f, flags | FLAG_ACTIVE);
        if (next) work = next;
      }
    } else if (flags & FLAG_ACTIVE) {
      merging.delete(r);
      return undefined;
    }
    if (flags & FLAG_NONNEG) for (const [n, w] of work) if (w === INFINITY_HACK) work.set(n, 1);
    merging.delete(r);
    return work;
  };

  const hasInfluence = (c: Coloc): boolean => c.influence || runningOn(c.primary).length === 0;

  const applyThisWith = (r: Rsc, c: Coloc): void => {
    const archive = (c.dependentRole !== undefined && roleRank(c.dependentRole) >= roleRank('Promoted')) || (c.score < 0 && c.score > -INFINITY)
      ? new Map(table(r)) : undefined;
    assign(c.primary);
    applyColocScore(r, c.primary, c, true);
    if (archive && !anyAvailable(table(r))) tables.set(r.id, archive);
  };

  const applyWithThis = (r: Rsc, c: Coloc): void => {
    if (!hasInfluence(c)) return;
    const factor = Math.fround(c.score / INFINITY);
    const before = new Map(table(r));
    const next = addColocatedNodeScores(c.dependent, table(r), c.nodeAttribute, factor, FLAG_ACTIVE);
    if (next) {
      for (const [node, w] of next) {
        const old = before.get(node);
        if (old !== undefined && w !== old) note(book, r.id, node, prefLabel(c), w - old);
      }
      tables.set(r.id, next);
    }
  };

  // ---- variants -----------------------------------------------------------------------------
  const assignPrimitive = (r: Rsc, prefer?: string): string | null => {
    if (r.parent && !allocating.has(r.parent) && provisional.has(r.parent)) assign(r.parent);
    if (!provisional.has(r)) return assigned.get(r) ?? null;
    if (allocating.has(r)) return null;
    allocating.add(r);
    for (const c of [...(thisWith.get(r) ?? [])]) applyThisWith(r, c);
    for (const c of [...(withThis.get(r) ?? [])]) applyWithThis(r, c);
    const nr = nextRole.get(r.id);
    if (nr === 'Stopped') {
      const t = table(r);
      for (const n of nodes) {
        t.set(n.name, addScores(t.get(n.name) ?? -INFINITY, -INFINITY));
        note(book, r.id, n.name, `banned: ${nextRoleReason.get(r.id) ?? 'target-role'} (role Stopped)`, -INFINITY);
      }
    } else if (nr !== undefined && roleRank(nr) > roleRank(currentRole(r)) && !opts.quorum && opts.noQuorumPolicy === 'freeze') {
      nextRole.set(r.id, currentRole(r));
      nextRoleReason.set(r.id, 'no-quorum-policy=freeze');
    }
    if (opts.unmanageAll) {
      unmanaged.add(r.id);
      // The cause `explain` prints, instead of "unable to allocate" next to a fine score.
      if (!nextRoleReason.has(r.id)) nextRoleReason.set(r.id, `unmanaged: ${NO_FENCING_DEVICE}`);
    }
    if (!isManaged(r)) {
      if (!nextRole.has(r.id)) nextRole.set(r.id, currentRole(r));
      finalize(r, currentNode(r) ?? null, true);
    } else if (opts.stopAll) {
      finalize(r, null, true, 'stop-all-resources');
    } else {
      assignBestNode(r, prefer);
    }
    allocating.delete(r);
    return assigned.get(r) ?? null;
  };

  const expandGroupColocations = (g: Rsc): void => {
    if (expanded.has(g) || g.children.length === 0) return;
    expanded.add(g);
    const first = g.children[0]!;
    const own = thisWith.get(g) ?? [];
    const fl = thisWith.get(first) ?? [];
    for (const c of own) insertSorted(fl, c, byPrimary);
    thisWith.set(first, fl);
    let anyUnmanaged = !isManaged(first);
    for (const m of g.children.slice(1)) {
      if (anyUnmanaged) {
        const ml = thisWith.get(m) ?? [];
        for (const c of own) if (c.score >= INFINITY) insertSorted(ml, c, byPrimary);
        thisWith.set(m, ml);
      } else if (!isManaged(m)) anyUnmanaged = true;
    }
    thisWith.set(g, []);
    const last = g.children[g.children.length - 1]!;
    const ll = withThis.get(last) ?? [];
    for (const c of withThis.get(g) ?? []) insertSorted(ll, c, byDependent);
    withThis.set(last, ll);
    withThis.set(g, []);
  };

  const assignGroup = (g: Rsc, prefer?: string): string | null => {
    if (!provisional.has(g)) return assigned.get(g) ?? null;
    if (allocating.has(g)) return null;
    if (g.children.length === 0) {
      provisional.delete(g);
      return null;
    }
    allocating.add(g);
    expandGroupColocations(g);
    let first: string | null | undefined;
    for (const m of g.children) {
      const n = assign(m, prefer);
      if (first === undefined) first = n;
    }
    allocating.delete(g);
    provisional.delete(g);
    assigned.set(g, first ?? null);
    return first ?? null;
  };

  /** Clone assignment through the clone module's port (distribution, node limits, roles). */
  const assignClone = (cl: Rsc): string | null => {
    if (!provisional.has(cl) || allocating.has(cl)) return null;
    allocating.add(cl);
    // The clone's own colocations apply to each instance as it is placed (after the earlier
    // instances took their nodes), like Pacemaker's parent colocations: mandatory and negative ones
    // always, advisory ones only when the clone cannot run on every available node; a role
    // colocation that would leave an instance nowhere is reverted.
    const settings = cloneSettings(cl.clone!, nodes.length, opts.defaults);
    for (const c of [...(thisWith.get(cl) ?? [])]) assign(c.primary);
    const allColoc = settings.cloneMax < nodes.filter(nodeAvailable).length;
    const deferred = [...(thisWith.get(cl) ?? [])].filter((c) => allColoc || c.score < 0 || c.score >= INFINITY);
    const deferredDone = new Set<Rsc>();
    const applyParentColoc = (r: Rsc, c: Coloc): void => {
      const l = leaves(r)[0]!;
      const archive = (c.dependentRole !== undefined && roleRank(c.dependentRole) >= roleRank('Promoted')) || (c.score < 0 && c.score > -INFINITY)
        ? new Map(table(l)) : undefined;
      applyColocScore(r, c.primary, c, true);
      if (archive && !anyAvailable(table(l))) tables.set(l.id, archive);
    };
    const first = (r: Rsc): Rsc => leaves(r)[0]!;
    const baseLeaf = cl.children[0] ? first(cl.children[0]) : undefined;
    const cloneBase = new Map<string, number>();
    if (baseLeaf) {
      const t = book.tables.get(baseLeaf.id) ?? new Map<string, number>();
      const sticky = book.contributions.get(baseLeaf.id);
      for (const [n, w] of t) {
        const st = (sticky?.get(n) ?? []).filter((c) => c.source === 'stickiness').reduce((a, c) => a + c.score, 0);
        cloneBase.set(n, w - st);
      }
    }
    // Dependents' preferences fold into the clone's own scores, never making a node negative.
    for (const c of [...(withThis.get(cl) ?? [])]) {
      if (!hasInfluence(c)) continue;
      const before = new Map(cloneBase);
      const next = addColocatedNodeScores(c.dependent, cloneBase, c.nodeAttribute, Math.fround(c.score / INFINITY), FLAG_ACTIVE | FLAG_NONNEG);
      if (!next) continue;
      for (const [n, w] of next) {
        cloneBase.set(n, w);
        const delta = w - (before.get(n) ?? 0);
        // Instances take the dependents' preferences only when the clone cannot cover every
        // available node, or for anti-colocations (Pacemaker's parent colocations).
        if (delta === 0 || !before.has(n) || !(allColoc || c.score < 0)) continue;
        for (const child of cl.children) for (const l of leaves(child)) {
          const t = table(l);
          const old = t.get(n);
          if (old === undefined) continue;
          t.set(n, addScores(old, delta));
          note(book, l.id, n, `preferences of ${c.dependent.id} (colocated with ${cl.id} by ${c.id})`, delta);
        }
      }
    }
    const port: CloneAssignPort<Rsc> = {
      settings,
      instances: cl.children,
      nodes: nodes.map((n) => ({ name: n.name, available: nodeAvailable(n) })),
      instanceId: (r) => r.id,
      instanceNumber: (r) => r.instance ?? 0,
      orphan: (r) => r.orphan,
      runningOn: (r) => runningOn(r),
      failed: (r) => leaves(r).some((l) => status(l)?.failed ?? false),
      managed: (r) => isManaged(first(r)),
      priority: (r) => r.meta.priority,
      size: (r) => leaves(r).length,
      currentRole: (r) => currentRole(r),
      roleLimit: (r) => {
        const nr = nextRole.get(first(r).id);
        return nr === 'Stopped' || nr === 'Unpromoted' ? nr : undefined;
      },
      cloneScores: () => cloneBase,
      instanceScores: (r) => table(first(r)),
      addInstanceScore: (r, node, score, reason) => {
        for (const l of leaves(r)) {
          const t = table(l);
          t.set(node, addScores(t.get(node) ?? 0, score));
          note(book, l.id, node, reason, score);
        }
      },
      limitInstanceScore: (r, node, score, reason) => {
        for (const l of leaves(r)) {
          const t = table(l);
          const old = t.get(node);
          if (old !== undefined && old > score) {
            t.set(node, score);
            note(book, l.id, node, `banned: ${reason}`, score);
          }
        }
      },
      assign: (r, prefer) => {
        if (prefer !== undefined) {
          const t = table(first(r));
          let best = -INFINITY;
          for (const [n, w] of t) if (available(n) && w > best) best = w;
          const pw = t.get(prefer);
          if (pw === undefined || pw < best || !available(prefer, pw)) return null;
        }
        if (deferred.length && !deferredDone.has(r)) {
          deferredDone.add(r);
          for (const c of deferred) applyParentColoc(r, c);
        }
        return assign(r, prefer);
      },
      stop: (r, reason) => {
        for (const l of leaves(r)) {
          nextRoleReason.set(l.id, reason);
          finalize(l, null, true, reason);
        }
        provisional.delete(r);
      },
      setNextRole: (r, role, reason) => {
        for (const l of leaves(r)) {
          if (nextRole.get(l.id) === 'Stopped' && role !== 'Stopped') continue;
          nextRole.set(l.id, role);
          nextRoleReason.set(l.id, reason);
        }
      },
      nodeAttribute: (node, name) => attr(node, name),
      historyName: (id) => unpacked.cloneNames?.get(id),
      replicaReport: (r, node) => {
        const on = (l: Rsc) => unpacked.reports?.get(l.id)?.get(node);
        // An anonymous clone's instances are interchangeable: the one placed on a node may not be the one whose history is there.
        const report = leaves(r).map(on).find((x) => x?.replica) ?? (settings.unique ? undefined : cl.children.flatMap(leaves).map(on).find((x) => x?.replica));
        if (!report?.replica) return undefined;
        const source = nodes.find((n) => n.name === report.replica!.source);
        return { report, replica: report.replica, sourceUp: source !== undefined && source.online && !source.unclean };
      },
      colocationScoreOnCurrent: (_r, node) => {
        // Pacemaker's cmp_instance_by_colocation: the clone's colocations evaluated on that node.
        let t: Table = new Map([[node, 0]]);
        for (const c of thisWith.get(cl) ?? []) {
          const next = addColocatedNodeScores(c.primary, t, c.nodeAttribute, Math.fround(c.score / INFINITY), 0);
          if (next) t = next;
        }
        for (const c of withThis.get(cl) ?? []) {
          if (!hasInfluence(c)) continue;
          const next = addColocatedNodeScores(c.dependent, t, c.nodeAttribute, Math.fround(c.score / INFINITY), FLAG_NONNEG);
          if (next) t = next;
        }
        return t.get(node) ?? 0;
      },
      adjustPromotionWeights: (weights) => {
        // Pacemaker's promotion sort: resources colocated with the Promoted role pull (only-positive
        // merge); Promoted-role colocations of the clone with others pull toward their primaries.
        let w: Table = new Map(weights);
        for (const c of thisWith.get(cl) ?? []) {
          if (c.dependentRole !== 'Promoted' || c.primary.kind === 'clone') continue;
          const next = addColocatedNodeScores(c.primary, w, c.nodeAttribute, Math.fround(c.score / INFINITY), c.score >= INFINITY ? 0 : FLAG_ACTIVE);
          if (next) w = next;
        }
        for (const c of withThis.get(cl) ?? []) {
          if (c.primaryRole !== 'Promoted' || c.dependent.kind === 'clone' || !hasInfluence(c)) continue;
          const next = addColocatedNodeScores(c.dependent, w, c.nodeAttribute, Math.fround(c.score / INFINITY), FLAG_ACTIVE | FLAG_NONNEG);
          if (next) w = next;
        }
        return w;
      },
      dependentColocationPriority: (r, node) => {
        let delta = 0;
        for (const c of [...(thisWith.get(cl) ?? []), ...leaves(r).flatMap((l) => thisWith.get(l) ?? [])]) {
          if (c.dependentRole !== 'Promoted' && c.dependentRole !== 'Unpromoted') continue;
          const pn = c.primary.kind === 'clone' && c.primaryRole !== undefined
            ? c.primary.children.map((i) => leaves(i)[0]!).filter((l) => assigned.get(l) && (nextRole.get(l.id) ?? 'Started') === c.primaryRole).map((l) => assigned.get(l)!)
            : primaryNodes(c.primary);
          const d = rolePriorityDelta({ score: c.score, dependentRole: c.dependentRole, node, primaryNodes: pn, nodeAttribute: c.nodeAttribute, attr });
          if (d <= -INFINITY) return -INFINITY;
          delta = addScores(delta, d);
        }
        return delta;
      },
      knownOn: (r) => new Set(leaves(r).flatMap((l) => [...(status(l)?.knownOn ?? [])])),
      promotedLocationScore: (node) => opts.promotedLocations.filter((p) => p.rsc === cl && p.node === node).reduce((a, p) => addScores(a, p.score), 0),
      freezeNoQuorum: !opts.quorum && opts.noQuorumPolicy === 'freeze',
      cloneManaged: cl.meta.managed,
    };
    assignCloneWithPort(port);
    allocating.delete(cl);
    provisional.delete(cl);
    return null;
  };

  function assign(r: Rsc, prefer?: string): string | null {
    switch (r.kind) {
      case 'primitive': return assignPrimitive(r, prefer);
      case 'group': return assignGroup(r, prefer);
      case 'clone': return assignClone(r);
    }
  }

  let order = [...tree.top].sort((a, b) => b.meta.priority - a.meta.priority || a.index - b.index);
  if (strategy !== 'default') order = sortForUtilization(order);
  for (const r of order) assign(r);

  /** Pacemaker's cmp_resources: priority, then score on the current node, then scores node by node. */
  function sortForUtilization(list: Rsc[]): Rsc[] {
    const nodeOrder = sortedNodes(new Map(nodes.map((n) => [n.name, 0])), undefined).map(([n]) => n);
    const weights = new Map<Rsc, Table>();
    for (const r of list) weights.set(r, addColocatedNodeScores(r, undefined, '#uname', 1, FLAG_THIS_WITH) ?? new Map());
    const w = (r: Rsc, n: string | undefined): number => (n === undefined ? -INFINITY : weights.get(r)!.get(n) ?? -INFINITY);
    return [...list].sort((a, b) => {
      if (a.meta.priority !== b.meta.priority) return a.meta.priority > b.meta.priority ? -1 : 1;
      const wa = w(a, currentNode(a));
      const wb = w(b, currentNode(b));
      if (wa !== wb) return wa > wb ? -1 : 1;
      for (const n of nodeOrder) {
        const x = w(a, n);
        const y = w(b, n);
        if (x !== y) return x > y ? -1 : 1;
      }
      return 0;
    });
  }

  const nodeOut = new Map<string, string | null>();
  const roleOut = new Map<string, Role>();
  for (const p of tree.primitives) {
    const n = assigned.get(p) ?? null;
    nodeOut.set(p.id, n);
    let nr = nextRole.get(p.id) ?? (n === null ? 'Stopped' : 'Started');
    // no-quorum-policy=demote: active promotable instances may stay, but not promoted.
    const role = currentRole(p);
    if (!opts.quorum && opts.noQuorumPolicy === 'demote' && nr === 'Promoted' && (role === 'Promoted' || role === 'Unpromoted')) nr = 'Unpromoted';
    roleOut.set(p.id, nr);
  }
  const scores = new Map<string, ReadonlyMap<string, number>>();
  for (const p of tree.primitives) scores.set(p.id, tables.get(p.id) ?? new Map());
  return { node: nodeOut, nextRole: roleOut, nextRoleReason, scores, unmanaged };
}
