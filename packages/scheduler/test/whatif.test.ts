/**
 * The what-if library (moved here from the CLI so programs can ask "what if serv1 fails?"):
 * events applied to a status, then one scheduler run, as `paceline simulate` does.
 */
import { clusterBuilder, ConfigError, QUARANTINE_ATTRIBUTE } from '@paceline/model';
import { applyWhatIf, coldStartStatus, explainResource, monitorInterval, parseOpFail, simulate } from '@paceline/scheduler';

const NOW = Date.UTC(2026, 0, 1);
const config = clusterBuilder()
  .properties({ stonithEnabled: false })
  .node('serv1')
  .node('serv2')
  .primitive('web', 'paceline:dummy', { ops: [{ name: 'monitor', interval: '10s' }] })
  .location('web-home', 'web', 'serv1', 100)
  .build();

/** Where web runs once the cold start's transition has succeeded. */
const running = simulate({ config, status: coldStartStatus(config), now: NOW }).revisedStatus;
const where = (s: ReturnType<typeof simulate>): string | undefined => s.transition.placement.find((p) => p.resource === 'web')?.node ?? undefined;

test('a cold start places web at home', () => {
  const s = simulate({ config, status: coldStartStatus(config), now: NOW });
  expect(where(s)).toBe('serv1');
  expect(s.transition.actions.some((a) => a.kind === 'start' && a.node === 'serv1' && a.primitive === 'web')).toBe(true);
  expect(s.revisedStatus.nodes.find((n) => n.name === 'serv1')?.history.map((h) => h.resource)).toEqual(['web']);
});

test('node-fail: web moves to serv2 and explain says why serv1 is out', () => {
  const s = simulate({ config, status: running, now: NOW, whatIf: [{ type: 'node-fail', node: 'serv1' }] });
  expect(s.status.nodes.find((n) => n.name === 'serv1')?.state).toBe('offline'); // fencing is off
  expect(where(s)).toBe('serv2');
  expect(explainResource(s.transition, 'web', 'serv1').join('\n')).toMatch(/score on serv1: -INFINITY/);
});

test('op-fail of a monitor takes the configured interval, counts a failure and recovers in place', () => {
  expect(monitorInterval(config, 'web')).toBe(10_000);
  const s = simulate({ config, status: running, now: NOW, whatIf: [parseOpFail('web:monitor:serv1')] });
  expect(s.status.nodes.find((n) => n.name === 'serv1')?.failures).toEqual([
    { resource: 'web', action: 'monitor', interval: 10_000, count: 1, lastFailure: NOW },
  ]);
  expect(s.transition.summary).toEqual([expect.objectContaining({ action: 'recover', resource: 'web', from: 'serv1', to: 'serv1' })]);
});

test('standby with a reason quarantines; standby off clears it', () => {
  const held = applyWhatIf(config, running, { type: 'standby', node: 'serv1', on: true, reason: 'fenced' }, NOW);
  expect(held.nodes.find((n) => n.name === 'serv1')).toMatchObject({ standby: true, attributes: { [QUARANTINE_ATTRIBUTE]: 'fenced' } });
  expect(where(simulate({ config, status: held, now: NOW }))).toBe('serv2');
  const cleared = applyWhatIf(config, held, { type: 'standby', node: 'serv1', on: false }, NOW);
  expect(cleared.nodes.find((n) => n.name === 'serv1')?.attributes).toEqual({});
});

test('bad events are errors that name the option and the value', () => {
  expect(() => applyWhatIf(config, running, { type: 'node-fail', node: 'serv9' }, NOW)).toThrow(ConfigError);
  expect(() => applyWhatIf(config, running, { type: 'node-fail', node: 'serv9' }, NOW)).toThrow(/node "serv9" is not configured \(known: serv1, serv2\)/);
  expect(() => parseOpFail('web:monitor')).toThrow(/"web:monitor" is not RESOURCE:ACTION:NODE/);
  expect(() => parseOpFail('web:monitor:serv1:10s')).toThrow(/INTERVAL_MS "10s" is not a whole number/);
  expect(parseOpFail('web:start:serv1:0:7')).toEqual({ type: 'op-fail', resource: 'web', action: 'start', node: 'serv1', interval: 0, rc: 7 });
});
