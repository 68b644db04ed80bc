/**
 * Fencing enabled (the default) with no fencing device leaves every resource unmanaged, as in
 * Pacemaker. That must never be silent: validation warns, the transition carries a warning, and
 * `explain` gives the cause and the fix instead of "unable to allocate" next to a fine score.
 */
import { clusterBuilder, emptyNodeStatus, NO_FENCING_DEVICE, validateConfig } from '@paceline/model';
import { explainResource, schedule } from '@paceline/scheduler';

const NOW = Date.UTC(2026, 0, 1);
const online = { quorum: true, nodes: [emptyNodeStatus('serv1', 'online'), emptyNodeStatus('serv2', 'online')] };

describe('fencing enabled without a fencing device', () => {
  const doc = {
    nodes: [{ name: 'serv1' }, { name: 'serv2' }],
    resources: [{ type: 'primitive', id: 'web-ip', agent: 'paceline:ip', params: { address: '10.0.0.10' } }],
    constraints: [{ type: 'location', id: 'web-ip-home', resource: 'web-ip', node: 'serv1', score: 100 }],
  };

  it('is a validation warning naming the property, the cause and both fixes', () => {
    const r = validateConfig(doc);
    expect(r.config).toBeDefined();
    expect(r.warnings).toEqual([{ path: 'properties.stonithEnabled', message: NO_FENCING_DEVICE }]);
    expect(NO_FENCING_DEVICE).toMatch(/no fencing device is configured.*unmanaged.*stonith:.*stonithEnabled: false/);
  });

  it('places nothing, warns, and explain says why', () => {
    const config = validateConfig(doc).config!;
    const t = schedule({ config, status: online, now: NOW });
    expect(t.actions.filter((a) => a.kind === 'start')).toEqual([]);
    expect(t.warnings).toContain(NO_FENCING_DEVICE);
    const lines = explainResource(t, 'web-ip').join('\n');
    expect(lines).toContain(`web-ip: not placed (unmanaged: ${NO_FENCING_DEVICE})`);
    expect(lines).not.toContain('unable to allocate');
  });

  it('is not reported when a fencing device exists or fencing is off', () => {
    const fenced = { ...doc, resources: [...doc.resources, { type: 'primitive', id: 'fence', agent: 'stonith:fence_ipmilan' }] };
    expect(validateConfig(fenced).warnings).toEqual([]);
    expect(schedule({ config: validateConfig(fenced).config!, status: online, now: NOW }).warnings).not.toContain(NO_FENCING_DEVICE);
    const off = { ...doc, properties: { stonithEnabled: false } };
    expect(validateConfig(off).warnings).toEqual([]);
  });
});

describe('the builder example (packages/model/src/builder.ts) run as written', () => {
  it('starts web-ip on serv1', () => {
    const config = clusterBuilder()
      .properties({ stonithEnabled: false })
      .node('serv1')
      .node('serv2')
      .primitive('web-ip', 'paceline:ip', { params: { address: '10.0.0.10', cidrNetmask: 24 } })
      .location('web-ip-home', 'web-ip', 'serv1', 100)
      .build();
    const t = schedule({ config, status: online, now: NOW });
    expect(t.warnings).toEqual([]);
    expect(t.actions.filter((a) => a.kind === 'start').map((a) => `${a.primitive} on ${a.node}`)).toEqual(['web-ip on serv1']);
  });
});
