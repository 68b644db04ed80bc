import { Clone, INFINITY, type Role } from '@paceline/model';
import { cloneSettings } from '../src/clone/settings.js';
import { placeCloneInstances, type CloneAssignPort } from '../src/clone/stage.js';
import { chooseNode } from '../src/clone/assign.js';

interface Inst {
  id: string;
  n: number;
  running: string[];
  role: Role;
  table: Map<string, number>;
  next?: Role;
  node?: string | null;
  known: Set<string>;
}

/** A stand-in for the core: one table per instance, node choice by chooseNode. */
function fakePort(opts: {
  clone: unknown;
  nodes: string[];
  running?: Record<string, string[]>;
  roles?: Record<string, Role>;
  attrs?: Record<string, Record<string, string>>;
  promotedLoc?: Record<string, number>;
  cloneBan?: string[];
  stickiness?: number;
}): { port: CloneAssignPort<Inst>; insts: Inst[] } {
  const c = Clone.parse(opts.clone);
  const s = cloneSettings(c, opts.nodes.length);
  const insts: Inst[] = [];
  const load = new Map<string, number>();
  for (let n = 0; n < s.cloneMax; n++) {
    const id = `${s.childId}:${n}`;
    const running = opts.running?.[id] ?? [];
    const table = new Map(opts.nodes.map((x) => [x, opts.cloneBan?.includes(x) ? -INFINITY : 0]));
    for (const r of running) table.set(r, (table.get(r) ?? 0) + (opts.stickiness ?? s.stickiness));
    insts.push({ id, n, running, role: opts.roles?.[id] ?? (running.length ? 'Started' : 'Stopped'), table, known: new Set(running) });
  }
  const nodeMap = new Map(opts.nodes.map((name) => [name, { name, available: true, load: 0 }]));
  const port: CloneAssignPort<Inst> = {
    settings: s,
    instances: insts,
    nodes: opts.nodes.map((name) => ({ name, available: true })),
    instanceId: (r) => r.id,
    instanceNumber: (r) => r.n,
    orphan: (r) => r.n >= s.cloneMax,
    runningOn: (r) => r.running,
    failed: () => false,
    managed: () => true,
    priority: () => 0,
    size: () => 1,
    currentRole: (r) => r.role,
    roleLimit: () => undefined,
    cloneScores: () => new Map(opts.nodes.map((x) => [x, opts.cloneBan?.includes(x) ? -INFINITY : 0])),
    instanceScores: (r) => r.table,
    addPromotionScore: (r, node, score) => r.table.set(node, (r.table.get(node) ?? 0) + score),
    limitInstanceScore: (r, node, score) => r.table.set(node, Math.min(r.table.get(node) ?? 0, score)),
    assign: (r, prefer) => {
      const chosen = chooseNode(r.table, nodeMap, { current: r.running[0], prefer, unique: s.unique, load: (x) => load.get(x) ?? 0 });
      if (prefer !== undefined && chosen !== prefer) return null;
      r.node = chosen;
      if (chosen) load.set(chosen, (load.get(chosen) ?? 0) + 1);
      return chosen;
    },
    stop: (r) => {
      r.node = null;
    },
    setNextRole: (r, role) => {
      r.next = role;
    },
    nodeAttribute: (node, name) => opts.attrs?.[node]?.[name],
    knownOn: (r) => r.known,
    promotedLocationScore: (node) => opts.promotedLoc?.[node] ?? 0,
  };
  return { port, insts };
}

describe('placeCloneInstances', () => {
  it('promoted-11 style: promotion scores place and promote the best instance', () => {
    const { port, insts } = fakePort({
      clone: {
        type: 'clone',
        id: 'rsc1',
        promotable: true,
        child: { type: 'primitive', id: 'child_rsc1', agent: 'ocf:heartbeat:apache' },
        meta: { cloneMax: 2, globallyUnique: true },
      },
      nodes: ['node1', 'node2'],
      attrs: { node1: { 'master-child_rsc1:0': '10', 'master-child_rsc1:1': '100' }, node2: { 'master-child_rsc1:0': '30', 'master-child_rsc1:1': '300' } },
      promotedLoc: { node2: 100 },
    });
    placeCloneInstances(port);
    expect(insts.map((i) => [i.id, i.node, i.next])).toEqual([
      ['child_rsc1:0', 'node1', 'Unpromoted'],
      ['child_rsc1:1', 'node2', 'Promoted'],
    ]);
  });

  it('promoted-0 style: unique clone with node-max 2 fills both nodes, nothing promoted without scores', () => {
    const { port, insts } = fakePort({
      clone: {
        type: 'clone',
        id: 'rsc1',
        promotable: true,
        child: { type: 'primitive', id: 'c', agent: 'ocf:heartbeat:apache' },
        meta: { cloneMax: 4, cloneNodeMax: 2, globallyUnique: true },
      },
      nodes: ['node1', 'node2'],
    });
    placeCloneInstances(port);
    expect(insts.map((i) => i.node)).toEqual(['node1', 'node2', 'node1', 'node2']);
    expect(insts.every((i) => i.next === 'Unpromoted')).toBe(true);
  });

  it('anonymous clone keeps running instances and stops the surplus when a node is banned', () => {
    const { port, insts } = fakePort({
      clone: { type: 'clone', id: 'm', promotable: true, child: { type: 'primitive', id: 'dummy', agent: 'ocf:heartbeat:Dummy' } },
      nodes: ['node1', 'node2', 'node3'],
      running: { 'dummy:0': ['node1'], 'dummy:1': ['node2'], 'dummy:2': ['node3'] },
      cloneBan: ['node3'],
    });
    placeCloneInstances(port);
    expect(insts.map((i) => i.node)).toEqual(['node1', 'node2', null]);
  });

  it('keeps the current promoted instance when scores tie', () => {
    const { port, insts } = fakePort({
      clone: { type: 'clone', id: 'ms', promotable: true, child: { type: 'primitive', id: 'd', agent: 'ocf:heartbeat:Dummy' } },
      nodes: ['a', 'b'],
      running: { 'd:0': ['a'], 'd:1': ['b'] },
      roles: { 'd:0': 'Unpromoted', 'd:1': 'Promoted' },
      attrs: { a: { 'master-d': '5' }, b: { 'master-d': '5' } },
    });
    placeCloneInstances(port);
    expect(insts.find((i) => i.next === 'Promoted')?.node).toBe('b');
  });
});
