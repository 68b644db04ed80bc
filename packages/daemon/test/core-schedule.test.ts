import { schedule } from '@paceline/scheduler';
import { initialCoreState, schedulerRetryDue, type CoreCommand, type CoreState, type MembershipView, type NodeReportData } from '../src/core.js';
import { run } from './core-steps.js';
import { ABANDONED, SchedulerThread } from '../src/scheduler-thread.js';
import type { ClusterDoc } from '@paceline/daemon';

// The scheduler run off the event loop (SchedulerMode `worker`): the core asks with a `schedule`
// command and plans when the `scheduled` answer comes; a run made stale by an unexpected change is
// abandoned (its answer would be dropped) and the scheduler asked again.

const resources = (n: number) => Array.from({ length: n }, (_, i) => ({ type: 'primitive', id: `r${i}`, agent: 'paceline:dummy' }));
const docWith = (n: number): ClusterDoc => {
  const config = {
    properties: { stonithEnabled: false },
    nodes: [
      { name: 'serv1', addresses: { lan: '127.0.0.1:7001' } },
      { name: 'serv2', addresses: { lan: '127.0.0.1:7003' } },
    ],
    resources: resources(n),
    constraints: [{ type: 'location', id: 'r0-home', resource: 'r0', node: 'serv1', score: 100 }],
  };
  return { epoch: 1, config: { ...config, epoch: 1 }, quarantine: {} };
};
const view = (members = ['serv1', 'serv2']): MembershipView => ({
  members,
  coordinator: 'serv1',
  term: 1,
  quorate: true,
  mayRun: true,
  mayRunReason: 'ok',
  peers: { serv2: { member: members.includes('serv2'), safelyDown: false, reason: 'member', boot: 20, links: { lan: members.includes('serv2') } } },
});
const report = (boot: number): NodeReportData => ({ boot, rev: 0, history: [], failures: [] });
const now = 1_700_000_000_000;

const of = <T extends CoreCommand['type']>(cs: readonly CoreCommand[], type: T) => cs.filter((c): c is Extract<CoreCommand, { type: T }> => c.type === type);
const reported = (s: CoreState) =>
  run(s, [
    { type: 'report', node: 'serv1', report: report(10), now },
    { type: 'report', node: 'serv2', report: report(20), now },
  ]);

describe('the scheduler off the event loop', () => {
  test('worker: the step asks (schedule), the answer becomes the running transition (run), as inline would plan it', () => {
    const a = reported(initialCoreState('serv1', docWith(3), view(), { scheduler: 'worker' }));
    const asked = of(a.commands, 'schedule');
    expect(of(a.commands, 'run')).toHaveLength(0);
    expect(asked).toHaveLength(1);
    expect(a.state.scheduling?.id).toBe(asked[0]!.id);
    // Nothing more is asked while the answer is awaited (an expected change: a report without a new failure).
    const again = run(a.state, [{ type: 'report', node: 'serv2', report: { ...report(20), rev: 1 }, now }]);
    expect(of(again.commands, 'schedule')).toHaveLength(0);
    expect(of(again.commands, 'abandon')).toHaveLength(0);

    const inline = reported(initialCoreState('serv1', docWith(3), view(), { scheduler: 'inline' }));
    const transition = schedule(asked[0]!.input);
    const b = run(a.state, [{ type: 'scheduled', id: asked[0]!.id, transition, now }]);
    const planned = of(b.commands, 'run');
    expect(planned).toHaveLength(1);
    expect(planned[0]!.transition.actions.map((x) => x.id)).toEqual(of(inline.commands, 'run')[0]!.transition.actions.map((x) => x.id));
    expect(b.state.running).toBe(planned[0]!.id);
    expect(b.state.scheduling).toBeUndefined();
    expect(b.state.last?.state).toBe('running');
  });

  test('a run made stale by an unexpected change (a peer lost) is abandoned at once, and the scheduler asked again', () => {
    const a = reported(initialCoreState('serv1', docWith(3), view(), { scheduler: 'worker' }));
    const first = of(a.commands, 'schedule')[0]!;
    const lost = run(a.state, [{ type: 'membership', view: view(['serv1']), now }]);
    // Its answer would be dropped: not waited for.
    expect(of(lost.commands, 'abandon')).toEqual([{ type: 'abandon', id: first.id }]);
    const second = of(lost.commands, 'schedule');
    expect(second).toHaveLength(1);
    expect(second[0]!.id).toBeGreaterThan(first.id);
    expect(lost.state.scheduling?.id).toBe(second[0]!.id);
    // The new run sees the peer lost (not proven down): its node is frozen, not a target.
    const serv2 = second[0]!.input.status.nodes.find((n) => n.name === 'serv2')!;
    expect(serv2.attributes['paceline-unclean']).toBeDefined();
    // The abandoned run's answer, should it come, is ignored: nothing planned from it.
    const b = run(lost.state, [{ type: 'scheduled', id: first.id, transition: schedule(first.input), now }]);
    expect(b.commands).toEqual([]);
    expect(b.state.scheduling?.id).toBe(second[0]!.id);
    // The new run's answer is planned.
    const c = run(b.state, [{ type: 'scheduled', id: second[0]!.id, transition: schedule(second[0]!.input), now }]);
    expect(c.state.scheduling).toBeUndefined();
    expect(c.state.dirty).toBe(false);
  });

  test('a run abandoned while nothing may be scheduled is not asked again until something may', () => {
    const a = reported(initialCoreState('serv1', docWith(3), view(), { scheduler: 'worker' }));
    const first = of(a.commands, 'schedule')[0]!;
    // Quorum lost: the answer would be dropped, and no run may be asked meanwhile.
    const lost = run(a.state, [{ type: 'membership', view: { ...view(), quorate: false, mayRun: false, mayRunReason: 'no quorum' }, now }]);
    expect(of(lost.commands, 'abandon')).toEqual([{ type: 'abandon', id: first.id }]);
    expect(of(lost.commands, 'schedule')).toHaveLength(0);
    expect(lost.state.scheduling).toBeUndefined();
    const back = run(lost.state, [{ type: 'membership', view: view(), now }]);
    expect(of(back.commands, 'schedule')).toHaveLength(1);
  });

  test('an expected change while the scheduler runs (a report without a new failure) does not drop its answer', () => {
    const a = reported(initialCoreState('serv1', docWith(3), view(), { scheduler: 'worker' }));
    const first = of(a.commands, 'schedule')[0]!;
    const b = run(a.state, [
      { type: 'report', node: 'serv2', report: { ...report(20), rev: 1 }, now },
      { type: 'scheduled', id: first.id, transition: schedule(first.input), now },
    ]);
    expect(of(b.commands, 'run')).toHaveLength(1);
    expect(b.state.dirty).toBe(true); // planned again once this transition ends
  });

  test('a scheduler that fails is logged, as inline', () => {
    const a = reported(initialCoreState('serv1', docWith(3), view(), { scheduler: 'worker' }));
    const first = of(a.commands, 'schedule')[0]!;
    const b = run(a.state, [{ type: 'scheduled', id: first.id, error: 'boom', now }]);
    expect(of(b.commands, 'log').map((l) => l.message)).toContain('the scheduler failed: boom; asking it again in 1 s');
    expect(b.state.scheduling).toBeUndefined();
  });

  test('auto: small configurations are scheduled inline, large ones in the worker', () => {
    expect(of(reported(initialCoreState('serv1', docWith(3), view(), { scheduler: 'auto' })).commands, 'run')).toHaveLength(1);
    expect(of(reported(initialCoreState('serv1', docWith(64), view(), { scheduler: 'auto' })).commands, 'schedule')).toHaveLength(1);
  });

  test('SchedulerThread runs the same pure schedule() in a worker thread (configuration sent once)', async () => {
    const a = reported(initialCoreState('serv1', docWith(80), view(), { scheduler: 'worker' }));
    const input = of(a.commands, 'schedule')[0]!.input;
    const thread = new SchedulerThread();
    try {
      const r1 = await thread.run(input);
      const r2 = await thread.run({ ...input, now: input.now + 1 }); // the thread keeps the configuration
      const here = schedule(input);
      expect(r1.error).toBeUndefined();
      expect(r1.transition).toEqual({ ...here, explanation: { ...here.explanation, scores: [] } });
      expect(r2.transition?.actions).toEqual(here.actions);
      // Only the epoch changed (a quarantine): the thread plans with the new epoch.
      const moved = { ...input, config: { ...input.config, epoch: input.config.epoch + 1 } };
      const r3 = await thread.run(moved);
      expect(r3.transition).toEqual(JSON.parse(JSON.stringify({ ...schedule(moved), explanation: { ...schedule(moved).explanation, scores: [] } })));
    } finally {
      await thread.dispose();
    }
    expect((await thread.run(input)).error).toBe('the daemon is stopping');
  });

  test('SchedulerThread: an abandoned run is answered at once; the next waits for the thread, and of two only the newest runs', async () => {
    const a = reported(initialCoreState('serv1', docWith(80), view(), { scheduler: 'worker' }));
    const input = of(a.commands, 'schedule')[0]!.input;
    const here = schedule(input);
    const thread = new SchedulerThread();
    try {
      const stale = thread.run(input);
      thread.abandon();
      expect((await stale).error).toBe(ABANDONED);
      const replaced = thread.run(input);
      thread.abandon();
      const newest = thread.run({ ...input, now: input.now + 3 });
      expect((await replaced).error).toBe(ABANDONED);
      expect((await newest).transition?.actions).toEqual(here.actions);
    } finally {
      await thread.dispose();
    }
  });

  test("SchedulerThread: a speculative run goes only to a free thread, and the core's abandon leaves it be", async () => {
    const a = reported(initialCoreState('serv1', docWith(80), view(), { scheduler: 'worker' }));
    const input = of(a.commands, 'schedule')[0]!.input;
    const here = schedule(input);
    const thread = new SchedulerThread();
    try {
      const ahead = thread.speculate(input);
      thread.abandon(); // the core abandons its own runs, not this one
      const busy = thread.speculate(input); // the thread is taken: answered at once, nothing queued
      const next = thread.run({ ...input, now: input.now + 1 }); // waits for the thread
      expect((await busy).error).toBe(ABANDONED);
      expect((await ahead).transition?.actions).toEqual(here.actions);
      expect((await next).transition?.actions).toEqual(here.actions);
    } finally {
      await thread.dispose();
    }
    expect((await thread.speculate(input)).error).toBe(ABANDONED);
  });

  test('a failed run is asked again after a delay that doubles (1 s, 2 s, ... at most 60 s), at once on an unexpected change, and a transition clears it', () => {
    const a = reported(initialCoreState('serv1', docWith(3), view(), { scheduler: 'worker' }));
    const first = of(a.commands, 'schedule')[0]!;
    const failed = run(a.state, [{ type: 'scheduled', id: first.id, error: 'the scheduler thread exited (code 1)', now }]);
    expect(failed.state.schedulerFailed).toEqual({ count: 1, error: 'the scheduler thread exited (code 1)', retryAt: now + 1_000 });
    expect(of(failed.commands, 'log').map((l) => l.message)).toContain('the scheduler failed: the scheduler thread exited (code 1); asking it again in 1 s');
    expect(of(failed.commands, 'schedule')).toHaveLength(0);
    // An expected change before the time asks nothing; the shell wakes the core once the time has come.
    const early = run(failed.state, [{ type: 'report', node: 'serv2', report: { ...report(20), rev: 1 }, now: now + 999 }]);
    expect(of(early.commands, 'schedule')).toHaveLength(0);
    expect(schedulerRetryDue(early.state, now + 999)).toBe(false);
    expect(schedulerRetryDue(early.state, now + 1_000)).toBe(true);
    const retried = run(early.state, [{ type: 'wake', now: now + 1_000 }]);
    const second = of(retried.commands, 'schedule');
    expect(second).toHaveLength(1);
    expect(schedulerRetryDue(retried.state, now + 1_000)).toBe(false); // asked: not due while it runs
    // A second failure in a row waits twice as long.
    const again = run(retried.state, [{ type: 'scheduled', id: second[0]!.id, error: 'boom', now: now + 1_100 }]);
    expect(again.state.schedulerFailed).toEqual({ count: 2, error: 'boom', retryAt: now + 3_100 });
    // An unexpected change (a peer lost) does not wait: its input differs.
    const lost = run(again.state, [{ type: 'membership', view: view(['serv1']), now: now + 1_200 }]);
    const third = of(lost.commands, 'schedule');
    expect(third).toHaveLength(1);
    // The first run that answers with a transition ends the failures.
    const ok = run(lost.state, [{ type: 'scheduled', id: third[0]!.id, transition: schedule(third[0]!.input), now: now + 1_300 }]);
    expect(ok.state.schedulerFailed).toBeUndefined();
    expect(of(ok.commands, 'log').map((l) => l.message)).toContain('the scheduler answers again after 2 failed run(s)');
    // The delay stops doubling at 60 s.
    const many = run({ ...ok.state, dirty: true, schedulerFailed: { count: 20, error: 'x', retryAt: now } }, [{ type: 'wake', now: now + 10_000 }]);
    const asked = of(many.commands, 'schedule')[0]!;
    const capFailed = run(many.state, [{ type: 'scheduled', id: asked.id, error: 'x', now: now + 10_000 }]);
    expect(capFailed.state.schedulerFailed?.retryAt).toBe(now + 10_000 + 60_000);
  });
});
