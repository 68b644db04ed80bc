import { ClusterStatus, INFINITY } from '@paceline/model';
import { isFailure, recordAll, recordReport, recordResult, RC_UNKNOWN, type RecordedOp } from '@paceline/executor';
import type { ActionResult } from '@paceline/agent-api';

const done = (outcome: ActionResult['outcome']): ActionResult => ({ execution: 'done', outcome });
const probe: RecordedOp = { action: 'monitor', interval: 0, expectedRc: 7 };
const mon: RecordedOp = { action: 'monitor', interval: 10_000, expectedRc: 0 };
const monPromoted: RecordedOp = { action: 'monitor', interval: 5_000, expectedRc: 8 };
const start: RecordedOp = { action: 'start', interval: 0, agent: 'paceline:dummy' };

describe('isFailure', () => {
  test.each([
    ['probe finds nothing', probe, done('not-running'), false],
    ['probe finds it running', probe, done('ok'), false],
    ['probe finds it promoted', probe, done('running-promoted'), false],
    ['probe hits an error', probe, done('generic-error'), true],
    ['monitor ok', mon, done('ok'), false],
    ['monitor degraded', mon, done('degraded'), false],
    ['monitor not running', mon, done('not-running'), true],
    ['promoted monitor promoted', monPromoted, done('running-promoted'), false],
    ['promoted monitor only running', monPromoted, done('ok'), true],
    ['start ok', start, done('ok'), false],
    ['start misconfigured', start, done('misconfigured'), true],
    ['start timed out', start, { execution: 'timeout', outcome: 'generic-error' } as ActionResult, true],
    ['start outcome unknown', start, { execution: 'cancelled', outcome: 'generic-error' } as ActionResult, false],
  ])('%s', (_name, op, result, expected) => {
    expect(isFailure(op, result)).toBe(expected);
  });
});

describe('recordResult', () => {
  const empty = ClusterStatus.parse({ nodes: [{ name: 'n1', state: 'online' }] });
  test('adds the node when unknown, numbers calls, keeps one record per action and interval', () => {
    let s = recordResult(empty, 'n2', 'web', probe, done('not-running'), 100);
    s = recordResult(s, 'n2', 'web', start, done('ok'), 200);
    s = recordResult(s, 'n2', 'web', mon, done('ok'), 300);
    s = recordResult(s, 'n2', 'web', mon, done('ok'), 400);
    const n2 = s.nodes.find((n) => n.name === 'n2')!;
    expect(n2.state).toBe('online');
    const h = n2.history[0]!;
    expect(h.agent).toBe('paceline:dummy');
    expect(h.ops.map((o) => [o.action, o.interval, o.callId, o.rc, o.lastRcChange, o.lastRun])).toEqual([
      ['monitor', 0, 1, 7, 100, 100],
      ['start', 0, 2, 0, 200, 200],
      ['monitor', 10_000, 4, 0, 300, 400],
    ]);
    expect(empty.nodes).toHaveLength(1); // pure
  });
  test('a successful stop drops recurring monitor records; failures raise fail counts', () => {
    let s = recordResult(empty, 'n1', 'web', start, done('ok'), 1);
    s = recordResult(s, 'n1', 'web', mon, done('not-running'), 2);
    s = recordResult(s, 'n1', 'web', mon, done('not-running'), 3);
    expect(s.nodes[0]!.failures).toEqual([{ resource: 'web', action: 'monitor', interval: 10_000, count: 2, lastFailure: 3 }]);
    s = recordResult(s, 'n1', 'web', { action: 'stop', interval: 0 }, done('ok'), 4);
    expect(s.nodes[0]!.history[0]!.ops.map((o) => o.action)).toEqual(['start', 'stop']);
    expect(s.nodes[0]!.failures[0]!.count).toBe(2);
  });
  test('a failed start counts INFINITY with startFailureIsFatal, 1 without; other failures count 1 either way', () => {
    const fatal = { startFailureIsFatal: true };
    let s = recordResult(empty, 'n1', 'web', start, done('generic-error'), 1, fatal);
    expect(s.nodes[0]!.failures).toEqual([{ resource: 'web', action: 'start', interval: 0, count: INFINITY, lastFailure: 1 }]);
    s = recordResult(s, 'n1', 'web', mon, done('not-running'), 2, fatal);
    expect(s.nodes[0]!.failures.find((f) => f.action === 'monitor')?.count).toBe(1);
    let lenient = recordResult(empty, 'n1', 'web', start, done('generic-error'), 1);
    lenient = recordResult(lenient, 'n1', 'web', start, done('generic-error'), 2, { startFailureIsFatal: false });
    expect(lenient.nodes[0]!.failures).toEqual([{ resource: 'web', action: 'start', interval: 0, count: 2, lastFailure: 2 }]);
    const ok = recordResult(empty, 'n1', 'web', start, done('ok'), 1, fatal);
    expect(ok.nodes[0]!.failures).toEqual([]);
    const all = recordAll(empty, [{ node: 'n1', instance: 'web', op: start, result: done('generic-error'), at: 3 }], fatal);
    expect(all.nodes[0]!.failures[0]!.count).toBe(INFINITY);
  });
  test('execution statuses map to exec status and rc', () => {
    const one = (r: ActionResult) => recordResult(empty, 'n1', 'x', start, r, 5).nodes[0]!.history[0]!.ops[0]!;
    expect(one({ execution: 'timeout', outcome: 'generic-error' })).toMatchObject({ status: 'timeout', rc: 1 });
    expect(one({ execution: 'cancelled', outcome: 'generic-error' })).toMatchObject({ status: 'pending', rc: RC_UNKNOWN });
    expect(one({ execution: 'not-installed', outcome: 'not-installed' })).toMatchObject({ status: 'not-installed', rc: 5 });
    expect(one({ execution: 'done', outcome: 'misconfigured', reason: 'bad' })).toMatchObject({ status: 'done', rc: 6, exitReason: 'bad' });
  });
});

describe("monitor reports (a replica's lag)", () => {
  const lag = { replica: { source: 'n2', state: 'in-sync' as const, reachable: true, asOf: 900, seconds: 0.1, bytes: 0, changes: 0 } };
  const started = recordResult(ClusterStatus.parse({ nodes: [{ name: 'n1', state: 'online' }] }), 'n1', 'db', start, done('ok'), 100);
  const history = (s: ClusterStatus) => s.nodes[0]!.history.find((h) => h.resource === 'db')!;

  test("a successful monitor's report replaces the last one, without a new record", () => {
    const a = recordReport(started, 'n1', 'db', 10_000, { ...done('ok'), report: lag }, 1000.4);
    expect(history(a).report).toEqual({ ...lag, at: 1000, interval: 10_000 });
    expect(history(a).ops).toEqual(history(started).ops);
    const b = recordReport(a, 'n1', 'db', 10_000, { ...done('ok'), report: { replica: { ...lag.replica, seconds: 3 } } }, 2000);
    expect(history(b).report?.replica?.seconds).toBe(3);
    expect(recordReport(a, 'n1', 'db', 10_000, done('ok'), 3000)).toBe(a); // no report: nothing changes
    expect(recordReport(a, 'n1', 'other', 10_000, { ...done('ok'), report: lag }, 3000)).toBe(a); // unknown instance
  });

  test('a failed monitor records its report; start, stop, promote and demote drop it', () => {
    const failedMon = recordResult(started, 'n1', 'db', mon, { ...done('degraded-promoted'), report: lag }, 1500);
    expect(history(failedMon).report).toMatchObject({ at: 1500, interval: 10_000 });
    const withReport = recordReport(started, 'n1', 'db', 10_000, { ...done('ok'), report: lag }, 1000);
    const kept = recordResult(withReport, 'n1', 'db', mon, done('not-running'), 1600);
    expect(history(kept).report).toMatchObject({ at: 1000 });
    for (const action of ['promote', 'demote', 'stop', 'start'])
      expect(history(recordResult(withReport, 'n1', 'db', { action, interval: 0 }, done('ok'), 2000)).report).toBeUndefined();
  });
});
