import { parseConfig, parseStatus } from '@paceline/model';
import { schedule } from '../src/index.js';

/**
 * An anonymous clone is probed through one instance per node (Pacemaker's probe_anonymous_clone):
 * a real daemon whose history holds httpd:0 on serv1 and httpd:1 on serv2 was asked to probe httpd:1
 * on serv1 and httpd:0 on serv2 in every transition; the probes found the service running, the
 * transition was recomputed, and the same probes came again (about 15 transitions a second).
 */
const op = (action: string, interval: number, rc: number, callId: number, expectedRc = 0) => ({
  action,
  interval,
  callId,
  status: 'done',
  rc,
  lastRcChange: 1,
  lastRun: 1,
  expectedRc,
});
const node = (name: string, history: unknown[]) => ({
  name,
  state: 'online',
  standby: false,
  maintenance: false,
  shutdown: false,
  attributes: {},
  history,
  failures: [],
});
const running = (resource: string) => ({ resource, ops: [op('start', 0, 0, 1), op('monitor', 10000, 0, 2)] });
const actions = (config: unknown, nodes: unknown[]) =>
  schedule({ config: parseConfig(config), status: parseStatus({ nodes }), now: 10 })
    .actions.map((a) => `${a.kind} ${a.resource} ${a.node}`)
    .sort();

describe('anonymous clone probes', () => {
  const clone = (globallyUnique: boolean) => ({
    properties: { stonithEnabled: false, noQuorumPolicy: 'ignore' },
    nodes: [{ name: 'serv1' }, { name: 'serv2' }],
    resources: [
      {
        type: 'clone',
        id: 'httpd-clone',
        meta: { globallyUnique },
        child: { type: 'primitive', id: 'httpd', agent: 'paceline:dummy', ops: [{ name: 'monitor', interval: '10s' }] },
      },
    ],
  });

  it('running on both nodes: no probe at all (each node knows an instance)', () => {
    expect(actions(clone(false), [node('serv1', [running('httpd:0')]), node('serv2', [running('httpd:1')])]).filter((a) => a.startsWith('probe'))).toEqual([]);
  });

  it('a node that knows no instance is probed once, through the instance placed there', () => {
    const got = actions(clone(false), [node('serv1', [running('httpd:0')]), node('serv2', [])]);
    expect(got.filter((a) => a.startsWith('probe'))).toEqual(['probe httpd:1 serv2']);
    expect(got).toContain('start httpd:1 serv2');
  });

  it('a fresh cluster: one probe per node', () => {
    const got = actions(clone(false), [node('serv1', []), node('serv2', [])]);
    expect(got.filter((a) => a.startsWith('probe'))).toHaveLength(2);
  });

  it('globally unique clones still probe every instance on every node', () => {
    const got = actions(clone(true), [node('serv1', [running('httpd:0')]), node('serv2', [running('httpd:1')])]);
    expect(got.filter((a) => a.startsWith('probe'))).toEqual(['probe httpd:0 serv2', 'probe httpd:1 serv1']);
  });
});
