/** The scheduler's own errors name where and what (errors.ts). */
import { copyActionSet, type Action, type ActionSet } from '../src/action-set.js';
import { SchedulerInvariantError } from '../src/errors.js';

test('an action copied from a set it is not in is a SchedulerInvariantError naming the function and the action', () => {
  const empty: ActionSet = {
    list: [],
    byKey: new Map(),
    byRsc: new Map(),
    fencing: new Map(),
    unfencings: new Map(),
    running: new Map(),
    blocked: new Set(),
    probes: new Map(),
  };
  const stray = { id: 'web_start_0', task: 'start' } as Action;
  const { copyOf } = copyActionSet(empty);
  expect(() => copyOf(stray)).toThrow(SchedulerInvariantError);
  expect(() => copyOf(stray)).toThrow('scheduler bug in copyActionSet (action-set.ts): action web_start_0 is not in the action set it was copied from');
  let caught: unknown;
  try {
    copyOf(stray);
  } catch (e) {
    caught = e;
  }
  expect(caught).toMatchObject({ code: 'SCHEDULER_INVARIANT', where: 'copyActionSet (action-set.ts)' });
});
