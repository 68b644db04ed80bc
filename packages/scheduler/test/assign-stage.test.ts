/**
 * The assign stage on its own: it never writes into its inputs (the earlier stages' outputs, frozen
 * here), and colocation chains far longer than the JavaScript call stack allows are assigned.
 */
import { ASSIGNMENT_METHODS, assignResources, newAssignState } from '../src/assign/index.js';
import { addColocatedNodeScores, FLAG_ACTIVE } from '../src/assign/colocation-scores.js';
import type { ClusterConfigInput } from '@paceline/model';
import { deepFreeze, upToAssign } from './stages.js';

const prim = (id: string) => ({ type: 'primitive' as const, id, agent: 'ocf:heartbeat:Dummy' });
const online = (name: string, extra: Record<string, unknown> = {}) => ({ name, state: 'online' as const, ...extra });
const started = (resource: string) => ({ resource, ops: [{ action: 'start', callId: 1, rc: 0, expectedRc: 0 }] });

/** r0 with r1 with r2 ... (each colocated with the next), `n` resources. */
function chain(n: number, influence: boolean): ClusterConfigInput & { constraints: unknown[] } {
  return {
    properties: { stonithEnabled: false },
    nodes: [{ name: 'n1' }, { name: 'n2' }],
    resources: Array.from({ length: n }, (_, i) => prim(`r${i}`)),
    constraints: Array.from({ length: n - 1 }, (_, i) => ({
      type: 'colocation' as const,
      id: `c${i}`,
      resource: `r${i}`,
      withResource: `r${i + 1}`,
      score: 'INFINITY',
      influence,
    })),
  };
}

describe('assign stage', () => {
  test("never writes into the earlier stages' outputs (inputs deep-frozen)", () => {
    const s = upToAssign(
      {
        properties: { stonithEnabled: false, placementStrategy: 'balanced' },
        nodes: [
          { name: 'n1', utilization: { cpu: 4 } },
          { name: 'n2', utilization: { cpu: 4 } },
        ],
        resources: [
          { ...prim('a'), utilization: { cpu: 2 } },
          prim('b'),
          { type: 'group', id: 'g', members: [prim('g1'), prim('g2')] },
          { type: 'clone', id: 'cl', child: prim('c'), promotable: true },
        ],
        constraints: [
          { type: 'colocation', id: 'b-with-a', resource: 'b', withResource: 'a', score: 'INFINITY' },
          { type: 'colocation', id: 'g-apart', resource: 'g', withResource: 'a', score: -100 },
          { type: 'colocation', id: 'a-with-promoted', resource: 'a', withResource: 'cl', withResourceRole: 'Promoted', score: 50 },
          { type: 'location', id: 'l', resource: 'a', node: 'n2', score: 10 },
        ],
      },
      { nodes: [online('n1', { history: [started('b')] }), online('n2')] },
    );
    const before = JSON.stringify([...s.criteria.book.contributions].map(([k, m]) => [k, [...m]]));
    deepFreeze(s.tree);
    deepFreeze(s.nodes);
    deepFreeze(s.unpacked);
    deepFreeze(s.criteria);
    deepFreeze(s.colocations);
    deepFreeze(s.opts);
    const a = assignResources(s.tree, s.nodes, s.unpacked, s.criteria.book, s.colocations, s.opts);
    expect(a.node.get('b')).toBe(a.node.get('a'));
    expect(JSON.stringify([...s.criteria.book.contributions].map(([k, m]) => [k, [...m]]))).toBe(before);
    // What the stage added comes back beside the tables.
    expect([...(a.contributions.get('b')?.values() ?? [])].flat().map((c) => c.cause)).toContainEqual({
      kind: 'colocation',
      colocation: 'b-with-a',
      primary: 'a',
    });
  });

  test('a colocation chain of 3000 resources is assigned (no call-stack overflow)', () => {
    // Every resource runs on n2 and the colocations have no influence: the stage follows the chain
    // to its end before placing anything, without merging preferences (that part is quadratic).
    const n = 3000;
    const s = upToAssign(chain(n, false), { nodes: [online('n1'), online('n2', { history: Array.from({ length: n }, (_, i) => started(`r${i}`)) })] });
    const a = assignResources(s.tree, s.nodes, s.unpacked, s.criteria.book, s.colocations, s.opts);
    expect(new Set(a.node.values())).toEqual(new Set(['n2']));
  });

  test('colocated preferences are merged along a 10000-resource chain (no call-stack overflow)', () => {
    const n = 10_000;
    const config = chain(n, true);
    config.constraints.push({ type: 'location', id: 'pull', resource: 'r0', node: 'n1', score: 100 } as never);
    const s = upToAssign(config, { nodes: [online('n1'), online('n2')] });
    const state = newAssignState(s.tree, s.nodes, s.unpacked, s.criteria.book, s.colocations, s.opts);
    // r0's preference reaches the chain's far end through every resource in between, unattenuated.
    const merged = addColocatedNodeScores(
      state,
      s.tree.byId.get(`r${n - 2}`)!,
      new Map([
        ['n1', 0],
        ['n2', 0],
      ]),
      '#uname',
      1,
      FLAG_ACTIVE,
    );
    expect(merged).toEqual(
      new Map([
        ['n1', 100],
        ['n2', 0],
      ]),
    );
    expect(state.merging.size).toBe(0);
    expect(ASSIGNMENT_METHODS.primitive).toBeDefined();
  });

  test("a whole chain follows its root's dependents' preferences", () => {
    const n = 300;
    const config = chain(n, true);
    config.constraints.push({ type: 'location', id: 'pull', resource: 'r0', node: 'n2', score: 100 } as never);
    const s = upToAssign(config, { nodes: [online('n1'), online('n2')] });
    const a = assignResources(s.tree, s.nodes, s.unpacked, s.criteria.book, s.colocations, s.opts);
    expect(new Set(a.node.values())).toEqual(new Set(['n2']));
  });
});
