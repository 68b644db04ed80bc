import { placeCloneInstances } from '../src/clone/stage.js';
import { chooseNode, fakePort } from './clone-fake-port.js';

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

  describe('distribution', () => {
    const prim = { type: 'primitive', id: 'p', agent: 'ocf:heartbeat:Dummy' };
    const placed = (insts: { id: string; node?: string | null }[]) => Object.fromEntries(insts.map((i) => [i.id, i.node ?? null]));

    it('spreads one instance per node and keeps running instances in place', () => {
      const { port, insts } = fakePort({ clone: { type: 'clone', id: 'c', child: prim }, nodes: ['n1', 'n2', 'n3'], running: { 'p:1': ['n3'] } });
      placeCloneInstances(port);
      expect(placed(insts)).toEqual({ 'p:0': 'n1', 'p:1': 'n3', 'p:2': 'n2' });
    });

    it('stops instances beyond the available nodes and honours clone-node-max', () => {
      const { port, insts } = fakePort({
        clone: { type: 'clone', id: 'c', child: prim, meta: { cloneMax: 4, globallyUnique: true } },
        nodes: ['n1', 'n2'],
        down: ['n2'],
      });
      placeCloneInstances(port);
      expect(insts.map((i) => i.node)).toEqual(['n1', null, null, null]);
    });

    it('redistributes unique instances when node-max > 1 (bug-lf-2445)', () => {
      const { port, insts } = fakePort({
        clone: { type: 'clone', id: 'c', child: prim, meta: { cloneMax: 2, cloneNodeMax: 2, globallyUnique: true } },
        nodes: ['node1', 'node2'],
        running: { 'p:0': ['node1'], 'p:1': ['node1'] },
        stickiness: 0,
      });
      placeCloneInstances(port);
      expect(insts.map((i) => i.node)).toEqual(['node1', 'node2']);
    });

    it('never places on a node where the clone is banned', () => {
      const { port, insts } = fakePort({ clone: { type: 'clone', id: 'c', child: prim, meta: { cloneMax: 2 } }, nodes: ['n1', 'n2'], cloneBan: ['n2'] });
      placeCloneInstances(port);
      expect(insts.map((i) => i.node)).toEqual(['n1', null]);
    });

    it("the stand-in's chooseNode breaks ties by load, then current node, then name", () => {
      const nm = new Map(['a', 'b', 'c'].map((name) => [name, { available: true }]));
      const sc = new Map([
        ['a', 5],
        ['b', 5],
        ['c', 1],
      ]);
      expect(chooseNode(sc, nm, { unique: false, load: () => 0 })).toBe('a');
      expect(chooseNode(sc, nm, { unique: false, load: (n) => (n === 'a' ? 1 : 0) })).toBe('b');
      expect(chooseNode(sc, nm, { unique: false, current: 'b', load: () => 0 })).toBe('b');
      expect(chooseNode(new Map([['a', -1]]), nm, { unique: false, load: () => 0 })).toBeNull();
    });
  });
});
