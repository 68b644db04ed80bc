import { QUARANTINE_ATTRIBUTE } from '@paceline/daemon';
import {
  coordinatorStep,
  docRetransmitTargets,
  initialCoreState,
  scheduleBlocker,
  buildStatus,
  type CoreCommand,
  type CoreState,
  type MembershipView,
  type NodeReportData,
} from '../src/core.js';
import { run } from './core-steps.js';
import { docKey } from '../src/updates.js';
import type { ClusterDoc } from '@paceline/daemon';

const config = {
  properties: { stonithEnabled: false },
  nodes: [
    { name: 'serv1', addresses: { lan: '127.0.0.1:7001' } },
    { name: 'serv2', addresses: { lan: '127.0.0.1:7003' } },
  ],
  resources: [{ type: 'primitive', id: 'web', agent: 'paceline:dummy' }],
  constraints: [{ type: 'location', id: 'web-home', resource: 'web', node: 'serv1', score: 100 }],
};
const doc: ClusterDoc = { epoch: 1, config: { ...config, epoch: 1 }, quarantine: {} };

function view(self: string, o: { members?: string[]; coordinator?: string; safe?: boolean; boot?: number } = {}): MembershipView {
  const members = o.members ?? ['serv1', 'serv2'];
  const peer = self === 'serv1' ? 'serv2' : 'serv1';
  const member = members.includes(peer);
  return {
    members,
    coordinator: o.coordinator ?? members[0]!,
    term: 1,
    quorate: true,
    mayRun: true,
    mayRunReason: 'ok',
    peers: {
      [peer]: {
        member,
        safelyDown: !member && (o.safe ?? false),
        reason: member ? 'member' : o.safe ? 'fenced' : 'lost; fencing requested',
        boot: o.boot ?? 10,
        links: { lan: member },
      },
    },
  };
}
const report = (boot: number, rev = 0, extra: Partial<NodeReportData> = {}): NodeReportData => ({ boot, rev, history: [], failures: [], ...extra });
const started = (node: string): NodeReportData =>
  report(node === 'serv1' ? 10 : 20, 1, {
    history: [{ resource: 'web', ops: [{ action: 'start', interval: 0, callId: 1, status: 'done', rc: 0 }] }],
  });

const runs = (cs: readonly CoreCommand[]) => cs.filter((c): c is Extract<CoreCommand, { type: 'run' }> => c.type === 'run');
const now = 1_700_000_000_000;

/** Ends running transitions (nothing ran) until the coordinator is idle. */
function settle(state: CoreState): CoreState {
  for (let i = 0; i < 10 && state.running !== undefined; i++)
    state = coordinatorStep(state, { type: 'transition-done', id: state.running, ran: 0, succeeded: true, aborted: false, failed: [], now }).state;
  return state;
}

describe('coordinatorStep', () => {
  test("the coordinator waits for every member's report, then probes and starts at home", () => {
    const s0 = initialCoreState('serv1', doc, view('serv1', { boot: 20 }));
    const a = run(s0, [{ type: 'report', node: 'serv1', report: report(10), now }]);
    expect(runs(a.commands)).toHaveLength(0); // serv2 has not reported yet
    const b = run(a.state, [{ type: 'report', node: 'serv2', report: report(20), now }]);
    const r = runs(b.commands);
    expect(r).toHaveLength(1);
    const kinds = r[0]!.transition.actions.map((x) => `${x.kind} ${x.node}`);
    expect(kinds).toEqual(expect.arrayContaining(['probe serv1', 'probe serv2', 'start serv1']));
    expect(b.state.running).toBe(1);
  });

  test('members whose membership settings differ: nothing is scheduled, the log and the blocker name the setting and the nodes', () => {
    const settings = { deadTicks: 6, partitionPolicy: 'fence', twoNode: true };
    const s0 = initialCoreState('serv1', doc, view('serv1', { boot: 20 }));
    const a = run(s0, [
      { type: 'report', node: 'serv1', report: report(10, 0, { membership: settings }), now },
      { type: 'report', node: 'serv2', report: report(20, 0, { membership: { ...settings, deadTicks: 30, partitionPolicy: 'stop-all' } }), now },
    ]);
    expect(runs(a.commands)).toHaveLength(0);
    const why = scheduleBlocker(a.state);
    expect(why).toContain('deadTicks is 6 on serv1 but 30 on serv2; partitionPolicy is fence on serv1 but stop-all on serv2');
    expect(a.state.settingsConflict).toBe(why);
    expect(a.commands).toContainEqual({ type: 'log', level: 'error', message: expect.stringContaining('deadTicks is 6 on serv1 but 30 on serv2') });
    // serv2 restarted without its overrides: they agree, the coordinator schedules.
    const b = run(a.state, [{ type: 'report', node: 'serv2', report: report(20, 1, { membership: settings }), now }]);
    expect(b.state.settingsConflict).toBeUndefined();
    expect(b.commands).toContainEqual({ type: 'log', level: 'info', message: "the members' membership settings agree again" });
    expect(runs(b.commands)).toHaveLength(1);
  });

  test('a member that does not report its membership settings (an older version) is not compared', () => {
    const s0 = initialCoreState('serv1', doc, view('serv1', { boot: 20 }));
    const a = run(s0, [
      { type: 'report', node: 'serv1', report: report(10, 0, { membership: { deadTicks: 6 } }), now },
      { type: 'report', node: 'serv2', report: report(20), now },
    ]);
    expect(a.state.settingsConflict).toBeUndefined();
    expect(runs(a.commands)).toHaveLength(1);
  });

  test('a non-coordinator never schedules', () => {
    const s0 = initialCoreState('serv2', doc, view('serv2', { boot: 10 }));
    const r = run(s0, [
      { type: 'report', node: 'serv1', report: report(10), now },
      { type: 'report', node: 'serv2', report: report(20), now },
    ]);
    expect(runs(r.commands)).toHaveLength(0);
  });

  test('a lost peer is unclean until proven down: its resource moves only then', () => {
    let s = initialCoreState('serv2', doc, view('serv2', { boot: 10 }));
    s = run(s, [
      { type: 'report', node: 'serv1', report: started('serv1'), now },
      { type: 'report', node: 'serv2', report: report(20), now },
    ]).state;
    // serv1 is lost, not fenced yet: serv2 becomes coordinator
    const lost = run(s, [{ type: 'membership', view: view('serv2', { members: ['serv2'], coordinator: 'serv2' }), now }]);
    const frozen = buildStatus(lost.state).nodes.find((n) => n.name === 'serv1')!;
    expect(frozen).toMatchObject({ state: 'online', maintenance: true, standby: true });
    const t1 = runs(lost.commands)[0]?.transition;
    expect(t1?.actions.filter((a) => a.runnable && (a.kind === 'start' || a.kind === 'stop')) ?? []).toEqual([]);
    const idle = settle(lost.state);
    const fenced = run(idle, [{ type: 'membership', view: view('serv2', { members: ['serv2'], coordinator: 'serv2', safe: true }), now }]);
    expect(buildStatus(fenced.state).nodes.find((n) => n.name === 'serv1')?.state).toBe('offline');
    const t2 = runs(fenced.commands)[0]!.transition;
    expect(t2.actions.filter((a) => a.kind === 'start').map((a) => a.node)).toEqual(['serv2']);
    expect(t2.actions.some((a) => a.kind === 'fence')).toBe(false);
    expect(t2.actions.some((a) => a.node === 'serv1')).toBe(false);
  });

  test('a lost peer that is not proven down plans nothing here: its report sent while lost is ignored (issue 8, namespaces: VIP on both nodes)', () => {
    // serv1 runs web and is lost; isolated, it coordinates its own side and stops web (its monitor
    // failed). That report reaches serv2 a few ms before the heartbeat that re-joins serv1.
    let s = initialCoreState('serv2', doc, view('serv2', { boot: 10 }));
    s = run(s, [
      { type: 'report', node: 'serv1', report: started('serv1'), now },
      { type: 'report', node: 'serv2', report: report(20), now },
    ]).state;
    s = settle(run(s, [{ type: 'membership', view: view('serv2', { members: ['serv2'], coordinator: 'serv2' }), now }]).state);
    const stoppedOnServ1 = report(10, 2, {
      history: [
        {
          resource: 'web',
          ops: [
            { action: 'start', interval: 0, callId: 1, status: 'done', rc: 0 },
            { action: 'stop', interval: 0, callId: 2, status: 'done', rc: 0 },
          ],
        },
      ],
    });
    const r = run(s, [{ type: 'report', node: 'serv1', report: stoppedOnServ1, now }]);
    expect(runs(r.commands)).toHaveLength(0);
    expect(r.state.reports['serv1']!.rev).toBe(1);
    // A report from another incarnation than the member's is not used either.
    const m = run(settle(initialCoreState('serv1', doc, view('serv1', { boot: 20 }))), [{ type: 'report', node: 'serv2', report: report(21, 9), now }]);
    expect(m.state.reports['serv2']).toBeUndefined();
  });

  test('while a peer is lost and not proven down, nothing that runs nowhere is started (the peer may be starting it)', () => {
    // web ran nowhere when serv1 was lost (e.g. it had been stopped after failures): serv2 must not
    // start it while serv1 might do the same on its side of a split.
    const cfg: ClusterDoc = {
      ...doc,
      config: {
        ...doc.config,
        resources: [
          { type: 'primitive', id: 'web', agent: 'paceline:dummy' },
          { type: 'primitive', id: 'db', agent: 'paceline:dummy' },
        ],
      },
    };
    const probed = (boot: number, rows: [string, number][]): NodeReportData =>
      report(boot, 1, { history: rows.map(([resource, rc]) => ({ resource, ops: [{ action: 'monitor', interval: 0, callId: 1, status: 'done', rc }] })) });
    let s = initialCoreState('serv2', cfg, view('serv2', { boot: 10 }));
    s = run(s, [
      {
        type: 'report',
        node: 'serv1',
        report: probed(10, [
          ['web', 7],
          ['db', 7],
        ]),
        now,
      },
      {
        type: 'report',
        node: 'serv2',
        report: probed(20, [
          ['web', 7],
          ['db', 0],
        ]),
        now,
      },
    ]).state;
    s = settle(s);
    const lost = run(s, [{ type: 'membership', view: view('serv2', { members: ['serv2'], coordinator: 'serv2' }), now }]);
    const starts = runs(lost.commands).flatMap((c) => c.transition.actions.filter((a) => a.kind === 'start').map((a) => a.resource));
    expect(starts).not.toContain('web');
    expect(lost.state.held).toEqual(['web']);
    expect(lost.commands).toContainEqual(
      expect.objectContaining({ type: 'log', level: 'warn', message: expect.stringContaining('not starting web while serv1 is lost') }),
    );
    // Proven down: web starts.
    const fenced = run(settle(lost.state), [{ type: 'membership', view: view('serv2', { members: ['serv2'], coordinator: 'serv2', safe: true }), now }]);
    expect(
      runs(fenced.commands)[0]!
        .transition.actions.filter((a) => a.kind === 'start')
        .map((a) => a.resource),
    ).toContain('web');
  });

  test('while a peer is lost and not proven down, a promotable clone promoted nowhere is not promoted (two primaries)', () => {
    const cfg: ClusterDoc = {
      ...doc,
      config: {
        ...doc.config,
        resources: [
          { type: 'clone', id: 'mirror', promotable: true, meta: { promotedMax: 1 }, child: { type: 'primitive', id: 'data', agent: 'paceline:dummy' } },
        ],
        constraints: [],
      },
    };
    const unpromoted = (boot: number): NodeReportData =>
      report(boot, 1, { history: [{ resource: 'data:0', ops: [{ action: 'start', interval: 0, callId: 1, status: 'done', rc: 0 }] }] });
    let s = initialCoreState('serv2', cfg, view('serv2', { boot: 10 }));
    s = settle(
      run(s, [
        { type: 'report', node: 'serv1', report: report(10, 1), now },
        { type: 'report', node: 'serv2', report: unpromoted(20), now },
      ]).state,
    );
    const lost = run(s, [{ type: 'membership', view: view('serv2', { members: ['serv2'], coordinator: 'serv2' }), now }]);
    expect(runs(lost.commands).flatMap((c) => c.transition.actions.filter((a) => a.kind === 'promote'))).toEqual([]);
    expect(lost.state.held).toEqual(['mirror']);
    const fenced = run(settle(lost.state), [{ type: 'membership', view: view('serv2', { members: ['serv2'], coordinator: 'serv2', safe: true }), now }]);
    expect(fenced.state.held).toEqual([]);
  });

  test('a report made before the member rejoined does not count as since it rejoined, whenever it arrives (simulated seed 3313)', () => {
    let s = initialCoreState('serv2', doc, view('serv2', { boot: 10, members: ['serv2'], coordinator: 'serv2', safe: true }));
    s = settle(run(s, [{ type: 'report', node: 'serv2', report: report(20), now }]).state);
    // serv1 rejoins; its report made during the partition (its view: itself alone) arrives after the join.
    s = run(s, [{ type: 'membership', view: view('serv2', { boot: 10, coordinator: 'serv2' }), now }]).state;
    const old = run(s, [{ type: 'report', node: 'serv1', report: report(10, 7, { members: ['serv1'] }), now }]);
    expect(runs(old.commands)).toHaveLength(0);
    expect(scheduleBlocker(old.state)).toBe("waiting for serv1's report since it rejoined");
    const fresh = run(old.state, [{ type: 'report', node: 'serv1', report: report(10, 8, { members: ['serv1', 'serv2'] }), now }]);
    expect(scheduleBlocker(fresh.state)).toBeUndefined();
  });

  test('nothing is scheduled while a lost peer that is not proven down has never reported (what it runs is unknown)', () => {
    let s = initialCoreState('serv2', doc, view('serv2', { boot: 10 }));
    s = run(s, [{ type: 'report', node: 'serv2', report: report(20), now }]).state; // serv1 never reported
    const lost = run(s, [{ type: 'membership', view: view('serv2', { members: ['serv2'], coordinator: 'serv2' }), now }]);
    expect(runs(lost.commands)).toHaveLength(0);
    expect(scheduleBlocker(lost.state)).toContain('serv1 is lost and not proven down, and what it runs is unknown');
    const fenced = run(lost.state, [{ type: 'membership', view: view('serv2', { members: ['serv2'], coordinator: 'serv2', safe: true }), now }]);
    expect(
      runs(fenced.commands)[0]!
        .transition.actions.filter((a) => a.kind === 'start')
        .map((a) => a.node),
    ).toEqual(['serv2']);
  });

  test('a dirty state while a transition runs aborts it, and the next one follows its end', () => {
    let s = initialCoreState('serv1', doc, view('serv1', { boot: 20 }));
    s = run(s, [
      { type: 'report', node: 'serv1', report: report(10), now },
      { type: 'report', node: 'serv2', report: report(20), now },
    ]).state;
    expect(s.running).toBe(1);
    const k = run(s, [{ type: 'kick', reason: 'admin', now }]);
    expect(k.commands).toContainEqual({ type: 'abort', id: 1 });
    const d = run(k.state, [{ type: 'transition-done', id: 1, ran: 0, succeeded: false, aborted: true, failed: [], now }]);
    expect(runs(d.commands)).toHaveLength(1);
    expect(d.state.running).toBe(2);
  });

  test('a newer document is adopted, an older one answered with ours, a conflicting one reported', () => {
    const s = initialCoreState('serv2', doc, view('serv2', { boot: 10 }));
    const newer: ClusterDoc = { ...doc, epoch: 2, config: { ...doc.config, epoch: 2, properties: { stonithEnabled: false } } };
    const a = run(s, [{ type: 'doc', from: 'serv1', doc: newer, now }]);
    expect(a.state.doc.epoch).toBe(2);
    expect(a.state.config.properties.stonithEnabled).toBe(false);
    expect(a.commands).toContainEqual({ type: 'persist', doc: newer });
    const b = run(a.state, [{ type: 'doc', from: 'serv1', doc, now }]);
    expect(b.commands).toContainEqual({ type: 'publish', doc: newer, to: 'serv1' });
    // serv1 sent it, so both hold it: confirmed
    expect(a.state.committed).toBe(true);
    expect(a.commands).toContainEqual(expect.objectContaining({ type: 'reply', to: 'serv1', reqId: `doc-ack/${docKey(newer)}` }));
  });

  test("a peer's digest: the same copy is shown and acknowledged; any other gets this node's document, and only an older one counts as shown", () => {
    const s = initialCoreState('serv2', doc, view('serv2', { boot: 10 }));
    const same = run(s, [{ type: 'doc-digest', from: 'serv1', key: docKey(doc), now }]);
    expect(same.state.docShown['serv1']).toBe(true);
    expect(same.state.peerDocs['serv1']).toBe(docKey(doc));
    expect(same.commands).toContainEqual(expect.objectContaining({ type: 'reply', to: 'serv1', reqId: `doc-ack/${docKey(doc)}` }));
    expect(same.commands.some((c) => c.type === 'publish')).toBe(false);
    const newer: ClusterDoc = { ...doc, epoch: 2, config: { ...doc.config, epoch: 2 } };
    const other: ClusterDoc = { ...doc, quarantine: { serv1: 'x' } };
    for (const key of [docKey(newer), docKey(other), 'garbage']) {
      const r = run(s, [{ type: 'doc-digest', from: 'serv1', key, now }]);
      expect(r.commands).toContainEqual({ type: 'publish', doc, to: 'serv1' });
      expect(r.state.docShown['serv1']).not.toBe(true); // its document will show it
      expect(r.state.doc).toBe(doc);
    }
    const older = run(initialCoreState('serv2', newer, view('serv2', { boot: 10 })), [{ type: 'doc-digest', from: 'serv1', key: docKey(doc), now }]);
    expect(older.commands).toContainEqual({ type: 'publish', doc: newer, to: 'serv1' });
    expect(older.state.docShown['serv1']).toBe(true);
    // and the older copy's holder, given the newer document, adopts it
    const adopted = run(initialCoreState('serv1', doc, view('serv1', { boot: 20 })), [{ type: 'doc', from: 'serv2', doc: newer, now }]);
    expect(adopted.state.doc.epoch).toBe(2);
  });

  test('a same-epoch conflict: an unconfirmed copy yields, the coordinator republishes its copy once the other yielded, a confirmed copy is never given up', () => {
    const newer: ClusterDoc = { ...doc, epoch: 2, config: { ...doc.config, epoch: 2 } };
    const conflicting: ClusterDoc = { ...newer, quarantine: { serv1: 'x' } };
    // serv2 (not coordinator) holds an unconfirmed copy: it yields and keeps waiting
    const c = run(initialCoreState('serv2', newer, view('serv2', { boot: 10 })), [{ type: 'doc', from: 'serv1', doc: conflicting, now }]);
    expect(c.state.doc).toBe(newer);
    expect(c.commands).toContainEqual(expect.objectContaining({ type: 'reply', to: 'serv1', reqId: `doc-yield/${docKey(conflicting)}` }));
    expect(c.commands.find((x) => x.type === 'log')).toMatchObject({ level: 'warn', message: expect.stringContaining('conflicting configuration at epoch 2') });
    // the coordinator with an unconfirmed copy republishes it only after the other side yielded
    const coord = run(initialCoreState('serv1', newer, view('serv1', { boot: 20 })), [{ type: 'doc', from: 'serv2', doc: conflicting, now }]);
    expect(coord.state.doc.epoch).toBe(2);
    const yielded = run(coord.state, [{ type: 'doc-signal', from: 'serv2', reqId: `doc-yield/${docKey(newer)}`, now }]);
    expect(yielded.state.doc.epoch).toBe(3);
    expect(yielded.commands.some((x) => x.type === 'publish' && x.to === undefined && x.doc.epoch === 3)).toBe(true);
    // a confirmed copy (serv2 acknowledged it) is republished at once, even by a non-coordinator
    const confirmed = run(initialCoreState('serv2', newer, view('serv2', { boot: 10 })), [
      { type: 'doc-signal', from: 'serv1', reqId: `doc-ack/${docKey(newer)}`, now },
      { type: 'doc', from: 'serv1', doc: conflicting, now },
    ]);
    expect(confirmed.state.doc).toMatchObject({ epoch: 3, quarantine: {} });
  });

  test('an invalid document is refused with the reason', () => {
    const s = initialCoreState('serv2', doc, view('serv2'));
    const bad: ClusterDoc = { ...doc, epoch: 5, config: { resources: [{ type: 'primitive', id: 'x' }] } };
    const r = run(s, [{ type: 'doc', from: 'serv1', doc: bad, now }]);
    expect(r.state.doc.epoch).toBe(1);
    expect(r.commands.find((c) => c.type === 'log')).toMatchObject({
      level: 'error',
      message: expect.stringContaining('rejected configuration epoch 5 from serv1'),
    });
  });

  test('updates: forwarded by a non-coordinator, applied and published by the coordinator, answered once every node holds it', () => {
    const follower = initialCoreState('serv2', doc, view('serv2'));
    const f = run(follower, [{ type: 'update', request: { op: 'standby', node: 'serv1', on: true }, reqId: 'r1', replyTo: 'serv2', now }]);
    expect(f.commands).toContainEqual({ type: 'forward', to: 'serv1', request: { op: 'standby', node: 'serv1', on: true }, reqId: 'r1' });
    // the coordinator's document is confirmed when serv2 sends the same one
    const coord = run(initialCoreState('serv1', doc, view('serv1')), [{ type: 'doc', from: 'serv2', doc, now }]).state;
    const c = run(coord, [{ type: 'update', request: { op: 'ban', resource: 'web', node: 'serv1' }, reqId: 'r1', replyTo: 'serv2', now }]);
    expect(c.state.doc.epoch).toBe(2);
    expect(c.state.config.constraints.map((x) => x.id)).toContain('cli-ban-web-on-serv1');
    expect(c.commands.some((x) => x.type === 'reply' && x.reqId === 'r1')).toBe(false); // not yet: serv2 has not acknowledged it
    expect(docRetransmitTargets(c.state)).toEqual(['serv2']);
    // a second change waits for the first to be confirmed
    const second = run(c.state, [{ type: 'update', request: { op: 'standby', node: 'serv2', on: true }, reqId: 'r3', replyTo: 'serv1', now }]);
    expect(second.state.doc.epoch).toBe(2);
    const acked = run(second.state, [{ type: 'doc-signal', from: 'serv2', reqId: `doc-ack/${docKey(c.state.doc)}`, now }]);
    expect(acked.commands).toContainEqual(
      expect.objectContaining({ type: 'reply', to: 'serv2', reqId: 'r1', ok: true, message: expect.stringContaining('(epoch 2)') }),
    );
    expect(acked.state.doc.epoch).toBe(3);
    const bad = run(coord, [{ type: 'update', request: { op: 'move', resource: 'nope', node: 'serv1' }, reqId: 'r2', replyTo: 'serv1', now }]);
    expect(bad.commands).toContainEqual(expect.objectContaining({ type: 'reply', ok: false, message: 'no resource "nope" in the configuration' }));
  });

  test('an update request id is applied once: a copy while it waits is not applied again, a copy after its answer gets the same answer', () => {
    const coord = run(initialCoreState('serv1', doc, view('serv1')), [{ type: 'doc', from: 'serv2', doc, now }]).state;
    const req = { type: 'update', request: { op: 'standby', node: 'serv2', on: true }, reqId: 'serv2/20/1', replyTo: 'serv2', now } as const;
    const applied = run(coord, [req]);
    expect(applied.state.doc.epoch).toBe(2);
    // A copy while the change waits for serv2's acknowledgement: nothing new, no answer yet.
    const copy = run(applied.state, [req]);
    expect(copy.state.doc.epoch).toBe(2);
    expect(copy.state.queue).toHaveLength(0);
    expect(copy.commands.filter((c) => c.type === 'reply' || c.type === 'publish')).toEqual([]);
    const acked = run(copy.state, [{ type: 'doc-signal', from: 'serv2', reqId: `doc-ack/${docKey(applied.state.doc)}`, now }]);
    const answer = acked.commands.filter((c) => c.type === 'reply' && c.reqId === req.reqId);
    expect(answer).toEqual([expect.objectContaining({ to: 'serv2', ok: true, message: expect.stringContaining('(epoch 2)') })]);
    // Standby off again, then the first request once more: the same answer, and it is not applied.
    const turnOff = run(acked.state, [{ type: 'update', request: { op: 'standby', node: 'serv2', on: false }, reqId: 'serv2/20/2', replyTo: 'serv2', now }]);
    const off = run(turnOff.state, [{ type: 'doc-signal', from: 'serv2', reqId: `doc-ack/${docKey(turnOff.state.doc)}`, now }]);
    expect(off.state).toMatchObject({ committed: true, doc: { epoch: 3 } });
    const again = run(off.state, [req]);
    expect(again.state.doc).toEqual(off.state.doc);
    expect(again.commands.filter((c) => c.type === 'reply')).toEqual(answer);
    // A refusal is repeated as a refusal.
    const bad = { type: 'update', request: { op: 'move', resource: 'nope', node: 'serv1' }, reqId: 'serv2/20/3', replyTo: 'serv2', now } as const;
    const refused = run(again.state, [bad, bad]);
    expect(refused.commands.filter((c) => c.type === 'reply').map((c) => c.type === 'reply' && c.message)).toEqual([
      'no resource "nope" in the configuration',
      'no resource "nope" in the configuration',
    ]);
    expect(refused.state.doc.epoch).toBe(off.state.doc.epoch);
  });

  test('a node whose peer has not shown it its document since it started makes no change, even once the peer is fenced (simulated replay seed 730)', () => {
    // serv1 restarted with its document from disk; serv2 joined and was lost again (fenced) before
    // its document arrived: serv2 may hold newer acknowledged changes.
    const s = initialCoreState('serv1', doc, view('serv1', { members: ['serv1'], coordinator: 'serv1', safe: true }));
    const r = run(s, [{ type: 'update', request: { op: 'standby', node: 'serv1', on: true }, reqId: 'r1', replyTo: 'serv1', now }]);
    expect(r.state.doc.epoch).toBe(1);
    expect(r.commands).toContainEqual(
      expect.objectContaining({
        type: 'reply',
        reqId: 'r1',
        ok: false,
        message: expect.stringContaining('serv2 has not shown serv1 its configuration since serv1 started'),
      }),
    );
    // Once serv2 showed its document (here: the same one), changes are made again.
    const shown = run(s, [
      { type: 'doc', from: 'serv2', doc, now },
      { type: 'update', request: { op: 'standby', node: 'serv1', on: true }, reqId: 'r2', replyTo: 'serv1', now },
    ]);
    expect(shown.commands).toContainEqual(expect.objectContaining({ type: 'reply', reqId: 'r2', ok: true }));
  });

  test('updates are refused while a peer is lost and not proven down; once it is fenced they skip an epoch', () => {
    const coord = run(initialCoreState('serv1', doc, view('serv1')), [{ type: 'doc', from: 'serv2', doc, now }]).state;
    const lost = run(coord, [
      { type: 'membership', view: view('serv1', { members: ['serv1'], coordinator: 'serv1' }), now },
      { type: 'update', request: { op: 'standby', node: 'serv1', on: true }, reqId: 'r1', replyTo: 'serv1', now },
    ]);
    expect(lost.state.doc.epoch).toBe(1);
    expect(lost.commands).toContainEqual(
      expect.objectContaining({
        type: 'reply',
        reqId: 'r1',
        ok: false,
        message: expect.stringContaining('serv2 is lost and not proven down (lost; fencing requested)'),
      }),
    );
    const fenced = run(lost.state, [
      { type: 'membership', view: view('serv1', { members: ['serv1'], coordinator: 'serv1', safe: true }), now },
      { type: 'update', request: { op: 'standby', node: 'serv1', on: true }, reqId: 'r2', replyTo: 'serv1', now },
    ]);
    expect(fenced.state.doc.epoch).toBe(3);
    expect(fenced.commands).toContainEqual(expect.objectContaining({ type: 'reply', reqId: 'r2', ok: true })); // no member to wait for
    const noQuorum = run(coord, [
      { type: 'membership', view: { ...view('serv1'), quorate: false, mayRunReason: 'no quorum (1 of 3 nodes)' }, now },
      { type: 'update', request: { op: 'standby', node: 'serv1', on: true }, reqId: 'r3', replyTo: 'serv1', now },
    ]);
    expect(noQuorum.commands).toContainEqual(expect.objectContaining({ type: 'reply', reqId: 'r3', ok: false, message: expect.stringContaining('no quorum') }));
  });

  test('an unconfirmed change is not answered as done when another copy takes over', () => {
    const coord = run(initialCoreState('serv1', doc, view('serv1')), [{ type: 'doc', from: 'serv2', doc, now }]).state;
    const c = run(coord, [{ type: 'update', request: { op: 'standby', node: 'serv1', on: true }, reqId: 'r1', replyTo: 'serv1', now }]);
    const other: ClusterDoc = { ...doc, epoch: 5, config: { ...doc.config, epoch: 5 } };
    const r = run(c.state, [{ type: 'doc', from: 'serv2', doc: other, now }]);
    expect(r.commands).toContainEqual(
      expect.objectContaining({ type: 'reply', reqId: 'r1', ok: false, message: expect.stringContaining('it may or may not be in effect') }),
    );
  });

  test('a node back from an unclean end is quarantined in standby until cleared', () => {
    let s = initialCoreState('serv2', doc, view('serv2', { coordinator: 'serv2', boot: 11 }));
    const r = run(s, [
      { type: 'doc', from: 'serv1', doc, now },
      { type: 'report', node: 'serv2', report: report(20), now },
      { type: 'report', node: 'serv1', report: report(11, 0, { unclean: 'serv1 was killed' }), now },
    ]);
    s = r.state;
    expect(s.doc.quarantine).toEqual({ serv1: 'serv1 was killed' });
    const n = buildStatus(s).nodes.find((x) => x.name === 'serv1')!;
    expect(n.standby).toBe(true);
    expect(n.attributes[QUARANTINE_ATTRIBUTE]).toBe('serv1 was killed');
    // the same report again does not quarantine twice; clearing works
    const c = run(s, [
      { type: 'doc-signal', from: 'serv1', reqId: `doc-ack/${docKey(s.doc)}`, now },
      { type: 'update', request: { op: 'clear-node', node: 'serv1' }, reqId: 'c', replyTo: 'serv2', now },
      { type: 'report', node: 'serv1', report: report(11, 1, { unclean: 'serv1 was killed' }), now },
    ]);
    expect(c.state.doc.quarantine).toEqual({});
    expect(buildStatus(c.state).nodes.find((x) => x.name === 'serv1')!.standby).toBe(false);
  });

  test('stale reports are ignored', () => {
    const s = initialCoreState('serv1', doc, view('serv1', { boot: 20 }));
    const a = run(s, [
      { type: 'report', node: 'serv2', report: report(20, 5), now },
      { type: 'report', node: 'serv2', report: report(20, 3), now },
    ]);
    expect(a.state.reports['serv2']!.rev).toBe(5);
  });

  test('expected results do not abort the running transition; a new failure does', () => {
    let s = initialCoreState('serv1', doc, view('serv1', { boot: 20 }));
    s = run(s, [
      { type: 'report', node: 'serv1', report: report(10), now },
      { type: 'report', node: 'serv2', report: report(20), now },
    ]).state;
    expect(s.running).toBe(1);
    const ok = run(s, [{ type: 'report', node: 'serv1', report: started('serv1'), now }]);
    expect(ok.commands.some((c) => c.type === 'abort')).toBe(false);
    const failed = run(ok.state, [{ type: 'report', node: 'serv2', report: report(20, 2, { failures: [{ resource: 'web', count: 1 }] }), now }]);
    expect(failed.commands).toContainEqual({ type: 'abort', id: 1 });
  });

  test('a node shutting down cleanly has its resources moved off; running monitors are not rerun', () => {
    let s = initialCoreState('serv1', doc, view('serv1', { boot: 20 }));
    const withMonitor = report(10, 1, {
      history: [
        {
          resource: 'web',
          ops: [
            { action: 'start', interval: 0, callId: 1, status: 'done', rc: 0 },
            { action: 'monitor', interval: 5000, callId: 2, status: 'done', rc: 0 },
          ],
        },
      ],
    });
    const cfg: ClusterDoc = {
      ...doc,
      config: { ...doc.config, resources: [{ type: 'primitive', id: 'web', agent: 'paceline:dummy', ops: [{ name: 'monitor', interval: '5s' }] }] },
    };
    s = initialCoreState('serv1', cfg, view('serv1', { boot: 20 }));
    const h2 = report(20, 1, { history: [{ resource: 'web', ops: [{ action: 'monitor', interval: 0, callId: 1, status: 'done', rc: 7 }] }] });
    const steady = run(s, [
      { type: 'report', node: 'serv1', report: withMonitor, now },
      { type: 'report', node: 'serv2', report: h2, now },
    ]);
    expect(runs(steady.commands)).toHaveLength(0);
    const leaving = run(steady.state, [{ type: 'report', node: 'serv1', report: { ...withMonitor, rev: 2, shutdown: true }, now }]);
    const t = runs(leaving.commands)[0]!.transition;
    expect(
      t.actions
        .filter((a) => a.kind === 'stop' || a.kind === 'start')
        .map((a) => `${a.kind} ${a.node}`)
        .sort(),
    ).toEqual(['start serv2', 'stop serv1']);
  });
});
