/**
 * The core driver holds a scheduler run asked while a lost peer is to be fenced: the fencing's
 * confirmation would make it stale, and the failover's run would wait behind it in the thread. The
 * run goes to the thread once the fencing ended, or after FENCE_WAIT_MS. (The thread's `run` is
 * watched and answered here: what is under test is when the driver hands runs to it.)
 */
import type { MembershipState } from '@paceline/membership';
import { AgentRegistry, silentLogger, type Clock } from '@paceline/agent-api';
import { ExecutorEvents } from '@paceline/executor';
import { ExecaCommandRunner } from '@paceline/runtime';
import { initialCoreState, type MembershipView, type NodeReportData } from '../src/core.js';
import { CoreDriver, FENCE_WAIT_MS } from '../src/core-driver.js';
import type { ScheduleInput } from '@paceline/scheduler';
import type { ScheduleReply } from '../src/scheduler-thread.js';
import type { ClusterDoc } from '@paceline/daemon';

const doc: ClusterDoc = {
  epoch: 1,
  config: {
    epoch: 1,
    properties: { stonithEnabled: false },
    nodes: [
      { name: 'serv1', addresses: { lan: '127.0.0.1:7001' } },
      { name: 'serv2', addresses: { lan: '127.0.0.1:7003' } },
    ],
    resources: Array.from({ length: 3 }, (_, i) => ({ type: 'primitive', id: `r${i}`, agent: 'paceline:dummy' })),
  },
  quarantine: {},
};
const view = (serv2: boolean, safelyDown = false): MembershipView => ({
  members: serv2 ? ['serv1', 'serv2'] : ['serv1'],
  coordinator: 'serv1',
  term: 1,
  quorate: true,
  mayRun: true,
  mayRunReason: 'ok',
  peers: { serv2: { member: serv2, safelyDown, reason: serv2 ? 'member' : 'lost', boot: 20, links: { lan: serv2 } } },
});
const report = (boot: number): NodeReportData => ({ boot, rev: 0, history: [], failures: [] });

/** A clock whose sleeps end when the test says so. */
class HeldClock implements Clock {
  t = 1_700_000_000_000;
  readonly sleeps: (() => void)[] = [];
  now(): number {
    return this.t;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.sleeps.push(() => ((this.t += ms), resolve())));
  }
}

function setup() {
  const clock = new HeldClock();
  let fence: MembershipState['peers'][string]['fence'] = { phase: 'none' };
  let member = true;
  const lifetime = new AbortController();
  const driver = new CoreDriver(
    {
      node: 'serv1',
      log: silentLogger,
      clock,
      agents: new AgentRegistry([]),
      runner: new ExecaCommandRunner(),
      stateRoot: '/nonexistent',
      events: new ExecutorEvents(),
      lifetime: lifetime.signal,
      stopped: () => false,
      membership: () => ({ peers: { serv2: { member, fence } } }) as unknown as MembershipState,
      reportsChanged: () => undefined,
      dispatch: () => new Promise(() => undefined),
      send: () => undefined,
      broadcast: () => undefined,
      answer: () => undefined,
      persist: () => undefined,
      replyWhenDurable: () => undefined,
      configChanged: () => undefined,
      transitionDone: () => undefined,
    },
    initialCoreState('serv1', doc, view(true), { scheduler: 'worker' }),
  );
  // Every run handed to the thread, answered "failed" (the core then stays idle until the next change).
  const runs: ScheduleInput[] = [];
  const thread = (driver as unknown as { thread: { run(i: ScheduleInput): Promise<ScheduleReply>; dispose(): Promise<void> } }).thread;
  thread.run = (input) => {
    runs.push(input);
    return Promise.resolve({ id: runs.length, error: 'answered by the test' });
  };
  const lose = () => {
    member = false;
    fence = { phase: 'requested', since: 1 };
    driver.step({ type: 'membership', view: view(false), now: clock.t });
  };
  const settle = () => new Promise((r) => setImmediate(r));
  return {
    clock,
    driver,
    runs,
    lose,
    settle,
    confirm: () => {
      fence = { phase: 'confirmed', at: 2 };
      driver.step({ type: 'fenced', node: 'serv2', reason: 'fenced by the test', now: clock.t });
    },
    fail: () => (fence = { phase: 'failed', retryTick: 9 }),
    end: () => (lifetime.abort(), driver.dispose()),
  };
}

async function reported(t: ReturnType<typeof setup>): Promise<void> {
  t.driver.step({ type: 'report', node: 'serv1', report: report(10), now: t.clock.t });
  t.driver.step({ type: 'report', node: 'serv2', report: report(20), now: t.clock.t });
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
    t.confirm();
    await t.settle();
    expect(t.runs).toHaveLength(2);
    // The run that went is the one that sees the peer proven down (offline), not the frozen one.
    expect(t.runs[1]!.status.nodes.find((n) => n.name === 'serv2')?.state).toBe('offline');
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
