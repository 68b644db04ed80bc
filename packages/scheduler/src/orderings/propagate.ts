/**
 * Stage "propagation": the orderings' effects on their actions (Pacemaker's update_action), to a
 * fixed point: a required first action makes a then action required (implies-then), a required
 * then action makes its first required (implies-first), an unrunnable first start makes the then
 * action unrunnable (runnable-left), a restart ordering keeps a stop with its start, and an
 * unrunnable start blocks what must be colocated with it.
 */
import { INFINITY } from '@paceline/model';
import type { Action, ActionSet } from '../action-set.js';
import { copyActionSet } from '../action-set.js';
import type { Resource, ResourceTree } from '../resources.js';
import { leaves } from '../resources.js';
import type { ColocationIndex } from '../colocations.js';
import { memberTaskOf } from '../clone/index.js';
import { F_ASYMMETRICAL, F_IMPLIES_FIRST, F_IMPLIES_THEN, F_ONE_OR_MORE, F_RESTART, F_RUNNABLE_LEFT, type Ordering } from './edges.js';

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
  const all = ordered.orderings.map((ordering) => ({ ...ordering, first: copyOf(ordering.first), then: copyOf(ordering.then) }));
  // Orderings without any of these flags only order the graph; they never change an action.
  const orderings = all.filter((ordering) => (ordering.flags & EFFECTIVE) !== 0);
  const byAction = new Map<Action, Ordering[]>();
  for (const ordering of orderings) {
    for (const a of [ordering.first, ordering.then]) {
      const l = byAction.get(a) ?? [];
      l.push(ordering);
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
      for (const ordering of byAction.get(x) ?? [])
        if (!queued.has(ordering)) {
          queued.add(ordering);
          queue.push(ordering);
        }
  };
  let guard = 0;
  const limit = orderings.length * 50 + 1000;
  const incoming = new Map<Action, Ordering[]>();
  for (const ordering of orderings) if (ordering.flags & F_ONE_OR_MORE) incoming.set(ordering.then, [...(incoming.get(ordering.then) ?? []), ordering]);
  while (head < queue.length && guard++ < limit) {
    const ordering = queue[head++]!;
    queued.delete(ordering);
    if (ordering.flags & F_ONE_OR_MORE) {
      const need = ordering.then.requiredFirsts ?? 1;
      const any = (incoming.get(ordering.then) ?? []).filter((x) => effectiveFlags(x.first, actions).runnable).length >= need;
      if (!any && ordering.then.runnable) {
        ordering.then.runnable = false;
        touch(ordering.then);
      }
      continue;
    }
    for (const changed of applyOrdering(ordering, actions)) {
      touch(changed);
      if (!changed.runnable && (changed.task === 'start' || changed.task === 'promote') && changed.rsc)
        for (const b of blockDependents(changed, colocs, actions, tree)) touch(b);
    }
  }
  return { actions, orderings: all };
}

function applyOrdering(ordering: Ordering, actions: ActionSet): Action[] {
  const changed = new Set<Action>();
  const { first, then, flags } = ordering;
  const ff = effectiveFlags(first, actions, then.rsc?.kind === 'primitive' ? then.node : undefined);
  const thens = [then, ...memberActions(then, actions)];
  const clearOptional = (a: Action): void => {
    if (!a.optional) return;
    a.optional = false;
    // The action became necessary through this ordering: say so.
    if (a.why === undefined || a.why.kind === 'restart') a.why = { kind: 'required-by', ordering: ordering.reason };
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
    for (const target of thens) {
      if (target.rsc?.kind !== 'primitive') continue;
      const running = runningNodes(target.rsc, actions);
      if (target.task === 'stop' && running.length === 0) continue;
      if (target.task === 'start' && target.optional && running.length === 1 && running[0] === target.node) continue;
      if (!ff.runnable) {
        clearOptional(target);
        clearRunnable(target, `unrunnable ${first.id.split(' ')[0]}`);
      }
    }
  }
  if (flags & F_IMPLIES_THEN && !ff.optional && !first.migratable)
    for (const target of thens) if (target.rsc?.kind === 'primitive' || target === then) clearOptional(target);
  if (flags & F_RESTART) {
    for (const target of thens) {
      if (target.rsc?.kind !== 'primitive' || first.rsc?.kind !== 'primitive') continue;
      const tf = { optional: target.optional, runnable: target.runnable };
      const reason = !tf.optional ? 'restart' : !tf.runnable && first.rsc === target.rsc ? 'stop' : undefined;
      if (!reason) continue;
      if (first.runnable) clearOptional(first);
      if (!target.migratable) clearMigratable(first);
      if (!tf.optional) clearOptional(first);
      if (!first.optional && !first.runnable) clearRunnable(target, `unrunnable ${first.id.split(' ')[0]}`);
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
    for (const target of thens) if (target.rsc?.kind === 'primitive' || target === then) clearRunnable(target, `${first.rsc.id} is blocked`);
  }
  if (flags & F_RUNNABLE_LEFT && !ff.runnable) {
    for (const target of thens) if (target.rsc?.kind === 'primitive' || target === then) clearRunnable(target, `unrunnable ${first.id.split(' ')[0]}`);
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
