/**
 * The cluster-wide membership settings: the configuration's `membership` section is what every
 * daemon runs with; a per-node override that makes one node differ stops the coordinator from
 * scheduling, with the setting and the nodes named in the status of both; a changed section is
 * applied at once, and once the settings agree again the coordinator schedules.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { AgentRegistry } from '@paceline/agent-api';
import { dummyAgents } from '@paceline/agent-dummy';
import { ExecaCommandRunner, createLogger, systemClock } from '@paceline/runtime';
import { Daemon, DaemonError, systemTimers, type DaemonStatus } from '@paceline/daemon';
import { validateConfig, type MembershipSettings } from '@paceline/model';
import { checkOverrides, describeOverrides, resolveMembership, settingChanges } from '../src/membership-settings.js';
import { freePorts, twoNodeConfig, waitFor, testbed } from './helpers.js';

const { root, key, daemons } = testbed('membership-settings');
const logger = createLogger({
  stream: new Writable({
    write(_c, _e, cb) {
      cb();
    },
  }),
});
const active = (s: DaemonStatus, rsc: string): string[] => s.resources.filter((r) => r.resource === rsc && r.role !== 'Stopped' && r.node).map((r) => r.node!);

test('an override that differs blocks scheduling, named on both nodes; the section changed to match lets it go on', async () => {
  const config = twoNodeConfig(await freePorts(8), { membership: { partitionPolicy: 'stop-all' } });
  const make = (node: string, membership?: MembershipSettings): Daemon => {
    const d = new Daemon({
      node,
      config,
      stateDir: join(root, node),
      key,
      agents: new AgentRegistry([...dummyAgents]),
      runner: new ExecaCommandRunner(),
      clock: systemClock,
      timers: systemTimers,
      logger,
      ...(membership ? { membership } : {}),
    });
    daemons.push(d);
    return d;
  };
  const s1 = make('serv1');
  const s2 = make('serv2', { deadTicks: 30 });
  await Promise.all([s1.start(), s2.start()]);
  expect(s1.status().membershipSettings).toMatchObject({ partitionPolicy: 'stop-all', deadTicks: 6, twoNode: true });
  expect(s2.status().membershipSettings).toMatchObject({ partitionPolicy: 'stop-all', deadTicks: 30 });
  const conflict = 'deadTicks is 6 on serv1 but 30 on serv2';
  await waitFor('both nodes name the conflict', () => s1.status().membershipConflict?.includes(conflict) && s2.status().membershipConflict?.includes(conflict));
  expect(s1.status().members).toEqual(['serv1', 'serv2']);
  // The coordinator says it is the conflict that blocks it (once two-node mode's waitForAll has ended:
  // the peer must have seen this incarnation, which under load may come after its report).
  await waitFor('the coordinator blocked by the conflict', () => s1.status().schedulerBlocked?.includes(conflict));
  await new Promise((r) => setTimeout(r, 1000));
  expect(active(s1.status(), 'web')).toEqual([]);
  expect(s1.status().lastTransition).toBeUndefined();

  // The section now says what serv2's override says: both run with deadTicks 30, web starts at home.
  const r = await s2.update({ op: 'replace', config: { ...config, membership: { partitionPolicy: 'stop-all', deadTicks: 30 } } }, 30_000);
  expect(r).toMatchObject({ ok: true });
  await waitFor('web on serv1', () => active(s1.status(), 'web').join() === 'serv1', 30_000);
  expect(s1.status().membershipSettings).toMatchObject({ deadTicks: 30 });
  expect(s1.status().membershipConflict).toBeUndefined();
  expect(s2.status().membershipConflict).toBeUndefined();
}, 90_000);

test('an invalid override is refused at start, naming the setting', async () => {
  const config = twoNodeConfig(await freePorts(8));
  const d = new Daemon({
    node: 'serv1',
    config,
    stateDir: join(root, 'bad'),
    key,
    agents: new AgentRegistry([...dummyAgents]),
    runner: new ExecaCommandRunner(),
    clock: systemClock,
    timers: systemTimers,
    logger,
    membership: { deadTicks: -1 },
  });
  daemons.push(d);
  await expect(d.start()).rejects.toThrow(DaemonError);
  await expect(d.start()).rejects.toThrow(/already started/);
});

describe('the settings in effect (membership-settings.ts)', () => {
  const nodes = [
    { name: 'a', links: ['lan'] },
    { name: 'b', links: ['lan'] },
  ];
  const config = (membership?: MembershipSettings) => validateConfig({ nodes: [{ name: 'a' }, { name: 'b' }], ...(membership ? { membership } : {}) }).config!;

  it('the section under the overrides; two nodes mean two-node mode unless said otherwise', () => {
    const plain = resolveMembership(config({ partitionPolicy: 'stop-all' }), { self: 'a', nodes, arbiter: false });
    expect(plain).toMatchObject({ twoNode: true, partitionPolicy: 'stop-all' });
    const over = resolveMembership(config({ partitionPolicy: 'stop-all' }), {
      self: 'a',
      nodes,
      overrides: { partitionPolicy: 'fence', twoNode: false },
      arbiter: true,
    });
    expect(over).toMatchObject({ twoNode: false, partitionPolicy: 'fence', arbiter: true });
    expect(settingChanges(plain, over)).toEqual([
      'arbiter false -> true',
      'partitionPolicy stop-all -> fence',
      'twoNode true -> false',
      'waitForAll true -> false',
    ]);
    expect(settingChanges(plain, plain)).toEqual([]);
  });

  it('overrides that differ from the section are described for the log; equal ones are not', () => {
    expect(describeOverrides(config({ partitionPolicy: 'stop-all' }), { partitionPolicy: 'stop-all' })).toBeUndefined();
    expect(describeOverrides(config({ partitionPolicy: 'stop-all' }), { partitionPolicy: 'fence', profile: 'fast' })).toBe(
      'membership settings overridden on this node: partitionPolicy="fence" (configuration: "stop-all"), profile="fast" (configuration: unset); every node must run with the same settings',
    );
  });

  it('an unknown override is refused, naming it', () => {
    expect(() => checkOverrides({ partitionPolcy: 'fence' } as unknown as MembershipSettings)).toThrow(
      /membership overrides[\s\S]*unknown field "partitionPolcy"/,
    );
  });
});
