/**
 * The stages after assignment, each on its own: inhibit (interleaved orderings take back instances
 * without a partner), create actions (what each primitive needs and why), orderings (the edges)
 * and propagation ("required" and "unrunnable" along the edges), then the summary and placements
 * read from the propagated set. Each returns a new value and
 * leaves the earlier stage's as it was (checked here by deep-freezing it).
 */
import type { ClusterConfigInput, ClusterStatusInput } from '@paceline/model';
import { formatWhy, type Action, type ActionSet } from '../src/action-set.js';
import { inhibitUnpairedInstances } from '../src/inhibit.js';
import { buildOrderings, propagate } from '../src/orderings/index.js';
import { summarize } from '../src/summary.js';
import { currentPlacement, finalPlacement } from '../src/placement.js';
import { deepFreeze, upToActions } from './stages.js';

const prim = (id: string, meta: Record<string, unknown> = {}) => ({ type: 'primitive' as const, id, agent: 'ocf:heartbeat:Dummy', meta });
const online = (name: string, extra: Record<string, unknown> = {}) => ({ name, state: 'online' as const, ...extra });
const started = (resource: string, callId = 1) => ({ resource, ops: [{ action: 'start', callId, rc: 0, expectedRc: 0 }] });
const probedStopped = (resource: string) => ({ resource, ops: [{ action: 'monitor', interval: 0, callId: 1, rc: 7, expectedRc: 7 }] });
const base = { properties: { stonithEnabled: false }, nodes: [{ name: 'n1' }, { name: 'n2' }] };

const find = (set: ActionSet, id: string): Action => {
  const a = set.byKey.get(id);
  if (!a) throw new Error(`no action ${id} among ${[...set.byKey.keys()].join(', ')}`);
  return a;
};
const edge = (orderings: readonly { first: Action; then: Action }[], first: string, then: string) =>
  orderings.some((o) => o.first.id === first && o.then.id === then);

/** a runs on n1 and is moved to n2 by a location ban; b depends on a by a mandatory order. */
function moving(): { config: ClusterConfigInput; status: ClusterStatusInput } {
  return {
    config: {
      ...base,
      resources: [prim('a'), prim('b')],
      constraints: [
        { type: 'location', id: 'a-not-n1', resource: 'a', node: 'n1', score: '-INFINITY' },
        { type: 'order', id: 'a-then-b', first: 'a', then: 'b', kind: 'Mandatory' },
      ],
    },
    status: { nodes: [online('n1', { history: [started('a'), started('b', 2)] }), online('n2', { history: [probedStopped('a'), probedStopped('b')] })] },
  };
}

describe('create actions', () => {
  test('a move is a stop where it runs and a start where it goes, each saying why', () => {
    const { config, status } = moving();
    const s = upToActions(config, status);
    const stop = find(s.created, 'a_stop_0 n1');
    const start = find(s.created, 'a_start_0 n2');
    expect([stop.optional, stop.runnable, start.optional, start.runnable]).toEqual([false, true, false, true]);
    expect(stop.why).toEqual({ kind: 'text', text: 'moving from n1 to n2' });
    expect(formatWhy(start.why!)).toBe('moving from n1 to n2');
    // b stays on n1: its stop and start exist, optional until an ordering says otherwise.
    expect([find(s.created, 'b_stop_0 n1').optional, find(s.created, 'b_start_0 n1').optional]).toEqual([true, true]);
  });
});

describe('orderings and propagation', () => {
  test("orderings add the edges on a copy; propagation makes b's restart required on another copy", () => {
    const { config, status } = moving();
    const s = upToActions(config, status);
    deepFreeze(s.created);
    const ordered = buildOrderings(s.config, s.tree, s.created, s.roles);
    expect(ordered.actions).not.toBe(s.created);
    expect(edge(ordered.orderings, 'a_stop_0 n1', 'a_start_0 n2')).toBe(true);
    expect(edge(ordered.orderings, 'a_start_0 n2', 'b_start_0 n1')).toBe(true);
    expect(edge(ordered.orderings, 'b_stop_0 n1', 'a_stop_0 n1')).toBe(true);

    deepFreeze(ordered);
    const propagated = propagate(ordered, s.colocations, s.tree);
    const bStop = find(propagated.actions, 'b_stop_0 n1');
    const bStart = find(propagated.actions, 'b_start_0 n1');
    expect([bStop.optional, bStart.optional]).toEqual([false, false]);
    expect(formatWhy(bStart.why!)).toMatch(/^required by /);
    // The earlier stages' sets are as they were.
    expect(find(ordered.actions, 'b_start_0 n1').optional).toBe(true);
    expect(find(s.created, 'b_start_0 n1').optional).toBe(true);
  });

  test('a start that cannot run makes the mandatory then-action unrunnable (runnable-left)', () => {
    const s = upToActions(
      {
        ...base,
        resources: [prim('a', { targetRole: 'Stopped' }), prim('b')],
        constraints: [{ type: 'order', id: 'a-then-b', first: 'a', then: 'b', kind: 'Mandatory' }],
      },
      { nodes: [online('n1', { history: [probedStopped('a'), probedStopped('b')] }), online('n2', { history: [probedStopped('a'), probedStopped('b')] })] },
    );
    const ordered = buildOrderings(s.config, s.tree, s.created, s.roles);
    const propagated = propagate(deepFreeze(ordered), s.colocations, s.tree);
    const bStarts = propagated.actions.list.filter((a) => a.rsc?.id === 'b' && a.task === 'start');
    expect(bStarts.length).toBe(1);
    expect(bStarts[0]!.runnable).toBe(false);
    expect(ordered.actions.list.find((a) => a.id === bStarts[0]!.id)!.runnable).toBe(true);
  });
});

describe('inhibit', () => {
  /** Clone A then clone B, interleaved; A may not run on n2. */
  const interleaved = (interleave: boolean): ClusterConfigInput => ({
    ...base,
    resources: [
      { type: 'clone', id: 'A', child: prim('pa'), meta: { interleave } },
      { type: 'clone', id: 'B', child: prim('pb'), meta: { interleave } },
    ],
    constraints: [
      { type: 'location', id: 'A-not-n2', resource: 'A', node: 'n2', score: '-INFINITY' },
      { type: 'order', id: 'A-then-B', first: 'A', then: 'B', kind: 'Mandatory' },
    ],
  });
  const empty: ClusterStatusInput = { nodes: [online('n1'), online('n2')] };

  test('an interleaved instance with no partner on its node is taken back; the assignment it read is unchanged', () => {
    const s = upToActions(interleaved(true), empty);
    const placedB = (a: typeof s.assigned) => ['pb:0', 'pb:1'].map((id) => a.node.get(id) ?? null).sort();
    expect(placedB(s.assigned)).toEqual(['n1', 'n2']);
    const inhibited = inhibitUnpairedInstances(s.config, s.tree, deepFreeze(s.assigned));
    expect(placedB(inhibited).filter((n) => n !== null)).toEqual(['n1']);
    const stopped = ['pb:0', 'pb:1'].find((id) => inhibited.node.get(id) === null)!;
    expect(inhibited.nextRole.get(stopped)).toBe('Stopped');
    expect(inhibited.nextRoleReason.get(stopped)).toBe('no instance of A on n2 (interleaved order A-then-B)');
  });

  test('without interleave the assignment passes through as it is', () => {
    const s = upToActions(interleaved(false), empty);
    expect(inhibitUnpairedInstances(s.config, s.tree, s.assigned)).toBe(s.assigned);
  });
});

describe('summary and placement', () => {
  test("read the propagated set: a's move, b's restart, where each is before and after", () => {
    const { config, status } = moving();
    const s = upToActions(config, status);
    const { actions } = propagate(buildOrderings(s.config, s.tree, s.created, s.roles), s.colocations, s.tree);
    const lines = summarize(s.tree, s.unpacked, s.assignment, deepFreeze(actions));
    expect(lines.map((l) => [l.action, l.resource, l.from, l.to])).toEqual([
      ['move', 'a', 'n1', 'n2'],
      ['restart', 'b', 'n1', 'n1'],
    ]);
    expect(currentPlacement(s.tree, s.unpacked).map((p) => [p.instance, p.node])).toEqual([
      ['a', 'n1'],
      ['b', 'n1'],
    ]);
    expect(finalPlacement(s.tree, s.unpacked, s.assignment, actions).map((p) => [p.instance, p.node])).toEqual([
      ['a', 'n2'],
      ['b', 'n1'],
    ]);
  });
});
