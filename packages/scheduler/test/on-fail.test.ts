/** The on-fail tables (on-fail.ts): configured on-fail → response, ranks, effects. */
import type { OnFail } from '@paceline/model';
import { FAIL_RESPONSES, failResponseFor, worseResponse, type FailResponse } from '../src/on-fail.js';

describe('on-fail', () => {
  test.each<[OnFail | undefined, string, boolean, FailResponse, string]>([
    [undefined, 'monitor', true, 'recover', 'Started'],
    [undefined, 'promote', true, 'recover', 'Unpromoted'],
    [undefined, 'stop', true, 'fence', 'Started'],
    [undefined, 'stop', false, 'block', 'Started'],
    ['fence', 'monitor', true, 'fence', 'Started'],
    ['fence', 'monitor', false, 'stop', 'Stopped'],
    ['stop', 'monitor', true, 'stop', 'Stopped'],
    ['stop', 'stop', true, 'fence', 'Started'],
    ['standby', 'stop', false, 'block', 'Started'],
    ['demote', 'monitor', true, 'demote', 'Unpromoted'],
    ['demote', 'stop', true, 'fence', 'Started'],
    ['restart', 'monitor', true, 'recover', 'Started'],
    ['ignore', 'monitor', true, 'ignore', 'Started'],
    ['block', 'stop', true, 'block', 'Started'],
  ])('on-fail=%s for a failed %s (fencing %s) → %s, role limit %s', (configured, action, stonith, response, role) => {
    expect(failResponseFor(configured, action, stonith)).toEqual({ onFail: response, failRole: role });
  });

  test('the worst response wins, whatever the order', () => {
    const all = Object.keys(FAIL_RESPONSES) as FailResponse[];
    for (const a of all)
      for (const b of all) {
        const w = worseResponse(a, b);
        expect(w).toBe(worseResponse(b, a));
        expect(FAIL_RESPONSES[w].rank).toBe(Math.max(FAIL_RESPONSES[a].rank, FAIL_RESPONSES[b].rank));
      }
    expect(worseResponse('recover', 'fence')).toBe('fence');
    expect(worseResponse('ignore', 'demote')).toBe('demote');
  });

  test('only ignore leaves an active resource alone; demote and block mark it failed without stopping it', () => {
    const whenActive = Object.fromEntries(Object.entries(FAIL_RESPONSES).map(([k, r]) => [k, r.whenActive]));
    expect(whenActive).toEqual({
      ignore: 'nothing',
      demote: 'mark-failed',
      block: 'mark-failed',
      recover: 'recover',
      migrate: 'recover',
      stop: 'recover',
      standby: 'recover',
      fence: 'recover',
    });
  });
});
