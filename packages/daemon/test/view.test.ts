import { readPlacement, schedule, type ScheduleInput } from '@paceline/scheduler';
import type { Transition } from '@paceline/model';
import { type ClusterDoc } from '@paceline/daemon';
import { buildStatus, coordinatorStep, initialCoreState, type CoreState, type MembershipView, type NodeReportData } from '../src/core.js';
import { PlacementViews } from '../src/view.js';

const config = {
  properties: { stonithEnabled: false },
  nodes: [
    { name: 'serv1', addresses: { lan: '127.0.0.1:7001' } },
    { name: 'serv2', addresses: { lan: '127.0.0.1:7003' } },
  ],
  resources: [
    { type: 'primitive', id: 'web', agent: 'paceline:dummy' },
    { type: 'primitive', id: 'db', agent: 'paceline:dummy' },
  ],
  constraints: [],
};
const doc: ClusterDoc = { epoch: 1, config: { ...config, epoch: 1 }, quarantine: {} };
const now = 1_700_000_000_000;

function view(self: string): MembershipView {
  const peer = self === 'serv1' ? 'serv2' : 'serv1';
  return {
    members: ['serv1', 'serv2'],
    coordinator: 'serv1',
    term: 1,
    quorate: true,
    mayRun: true,
    mayRunReason: 'ok',
    peers: { [peer]: { member: true, safelyDown: false, reason: 'member', boot: peer === 'serv1' ? 10 : 20, links: { lan: true } } },
  };
}
const report = (boot: number, rev: number, running: string[]): NodeReportData => ({
  boot,
  rev,
  failures: [],
  history: running.map((resource, i) => ({ resource, ops: [{ action: 'start', interval: 0, callId: i + 1, status: 'done', rc: 0 }] })),
});
const feed = (s: CoreState, node: string, r: NodeReportData): CoreState => coordinatorStep(s, { type: 'report', node, report: r, now }).state;

/** A reader that counts its calls and reads as schedule() does. */
function counting(): { read: (i: ScheduleInput) => Pick<Transition, 'current' | 'warnings'>; calls: () => number } {
  let n = 0;
  return {
    read: (i) => {
      n++;
      const t = schedule(i);
      return { current: t.current, warnings: t.warnings };
    },
    calls: () => n,
  };
}

describe('the status view (never the scheduler per request)', () => {
  test("the coordinator shows its last scheduler run's view while nothing changed", () => {
    let s = initialCoreState('serv1', doc, view('serv1'));
    s = feed(feed(s, 'serv1', report(10, 1, ['web'])), 'serv2', report(20, 1, ['db']));
    expect(s.placement).toBeDefined();
    const c = counting();
    const views = new PlacementViews(c.read);
    const shown = views.view(s, buildStatus(s), now).resources;
    expect(c.calls()).toBe(0);
    expect(shown).toBe(s.placement!.resources);
    expect(
      shown
        .filter((p) => p.node !== null)
        .map((p) => `${p.instance}@${p.node}`)
        .sort(),
    ).toEqual(['db@serv2', 'web@serv1']);
  });

  test('elsewhere the status is read once per change, and a report sent again unchanged is no change', () => {
    let s = initialCoreState('serv2', doc, view('serv2'));
    s = feed(feed(s, 'serv1', report(10, 1, ['web'])), 'serv2', report(20, 1, []));
    expect(s.placement).toBeUndefined(); // serv1 coordinates: serv2 never schedules
    const c = counting();
    const views = new PlacementViews(c.read);
    const first = views.view(s, buildStatus(s), now).resources;
    expect(views.view(s, buildStatus(s), now).resources).toBe(first);
    expect(c.calls()).toBe(1);
    expect(first).toEqual(schedule({ config: s.config, status: buildStatus(s), now }).current);
    expect(readPlacement({ config: s.config, status: buildStatus(s), now })).toEqual({ current: first, warnings: [] });
    // Anti-entropy: serv1 sends the same report again (a new object, same incarnation and revision).
    s = feed(s, 'serv1', report(10, 1, ['web']));
    expect(views.view(s, buildStatus(s), now).resources).toBe(first);
    expect(c.calls()).toBe(1);
    // serv2 started db: a new revision, read once more.
    s = feed(s, 'serv2', report(20, 2, ['db']));
    const second = views.view(s, buildStatus(s), now).resources;
    expect(c.calls()).toBe(2);
    expect(
      second
        .filter((p) => p.node !== null)
        .map((p) => `${p.instance}@${p.node}`)
        .sort(),
    ).toEqual(['db@serv2', 'web@serv1']);
  });
});

test("the view carries the scheduler's warnings about the configuration in force", () => {
  const fencing: ClusterDoc = { ...doc, config: { ...doc.config, properties: { stonithEnabled: true } } };
  const s = feed(feed(initialCoreState('serv2', fencing, view('serv2')), 'serv1', report(10, 1, [])), 'serv2', report(20, 1, []));
  const shown = new PlacementViews().view(s, buildStatus(s), now);
  expect(shown.warnings).toEqual(schedule({ config: s.config, status: buildStatus(s), now }).warnings);
  expect(shown.warnings.length).toBeGreaterThan(0);
});
