import { Clone, INFINITY } from '@paceline/model';
import { cloneSettings, configuredInstances, splitInstance } from '../src/clone/settings.js';
import { numberCloneHistory } from '../src/clone/numbering.js';
import { chooseRoles, promotionScoreApplies, readPromotionAttribute, type PromotableInstance } from '../src/clone/promote.js';

const prim = (id: string) => ({ type: 'primitive' as const, id, agent: 'ocf:heartbeat:Dummy' });
const clone = (input: unknown) => Clone.parse(input);

describe('clone settings', () => {
  it('defaults like Pacemaker: clone-max = nodes, node-max 1, stickiness 1', () => {
    const s = cloneSettings(clone({ type: 'clone', id: 'c', child: prim('p') }), 3);
    expect(s).toMatchObject({ cloneMax: 3, nodeMax: 1, stickiness: 1, unique: false, members: ['p'], promotedMax: 0 });
  });
  it('forces clone-node-max 1 for anonymous clones and keeps it for unique ones', () => {
    expect(cloneSettings(clone({ type: 'clone', id: 'c', child: prim('p'), meta: { cloneNodeMax: 2 } }), 2).nodeMax).toBe(1);
    expect(cloneSettings(clone({ type: 'clone', id: 'c', child: prim('p'), meta: { cloneNodeMax: 2, globallyUnique: true } }), 2).nodeMax).toBe(2);
  });
  it('promotable defaults and configured stickiness', () => {
    const s = cloneSettings(clone({ type: 'clone', id: 'ms', promotable: true, child: prim('p'), meta: { stickiness: 0 } }), 2);
    expect(s).toMatchObject({ promotedMax: 1, promotedNodeMax: 1, stickiness: 0 });
  });
  it('lists instances of a cloned group', () => {
    const s = cloneSettings(clone({ type: 'clone', id: 'c', child: { type: 'group', id: 'g', members: [prim('a'), prim('b')] }, meta: { cloneMax: 2 } }), 5);
    expect(configuredInstances(s).map((i) => [i.id, i.members.map((m) => m.id)])).toEqual([
      ['g:0', ['a:0', 'b:0']],
      ['g:1', ['a:1', 'b:1']],
    ]);
    expect(splitInstance('a:12')).toEqual(['a', 12]);
    expect(splitInstance('a')).toEqual(['a', undefined]);
  });
});

describe('history numbering', () => {
  const anon = cloneSettings(clone({ type: 'clone', id: 'c', child: prim('p'), meta: { cloneMax: 2 } }), 3);
  it('numbers anonymous instances in status order and keeps stopped ones free', () => {
    const m = numberCloneHistory(
      anon,
      [
        { node: 'n1', historyId: 'p', active: true, nodeLost: false },
        { node: 'n2', historyId: 'p:5', active: false, nodeLost: false },
        { node: 'n3', historyId: 'p', active: true, nodeLost: false },
      ],
      { nodeCount: 3 },
    );
    expect(m.map((x) => [x.node, x.instance, x.orphan])).toEqual([
      ['n1', 'p:0', false],
      ['n2', 'p:1', false],
      ['n3', 'p:1', false],
    ]);
  });
  it('makes extra active copies orphans', () => {
    const m = numberCloneHistory(
      anon,
      ['n1', 'n2', 'n3'].map((node) => ({ node, historyId: 'p', active: true, nodeLost: false })),
      { nodeCount: 3 },
    );
    expect(m.map((x) => [x.instance, x.orphan])).toEqual([
      ['p:0', false],
      ['p:1', false],
      ['p:2', true],
    ]);
  });
  it('keeps members of a cloned group on one node in one instance', () => {
    const g = cloneSettings(clone({ type: 'clone', id: 'c', child: { type: 'group', id: 'g', members: [prim('a'), prim('b')] } }), 2);
    const m = numberCloneHistory(
      g,
      [
        { node: 'n1', historyId: 'a', active: true, nodeLost: false },
        { node: 'n1', historyId: 'b', active: true, nodeLost: false },
        { node: 'n2', historyId: 'a', active: true, nodeLost: false },
        { node: 'n2', historyId: 'b', active: true, nodeLost: false },
      ],
      { nodeCount: 2 },
    );
    expect(m.map((x) => x.instance)).toEqual(['a:0', 'b:0', 'a:1', 'b:1']);
  });
  it('uses the suffix for globally-unique clones', () => {
    const u = cloneSettings(clone({ type: 'clone', id: 'c', child: prim('p'), meta: { globallyUnique: true, cloneMax: 2 } }), 2);
    const m = numberCloneHistory(
      u,
      [
        { node: 'n1', historyId: 'p:1', active: true, nodeLost: false },
        { node: 'n1', historyId: 'p:3', active: true, nodeLost: false },
      ],
      { nodeCount: 2 },
    );
    expect(m.map((x) => [x.instance, x.orphan])).toEqual([
      ['p:1', false],
      ['p:3', true],
    ]);
  });
});

describe('promotion', () => {
  const pi = (n: number, node: string | null, currentRole: PromotableInstance['currentRole'] = 'Stopped'): PromotableInstance => ({
    id: `p:${n}`,
    number: n,
    node,
    currentRole,
    managed: true,
  });
  const base = {
    promotedMax: 1,
    promotedNodeMax: 1,
    cloneScores: new Map([
      ['n1', 0],
      ['n2', 0],
    ]),
    nodeAvailable: () => true,
    promotedLocationScore: () => 0,
  };
  it('promotes the instance with the highest promotion score', () => {
    const scores: Record<string, number> = { n1: 5, n2: 10 };
    const d = chooseRoles({ ...base, instances: [pi(0, 'n1'), pi(1, 'n2')], promotionScore: (_i, node) => ({ score: scores[node] ?? 0, isDefault: false }) });
    expect(Object.fromEntries(d.map((x) => [x.instance, x.role]))).toEqual({ 'p:0': 'Unpromoted', 'p:1': 'Promoted' });
  });
  it('promotes nothing without scores or constraints', () => {
    const d = chooseRoles({ ...base, instances: [pi(0, 'n1'), pi(1, 'n2')], promotionScore: () => ({ score: 0, isDefault: true }) });
    expect(d.every((x) => x.role === 'Unpromoted')).toBe(true);
  });
  it('role=Promoted location constraints make an instance promotable', () => {
    const d = chooseRoles({
      ...base,
      instances: [pi(0, 'n1'), pi(1, 'n2')],
      promotionScore: () => ({ score: 0, isDefault: true }),
      promotedLocationScore: (n) => (n === 'n2' ? 100 : 0),
    });
    expect(d.find((x) => x.role === 'Promoted')?.node).toBe('n2');
  });
  it('keeps the promoted instance on ties and honours target-role', () => {
    const d = chooseRoles({ ...base, instances: [pi(0, 'n1', 'Unpromoted'), pi(1, 'n2', 'Promoted')], promotionScore: () => ({ score: 5, isDefault: false }) });
    expect(d.find((x) => x.role === 'Promoted')?.instance).toBe('p:1');
    const t = chooseRoles({ ...base, instances: [{ ...pi(0, 'n1'), targetRole: 'Unpromoted' }], promotionScore: () => ({ score: 5, isDefault: false }) });
    expect(t[0]?.role).toBe('Unpromoted');
  });
  it("reads master-/promotion- attributes and applies Pacemaker's applicability rule", () => {
    expect(readPromotionAttribute({ 'master-p': '10' }, 'p')).toBe(10);
    expect(readPromotionAttribute({ 'promotion-p': 'INFINITY' }, 'p')).toBe(INFINITY);
    expect(readPromotionAttribute({}, 'p')).toBeUndefined();
    const q = { unique: false, node: 'n1', instance: 'p:0', allowed: true, anyInstanceKnownOnNode: false, knownOnNode: false, knownAnywhere: true };
    expect(promotionScoreApplies({ ...q, activeInstanceOnNode: 'p:0' })).toBe(true);
    expect(promotionScoreApplies({ ...q, activeInstanceOnNode: 'p:1' })).toBe(false);
    expect(promotionScoreApplies({ ...q, activeInstanceOnNode: undefined, knownAnywhere: false })).toBe(true);
  });
});
