import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SummaryLine, Transition } from '@paceline/model';
import { importCib, naturalCompare, renderSimulation, renderTransitionSummary, type ConformanceExpected } from '@paceline/pacemaker';
import { corpusNames, requireCorpus } from './corpus.js';

const line = (l: Partial<SummaryLine> & Pick<SummaryLine, 'action'>): SummaryLine => ({ from: null, to: null, blocked: false, ...l });

describe('renderTransitionSummary', () => {
  it('lays lines out like crm_simulate, widening columns as it goes', () => {
    expect(
      renderTransitionSummary([
        line({ action: 'start', resource: 'drbd0', instance: 'drbd0:0', to: 'vbox4' }),
        line({ action: 'move', resource: 'child_rsc1', from: 'node1', to: 'node2' }),
        line({
          action: 'stop',
          resource: 'pgsql',
          instance: 'pgsql:0',
          from: 'srv02',
          role: 'Unpromoted',
          nextRole: 'Stopped',
          reason: 'node availability',
          blocked: true,
        }),
        line({ action: 'promote', resource: 's', to: 'n1', role: 'Stopped', nextRole: 'Promoted' }),
        line({ action: 'fence', node: 'pcmk-10', fenceType: 'reboot', reason: 'peer process is no longer available' }),
      ]),
    ).toEqual([
      '  * Start      drbd0:0     ( vbox4 )',
      '  * Move       child_rsc1     ( node1 -> node2 )',
      '  * Stop       pgsql:0        ( Unpromoted srv02 )  due to node availability (blocked)',
      '  * Promote    s              ( Stopped -> Promoted n1 )',
      "  * Fence (reboot) pcmk-10 'peer process is no longer available'",
    ]);
  });

  it("matches every corpus Transition Summary, ignoring whitespace like Pacemaker's driver", () => {
    const norm = (l: readonly string[]): string[] => l.map((x) => x.replace(/\s+/g, ' ').trim());
    const bad: string[] = [];
    const CORPUS = requireCorpus();
    for (const name of corpusNames(CORPUS)) {
      const e = JSON.parse(readFileSync(join(CORPUS, `${name}.expected.json`), 'utf8')) as ConformanceExpected & {
        reference_text: { transition_summary: string[] };
      };
      const lines = e.actions.map((a) =>
        a.action === 'fence'
          ? line({ action: 'fence', node: a.node!, fenceType: a.fence_type as 'reboot', ...(a.reason !== undefined ? { reason: a.reason } : {}) })
          : line({
              action: a.action as SummaryLine['action'],
              resource: a.resource!,
              ...(a.instance !== undefined ? { instance: a.instance } : {}),
              from: a.from ?? null,
              to: a.to ?? null,
              blocked: a.blocked ?? false,
              ...(a.role !== undefined ? { role: a.role as SummaryLine['role'] } : {}),
              ...(a.next_role !== undefined ? { nextRole: a.next_role as SummaryLine['role'] } : {}),
              ...(a.reason !== undefined ? { reason: a.reason } : {}),
            }),
      );
      if (JSON.stringify(norm(renderTransitionSummary(lines))) !== JSON.stringify(norm(e.reference_text.transition_summary))) bad.push(name);
    }
    expect(bad).toEqual([]);
  });
});

describe('renderSimulation', () => {
  it('prints current status, summary and revised status', () => {
    const { config, status } = importCib(`<cib have-quorum="1"><configuration><crm_config/>
      <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/><node id="10" uname="node10"/></nodes>
      <resources><group id="g"><primitive id="a" class="ocf" provider="heartbeat" type="Dummy"/></group>
        <clone id="c"><primitive id="p" class="ocf" provider="pacemaker" type="ping"/></clone></resources><constraints/></configuration>
      <status><node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member"/>
        <node_state id="2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member"/>
        <node_state id="10" uname="node10" in_ccm="false" crmd="offline" join="down" expected="member"/></status></cib>`);
    const t: Transition = {
      current: [{ resource: 'a', instance: 'a', node: 'node1', role: 'Started', group: 'g', managed: true, failed: false }],
      placement: [
        { resource: 'a', instance: 'a', node: 'node2', role: 'Started', group: 'g', managed: true, failed: false },
        { resource: 'p', instance: 'p:0', node: 'node1', role: 'Started', clone: 'c', managed: true, failed: false },
        { resource: 'p', instance: 'p:1', node: 'node2', role: 'Started', clone: 'c', managed: true, failed: false },
      ],
      summary: [
        line({ action: 'fence', node: 'node10', fenceType: 'reboot', reason: 'peer is no longer part of the cluster' }),
        line({ action: 'move', resource: 'a', from: 'node1', to: 'node2' }),
      ],
      actions: [],
      edges: [],
      explanation: { scores: [], decisions: [] },
      warnings: [],
    };
    expect(renderSimulation({ config, status, transition: t })).toBe(
      [
        'Current cluster status:',
        '  * Node List:',
        '    * Node node10: UNCLEAN (offline)',
        '    * Online: [ node1 node2 ]',
        '',
        '  * Full List of Resources:',
        '    * Resource Group: g:',
        '      * a\t(ocf:heartbeat:Dummy):\t Started node1',
        '    * Clone Set: c [p]:',
        '      * Stopped: [ node1 node2 node10 ]',
        '',
        'Transition Summary:',
        "  * Fence (reboot) node10 'peer is no longer part of the cluster'",
        '  * Move       a       ( node1 -> node2 )',
        '',
        'Revised Cluster Status:',
        '  * Node List:',
        '    * Online: [ node1 node2 ]',
        '    * OFFLINE: [ node10 ]',
        '',
        '  * Full List of Resources:',
        '    * Resource Group: g:',
        '      * a\t(ocf:heartbeat:Dummy):\t Started node2',
        '    * Clone Set: c [p]:',
        '      * Started: [ node1 node2 ]',
        '      * Stopped: [ node10 ]',
        '',
      ].join('\n'),
    );
  });

  it('sorts node names naturally', () => {
    expect(['n10', 'n9', 'a', 'n1'].sort(naturalCompare)).toEqual(['a', 'n1', 'n9', 'n10']);
  });
});
