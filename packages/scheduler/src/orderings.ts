/**
 * Stage "orderings": the ordering edges between actions (stop before start, group member
 * chains, order constraints with their symmetrical inverse, fencing before recovery, probes
 * before starts) and the propagation of "required" and "unrunnable" along them until nothing
 * changes (Pacemaker's update_action machinery): a required first action makes a then action
 * required (implies-then), a required then action makes its first required (implies-first),
 * an unrunnable first start makes the then action unrunnable (runnable-left), and a restart
 * ordering keeps a stop with its start.
 */
import type { ClusterConfig, OrderConstraint } from '@paceline/model';
import { INFINITY } from '@paceline/model';
import type { Action, ActionSet } from './actions.js';
import { actionKey, copyActionSet } from './actions.js';
import type { ResourceTree, Resource } from './resources.js';
import { leaves, needsFencing } from './resources.js';
import type { ColocationIndex } from './colocations.js';
import { expandOrderSets, type SetOrdering } from './ordersets.js';
import { COLLECTIVE_FIRST_TASK, interleaveApplies, interleavePairs, memberTaskOf, promotableInternalOrderings, type OrderKind } from './clone/index.js';

export const F_OPTIONAL = 1;
export const F_IMPLIES_THEN = 2;
export const F_IMPLIES_FIRST = 4;
export const F_RUNNABLE_LEFT = 8;
export const F_RESTART = 16;
export const F_ASYMMETRICAL = 32;
/** 'then' (a one-or-more point) is runnable when any of its firsts is. */
export const F_ONE_OR_MORE = 64;

export interface Ordering {
  readonly first: Action;
  readonly then: Action;
  readonly flags: number;
  readonly reason: string;
}

const COLLECTIVE_FIRST: Readonly<Record<string, string>> = COLLECTIVE_FIRST_TASK;

/**
 * Stage "orderings": the ordering edges of the configuration, groups and clones between the
 * actions. Returns a new action set (a copy: one-or-more points added, interleaved instances
 * without a partner made unrunnable) with the orderings between its actions.
 */
export function buildOrderings(
  config: ClusterConfig,
  tree: ResourceTree,
  created: ActionSet,
  unpackedRole: ReadonlyMap<string, string>,
): { actions: ActionSet; orderings: Ordering[] } {
  const { actions } = copyActionSet(created);
  const out: Ordering[] = [];
  const find = (r: Resource, task: string, node?: string): Action[] => {
    const l = actions.byRsc.get(r.id) ?? [];
    return l.filter((a) => a.task === task && a.interval === 0 && (node === undefined || a.node === node));
  };
  const order = (firsts: Action[], thens: Action[], flags: number, reason: string): void => {
    for (const f of firsts) for (const t of thens) if (f !== t) out.push({ first: f, then: t, flags, reason });
  };
  const rscActions = (r: Resource, task: string, asFirst: boolean): Action[] => {
    if (r.kind === 'primitive') return find(r, task);
    const t = asFirst ? (COLLECTIVE_FIRST[task] ?? task) : task;
    return find(r, t);
  };

  /**
   * The "first" actions of a user ordering; a primitive without that action gets a node-less
   * one (which cannot run), except a stop of a stopped resource (Pacemaker's rsc_order_first).
   */
  const firstActionsFor = (r: Resource, task: string): Action[] => {
    const found = rscActions(r, task, true);
    if (found.length || r.kind !== 'primitive') return found;
    const active = (unpackedRole.get(r.id) ?? 'Stopped') !== 'Stopped';
    if (task === 'stop' && !active) return [];
    if (task === 'demote' && unpackedRole.get(r.id) !== 'Promoted') return [];
    const a: Action = {
      id: actionKey(r.id, task, undefined),
      task,
      rsc: r,
      node: undefined,
      interval: 0,
      optional: true,
      runnable: false,
      pseudo: false,
      reason: undefined,
    };
    actions.list.push(a);
    actions.byKey.set(a.id, a);
    const l = actions.byRsc.get(r.id) ?? [];
    l.push(a);
    actions.byRsc.set(r.id, l);
    return [a];
  };

  // Primitive internals and fencing.
  for (const p of tree.primitives) {
    order(find(p, 'stop'), find(p, 'start'), F_OPTIONAL | F_IMPLIES_THEN | F_RESTART, `${p.id}: stop before start`);
    order(find(p, 'demote'), find(p, 'stop'), 0, `${p.id}: demote before stop`);
    order(find(p, 'start'), find(p, 'promote'), F_RUNNABLE_LEFT, `${p.id}: start before promote`);
    const notRunning = (actions.running.get(p.id) ?? []).length === 0;
    for (const probe of find(p, 'probe'))
      // Probes only matter to propagation when they cannot run; otherwise they are graph edges only.
      if (!probe.runnable && notRunning) order([probe], find(p, 'start'), F_OPTIONAL | F_RUNNABLE_LEFT, `${p.id}: probe before start`);
    for (const stop of find(p, 'stop')) {
      const f = stop.node ? actions.fencing.get(stop.node) : undefined;
      if (f && needsFencing(p)) order([f], [stop], 0, `fencing ${stop.node} implies ${p.id} is stopped`);
    }
    const unf = actions.unfencings.get(find(p, 'start')[0]?.node ?? '');
    if (unf && (p.isFencing || p.meta.requires === 'unfencing')) order([unf], find(p, 'start'), F_OPTIONAL, `unfence before ${p.id} starts`);
    if (needsFencing(p))
      for (const f of actions.fencing.values()) order([f], [...find(p, 'start'), ...find(p, 'promote')], F_OPTIONAL, `${p.id} starts after fencing`);
  }
  // Groups and clones.
  for (const g of tree.byId.values()) {
    if (g.kind === 'primitive') continue;
    const [gStart, gRunning, gStop, gStopped] = ['start', 'running', 'stop', 'stopped'].map((t) => find(g, t));
    g.children.forEach((m, i) => {
      const mStart = rscActions(m, 'start', false);
      const mStop = rscActions(m, 'stop', false);
      const mRunning = rscActions(m, 'start', true);
      const mStopped = rscActions(m, 'stop', true);
      order(gStop!, mStop, 0, `${g.id} stop`);
      order(mStopped, gStopped!, g.kind === 'group' && i === 0 ? F_IMPLIES_THEN : 0, `${g.id} stopped`);
      order(gStart!, mStart, 0, `${g.id} start`);
      order(mRunning, gRunning!, F_RUNNABLE_LEFT | F_IMPLIES_THEN, `${g.id} running`);
      if (g.kind === 'group' && g.ordered === false) {
        order(gStart!, mStart, F_IMPLIES_THEN | F_RUNNABLE_LEFT, `${g.id} start (unordered group)`);
      } else if (g.kind === 'group' && i > 0) {
        const prev = g.children[i - 1]!;
        order(rscActions(prev, 'start', true), mStart, F_IMPLIES_THEN | F_RUNNABLE_LEFT, `group ${g.id}: ${prev.id} starts before ${m.id}`);
        order(rscActions(m, 'stop', true), rscActions(prev, 'stop', false), F_OPTIONAL | F_RESTART, `group ${g.id}: ${m.id} stops before ${prev.id}`);
      }
    });
  }
  // Promotable clones: promote/demote pseudo actions around the instances' (clone module rules).
  const KIND_FLAGS: Record<OrderKind, number> = {
    optional: F_OPTIONAL,
    'runnable-left': F_RUNNABLE_LEFT,
    'implies-then': F_IMPLIES_THEN,
    'implies-first': F_IMPLIES_FIRST,
  };
  for (const cl of tree.byId.values()) {
    if (cl.kind !== 'clone' || !cl.clone?.promotable) continue;
    for (const spec of promotableInternalOrderings(
      cl.id,
      cl.children.map((c) => c.id),
      cl.clone.meta.ordered ?? false,
    )) {
      const fr = tree.byId.get(spec.first.rsc);
      const tr = tree.byId.get(spec.then.rsc);
      if (!fr || !tr) continue;
      const flags = spec.kinds.reduce((acc, k) => acc | KIND_FLAGS[k], 0);
      order(
        fr === cl ? find(fr, spec.first.task) : rscActions(fr, spec.first.task, true),
        tr === cl ? find(tr, spec.then.task) : rscActions(tr, spec.then.task, false),
        flags,
        spec.reason,
      );
    }
  }
  // Order constraints.
  for (const c of config.constraints) {
    if (c.type !== 'order') continue;
    if (c.sets !== undefined) {
      for (const spec of expandOrderSets(c, tree)) addSetOrdering(spec);
      continue;
    }
    for (const [first, then] of orderPairs(c, tree)) addConstraint(c, first, then);
  }

  function addSetOrdering(spec: SetOrdering): void {
    let flags = F_OPTIONAL;
    if (spec.kind === 'Mandatory') {
      if (spec.symmetry === 'asymmetric') flags |= F_ASYMMETRICAL;
      else if (spec.symmetry === 'inverse') flags |= F_IMPLIES_FIRST;
      else {
        flags |= F_IMPLIES_THEN;
        if (spec.thenAction === 'start' || spec.thenAction === 'promote') flags |= F_RUNNABLE_LEFT;
      }
    } else if (spec.kind === 'Serialize') flags = 0;
    const thens = rscActions(spec.then, spec.thenAction, false);
    if (spec.anyOf === undefined) {
      order(firstActionsFor(spec.first, spec.firstAction), thens, flags, spec.reason);
      return;
    }
    let point = actions.byKey.get(spec.anyOf);
    if (!point) {
      point = {
        id: spec.anyOf,
        task: 'one-or-more',
        rsc: undefined,
        node: undefined,
        interval: 0,
        optional: true,
        runnable: true,
        pseudo: true,
        reason: undefined,
      };
      actions.list.push(point);
      actions.byKey.set(point.id, point);
    }
    order(firstActionsFor(spec.first, spec.firstAction), [point], F_ONE_OR_MORE, spec.reason);
    order([point], thens, flags | F_RUNNABLE_LEFT, spec.reason);
  }

  function addConstraint(c: OrderConstraint, first: Resource, then: Resource): void {
    const firstAction = c.firstAction;
    const thenAction = c.thenAction ?? firstAction;
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
    // clone-min (or the deprecated require-all=false, i.e. clone-min 1) on the first clone: "then"
    // may run once that many instances can (Pacemaker's clone_min_ordering).
    const cloneMin = first.kind === 'clone' ? (first.clone?.meta.cloneMin ?? (c.requireAll === false ? 1 : 0)) : 0;
    if (cloneMin > 0) {
      const key = `clone-one-or-more:${c.id}`;
      let point = actions.byKey.get(key);
      if (!point) {
        point = {
          id: key,
          task: 'one-or-more',
          rsc: undefined,
          node: undefined,
          interval: 0,
          optional: true,
          runnable: true,
          pseudo: true,
          reason: undefined,
          requiredFirsts: cloneMin,
        };
        actions.list.push(point);
        actions.byKey.set(point.id, point);
      }
      let firsts = 0;
      for (const child of first.children) {
        const fa = rscActions(child, firstAction, true);
        firsts += fa.length;
        order(fa, [point], F_ONE_OR_MORE, `order ${c.id} (clone-min ${cloneMin})`);
      }
      if (firsts < cloneMin) point.runnable = false;
      order([point], rscActions(then, thenAction, false), flags | F_RUNNABLE_LEFT, `order ${c.id}`);
      if (symmetrical && c.kind !== 'Serialize') {
        const inv = (a: string): string | undefined => (({ start: 'stop', stop: 'start', promote: 'demote', demote: 'promote' }) as Record<string, string>)[a];
        const fi = inv(thenAction);
        const ti = inv(firstAction);
        if (fi && ti)
          order(
            firstActionsFor(then, fi),
            rscActions(first, ti, false),
            F_OPTIONAL | (c.kind === 'Mandatory' ? F_IMPLIES_FIRST : 0),
            `order ${c.id} (inverse)`,
          );
      }
      return;
    }
    if (c.requireAll !== false && !first.clone?.meta.cloneMin && orderInterleaved(first, then, firstAction, thenAction, flags, `order ${c.id}`)) {
      if (symmetrical && c.kind !== 'Serialize') {
        const inv = (a: string): string | undefined => (({ start: 'stop', stop: 'start', promote: 'demote', demote: 'promote' }) as Record<string, string>)[a];
        const fi = inv(thenAction);
        const ti = inv(firstAction);
        if (fi && ti) orderInterleaved(then, first, fi, ti, F_OPTIONAL | (c.kind === 'Mandatory' ? F_IMPLIES_FIRST : 0), `order ${c.id} (inverse)`);
      }
      return;
    }
    order(firstActionsFor(first, firstAction), rscActions(then, thenAction, false), flags, `order ${c.id}`);
    if (symmetrical && c.kind !== 'Serialize') {
      const inv = (a: string): string | undefined => (({ start: 'stop', stop: 'start', promote: 'demote', demote: 'promote' }) as Record<string, string>)[a];
      const fi = inv(thenAction);
      const ti = inv(firstAction);
      if (fi && ti) {
        const iflags = F_OPTIONAL | (c.kind === 'Mandatory' ? F_IMPLIES_FIRST : 0);
        order(firstActionsFor(then, fi), rscActions(first, ti, false), iflags, `order ${c.id} (inverse)`);
      }
    }
  }
  /**
   * Clone-to-clone orderings with interleave (clone module rules): instance by instance on the
   * same node; a then-instance without a partner cannot run when the ordering is mandatory.
   */
  function orderInterleaved(first: Resource, then: Resource, firstAction: string, thenAction: string, flags: number, reason: string): boolean {
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
      const l = leaves(inst)[0];
      if (!l) return null;
      if (cur) return (actions.running.get(l.id) ?? [])[0] ?? null;
      const starts = (actions.byRsc.get(l.id) ?? []).filter(
        (a) => (a.task === 'start' || a.task === 'promote' || a.task === 'monitor') && a.node !== undefined,
      );
      const stays = (actions.running.get(l.id) ?? []).find(
        (n) => !(actions.byRsc.get(l.id) ?? []).some((a) => a.task === 'stop' && a.node === n && !a.optional),
      );
      return starts.find((a) => a.task === 'start')?.node ?? stays ?? starts[0]?.node ?? null;
    };
    const { pairs, unpaired } = interleavePairs({ firstInstances: first.children, thenInstances: then.children, current, nodeOf });
    for (const [f, t] of pairs) order(rscActions(f, firstAction, true), rscActions(t, thenAction, false), flags, `${reason} (interleaved)`);
    if (!current && flags & (F_RUNNABLE_LEFT | F_IMPLIES_THEN)) {
      for (const t of unpaired)
        for (const a of rscActions(t, thenAction, false)) {
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
  return { actions, orderings: out };
}

/** Graph edges "probe before start" for runnable probes (they never change any flag). */
export function probeEdges(actions: ActionSet): { first: Action; then: Action; reason: string }[] {
  const out: { first: Action; then: Action; reason: string }[] = [];
  for (const [id, list] of actions.byRsc) {
    const starts = list.filter((a) => a.task === 'start');
    if (!starts.length) continue;
    for (const probe of list) {
      if (probe.task !== 'probe' || !probe.runnable) continue;
      for (const start of starts) out.push({ first: probe, then: start, reason: `${id}: probe before start` });
    }
  }
  return out;
}

function orderPairs(c: OrderConstraint, tree: ResourceTree): [Resource, Resource][] {
  if (c.sets === undefined) {
    const f = tree.byId.get(c.first!);
    const t = tree.byId.get(c.then!);
    return f && t ? [[f, t]] : [];
  }
  const pairs: [Resource, Resource][] = [];
  const sets = c.sets.map((s) => ({ s, members: s.resources.map((id) => tree.byId.get(id)).filter((r): r is Resource => r !== undefined) }));
  for (const { s, members } of sets) if (s.sequential) for (let i = 1; i < members.length; i++) pairs.push([members[i - 1]!, members[i]!]);
  for (let k = 1; k < sets.length; k++) {
    const prev = sets[k - 1]!;
    const cur = sets[k]!;
    const firsts = prev.s.sequential ? prev.members.slice(-1) : prev.members;
    const thens = cur.s.sequential ? cur.members.slice(0, 1) : cur.members;
    for (const f of firsts) for (const t of thens) pairs.push([f, t]);
  }
  return pairs;
}

/** Flags an action presents when it is the "first" of an ordering (groups/clones: from their members). */
function effectiveFlags(a: Action, actions: ActionSet, node?: string): { optional: boolean; runnable: boolean } {
  const r = a.rsc;
  if (!r || r.kind === 'primitive') return { optional: a.optional, runnable: a.runnable };
  let optional = true;
  let runnable = true;
  let anyRunnable = false;
  const memberTask = memberTaskOf(a.task);
  for (const m of r.children) {
    const ma = (actions.byRsc.get(m.id) ?? []).find((x) => x.task === (m.kind === 'primitive' ? memberTask : a.task) && x.interval === 0);
    if (ma) {
      const mf = effectiveFlags(ma, actions);
      if (!mf.optional) optional = false;
      if (mf.runnable) anyRunnable = true;
      if (memberTask !== a.task && !mf.runnable) runnable = false;
    } else if (memberTask !== 'stop' && memberTask !== 'demote') runnable = false;
  }
  if (r.kind === 'clone') {
    runnable = anyRunnable || memberTask === 'stop';
    // Toward an action on one node, a clone is required only if its instance action there is
    // (Pacemaker: node-specific optional flag, node-independent runnable flag).
    if (node !== undefined) {
      optional = true;
      for (const l of leaves(r))
        for (const x of actions.byRsc.get(l.id) ?? []) if (x.task === memberTask && x.interval === 0 && x.node === node && !x.optional) optional = false;
    }
  }
  return { optional, runnable };
}

const EFFECTIVE = F_IMPLIES_THEN | F_IMPLIES_FIRST | F_RUNNABLE_LEFT | F_RESTART | F_ASYMMETRICAL | F_ONE_OR_MORE;

/**
 * Stage "propagation": the orderings' effects on their actions (Pacemaker's update_action), to a
 * fixed point: a required "then" makes its "first" required, an unrunnable "first" makes its
 * "then" unrunnable, and so on. Works on a copy; returns the new action set and the orderings
 * between its actions.
 */
export function propagate(
  ordered: { readonly actions: ActionSet; readonly orderings: readonly Ordering[] },
  colocs: ColocationIndex,
  tree: ResourceTree,
): { actions: ActionSet; orderings: Ordering[] } {
  const { actions, copyOf } = copyActionSet(ordered.actions);
  const all = ordered.orderings.map((o) => ({ ...o, first: copyOf(o.first), then: copyOf(o.then) }));
  // Orderings without any of these flags only order the graph; they never change an action.
  const orderings = all.filter((o) => (o.flags & EFFECTIVE) !== 0);
  const byAction = new Map<Action, Ordering[]>();
  for (const o of orderings) {
    for (const a of [o.first, o.then]) {
      const l = byAction.get(a) ?? [];
      l.push(o);
      byAction.set(a, l);
    }
  }
  // Group/clone members and their parents are linked for flag recomputation.
  const related = (a: Action): Action[] => {
    if (!a.rsc?.parent) return [];
    const out: Action[] = [];
    for (let p: Resource | undefined = a.rsc.parent; p; p = p.parent) for (const x of actions.byRsc.get(p.id) ?? []) out.push(x);
    return out;
  };
  const queue: Ordering[] = [...orderings];
  let head = 0;
  const queued = new Set<Ordering>(queue);
  const touch = (a: Action): void => {
    for (const x of [a, ...related(a)])
      for (const o of byAction.get(x) ?? [])
        if (!queued.has(o)) {
          queued.add(o);
          queue.push(o);
        }
  };
  let guard = 0;
  const limit = orderings.length * 50 + 1000;
  const incoming = new Map<Action, Ordering[]>();
  for (const o of orderings) if (o.flags & F_ONE_OR_MORE) incoming.set(o.then, [...(incoming.get(o.then) ?? []), o]);
  while (head < queue.length && guard++ < limit) {
    const o = queue[head++]!;
    queued.delete(o);
    if (o.flags & F_ONE_OR_MORE) {
      const need = o.then.requiredFirsts ?? 1;
      const any = (incoming.get(o.then) ?? []).filter((x) => effectiveFlags(x.first, actions).runnable).length >= need;
      if (!any && o.then.runnable) {
        o.then.runnable = false;
        touch(o.then);
      }
      continue;
    }
    for (const changed of applyOrdering(o, actions)) {
      touch(changed);
      if (!changed.runnable && (changed.task === 'start' || changed.task === 'promote') && changed.rsc)
        for (const b of blockDependents(changed, colocs, actions, tree)) touch(b);
    }
  }
  return { actions, orderings: all };
}

function applyOrdering(o: Ordering, actions: ActionSet): Action[] {
  const changed = new Set<Action>();
  const { first, then, flags } = o;
  const ff = effectiveFlags(first, actions, then.rsc?.kind === 'primitive' ? then.node : undefined);
  const thens = [then, ...memberActions(then, actions)];
  const clearOptional = (a: Action): void => {
    if (!a.optional) return;
    a.optional = false;
    // The action became necessary through this ordering: say so.
    if (a.why === undefined || a.why === 'restart') a.why = `required by ${o.reason}`;
    changed.add(a);
  };
  const clearMigratable = (a: Action): void => {
    if (a.migratable) {
      a.migratable = false;
      changed.add(a);
    }
  };
  const clearRunnable = (a: Action, why?: string): void => {
    clearMigratable(a);
    if (!a.runnable) return;
    a.runnable = false;
    if (why && !a.reason) a.reason = why;
    changed.add(a);
  };

  if (flags & F_ASYMMETRICAL) {
    for (const t of thens) {
      if (t.rsc?.kind !== 'primitive') continue;
      const running = runningNodes(t.rsc, actions);
      if (t.task === 'stop' && running.length === 0) continue;
      if (t.task === 'start' && t.optional && running.length === 1 && running[0] === t.node) continue;
      if (!ff.runnable) {
        clearOptional(t);
        clearRunnable(t, `unrunnable ${first.id.split(' ')[0]}`);
      }
    }
  }
  if (flags & F_IMPLIES_THEN && !ff.optional && !first.migratable) for (const t of thens) if (t.rsc?.kind === 'primitive' || t === then) clearOptional(t);
  if (flags & F_RESTART) {
    for (const t of thens) {
      if (t.rsc?.kind !== 'primitive' || first.rsc?.kind !== 'primitive') continue;
      const tf = { optional: t.optional, runnable: t.runnable };
      const reason = !tf.optional ? 'restart' : !tf.runnable && first.rsc === t.rsc ? 'stop' : undefined;
      if (!reason) continue;
      if (first.runnable) clearOptional(first);
      if (!t.migratable) clearMigratable(first);
      if (!tf.optional) clearOptional(first);
      if (!first.optional && !first.runnable) clearRunnable(t, `unrunnable ${first.id.split(' ')[0]}`);
    }
  }
  if (flags & F_IMPLIES_FIRST) {
    const tf = effectiveFlags(then, actions);
    if (!tf.optional) {
      // Pacemaker compares the first action's computed flags with its own: they differ only for
      // groups and clones, so a required "then" never forces a primitive's own action.
      const fFlags = effectiveFlags(first, actions);
      if (first.rsc && first.rsc.kind !== 'primitive' && !fFlags.optional) clearOptional(first);
      if (!then.migratable) clearMigratable(first);
    }
  }

  if (flags & (F_IMPLIES_THEN | F_IMPLIES_FIRST | F_RESTART) && first.task === 'stop' && !first.runnable && first.rsc && actions.blocked.has(first.rsc.id)) {
    for (const t of thens) if (t.rsc?.kind === 'primitive' || t === then) clearRunnable(t, `${first.rsc.id} is blocked`);
  }
  if (flags & F_RUNNABLE_LEFT && !ff.runnable) {
    for (const t of thens) if (t.rsc?.kind === 'primitive' || t === then) clearRunnable(t, `unrunnable ${first.id.split(' ')[0]}`);
  }
  return [...changed];
}

/** Nodes a primitive is active on now (where it has a stop action that is not node-less). */
function runningNodes(r: Resource, actions: ActionSet): readonly string[] {
  return actions.running.get(r.id) ?? [];
}

function memberActions(a: Action, actions: ActionSet): Action[] {
  const r = a.rsc;
  if (!r || r.kind === 'primitive') return [];
  const out: Action[] = [];
  for (const m of r.children) {
    for (const x of actions.byRsc.get(m.id) ?? []) {
      if (x.task !== a.task || x.interval !== 0) continue;
      out.push(x);
      // A clone of groups: the ordering reaches each group instance's members too (Pacemaker
      // applies an ordering on a collective action to its children's actions, recursively).
      if (r.kind === 'clone' && m.kind === 'group') out.push(...memberActions(x, actions));
    }
  }
  return out;
}

/** A primary that cannot start blocks the starts of resources that must be colocated with it. */
/**
 * An unrunnable start or promote blocks the resources that must be colocated with it
 * (Pacemaker's pcmk__block_colocation_dependents): only when the whole primary (every clone
 * instance) cannot reach the role; a dependent colocated with the Promoted role loses its promote,
 * others their start. Groups do not block (their colocations moved to their members).
 */
function blockDependents(action: Action, colocs: ColocationIndex, actions: ActionSet, tree: ResourceTree): Action[] {
  void tree;
  const changed: Action[] = [];
  const isStart = action.task === 'start';
  if (action.runnable || !action.rsc || (!isStart && action.task !== 'promote')) return changed;
  let top = action.rsc;
  while (top.parent) top = top.parent;
  if (top.kind === 'group') return changed;
  if (top.kind === 'clone') {
    for (const child of top.children) {
      const first = leaves(child)[0];
      const a = first ? (actions.byRsc.get(first.id) ?? []).find((x) => x.task === action.task) : undefined;
      if (!a || a.runnable) return changed;
    }
  }
  const mark = (r: Resource, task: string): void => {
    for (const a of actions.byRsc.get(r.id) ?? []) {
      if (!a.runnable || a.task !== task) continue;
      a.runnable = false;
      a.reason ??= `colocation with ${action.rsc!.id}`;
      changed.push(a);
      changed.push(...blockDependents(a, colocs, actions, tree));
    }
    for (const c of r.children) mark(c, task);
  };
  for (const c of colocs.withThis.get(top) ?? []) {
    if (c.score < INFINITY) continue;
    if (!isStart && c.primaryRole !== 'Promoted') continue;
    mark(c.dependent, c.dependentRole === 'Promoted' ? 'promote' : 'start');
  }
  return changed;
}

export { actionKey };
