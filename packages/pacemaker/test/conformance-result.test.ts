import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GraphAction, InstancePlacement, Role, SummaryLine, Transition } from '@paceline/model';
import { compareConformance, importCib, toConformanceResult, type ConformanceExpected, type ConformanceResult } from '@paceline/pacemaker';
import { corpusNames, requireCorpus } from './corpus.js';

const empty = { actions: [], edges: [], current: [], explanation: { scores: [], decisions: [] }, warnings: [] };

/** A transition that says exactly what an expected file says (what a perfect scheduler would return). */
function transitionFrom(expected: ConformanceExpected): Transition {
  const placement: InstancePlacement[] = [];
  for (const [id, r] of Object.entries(expected.resources))
    r.instances.forEach((i, n) =>
      placement.push({
        resource: id,
        instance: i.instance ?? (r.clone ? `${id}:${n}` : id),
        node: i.node,
        role: i.role as Role,
        ...(r.group ? { group: r.group } : {}),
        ...(r.clone ? { clone: r.clone } : {}),
        managed: i.managed ?? true,
        failed: i.failed ?? false,
      }),
    );
  const summary: SummaryLine[] = expected.actions.map((a) =>
    a.action === 'fence'
      ? { action: 'fence', node: a.node!, fenceType: a.fence_type as 'reboot', from: null, to: null, blocked: false }
      : { action: a.action as SummaryLine['action'], resource: a.resource!, from: a.from ?? null, to: a.to ?? null, blocked: a.blocked ?? false },
  );
  // Nodes left unclean by the transition: a perfect scheduler wants to fence them but cannot.
  const actions: GraphAction[] = Object.entries(expected.nodes ?? {})
    .filter(([, n]) => n.unclean)
    .map(([node]) => ({ id: `fence ${node}`, kind: 'fence', node, fenceType: 'reboot', interval: 0, reason: 'unclean', runnable: false }));
  return { ...empty, actions, placement, summary };
}

describe('compareConformance', () => {
  const base: ConformanceResult = {
    resources: {
      a: { group: null, clone: null, instances: [{ node: 'n1', role: 'Started' }] },
      s: {
        group: null,
        clone: 'ms',
        promotable: true,
        unique: false,
        instances: [
          { node: 'n1', role: 'Promoted' },
          { node: 'n2', role: 'Unpromoted' },
        ],
      },
    },
    actions: [
      { action: 'move', resource: 'a', from: 'n2', to: 'n1', blocked: false },
      { action: 'fence', node: 'n3', fence_type: 'reboot' },
    ],
  };
  it('accepts equal results regardless of order and informational fields', () => {
    const other: ConformanceResult = {
      resources: {
        s: {
          group: null,
          clone: 'ms',
          instances: [
            { node: 'n2', role: 'Unpromoted', instance: 's:1' },
            { node: 'n1', role: 'Promoted' },
          ],
        },
        a: { group: null, clone: null, instances: [{ node: 'n1', role: 'Started' }] },
        gone: { group: null, clone: null, instances: [] },
      },
      actions: [
        { action: 'fence', node: 'n3', fence_type: 'reboot', reason: 'x' },
        { action: 'move', resource: 'a', instance: 'a', from: 'n2', to: 'n1', blocked: false, reason: 'y' },
      ],
    };
    expect(compareConformance(base, other)).toBeNull();
  });
  it('names the first placement difference', () => {
    const other = { ...base, resources: { ...base.resources, a: { group: null, clone: null, instances: [{ node: 'n2', role: 'Started' as const }] } } };
    expect(compareConformance(base, other)).toBe('placement of a: expected Started on n1, got Started on n2');
  });
  it('names missing and unexpected actions', () => {
    expect(compareConformance(base, { ...base, actions: [base.actions[1]!] })).toBe('missing action: move a (n2 -> n1)');
    expect(compareConformance(base, { ...base, actions: [...base.actions, { action: 'stop', resource: 'b', from: 'n1', to: null, blocked: true }] })).toBe(
      'unexpected action: stop b (n1) (blocked)',
    );
    expect(compareConformance(base, { ...base, actions: [base.actions[0]!, { action: 'fence', node: 'n3', fence_type: 'off' }] })).toMatch(
      /^missing action: fence \(reboot\) n3/,
    );
  });
  it('compares node flags only when asked', () => {
    const e = { ...base, nodes: { n1: { online: true, standby: false, maintenance: false, unclean: false } } };
    const a = { ...base, nodes: { n1: { online: false, standby: false, maintenance: false, unclean: false } } };
    expect(compareConformance(e, a)).toBeNull();
    expect(compareConformance(e, a, { nodes: true })).toBe('node n1: expected online=true, got false');
  });
});

describe('toConformanceResult', () => {
  it('keys every primitive, fills group/clone fields and marks orphans', () => {
    const { config, status } = importCib(`<cib have-quorum="1"><configuration><crm_config/>
      <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
      <resources><group id="g"><primitive id="a" class="ocf" provider="heartbeat" type="Dummy"/></group>
        <master id="ms"><meta_attributes id="m"><nvpair id="m1" name="globally-unique" value="true"/></meta_attributes>
        <primitive id="s" class="ocf" provider="pacemaker" type="Stateful"/></master></resources><constraints/></configuration>
      <status><node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"/>
        <node_state id="2" uname="n2" in_ccm="false" crmd="offline" join="down" expected="member"/></status></cib>`);
    const t: Transition = {
      ...empty,
      placement: [
        { resource: 'a', instance: 'a', node: 'n1', role: 'Started', group: 'g', managed: true, failed: false },
        { resource: 's', instance: 's:1', node: 'n1', role: 'Promoted', clone: 'ms', managed: true, failed: false },
        { resource: 's', instance: 's:0', node: null, role: 'Stopped', clone: 'ms', managed: true, failed: false },
        { resource: 'old', instance: 'old', node: 'n1', role: 'Started', managed: false, failed: true },
      ],
      summary: [{ action: 'fence', node: 'n2', fenceType: 'reboot', from: null, to: null, blocked: false, reason: 'peer is no longer part of the cluster' }],
    };
    const r = toConformanceResult(config, status, t);
    expect(r.resources).toEqual({
      a: { group: 'g', clone: null, instances: [{ node: 'n1', role: 'Started' }] },
      s: { group: null, clone: 'ms', promotable: true, unique: true, instances: [{ node: 'n1', role: 'Promoted', instance: 's:1' }] },
      old: { group: null, clone: null, orphan: true, instances: [{ node: 'n1', role: 'Started', failed: true, managed: false }] },
    });
    expect(r.actions).toEqual([{ action: 'fence', node: 'n2', fence_type: 'reboot', reason: 'peer is no longer part of the cluster' }]);
    expect(r.nodes).toEqual({
      n1: { online: true, standby: false, maintenance: false, unclean: false },
      n2: { online: false, standby: false, maintenance: false, unclean: false },
    });
  });
});

describe('the corpus through a perfect scheduler', () => {
  it('round-trips every expected result, node flags included', () => {
    const problems: string[] = [];
    const CORPUS = requireCorpus();
    for (const name of corpusNames(CORPUS)) {
      const expected = JSON.parse(readFileSync(join(CORPUS, `${name}.expected.json`), 'utf8')) as ConformanceExpected;
      const { config, status } = importCib(readFileSync(join(CORPUS, `${name}.xml`), 'utf8'));
      const d = compareConformance(expected, toConformanceResult(config, status, transitionFrom(expected)), { nodes: true });
      if (d !== null) problems.push(`${name}: ${d}`);
    }
    expect(problems).toEqual([]);
  });
});
