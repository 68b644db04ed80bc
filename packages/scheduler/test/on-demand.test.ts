/**
 * What is computed only when read: a transition's explanation and a simulation's applied end
 * state. Reading gives the same value every time (built once, kept), and a copy or JSON of the
 * result still carries it.
 */
import { clusterBuilder } from '@paceline/model';
import { applyTransition, coldStartStatus, schedule, simulate } from '@paceline/scheduler';

const NOW = Date.UTC(2026, 0, 1);
const config = clusterBuilder()
  .properties({ stonithEnabled: false })
  .node('serv1')
  .node('serv2')
  .primitive('web', 'paceline:dummy', { ops: [{ name: 'monitor', interval: '10s' }] })
  .location('web-home', 'web', 'serv1', 100)
  .build();

test('the explanation is built on first read, then kept; copies and JSON carry it', () => {
  const t = schedule({ config, status: coldStartStatus(config), now: NOW });
  const first = t.explanation;
  expect(t.explanation).toBe(first);
  expect(first.decisions.map((d) => d.text)).toContainEqual(expect.stringContaining('web: placed on serv1'));
  expect(first.scores.find((s) => s.resource === 'web' && s.node === 'serv1')?.total).toBe(100);
  expect({ ...t }.explanation).toBe(first);
  expect(JSON.parse(JSON.stringify(t)).explanation).toEqual(JSON.parse(JSON.stringify(first)));
});

test('a simulation applies its transition only when the end state is read', () => {
  const s = simulate({ config, status: coldStartStatus(config), now: NOW });
  const revised = s.revisedStatus;
  expect(s.revisedStatus).toBe(revised);
  expect(revised).toEqual(applyTransition(config, s.status, s.transition, NOW));
  expect(revised.nodes.find((n) => n.name === 'serv1')?.history.map((h) => h.resource)).toEqual(['web']);
});
