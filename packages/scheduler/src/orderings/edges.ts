/**
 * Ordering edges and how they are made: the flags an edge carries (Pacemaker's pe_ordering
 * flags, as far as this scheduler uses them) and `EdgeBuilder`, which finds a resource's actions
 * and records edges between them for the orderings stage (build.ts). The builder works on the
 * stage's own copy of the action set: it may add actions (a node-less first action that cannot run,
 * a one-or-more point).
 */
import type { Action, ActionSet } from '../action-set.js';
import { actionKey, appendAction } from '../action-set.js';
import type { Resource } from '../resources.js';
import { COLLECTIVE_FIRST_TASK } from '../clone/index.js';

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

/** The task that undoes a task, for the symmetrical inverse of an ordering. */
export const INVERSE_TASK: ReadonlyMap<string, string> = new Map([
  ['start', 'stop'],
  ['stop', 'start'],
  ['promote', 'demote'],
  ['demote', 'promote'],
]);

export class EdgeBuilder {
  readonly orderings: Ordering[] = [];
  /** Each resource's one-shot actions by task, in the set's order, made the first time it is asked for. */
  private readonly oneShot = new Map<string, Map<string, Action[]>>();

  constructor(
    readonly actions: ActionSet,
    /** Each primitive's role before the transition (from unpack). */
    private readonly unpackedRole: ReadonlyMap<string, string>,
  ) {}

  /** `r`'s own one-shot actions of `task` (on `node`, if given). */
  find(r: Resource, task: string, node?: string): Action[] {
    let byTask = this.oneShot.get(r.id);
    if (byTask === undefined) {
      byTask = new Map();
      for (const a of this.actions.byRsc.get(r.id) ?? []) {
        if (a.interval !== 0) continue;
        const same = byTask.get(a.task);
        if (same === undefined) byTask.set(a.task, [a]);
        else same.push(a);
      }
      this.oneShot.set(r.id, byTask);
    }
    const list = byTask.get(task);
    if (list === undefined) return [];
    return node === undefined ? list.slice() : list.filter((a) => a.node === node);
  }

  /** Orders every first before every then (an action is never ordered after itself). */
  order(firsts: readonly Action[], thens: readonly Action[], flags: number, reason: string): void {
    for (const first of firsts) for (const then of thens) if (first !== then) this.orderings.push({ first, then, flags, reason });
  }

  /**
   * `r`'s actions of `task`; a group or clone as the first of an ordering is done when its
   * members are (`running` after `start`, …: the collective "first" task).
   */
  rscActions(r: Resource, task: string, asFirst: boolean): Action[] {
    if (r.kind === 'primitive') return this.find(r, task);
    return this.find(r, asFirst ? (COLLECTIVE_FIRST[task] ?? task) : task);
  }

  /**
   * The "first" actions of a user ordering; a primitive without that action gets a node-less
   * one (which cannot run), except a stop of a stopped resource (Pacemaker's rsc_order_first).
   */
  firstActionsFor(r: Resource, task: string): Action[] {
    const found = this.rscActions(r, task, true);
    if (found.length || r.kind !== 'primitive') return found;
    const active = (this.unpackedRole.get(r.id) ?? 'Stopped') !== 'Stopped';
    if (task === 'stop' && !active) return [];
    if (task === 'demote' && this.unpackedRole.get(r.id) !== 'Promoted') return [];
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
    appendAction(this.actions.list, a);
    this.actions.byKey.set(a.id, a);
    const l = this.actions.byRsc.get(r.id) ?? [];
    l.push(a);
    this.actions.byRsc.set(r.id, l);
    this.oneShot.delete(r.id);
    return [a];
  }

  /**
   * The pseudo action a one-or-more ordering goes through, made the first time `key` is asked
   * for; `requiredFirsts`: how many firsts must be runnable (clone-min), one if not given.
   */
  onePoint(key: string, requiredFirsts?: number): Action {
    const found = this.actions.byKey.get(key);
    if (found) return found;
    const point: Action = {
      id: key,
      task: 'one-or-more',
      rsc: undefined,
      node: undefined,
      interval: 0,
      optional: true,
      runnable: true,
      pseudo: true,
      reason: undefined,
      ...(requiredFirsts !== undefined ? { requiredFirsts } : {}),
    };
    appendAction(this.actions.list, point);
    this.actions.byKey.set(point.id, point);
    return point;
  }
}
