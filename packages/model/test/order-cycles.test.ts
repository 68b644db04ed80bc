/**
 * Mandatory ordering cycles (issue 16, item 9): through resource sets too, with a message that
 * reads in order; and thousands of chained orderings without exhausting the stack (item 15).
 */
import { validateConfig } from '@paceline/model';

const prim = (id: string) => ({ type: 'primitive', id, agent: 'paceline:dummy' });
const cfg = (ids: string[], constraints: unknown[]) => ({ nodes: [{ name: 'n1' }], resources: ids.map(prim), constraints });
const cycles = (ids: string[], constraints: unknown[]) =>
  validateConfig(cfg(ids, constraints))
    .issues.filter((i) => /cycle/.test(i.message))
    .map((i) => `${i.path}: ${i.message}`);

describe('mandatory ordering cycles', () => {
  it('names a pairwise cycle in its order: a start -> b start -> c start -> a start', () => {
    expect(
      cycles(
        ['a', 'b', 'c'],
        [
          { type: 'order', id: 'o1', first: 'a', then: 'b' },
          { type: 'order', id: 'o2', first: 'b', then: 'c' },
          { type: 'order', id: 'o3', first: 'c', then: 'a' },
        ],
      ),
    ).toEqual([
      'constraints[2]: mandatory orderings form a cycle (a start -> b start -> c start -> a start) through constraints o1, o2, o3: nothing in it could ever start',
    ]);
  });

  it('finds cycles through a sequential set, and between sets', () => {
    expect(
      cycles(
        ['a', 'b', 'c'],
        [
          { type: 'order', id: 'chain', sets: [{ resources: ['a', 'b', 'c'] }] },
          { type: 'order', id: 'back', first: 'c', then: 'a' },
        ],
      ),
    ).toEqual([
      'constraints[1]: mandatory orderings form a cycle (a start -> b start -> c start -> a start) through constraints chain, back: nothing in it could ever start',
    ]);
    expect(
      cycles(
        ['a', 'b', 'c', 'd'],
        [
          { type: 'order', id: 'sets', sets: [{ resources: ['a', 'b'], sequential: false }, { resources: ['c', 'd'] }] },
          { type: 'order', id: 'sets2', sets: [{ resources: ['d'] }, { resources: ['b'], action: 'start' }] },
        ],
      ),
    ).toEqual([
      'constraints[0]: mandatory orderings form a cycle (c start -> d start -> b start -> c start) through constraints sets, sets2: nothing in it could ever start',
    ]);
    // promote after start in one set, start after promote in the other: a cycle across actions
    expect(
      cycles(
        ['a', 'b'],
        [
          { type: 'order', id: 's1', sets: [{ resources: ['a'] }, { resources: ['b'], action: 'promote' }] },
          { type: 'order', id: 's2', first: 'b', firstAction: 'promote', then: 'a', thenAction: 'start' },
        ],
      ),
    ).toHaveLength(1);
  });

  it('does not call a cycle what cannot lock: optional orders, serialized sets, any-of sets', () => {
    expect(
      cycles(
        ['a', 'b'],
        [
          { type: 'order', id: 'o1', first: 'a', then: 'b' },
          { type: 'order', id: 'o2', first: 'b', then: 'a', kind: 'Optional' },
        ],
      ),
    ).toEqual([]);
    expect(
      cycles(
        ['a', 'b'],
        [
          { type: 'order', id: 's', sets: [{ resources: ['a', 'b'], kind: 'Serialize' }] },
          { type: 'order', id: 'o', first: 'b', then: 'a' },
        ],
      ),
    ).toEqual([]);
    expect(
      cycles(
        ['a', 'b', 'c'],
        [
          { type: 'order', id: 'any', sets: [{ resources: ['a', 'b'], sequential: false, requireAll: false }, { resources: ['c'] }] },
          { type: 'order', id: 'o', first: 'c', then: 'a' },
        ],
      ),
    ).toEqual([]);
  });

  it('12,000 chained orderings: no stack overflow; a cycle through all of them is reported shortened', () => {
    const ids = Array.from({ length: 12_001 }, (_, i) => `r${i}`);
    const chain = ids.slice(1).map((id, i) => ({ type: 'order', id: `o${i}`, first: ids[i], then: id }));
    const t0 = performance.now();
    expect(validateConfig(cfg(ids, chain)).issues).toEqual([]);
    const closed = cycles(ids, [...chain, { type: 'order', id: 'back', first: 'r12000', then: 'r0' }]);
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(closed).toHaveLength(1);
    expect(closed[0]).toMatch(
      /^constraints\[12000\]: mandatory orderings form a cycle \(r0 start -> r1 start -> .* -> … 11990 more … -> .* -> r12000 start -> r0 start\) through constraints o0, o1, .* and 11989 more: nothing in it could ever start$/,
    );
  });
});
