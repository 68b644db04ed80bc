/**
 * schedule() at its boundary: parsed input is used as it is; a JavaScript caller's raw
 * configuration and status are parsed (same plan as the parsed ones); input that is wrong is a
 * ConfigError or ScheduleInputError that names the problem, never a TypeError from a stage.
 */
import { ClusterConfig, ConfigError, type ClusterStatus } from '@paceline/model';
import { schedule, ScheduleInputError } from '@paceline/scheduler';

const raw = {
  properties: { stonithEnabled: false },
  nodes: [{ name: 'serv1' }, { name: 'serv2' }],
  resources: [{ type: 'primitive', id: 'web', agent: 'paceline:dummy' }],
  constraints: [{ type: 'location', id: 'web-home', resource: 'web', node: 'serv2', score: 100 }],
};
const status: ClusterStatus = {
  quorum: true,
  nodes: ['serv1', 'serv2'].map((name) => ({
    name,
    state: 'online',
    standby: false,
    maintenance: false,
    shutdown: false,
    attributes: {},
    history: [],
    failures: [],
  })),
};
const call = (input: unknown): unknown => schedule(input as Parameters<typeof schedule>[0]);

test('a raw configuration and status are parsed: the same plan as the parsed ones', () => {
  const parsed = schedule({ config: ClusterConfig.parse(raw), status, now: 0 });
  const fromRaw = call({
    config: raw,
    status: {
      nodes: [
        { name: 'serv1', state: 'online' },
        { name: 'serv2', state: 'online' },
      ],
    },
    now: 0,
  });
  expect(fromRaw).toEqual(parsed);
  expect(parsed.placement.find((p) => p.resource === 'web')?.node).toBe('serv2');
});

test('an invalid raw configuration is a ConfigError naming each problem and its path', () => {
  const e = (() => {
    try {
      call({ config: { ...raw, resources: [{ type: 'primitive', id: 'web', agnt: 'paceline:dummy' }] }, status, now: 0 });
    } catch (x) {
      return x;
    }
  })();
  expect(e).toBeInstanceOf(ConfigError);
  expect((e as Error).message).toBe(
    'schedule() config: 2 problems found\n  - resources[0].agent: missing (expected a string)\n  - resources[0]: unknown field "agnt"',
  );
  // Cross-references too, as config validate checks them.
  expect(() => call({ config: { ...raw, constraints: [{ type: 'location', id: 'x', resource: 'db', node: 'serv1', score: 1 }] }, status, now: 0 })).toThrow(
    'schedule() config: 1 problem found\n  - constraints[0].resource: constraint "x" names resource "db", which is not configured',
  );
});

test('wrong shapes are said, not a TypeError', () => {
  expect(() => call(undefined)).toThrow(new ScheduleInputError('SCHEDULE_INPUT', 'schedule() takes { config, status, now }, not undefined'));
  expect(() => call({ config: raw, status })).toThrow('schedule(): now must be the time in epoch milliseconds (a number), not missing');
  expect(() => call({ config: raw, now: 0 })).toThrow('schedule(): status must be a status object');
  expect(() => call({ status, now: 0 })).toThrow('schedule(): config must be a configuration object, not missing');
  expect(() => call({ config: raw, status: { nodes: [{ name: 'serv1', state: 'up' }] }, now: 0 })).toThrow(
    /^schedule\(\) status: 1 problem found\n {2}- nodes\[0\]\.state: /,
  );
});
