/** crmSimulateResult: crm_simulate's XML verdict in the conformance contract's shape, and its errors. */
import { compareConformance, crmSimulateResult, PacemakerError } from '@paceline/pacemaker';

describe('crmSimulateResult', () => {
  it('reads the Transition Summary, placement and node flags', () => {
    const xml = `<pacemaker-result api-version="2.25" request="crm_simulate">
  <actions>
    <rsc_action action="start" resource="web" node="n1"/>
    <rsc_action action="stop" resource="db:1" node="n2" reason="node availability" blocked="true"/>
    <rsc_action action="move" resource="ip" source="n1" dest="n2"/>
    <rsc_action action="promote" resource="ms:0" role="Stopped" next-role="Promoted" dest="n1"/>
    <rsc_action action="demote" resource="ms:1" role="Promoted" next-role="Unpromoted" source="n2"/>
    <node_action task="Fence (reboot)" node="n3" reason="peer is no longer part of the cluster"/>
  </actions>
  <revised_cluster_status>
    <nodes>
      <node name="n1" online="true" standby="false" standby_onfail="false" maintenance="false" pending="false" unclean="false" type="member"/>
      <node name="n3" online="false" standby="false" standby_onfail="false" maintenance="false" pending="false" unclean="false" type="member"/>
    </nodes>
    <resources>
      <resource id="web" role="Started" active="true" orphaned="false" managed="true" failed="false"><node name="n1"/></resource>
      <group id="g"><resource id="ip" role="Started" active="true" managed="true" failed="false"><node name="n2"/></resource></group>
      <clone id="ms" multi_state="true" unique="false">
        <resource id="ms:0" role="Promoted" active="true" managed="true" failed="false"><node name="n1"/></resource>
        <resource id="ms:1" role="Unpromoted" active="true" managed="true" failed="false"><node name="n2"/></resource>
        <resource id="ms:2" role="Stopped" active="false"/>
      </clone>
    </resources>
  </revised_cluster_status>
  <status code="0" message="OK"/>
</pacemaker-result>`;
    const r = crmSimulateResult(xml);
    expect(r.actions).toEqual([
      { action: 'start', resource: 'web', from: null, to: 'n1', blocked: false },
      { action: 'stop', resource: 'db', instance: 'db:1', from: 'n2', to: null, blocked: true, reason: 'node availability' },
      { action: 'move', resource: 'ip', from: 'n1', to: 'n2', blocked: false },
      { action: 'promote', resource: 'ms', instance: 'ms:0', from: null, to: 'n1', blocked: false, role: 'Stopped', next_role: 'Promoted' },
      { action: 'demote', resource: 'ms', instance: 'ms:1', from: 'n2', to: 'n2', blocked: false, role: 'Promoted', next_role: 'Unpromoted' },
      { action: 'fence', node: 'n3', fence_type: 'reboot', reason: 'peer is no longer part of the cluster' },
    ]);
    expect(r.resources['ip']).toEqual({ group: 'g', clone: null, instances: [{ node: 'n2', role: 'Started' }] });
    expect(r.resources['ms']?.instances).toEqual([
      { node: 'n1', role: 'Promoted' },
      { node: 'n2', role: 'Unpromoted' },
    ]);
    expect(r.nodes?.['n3']).toEqual({ online: false, standby: false, maintenance: false, unclean: false });
    expect(compareConformance(r, r, { nodes: true })).toBeNull();
  });

  it('rejects output that is not crm_simulate XML, saying what it found', () => {
    expect(() => crmSimulateResult('<cib/>')).toThrow(PacemakerError);
    expect(() => crmSimulateResult('<cib/>')).toThrow(/no <pacemaker-result> element \(top-level elements: <cib>\); was it run with --output-as=xml\?/);
    try {
      crmSimulateResult('<cib/>');
    } catch (e) {
      expect((e as PacemakerError).code).toBe('SIMULATE_OUTPUT');
    }
  });

  it('reports a failed run with its status code and message', () => {
    const xml = '<pacemaker-result api-version="2.25" request="crm_simulate"><status code="105" message="Input file is not valid XML"/></pacemaker-result>';
    expect(() => crmSimulateResult(xml)).toThrow('crm_simulate failed: <pacemaker-result><status code="105"> says "Input file is not valid XML"');
    try {
      crmSimulateResult(xml);
    } catch (e) {
      expect(e).toBeInstanceOf(PacemakerError);
      expect((e as PacemakerError).code).toBe('SIMULATE_FAILED');
    }
  });
});
