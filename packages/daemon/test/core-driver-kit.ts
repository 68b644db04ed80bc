/**
 * A core driver for tests (core-driver-hold, core-driver-thread): serv1 coordinates three dummy
 * resources with serv2; the clock's sleeps end when the test says so, membership is a stub the test
 * sets (serv2 a member, or lost and being fenced), transitions' remote actions never answer.
 */
import type { MembershipState } from '@paceline/membership';
import { AgentRegistry, silentLogger, type Clock } from '@paceline/agent-api';
import { ExecutorEvents } from '@paceline/executor';
import { ExecaCommandRunner } from '@paceline/runtime';
import { initialCoreState, type MembershipView, type NodeReportData } from '../src/core.js';
import { CoreDriver } from '../src/core-driver.js';
import type { SchedulerThread } from '../src/scheduler-thread.js';
import type { ClusterDoc } from '../src/messages.js';

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
export const view = (serv2: boolean, safelyDown = false): MembershipView => ({
  members: serv2 ? ['serv1', 'serv2'] : ['serv1'],
  coordinator: 'serv1',
  term: 1,
  quorate: true,
  mayRun: true,
  mayRunReason: 'ok',
  peers: { serv2: { member: serv2, safelyDown, reason: serv2 ? 'member' : 'lost', boot: 20, links: { lan: serv2 } } },
});
export const report = (boot: number): NodeReportData => ({ boot, rev: 0, history: [], failures: [] });

/** A clock whose sleeps end when the test says so. */
export class HeldClock implements Clock {
  t = 1_700_000_000_000;
  readonly sleeps: (() => void)[] = [];
  now(): number {
    return this.t;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.sleeps.push(() => ((this.t += ms), resolve())));
  }
}

/** The driver (scheduler runs in `thread`, else a thread of its own), and the membership stub's moves. */
export function driverSetup(thread?: SchedulerThread) {
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
      ...(thread ? { thread } : {}),
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
  return {
    clock,
    driver,
    /** serv2 is lost; its fencing is asked for. */
    lose: () => {
      member = false;
      fence = { phase: 'requested', since: 1 };
      driver.step({ type: 'membership', view: view(false), now: clock.t });
    },
    /** serv2's fencing is confirmed. */
    confirm: () => {
      fence = { phase: 'confirmed', at: 2 };
      driver.step({ type: 'fenced', node: 'serv2', reason: 'fenced by the test', now: clock.t });
    },
    fail: () => (fence = { phase: 'failed', retryTick: 9 }),
    /** Both nodes' first reports. */
    reported: () => {
      driver.step({ type: 'report', node: 'serv1', report: report(10), now: clock.t });
      driver.step({ type: 'report', node: 'serv2', report: report(20), now: clock.t });
    },
    settle: () => new Promise((r) => setImmediate(r)),
    end: () => (lifetime.abort(), driver.dispose()),
  };
}
