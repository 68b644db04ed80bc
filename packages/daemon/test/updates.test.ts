import { parseDocConfig, type ClusterDoc } from '@paceline/daemon';
import { applyUpdate } from '../src/updates.js';

const doc: ClusterDoc = {
  epoch: 4,
  config: {
    nodes: [{ name: 'a' }, { name: 'b' }],
    resources: [{ type: 'group', id: 'g', members: [{ type: 'primitive', id: 'web', agent: 'paceline:dummy' }] }],
  },
  quarantine: {},
};
const config = parseDocConfig(doc).config!;

describe('applyUpdate', () => {
  test('move, ban and clear use well-known constraint ids', () => {
    const m = applyUpdate(doc, config, { op: 'move', resource: 'web', node: 'b' });
    expect(m.doc?.epoch).toBe(5);
    const b = applyUpdate(m.doc!, parseDocConfig(m.doc!).config!, { op: 'ban', resource: 'web', node: 'a' });
    const ids = (b.doc!.config['constraints'] as { id: string; score: string }[]).map((c) => `${c.id} ${c.score}`);
    expect(ids).toEqual(['cli-prefer-web INFINITY', 'cli-ban-web-on-a -INFINITY']);
    const c = applyUpdate(b.doc!, parseDocConfig(b.doc!).config!, { op: 'clear', resource: 'web' });
    expect(c.doc!.config['constraints']).toEqual([]);
    if (c.error !== undefined) throw new Error(c.error);
    expect(c.message).toContain('removed cli-ban-web-on-a, cli-prefer-web');
    expect(applyUpdate(doc, config, { op: 'clear', resource: 'web' }).error).toBe('no move or ban constraints for web');
  });

  test('standby and target role change the configuration', () => {
    const s = applyUpdate(doc, config, { op: 'standby', node: 'a', on: true });
    expect(parseDocConfig(s.doc!).config!.nodes[0]!.standby).toBe(true);
    const t = applyUpdate(doc, config, { op: 'target-role', resource: 'web', role: 'Stopped' });
    expect(JSON.stringify(t.doc!.config)).toContain('"targetRole":"Stopped"');
    expect(applyUpdate(doc, config, { op: 'standby', node: 'zz', on: true }).error).toContain('no node "zz"');
  });

  test('replace: an epoch that is not newer is a conflict, with a clear message', () => {
    const other = { ...doc.config, properties: { clusterName: 'x' } };
    const r = applyUpdate(doc, config, { op: 'replace', config: other, epoch: 4 });
    expect(r.error).toMatch(/^conflicting edit: the file says epoch 4 but the cluster is at epoch 4/);
    expect(applyUpdate(doc, config, { op: 'replace', config: doc.config, epoch: 3 }).error).toContain('nothing to do');
    expect(applyUpdate(doc, config, { op: 'replace', config: other }).doc?.epoch).toBe(5);
    expect(applyUpdate(doc, config, { op: 'replace', config: other, epoch: 9 }).doc?.epoch).toBe(9);
    expect(applyUpdate(doc, config, { op: 'replace', config: { resources: [{ type: 'primitive' }] } }).error).toContain('configuration epoch 5');
  });

  test('quarantine and clear-node', () => {
    const q = applyUpdate(doc, config, { op: 'quarantine', node: 'a', reason: 'fenced' });
    expect(q.doc!.quarantine).toEqual({ a: 'fenced' });
    expect(applyUpdate(q.doc!, config, { op: 'quarantine', node: 'a', reason: 'again' }).error).toContain('already quarantined');
    expect(applyUpdate(q.doc!, config, { op: 'clear-node', node: 'a' }).doc!.quarantine).toEqual({});
    expect(applyUpdate(doc, config, { op: 'clear-node', node: 'a' }).error).toBe('a is not quarantined');
    // Only the quarantine and the epoch change: the new document's configuration (known without a
    // second validation) is what validating it would give.
    for (const d of [q.doc!, applyUpdate(q.doc!, config, { op: 'clear-node', node: 'a' }).doc!]) {
      const known = parseDocConfig(d);
      const fresh = parseDocConfig(structuredClone(d));
      expect(known).toEqual(fresh);
      expect(known.config?.epoch).toBe(d.epoch);
      expect(d.config).toEqual({ ...doc.config, epoch: d.epoch });
    }
  });
});

describe('parseDocConfig', () => {
  test('a valid document gives the configuration and the same as written', () => {
    const p = parseDocConfig(doc);
    expect(p.ok).toBe(true);
    if (p.ok) expect(p.written).toEqual({ ...doc.config, epoch: 4 });
  });

  test('an invalid one gives every issue with its path, and a message naming the epoch', () => {
    const p = parseDocConfig({ ...doc, config: { nodes: [{ name: 'a', colour: 'red' }], resources: [{ type: 'primitive', id: 'x' }] } });
    expect(p.ok).toBe(false);
    if (p.ok) return;
    expect(p.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['nodes[0]', 'resources[0].agent']));
    expect(p.message).toMatch(/^configuration epoch 4: 2 problems found/);
  });

  test('a replacement that does not validate is refused with its issues', () => {
    const r = applyUpdate(doc, config, { op: 'replace', config: { nodes: [{ name: 'a' }], membership: { partitionPolicy: 'pray' } } });
    expect(r.doc).toBeUndefined();
    expect(r.issues?.map((i) => i.path)).toEqual(['membership.partitionPolicy']);
  });

  test('target role is set and removed in a group member, typed', () => {
    const t = applyUpdate(doc, config, { op: 'target-role', resource: 'web', role: 'Stopped' });
    const back = applyUpdate(t.doc!, parseDocConfig(t.doc!).config!, { op: 'target-role', resource: 'web' });
    expect(JSON.stringify(back.doc!.config)).not.toContain('targetRole');
  });
});
