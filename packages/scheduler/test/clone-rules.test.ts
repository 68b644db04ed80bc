import { INFINITY } from '@paceline/model';
import { colocateWithClone, rolePriorityDelta } from '../src/clone/colocation.js';
import {
  COLLECTIVE_FIRST_TASK,
  collectivePseudoTasks,
  interleaveApplies,
  interleavePairs,
  memberTaskOf,
  promotableInternalOrderings,
} from '../src/clone/orderings.js';

const attr = (n: string, a: string) => (a === '#uname' ? n : undefined);
const table = (entries: Record<string, number>) => new Map(Object.entries(entries));

describe('colocation with a clone', () => {
  const base = { nodeAttribute: '#uname', dependentRole: undefined, primaryPromotable: false, interleave: false, attr, available: () => true };
  const insts = [
    { node: 'a', role: 'Started' as const, blocked: false, weight: 1 },
    { node: 'b', role: 'Started' as const, blocked: false, weight: 1 },
    { node: null, role: 'Stopped' as const, blocked: false, weight: 0 },
  ];
  it('mandatory: only where an instance runs', () => {
    const e = colocateWithClone({ ...base, score: INFINITY, primaryRole: undefined, instances: insts, dependentTable: table({ a: 0, b: 5, c: 10 }) });
    expect(e).toEqual({ kind: 'table', table: table({ a: 0, b: 5, c: -INFINITY }) });
  });
  it('advisory: each instance adds the score on its node', () => {
    const e = colocateWithClone({ ...base, score: 100, primaryRole: undefined, instances: insts, dependentTable: table({ a: 0, b: 0, c: 0 }) });
    expect(e).toEqual({ kind: 'table', table: table({ a: 100, b: 100, c: 0 }) });
  });
  it('with the Promoted role: only the promoted instance counts, its weight is added', () => {
    const e = colocateWithClone({
      ...base,
      score: INFINITY,
      primaryRole: 'Promoted',
      primaryPromotable: true,
      instances: [
        { node: 'a', role: 'Unpromoted', blocked: false, weight: 5 },
        { node: 'b', role: 'Promoted', blocked: false, weight: 300 },
      ],
      dependentTable: table({ a: 0, b: 0 }),
    });
    expect(e).toEqual({ kind: 'table', table: table({ a: -INFINITY, b: 300 }) });
  });
  it('interleave pairs with the instance on the best node, or stops without one', () => {
    const e = colocateWithClone({
      ...base,
      interleave: true,
      score: INFINITY,
      primaryRole: undefined,
      instances: insts,
      dependentTable: table({ a: 1, b: 5, c: 10 }),
    });
    expect(e).toEqual({ kind: 'instance', index: 1 });
    const none = colocateWithClone({ ...base, interleave: true, score: INFINITY, primaryRole: undefined, instances: [], dependentTable: table({ a: 1 }) });
    expect(none).toEqual({ kind: 'stop' });
  });
  it('role priority: same node adds, mandatory Promoted elsewhere forbids', () => {
    const q = { score: INFINITY, dependentRole: 'Promoted' as const, nodeAttribute: '#uname', attr };
    expect(rolePriorityDelta({ ...q, node: 'a', primaryNodes: ['a'] })).toBe(INFINITY);
    expect(rolePriorityDelta({ ...q, node: 'b', primaryNodes: ['a'] })).toBe(-INFINITY);
    expect(rolePriorityDelta({ ...q, score: 50, dependentRole: 'Unpromoted', node: 'a', primaryNodes: ['a'] })).toBe(-50);
  });
});

describe('clone ordering rules', () => {
  it('promotable clones have promote/demote pseudo actions', () => {
    expect(collectivePseudoTasks('clone', true)).toEqual(['start', 'running', 'stop', 'stopped', 'promote', 'promoted', 'demote', 'demoted']);
    expect(collectivePseudoTasks('group', true)).toHaveLength(4);
    expect(COLLECTIVE_FIRST_TASK.promote).toBe('promoted');
    expect(memberTaskOf('demoted')).toBe('demote');
  });
  it('orders instance promotions inside the clone', () => {
    const specs = promotableInternalOrderings('ms', ['d:0', 'd:1'], true);
    const has = (f: string, ft: string, t: string, tt: string) =>
      specs.some((s) => s.first.rsc === f && s.first.task === ft && s.then.rsc === t && s.then.task === tt);
    expect(has('ms', 'running', 'ms', 'promote')).toBe(true);
    expect(has('d:1', 'promote', 'ms', 'promoted')).toBe(true);
    expect(has('d:0', 'demote', 'd:0', 'promote')).toBe(true);
    expect(has('d:0', 'promote', 'd:1', 'promote')).toBe(true);
    expect(has('ms', 'demoted', 'ms', 'stop')).toBe(true);
  });
  it('interleave follows the constrained clone and pairs by node', () => {
    const q = { firstIsClone: true, thenIsClone: true, sameResource: false, firstInterleave: false, thenInterleave: true };
    expect(interleaveApplies({ ...q, thenTask: 'start' })).toBe(true);
    expect(interleaveApplies({ ...q, thenTask: 'stop' })).toBe(false);
    const where: Record<string, string | null> = { f0: 'a', f1: 'b', t0: 'b', t1: 'c', t2: null };
    const r = interleavePairs({ firstInstances: ['f0', 'f1'], thenInstances: ['t0', 't1', 't2'], current: false, nodeOf: (i) => where[i] ?? null });
    expect(r).toEqual({ pairs: [['f1', 't0']], unpaired: ['t1'] });
  });
});

import { edgesThroughPseudo } from '../src/clone/graph.js';

describe('graph edges through pseudo actions', () => {
  it('connects real actions across collective pseudo actions', () => {
    const o = (first: string, then: string) => ({ first, then, reason: `${first}>${then}` });
    const real = new Set(['stop-svc', 'demote-0', 'promote-1', 'start-svc']);
    const edges = edgesThroughPseudo(
      [
        o('stop-svc', 'svc-stopped'),
        o('svc-stopped', 'ms-demote'),
        o('ms-demote', 'demote-0'),
        o('demote-0', 'ms-demoted'),
        o('ms-demoted', 'ms-promote'),
        o('ms-promote', 'promote-1'),
        o('promote-1', 'start-svc'),
      ],
      (a) => {
        const i = [...real].indexOf(a);
        return i < 0 ? undefined : i;
      },
      real.size,
      (a) => !real.has(a),
    );
    const pairs = edges.map((e) => `${e.first}->${e.then}`).sort();
    expect(pairs).toEqual(['demote-0->promote-1', 'promote-1->start-svc', 'stop-svc->demote-0'].sort());
  });
});
