/**
 * The core driver with the real SchedulerThread, whose worker the test answers (a run is computed
 * by the real scheduler, in this thread, when the test says): the order in which runs reach the
 * thread and answers reach the core, around a lost peer's fencing, with nothing left to timing.
 */
import { EventEmitter } from 'node:events';
import type { ClusterConfig, ClusterStatus } from '@paceline/model';
import { schedule } from '@paceline/scheduler';
import { ABANDONED, SchedulerThread, type ScheduleReply, type ScheduleRequest, type SchedulerWorker } from '../src/scheduler-thread.js';
import { driverSetup, report } from './core-driver-kit.js';

/** A worker that keeps what it is sent (the configuration as schedule-worker.ts keeps it) and answers when told. */
class TestWorker extends EventEmitter {
  private config: ClusterConfig | undefined;
  /** Requests posted and not answered yet, oldest first (the thread posts one at a time). */
  readonly posted: { request: ScheduleRequest; config: ClusterConfig }[] = [];
  postMessage(m: ScheduleRequest): void {
    if (m.config !== undefined) this.config = m.config;
    else if (m.epoch !== undefined && this.config !== undefined) this.config = { ...this.config, epoch: m.epoch };
    this.posted.push({ request: m, config: this.config! });
  }
  /** Answers the oldest request: computed by the scheduler, or `error`. */
  answer(error?: string): void {
    const { request, config } = this.posted.shift()!;
    const reply: ScheduleReply =
      error !== undefined
        ? { id: request.id, error }
        : { id: request.id, transition: schedule({ config, status: request.status as ClusterStatus, now: request.now }) };
    this.emit('message', reply);
  }
  unref(): this {
    return this;
  }
  terminate(): Promise<number> {
    return Promise.resolve(0);
  }
}

function setup() {
  const worker = new TestWorker();
  const t = driverSetup(new SchedulerThread(() => worker as unknown as SchedulerWorker));
  const errors: string[] = [];
  return { ...t, worker, errors };
}

/** serv1's report with a failed monitor of r0 (a new failure: the core abandons the run it waits for and asks again). */
const failed = (rev: number) => ({
  ...report(10),
  rev,
  history: [{ resource: 'r0', ops: [{ action: 'monitor', interval: 10_000, callId: rev, status: 'done' as const, rc: 7 }] }],
  failures: [{ resource: 'r0', count: rev, lastFailure: 1_700_000_000 }],
});

test("a run abandoned while it waited for the speculated answer does not displace the core's next run in the thread (the failover went on)", async () => {
  const t = setup();
  try {
    t.reported();
    await t.settle();
    expect(t.worker.posted).toHaveLength(1);
    t.worker.answer('answered by the test'); // the core is idle until the next change
    await t.settle();

    t.lose(); // the run is held; the confirmation's run is computed ahead: the thread is busy with it
    await t.settle();
    expect(t.worker.posted).toHaveLength(1);
    // While the fencing runs, r0's monitor fails on serv1: the core asks again, the new
    // speculation finds the thread busy (answered ABANDONED at once: not computed).
    t.driver.step({ type: 'report', node: 'serv1', report: failed(1), now: t.clock.t });
    await t.settle();
    expect(t.worker.posted).toHaveLength(1);

    // The confirmation; in the same turn another change the core must act on (a second failure,
    // as the report that follows the confirmation may carry): the confirmation's run is abandoned
    // while it waits for the speculated answer, and the next run waits for the thread.
    t.confirm();
    t.driver.step({ type: 'report', node: 'serv1', report: failed(2), now: t.clock.t });
    await t.settle();
    expect(t.driver.state.scheduling).toBeDefined(); // the core still waits for its run

    t.worker.answer(); // the first speculation: its thread is free for the run the core waits for
    await t.settle();
    expect(t.worker.posted).toHaveLength(1); // that run, and nothing stale before it
    t.worker.answer();
    await t.settle();
    expect(t.worker.posted).toHaveLength(0);
    // serv2's resources (r1, r2) start on serv1: the failover's transition runs.
    expect(t.driver.state.running).toBeDefined();
    expect(t.driver.state.last?.summary.join('; ')).toMatch(/start r1 serv1.*start r2 serv1|start r2 serv1.*start r1 serv1/);
  } finally {
    await t.end();
  }
});

test('the thread answers ABANDONED to a waiting run that a newer one replaces (why only the run the core waits for may be asked there)', async () => {
  const worker = new TestWorker();
  const thread = new SchedulerThread(() => worker as unknown as SchedulerWorker);
  const t = driverSetup(thread);
  try {
    t.reported();
    await t.settle();
    const input = { config: t.driver.state.config, status: { nodes: [], quorum: true, dc: 'serv1' } as unknown as ClusterStatus, now: 1 };
    const waiting = thread.run(input); // the first run is still computing: this one waits
    const newer = thread.run(input);
    expect(await waiting).toEqual({ id: expect.any(Number), error: ABANDONED });
    worker.answer('answered by the test');
    await t.settle();
    worker.answer('answered by the test');
    expect((await newer).error).toBe('answered by the test');
  } finally {
    await t.end();
  }
});
