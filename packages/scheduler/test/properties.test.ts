/**
 * Safety properties over random small clusters (fast-check): no primitive placed twice, nothing
 * placed on standby/offline/banned nodes, mandatory colocations hold, the action graph is
 * acyclic, and the output is deterministic.
 */
import fc from 'fast-check';
import { ClusterConfig, ClusterStatus, INFINITY } from '@paceline/model';
import { schedule } from '@paceline/scheduler';
import { applyTransition } from '../src/apply.js';

const NOW = Date.UTC(2026, 0, 1);

const arbCluster = fc
  .record({
    nodeCount: fc.integer({ min: 1, max: 4 }),
    rscCount: fc.integer({ min: 1, max: 6 }),
    groupSplit: fc.integer({ min: 0, max: 3 }),
    nodeStates: fc.array(fc.constantFrom('online', 'online', 'online', 'standby', 'offline'), { minLength: 4, maxLength: 4 }),
    running: fc.array(fc.integer({ min: -1, max: 3 }), { minLength: 6, maxLength: 6 }),
    locations: fc.array(
      fc.record({ r: fc.integer({ min: 0, max: 5 }), n: fc.integer({ min: 0, max: 3 }), score: fc.constantFrom(-INFINITY, -100, 50, 100, INFINITY) }),
      { maxLength: 4 },
    ),
    colocs: fc.array(fc.record({ a: fc.integer({ min: 0, max: 5 }), b: fc.integer({ min: 0, max: 5 }), score: fc.constantFrom(-INFINITY, 100, INFINITY) }), {
      maxLength: 3,
    }),
    orders: fc.array(fc.record({ a: fc.integer({ min: 0, max: 5 }), b: fc.integer({ min: 0, max: 5 }) }), { maxLength: 3 }),
    stickiness: fc.constantFrom(0, 50, 200),
    failed: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
    withClone: fc.boolean(),
  })
  .map((g) => {
    const nodes = Array.from({ length: g.nodeCount }, (_, i) => `n${i + 1}`);
    const ids = Array.from({ length: g.rscCount }, (_, i) => `r${i}`);
    const prim = (id: string) => ({ type: 'primitive' as const, id, agent: 'ocf:heartbeat:Dummy', meta: { stickiness: g.stickiness } });
    const grouped = g.groupSplit > 0 && ids.length > g.groupSplit ? ids.slice(0, g.groupSplit + 1) : [];
    const resources = [
      ...(grouped.length ? [{ type: 'group' as const, id: 'grp', members: grouped.map(prim) }] : []),
      ...ids.filter((id) => !grouped.includes(id)).map(prim),
      ...(g.withClone ? [{ type: 'clone' as const, id: 'cl', child: prim('cl-child') }] : []),
    ];
    const free = ids.filter((id) => !grouped.includes(id));
    const constraints: unknown[] = [];
    g.locations.forEach((l, i) => {
      if (l.r < ids.length && l.n < nodes.length) constraints.push({ type: 'location', id: `loc${i}`, resource: ids[l.r], node: nodes[l.n], score: l.score });
    });
    g.colocs.forEach((c, i) => {
      // Only from a later free primitive to an earlier one: no cycles.
      if (c.a < free.length && c.b < c.a) constraints.push({ type: 'colocation', id: `col${i}`, resource: free[c.a], withResource: free[c.b], score: c.score });
    });
    g.orders.forEach((o, i) => {
      if (o.a < ids.length && o.b < ids.length && o.a < o.b) constraints.push({ type: 'order', id: `ord${i}`, first: ids[o.a], then: ids[o.b] });
    });
    const config = ClusterConfig.parse({ properties: { stonithEnabled: false }, nodes: nodes.map((name) => ({ name })), resources, constraints });
    const status = ClusterStatus.parse({
      nodes: nodes.map((name, i) => ({
        name,
        state: g.nodeStates[i] === 'offline' ? 'offline' : 'online',
        standby: g.nodeStates[i] === 'standby',
        history: ids.flatMap((id, k) =>
          g.running[k] === i
            ? [
                {
                  resource: id,
                  ops: [
                    { action: 'start', callId: 1, rc: 0, expectedRc: 0 },
                    ...(g.failed[k] ? [{ action: 'monitor', interval: 10000, callId: 2, rc: 7, expectedRc: 0 }] : []),
                  ],
                },
              ]
            : [{ resource: id, ops: [{ action: 'monitor', interval: 0, callId: 1, rc: 7, expectedRc: 7 }] }],
        ),
      })),
    });
    return { config, status, nodes, states: g.nodeStates };
  });

describe('scheduler properties', () => {
  test('safety invariants hold on random clusters', () => {
    fc.assert(
      fc.property(arbCluster, ({ config, status, nodes, states }) => {
        const t = schedule({ config, status, now: NOW });
        const placed = t.placement.filter((p) => p.node !== null);
        // No primitive placed twice.
        const seen = new Set<string>();
        for (const p of placed) {
          expect(seen.has(p.instance)).toBe(false);
          seen.add(p.instance);
        }
        // Never on standby or offline nodes.
        for (const p of placed) {
          const i = nodes.indexOf(p.node!);
          expect(states[i]).toBe('online');
        }
        // Never on a node banned with -INFINITY.
        for (const c of config.constraints) {
          if (c.type === 'location' && c.score === -INFINITY) expect(placed.some((p) => p.resource === c.resource && p.node === c.node)).toBe(false);
        }
        // Mandatory colocations hold in the result.
        const where = new Map(placed.map((p) => [p.resource, p.node]));
        for (const c of config.constraints) {
          if (c.type !== 'colocation' || c.score < INFINITY || !where.has(c.resource!)) continue;
          expect(where.get(c.withResource!)).toBe(where.get(c.resource!));
        }
        // The action graph is acyclic.
        const after = new Map<string, string[]>();
        for (const e of t.edges) after.set(e.before, [...(after.get(e.before) ?? []), e.after]);
        const state = new Map<string, number>();
        const visit = (id: string): void => {
          state.set(id, 1);
          for (const n of after.get(id) ?? []) {
            expect(state.get(n)).not.toBe(1);
            if (!state.has(n)) visit(n);
          }
          state.set(id, 2);
        };
        for (const a of t.actions) if (!state.has(a.id)) visit(a.id);
        // Deterministic.
        expect(JSON.stringify(schedule({ config, status, now: NOW }))).toBe(JSON.stringify(t));
      }),
      { numRuns: Number(process.env.PROP_RUNS ?? 300), seed: Number(process.env.PROP_SEED ?? 20261122) },
    );
  });

  test('scheduling the state after applying a transition gives no further actions', () => {
    fc.assert(
      fc.property(arbCluster, ({ config, status }) => {
        const t = schedule({ config, status, now: NOW });
        const next = applyTransition(config, status, t, NOW);
        const again = schedule({ config, status: next, now: NOW });
        expect(again.summary.filter((l) => !l.blocked).map((l) => `${l.action} ${l.resource ?? l.node}`)).toEqual([]);
      }),
      { numRuns: Number(process.env.PROP_RUNS ?? 200), seed: Number(process.env.PROP_SEED ?? 20261122) },
    );
  });
});
