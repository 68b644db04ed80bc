import { ConfigError, INFINITY, clusterBuilder, primitive } from '@paceline/model';

describe('clusterBuilder', () => {
  it('builds the same validated config a YAML file gives', () => {
    const config = clusterBuilder()
      .properties({ stonithEnabled: false })
      .defaults({ resource: { stickiness: 50 } })
      .node('serv1')
      .node('serv2')
      .group('web', [
        primitive('web-ip', 'paceline:ip', { params: { address: '10.0.0.10' } }),
        primitive('nginx', 'paceline:process', { ops: [{ name: 'monitor', interval: '10s' }] }),
      ])
      .clone('dns', primitive('bind', 'paceline:process'), { meta: { cloneMax: 2 } })
      .location('web-home', 'web', 'serv1', 100)
      .colocate('web-with-dns', 'web', 'dns', 'INFINITY')
      .order('dns-first', 'dns', 'web')
      .build();
    expect(config.properties.stonithEnabled).toBe(false);
    expect(config.defaults.resource.stickiness).toBe(50);
    expect(config.resources.map((r) => r.id)).toEqual(['web', 'dns']);
    expect(config.constraints[1]).toMatchObject({ type: 'colocation', score: INFINITY });
    expect(config.resources[0]).toMatchObject({ members: [{ id: 'web-ip' }, { id: 'nginx', ops: [{ interval: 10_000 }] }] });
  });

  it('reports every problem with its path instead of building', () => {
    const b = clusterBuilder().node('n1').primitive('a', 'paceline:dummy').colocate('c', 'a', 'ghost', 10).order('o', 'nope', 'a');
    expect(b.validate().issues.map((i) => i.path)).toEqual(['constraints[0].withResource', 'constraints[1].first']);
    expect(() => b.build()).toThrow(ConfigError);
    expect(() => b.build()).toThrow(/builder: 2 problems found/);
  });
});
