/**
 * The core driver holds a scheduler run asked while a lost peer is to be fenced: the fencing's
 * confirmation would make it stale, and the failover's run would wait behind it in the thread. The
 * run goes to the thread once the fencing ended, or after FENCE_WAIT_MS. Meanwhile the run the
 * confirmation will ask for is computed ahead (speculation.ts) and used if the confirmation leaves
 * the picture as assumed. (The thread's `run` and `speculate` are watched and answered here: what
 * is under test is when the driver hands runs to it and which answer the core gets.)
 */
import { schedule, type ScheduleInput } from '@paceline/scheduler';
import { FENCE_WAIT_MS } from '../src/core-driver.js';
import type { ScheduleReply } from '../src/scheduler-thread.js';
import { driverSetup } from './core-driver-kit.js';

function setup() {
  const t = driverSetup();
  // Every run handed to the thread, answered "failed" (the core then stays idle until the next change).
  const runs: ScheduleInput[] = [];
  type Thread = { run(i: ScheduleInput): Promise<ScheduleReply>; speculate(i: ScheduleInput): Promise<ScheduleReply> };
  const thread = (t.driver as unknown as { thread: Thread }).thread;
  thread.run = (input) => {
    runs.push(input);
    return Promise.resolve({ id: runs.length, error: 'answered by the test' });
  };
  // Runs asked ahead while the fencing runs: answered "failed" unless the test has them computed.
  const speculated: ScheduleInput[] = [];
  const answers = { compute: false };
  thread.speculate = (input) => {
    speculated.push(input);
    return Promise.resolve(answers.compute ? { id: 0, transition: schedule(input) } : { id: 0, error: 'answered by the test' });
  };
  return { ...t, runs, speculated, answers };
}

async function reported(t: ReturnType<typeof setup>): Promise<void> {
  t.reported();
  await t.settle();
  expect(t.runs).toHaveLength(1); // nobody lost: the run goes to the thread at once
}

test('a run asked while a lost peer is being fenced waits for the confirmation, and only the run made after it goes to the thread', async () => {
  const t = setup();
  try {
    await reported(t);
    t.lose();
    await t.settle();
    expect(t.runs).toHaveLength(1); // held
    expect(t.speculated).toHaveLength(1); // the confirmation's run, asked ahead (answered "failed" here)
    t.confirm();
    await t.settle();
    expect(t.runs).toHaveLength(2); // the speculation had no transition: the thread is asked
    // The run that went is the one that sees the peer proven down (offline), not the frozen one.
    expect(t.runs[1]!.status.nodes.find((n) => n.name === 'serv2')?.state).toBe('offline');
    expect(t.speculated[0]!.status.nodes.find((n) => n.name === 'serv2')?.state).toBe('offline');
    // The held run's wait ending later hands nothing more to the thread.
    for (const s of t.clock.sleeps.splice(0)) s();
    await t.settle();
    expect(t.runs).toHaveLength(2);
  } finally {
    await t.end();
  }
});

test(`a fencing that does not answer holds the run at most FENCE_WAIT_MS (${FENCE_WAIT_MS} ms); one that fails lets it go at the next step`, async () => {
  const t = setup();
  try {
    await reported(t);
    t.lose();
    await t.settle();
    expect(t.runs).toHaveLength(1);
    for (const s of t.clock.sleeps.splice(0)) s(); // the wait is over
    await t.settle();
    expect(t.runs).toHaveLength(2);
    expect(t.runs[1]!.status.nodes.find((n) => n.name === 'serv2')?.attributes['paceline-unclean']).toBeDefined(); // frozen
  } finally {
    await t.end();
  }
  const u = setup();
  try {
    await reported(u);
    u.lose();
    await u.settle();
    expect(u.runs).toHaveLength(1);
    u.fail();
    u.driver.step({ type: 'kick', reason: 'the next event', now: u.clock.t });
    await u.settle();
    expect(u.runs).toHaveLength(2);
  } finally {
    await u.end();
  }
});

test("the run computed while the peer was fenced is the failover's when the confirmation leaves the picture as assumed; otherwise the thread is asked", async () => {
  const t = setup();
  try {
    t.answers.compute = true;
    await reported(t);
    t.lose();
    await t.settle();
    expect(t.runs).toHaveLength(1);
    expect(t.speculated).toHaveLength(1);
    expect(t.driver.state.running).toBeUndefined(); // nothing runs before the confirmation
    t.confirm();
    await t.settle();
    expect(t.runs).toHaveLength(1); // not asked again
    expect(t.driver.state.running).toBeDefined(); // the failover's transition, from the speculated run
    expect(t.driver.state.last?.summary.join()).toContain('start r0');
  } finally {
    await t.end();
  }
  const u = setup();
  try {
    u.answers.compute = true;
    await reported(u);
    u.lose();
    await u.settle();
    // Between the speculation and the confirmation serv1's report changes (a start recorded, not
    // urgent: no new run is asked): the speculated run assumed the old status and is not used.
    u.driver.step({
      type: 'report',
      node: 'serv1',
      report: { boot: 10, rev: 1, history: [{ resource: 'r1', ops: [{ action: 'start', interval: 0, callId: 1, status: 'done', rc: 0 }] }], failures: [] },
      now: u.clock.t,
    });
    await u.settle();
    expect(u.runs).toHaveLength(1);
    u.confirm();
    await u.settle();
    expect(u.runs).toHaveLength(2);
    expect(u.runs[1]!.status.nodes.find((n) => n.name === 'serv1')?.history).toHaveLength(1);
    expect(u.driver.state.running).toBeUndefined(); // the thread's answer here is "failed"
  } finally {
    await u.end();
  }
});
