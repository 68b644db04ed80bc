/**
 * The orderings a resource brings by itself: a primitive's stop before its start, demote before
 * stop, start before promote, probes, fencing and unfencing; a group's or clone's pseudo actions
 * around its members' and a group's chain of members; a promotable clone's promote and demote
 * around its instances' (the clone module's rules).
 */
import type { ActionSet } from '../action-set.js';
import type { Resource, ResourceTree } from '../resources.js';
import { needsFencing } from '../resources.js';
import { promotableInternalOrderings, type OrderKind } from '../clone/index.js';
import { F_IMPLIES_FIRST, F_IMPLIES_THEN, F_OPTIONAL, F_RESTART, F_RUNNABLE_LEFT, type EdgeBuilder } from './edges.js';

/** A primitive's own orderings, and those fencing and unfencing impose on it. */
export function primitiveOrderings(b: EdgeBuilder, p: Resource): void {
  const actions: ActionSet = b.actions;
  b.order(b.find(p, 'stop'), b.find(p, 'start'), F_OPTIONAL | F_IMPLIES_THEN | F_RESTART, `${p.id}: stop before start`);
  b.order(b.find(p, 'demote'), b.find(p, 'stop'), 0, `${p.id}: demote before stop`);
  b.order(b.find(p, 'start'), b.find(p, 'promote'), F_RUNNABLE_LEFT, `${p.id}: start before promote`);
  const notRunning = (actions.running.get(p.id) ?? []).length === 0;
  for (const probe of b.find(p, 'probe'))
    // Probes only matter to propagation when they cannot run; otherwise they are graph edges only.
    if (!probe.runnable && notRunning) b.order([probe], b.find(p, 'start'), F_OPTIONAL | F_RUNNABLE_LEFT, `${p.id}: probe before start`);
  for (const stop of b.find(p, 'stop')) {
    const fencing = stop.node ? actions.fencing.get(stop.node) : undefined;
    if (fencing && needsFencing(p)) b.order([fencing], [stop], 0, `fencing ${stop.node} implies ${p.id} is stopped`);
  }
  const unfencing = actions.unfencings.get(b.find(p, 'start')[0]?.node ?? '');
  if (unfencing && (p.isFencing || p.meta.requires === 'unfencing')) b.order([unfencing], b.find(p, 'start'), F_OPTIONAL, `unfence before ${p.id} starts`);
  if (needsFencing(p))
    for (const fencing of actions.fencing.values())
      b.order([fencing], [...b.find(p, 'start'), ...b.find(p, 'promote')], F_OPTIONAL, `${p.id} starts after fencing`);
}

/** A group's or clone's start/running/stop/stopped around its members', and a group's member chain. */
export function collectiveOrderings(b: EdgeBuilder, g: Resource): void {
  const [gStart, gRunning, gStop, gStopped] = ['start', 'running', 'stop', 'stopped'].map((task) => b.find(g, task));
  g.children.forEach((m, i) => {
    const mStart = b.rscActions(m, 'start', false);
    const mStop = b.rscActions(m, 'stop', false);
    const mRunning = b.rscActions(m, 'start', true);
    const mStopped = b.rscActions(m, 'stop', true);
    b.order(gStop!, mStop, 0, `${g.id} stop`);
    b.order(mStopped, gStopped!, g.kind === 'group' && i === 0 ? F_IMPLIES_THEN : 0, `${g.id} stopped`);
    b.order(gStart!, mStart, 0, `${g.id} start`);
    b.order(mRunning, gRunning!, F_RUNNABLE_LEFT | F_IMPLIES_THEN, `${g.id} running`);
    if (g.kind === 'group' && g.ordered === false) {
      b.order(gStart!, mStart, F_IMPLIES_THEN | F_RUNNABLE_LEFT, `${g.id} start (unordered group)`);
    } else if (g.kind === 'group' && i > 0) {
      const prev = g.children[i - 1]!;
      b.order(b.rscActions(prev, 'start', true), mStart, F_IMPLIES_THEN | F_RUNNABLE_LEFT, `group ${g.id}: ${prev.id} starts before ${m.id}`);
      b.order(b.rscActions(m, 'stop', true), b.rscActions(prev, 'stop', false), F_OPTIONAL | F_RESTART, `group ${g.id}: ${m.id} stops before ${prev.id}`);
    }
  });
}

const KIND_FLAGS: Readonly<Record<OrderKind, number>> = {
  optional: F_OPTIONAL,
  'runnable-left': F_RUNNABLE_LEFT,
  'implies-then': F_IMPLIES_THEN,
  'implies-first': F_IMPLIES_FIRST,
};

/** A promotable clone's promote/demote pseudo actions around its instances' (clone module rules). */
export function promotableOrderings(b: EdgeBuilder, clone: Resource, tree: ResourceTree): void {
  if (clone.kind !== 'clone' || !clone.clone?.promotable) return;
  for (const spec of promotableInternalOrderings(
    clone.id,
    clone.children.map((c) => c.id),
    clone.clone.meta.ordered ?? false,
  )) {
    const firstRsc = tree.byId.get(spec.first.rsc);
    const thenRsc = tree.byId.get(spec.then.rsc);
    if (!firstRsc || !thenRsc) continue;
    const flags = spec.kinds.reduce((acc, k) => acc | KIND_FLAGS[k], 0);
    b.order(
      firstRsc === clone ? b.find(firstRsc, spec.first.task) : b.rscActions(firstRsc, spec.first.task, true),
      thenRsc === clone ? b.find(thenRsc, spec.then.task) : b.rscActions(thenRsc, spec.then.task, false),
      flags,
      spec.reason,
    );
  }
}
