import { silentLogger, validateParams } from '@paceline/agent-api';
import { layoutFor, mirrorAgent, MirrorParams, parseEndpoint } from '@paceline/agent-mirror';

const peers = { serv1: '10.99.0.1', serv2: '10.99.0.2:8731' };

describe('paceline:mirror parameters', () => {
  test('a valid set, with defaults', () => {
    const p = MirrorParams.parse({ path: '/srv/samba', peers });
    expect(p).toMatchObject({ port: 8730, intervalMs: 2000, rsync: 'rsync' });
    void silentLogger;
  });

  test.each([
    [{ path: '/', peers }, 'path', 'must not be "/"'],
    [{ path: '//', peers }, 'path', 'must not be "/"'],
    [{ path: 'srv/samba', peers }, 'path', 'absolute'],
    [{ path: '/srv/a\nb', peers }, 'path', 'control characters'],
    [{ path: '/srv/samba', peers: { serv1: '10.99.0.1' } }, 'peers', 'exactly two'],
    [{ path: '/srv/samba', peers: { serv1: '10.99.0.1', serv2: '10.99.0.2:99999' } }, 'peers', 'is not IP, IP:PORT'],
    [{ path: '/srv/samba', peers, metaDir: '/srv/samba/meta' }, 'metaDir', 'outside path'],
    [{ path: '/srv/samba', peers: { serv1: 'serv1.lan', serv2: '10.99.0.2' } }, 'peers', 'not a host name'],
    [{ path: '/srv/samba', peers, port: 0 }, 'port', ''],
  ])('rejects %j naming the parameter', (raw, param, text) => {
    const v = validateParams(mirrorAgent, raw, 'samba-data');
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.message).toContain('resource "samba-data"');
    expect(v.message).toContain(`parameter "${param}`);
    expect(v.message).toContain(text);
  });

  test('endpoints: IPv4, IPv6, host names, ports', () => {
    expect(parseEndpoint('10.0.0.1', 873)).toEqual({ address: '10.0.0.1', port: 873, authority: '10.0.0.1:873' });
    expect(parseEndpoint('10.0.0.1:8731', 873)?.port).toBe(8731);
    expect(parseEndpoint('fd00::1', 873)).toEqual({ address: 'fd00::1', port: 873, authority: '[fd00::1]:873' });
    expect(parseEndpoint('[fd00::1]:9', 873)).toEqual({ address: 'fd00::1', port: 9, authority: '[fd00::1]:9' });
    expect(parseEndpoint('a:b:c]', 873)).toBeUndefined();
    expect(parseEndpoint('host:x', 873)).toBeUndefined();
    expect(parseEndpoint('serv2.example:873', 873)).toBeUndefined(); // IP literals only
  });

  test('layout: the peer is the other node; a node outside peers is refused', () => {
    const p = MirrorParams.parse({ path: '/srv/samba/', peers });
    const l = layoutFor(p, 'serv1', '/var/lib/paceline/serv1/samba-data');
    expect(typeof l).toBe('object');
    if (typeof l === 'string') return;
    expect(l).toMatchObject({ peer: 'serv2', data: '/srv/samba', metaDir: '/srv/samba.mirror', remote: { authority: '10.99.0.2:8731' } });
    expect(layoutFor(p, 'serv3', '/x')).toMatch(/not in peers/);
  });
});

describe('the reference cluster (examples/two-node-mutual-failover)', () => {
  test('its mirror parameters are valid for paceline:mirror, with distinct ports', async () => {
    const { readFile } = await import('node:fs/promises');
    const { parse } = await import('yaml');
    const cfg = parse(await readFile(new URL('../../../examples/two-node-mutual-failover/cluster.yaml', import.meta.url), 'utf8')) as {
      resources: Array<{ child?: { id: string; agent: string; params: unknown } }>;
    };
    const mirrors = cfg.resources.flatMap((r) => (r.child?.agent === 'paceline:mirror' ? [r.child] : []));
    expect(mirrors.map((m) => m.id)).toEqual(['samba-data', 'cyrus-data']);
    const ports = mirrors.map((m) => {
      const v = validateParams(mirrorAgent, m.params, m.id);
      if (!v.ok) throw new Error(v.message);
      return (v.params as MirrorParams).port;
    });
    expect(new Set(ports).size).toBe(2);
  });
});
