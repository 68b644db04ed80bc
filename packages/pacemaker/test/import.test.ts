import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterStatus, INFINITY } from '@paceline/model';
import { importCib } from '@paceline/pacemaker';
import { requireCorpus } from './corpus.js';

const cib = (configuration: string, status = '', attrs = 'have-quorum="1" dc-uuid="1"'): string =>
  `<cib epoch="3" num_updates="0" admin_epoch="0" ${attrs}><configuration>${configuration}</configuration><status>${status}</status></cib>`;

const NODES = '<nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>';
const UP = (id: string, name: string, extra = ''): string =>
  `<node_state id="${id}" uname="${name}" in_ccm="true" crmd="online" join="member" expected="member">${extra}</node_state>`;

describe('importCib: configuration', () => {
  it('reports a duration longer than the model accepts (2^31 - 1 ms) by name and imports the rest (issue 16, item 5)', () => {
    const r = importCib(
      cib(
        `${NODES}<resources><primitive id="d" class="ocf" provider="heartbeat" type="Dummy">
         <meta_attributes id="m"><nvpair id="m1" name="failure-timeout" value="30d"/></meta_attributes>
         <operations><op id="o1" name="monitor" interval="25d"/><op id="o2" name="start" interval="0" timeout="9999999999"/><op id="o3" name="stop" interval="0" timeout="24d"/></operations>
       </primitive></resources><constraints/>`,
        UP('1', 'n1') + UP('2', 'n2'),
      ),
    );
    const p = r.config.resources[0]!;
    if (p.type !== 'primitive') throw new Error('not a primitive');
    expect(p.ops.map((o) => [o.name, o.interval, o.timeout])).toEqual([
      ['start', 0, undefined],
      ['stop', 0, 24 * 86_400_000],
    ]);
    expect(p.meta.failureTimeout).toBeUndefined();
    const too = r.unsupported.filter((u) => /too long/.test(u.what)).map((u) => u.what);
    expect(too).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^"30d" is too long: Paceline's durations are at most 24d 20h 31min 23.647s \(2147483647 ms\) for failure-timeout; ignored$/),
        expect.stringMatching(/^"25d" is too long/),
        expect.stringMatching(/^"9999999999" is too long/),
      ]),
    );
  });

  it('maps properties, defaults, nodes and a primitive with ops and meta', () => {
    const r = importCib(
      cib(
        `<crm_config><cluster_property_set id="cib-bootstrap-options">
           <nvpair id="a" name="stonith-enabled" value="false"/><nvpair id="b" name="no-quorum-policy" value="ignore"/>
           <nvpair id="c" name="symmetric-cluster" value="false"/><nvpair id="d" name="dc-version" value="2.1.5"/>
         </cluster_property_set></crm_config>
         <nodes><node id="1" uname="n1"><instance_attributes id="i"><nvpair id="s" name="standby" value="on"/><nvpair id="r" name="rack" value="2"/></instance_attributes>
           <utilization id="u"><nvpair id="u1" name="cpu" value="4"/></utilization></node><node id="2" uname="n2"/></nodes>
         <resources><primitive id="ip" class="ocf" provider="heartbeat" type="IPaddr2">
           <instance_attributes id="ip-i"><nvpair id="ip1" name="ip" value="10.0.0.1"/></instance_attributes>
           <meta_attributes id="ip-m"><nvpair id="m1" name="resource-stickiness" value="100"/><nvpair id="m2" name="target-role" value="Master"/></meta_attributes>
           <operations><op id="o1" name="monitor" interval="10s" timeout="20s" on-fail="restart" role="Slave"/><op id="o2" name="start" interval="0" timeout="60"/></operations>
         </primitive></resources>
         <rsc_defaults><meta_attributes id="rd"><nvpair id="rd1" name="migration-threshold" value="INFINITY"/></meta_attributes></rsc_defaults>
         <op_defaults><meta_attributes id="od"><nvpair id="od1" name="timeout" value="90s"/></meta_attributes></op_defaults>
         <constraints/>`,
        UP('1', 'n1') + UP('2', 'n2'),
      ),
    );
    expect(r.config.properties).toMatchObject({ stonithEnabled: false, noQuorumPolicy: 'ignore', symmetricCluster: false });
    expect(r.config.nodes[0]).toMatchObject({ name: 'n1', standby: true, attributes: { rack: '2' }, utilization: { cpu: 4 } });
    expect(r.config.defaults.resource.migrationThreshold).toBe(INFINITY);
    expect(r.config.defaults.operation.timeout).toBe(90_000);
    const p = r.config.resources[0]!;
    expect(p).toMatchObject({ type: 'primitive', id: 'ip', agent: 'ocf:heartbeat:IPaddr2', params: { ip: '10.0.0.1' } });
    if (p.type !== 'primitive') throw new Error('not a primitive');
    expect(p.meta).toEqual({ stickiness: 100, targetRole: 'Promoted' });
    expect(p.ops).toEqual([
      { name: 'monitor', interval: 10_000, timeout: 20_000, onFail: 'restart', role: 'Unpromoted', enabled: true },
      { name: 'start', interval: 0, timeout: 60_000, enabled: true },
    ]);
    expect(r.unsupported).toEqual([]);
    expect(r.ignored.map((i) => i.path)).toContain('configuration/crm_config/cluster_property_set[cib-bootstrap-options]/dc-version');
  });

  it('reads attribute sets first-wins in score order', () => {
    const r = importCib(
      cib(`<crm_config>
        <cluster_property_set id="low"><nvpair id="a" name="no-quorum-policy" value="stop"/></cluster_property_set>
        <cluster_property_set id="high" score="10"><nvpair id="b" name="no-quorum-policy" value="freeze"/></cluster_property_set>
      </crm_config>${NODES}<resources/><constraints/>`),
    );
    expect(r.config.properties.noQuorumPolicy).toBe('freeze');
  });

  // Checked with crm_simulate 2.1.5 on this CIB (timeouts and parameters in its transition graph, the
  // start) and on one-kind CIBs for rsc_defaults and cluster options (what they make it start): sets of
  // equal score go last-in-document first (lib/pengine/rules.c), and only an op's own sets overwrite.
  it("reads attribute sets of equal score last-wins, and an operation's own meta attributes first-wins (Pacemaker 2.1.5)", () => {
    const set = (tag: string, id: string, name: string, value: string, score = ''): string =>
      `<${tag} id="${id}"${score === '' ? '' : ` score="${score}"`}><nvpair id="${id}-1" name="${name}" value="${value}"/></${tag}>`;
    const r = importCib(
      cib(`<crm_config>
        ${set('cluster_property_set', 'p1', 'no-quorum-policy', 'stop')}${set('cluster_property_set', 'p2', 'no-quorum-policy', 'freeze')}
      </crm_config>${NODES}<resources><primitive id="d" class="ocf" provider="pacemaker" type="Dummy">
        ${set('instance_attributes', 'i1', 'fake', 'a')}${set('instance_attributes', 'i2', 'fake', 'b')}
        ${set('meta_attributes', 'm1', 'target-role', 'Stopped')}${set('meta_attributes', 'm2', 'target-role', 'Started')}
        <operations><op id="d-mon" name="monitor" interval="10s">
          ${set('meta_attributes', 'om1', 'timeout', '21s', '10')}${set('meta_attributes', 'om2', 'timeout', '22s', '5')}
          ${set('instance_attributes', 'oi1', 'x', 'a')}${set('instance_attributes', 'oi2', 'x', 'b')}
        </op><op id="d-start" name="start" interval="0">
          ${set('meta_attributes', 'os1', 'timeout', '31s')}${set('meta_attributes', 'os2', 'timeout', '32s')}
        </op></operations>
      </primitive></resources><constraints/>
      <rsc_defaults>${set('meta_attributes', 'r1', 'resource-stickiness', '1')}${set('meta_attributes', 'r2', 'resource-stickiness', '2')}</rsc_defaults>
      <op_defaults>${set('meta_attributes', 'o1', 'timeout', '11s', '10')}${set('meta_attributes', 'o2', 'timeout', '12s')}${set('meta_attributes', 'o3', 'timeout', '13s', '10')}</op_defaults>`),
    );
    expect(r.unsupported).toEqual([]);
    expect(r.config.properties.noQuorumPolicy).toBe('freeze');
    expect(r.config.defaults).toEqual({ resource: { stickiness: 2 }, operation: { timeout: 13_000 } });
    const d = r.config.resources[0];
    if (d?.type !== 'primitive') throw new Error('not a primitive');
    expect(d.params).toEqual({ fake: 'b' });
    expect(d.meta.targetRole).toBe('Started');
    // An op's own sets overwrite in score order: the lowest score wins, among equal scores the first.
    expect(d.ops.map((o) => [o.name, o.timeout, o.params])).toEqual([
      ['monitor', 22_000, { x: 'b' }],
      ['start', 31_000, undefined],
    ]);
  });

  it('maps groups, clones, masters, templates and id-refs', () => {
    const r = importCib(
      cib(`${NODES}<resources>
        <template id="t" class="ocf" provider="pacemaker" type="Dummy"><operations><op id="t1" name="monitor" interval="5s"/></operations>
          <meta_attributes id="tm"><nvpair id="tm1" name="priority" value="5"/></meta_attributes></template>
        <primitive id="a" template="t"/>
        <group id="g"><primitive id="g1" class="ocf" provider="heartbeat" type="Dummy"><operations id="ops"><op id="x" name="monitor" interval="10"/></operations></primitive>
          <primitive id="g2" class="ocf" provider="heartbeat" type="Dummy"><operations id-ref="ops"/></primitive></group>
        <clone id="c"><meta_attributes id="cm"><nvpair id="c1" name="clone-max" value="2"/><nvpair id="c2" name="interleave" value="true"/></meta_attributes>
          <primitive id="cp" class="lsb" type="/usr/lib/cts/LSBDummy"/></clone>
        <master id="ms"><meta_attributes id="mm"><nvpair id="m1" name="master-max" value="1"/></meta_attributes>
          <primitive id="st" class="ocf" provider="pacemaker" type="Stateful"/></master>
      </resources><constraints/>`),
    );
    const [a, g, c, ms] = r.config.resources;
    expect(a).toMatchObject({ id: 'a', agent: 'ocf:pacemaker:Dummy', meta: { priority: 5 }, ops: [{ name: 'monitor', interval: 5000 }] });
    expect(g).toMatchObject({
      type: 'group',
      members: [
        { id: 'g1', ops: [{ interval: 10_000 }] },
        { id: 'g2', ops: [{ interval: 10_000 }] },
      ],
    });
    expect(c).toMatchObject({
      type: 'clone',
      promotable: false,
      meta: { cloneMax: 2, interleave: true },
      child: { id: 'cp', agent: 'lsb:/usr/lib/cts/LSBDummy' },
    });
    expect(ms).toMatchObject({ type: 'clone', promotable: true, meta: { promotedMax: 1 } });
  });

  it('maps location (node, rules, nested rules, dates), colocation and order constraints incl. sets and tags', () => {
    const r = importCib(
      cib(`${NODES}<resources>
        <primitive id="a" class="ocf" provider="heartbeat" type="Dummy"/><primitive id="b" class="ocf" provider="heartbeat" type="Dummy"/>
        <primitive id="c" class="ocf" provider="heartbeat" type="Dummy"/></resources>
        <tags><tag id="tg"><obj_ref id="a"/><obj_ref id="b"/></tag></tags>
        <constraints>
          <rsc_location id="l1" rsc="a" node="n1" score="INFINITY" role="Master" resource-discovery="never"/>
          <rsc_location id="l2" rsc="b"><rule id="r" score="-INFINITY" boolean-op="or">
            <expression id="e" attribute="#uname" operation="ne" value="n1"/>
            <rule id="rn" boolean-op="and"><date_expression id="d" operation="in_range" start="2020-01-01"><duration id="du" years="1"/></date_expression></rule>
          </rule></rsc_location>
          <rsc_location id="l3" rsc="tg" node="n2" score="5"/>
          <rsc_location id="l4" rsc-pattern="^c" node="n2" score="7"/>
          <rsc_location id="lx" rsc="missing" node="n2" score="7"/>
          <rsc_colocation id="co" rsc="a" with-rsc="b" score="INFINITY" rsc-role="Slave" with-rsc-role="Master"/>
          <rsc_colocation id="cs" score="100"><resource_set id="s1" sequential="false" role="Started"><resource_ref id="a"/><resource_ref id="b"/></resource_set>
            <resource_set id="s2"><resource_ref id="c"/></resource_set></rsc_colocation>
          <rsc_colocation id="cl" score="INFINITY"><resource_set id="s3" ordering="listed"><resource_ref id="a"/><resource_ref id="b"/><resource_ref id="c"/></resource_set></rsc_colocation>
          <rsc_order id="o1" first="a" then="b" first-action="promote" then-action="start" kind="Optional" symmetrical="false"/>
          <rsc_order id="o2" first="a" then="c" score="0"/>
          <rsc_order id="o3" first="tg" then="c"/>
        </constraints>`),
    );
    const byId = new Map(r.config.constraints.map((c) => [c.id, c]));
    expect(byId.get('l1')).toMatchObject({ resource: 'a', node: 'n1', score: INFINITY, role: 'Promoted', resourceDiscovery: 'never' });
    expect(byId.get('l2')).toMatchObject({
      resource: 'b',
      rules: [
        {
          score: -INFINITY,
          booleanOp: 'or',
          expressions: [
            { kind: 'attribute', attribute: '#uname', op: 'ne', value: 'n1' },
            { kind: 'rule', expressions: [{ kind: 'date', op: 'in_range', start: '2020-01-01T00:00:00.000Z', duration: { years: 1 } }] },
          ],
        },
      ],
    });
    expect(byId.get('l3-a')).toMatchObject({ resource: 'a', node: 'n2', score: 5 });
    expect(byId.get('l3-b')).toMatchObject({ resource: 'b' });
    expect(byId.get('l4')).toMatchObject({ resourcePattern: '^c' });
    expect(byId.has('lx')).toBe(false);
    expect(r.ignored.some((i) => i.path.includes('rsc_location[lx]'))).toBe(true);
    expect(byId.get('co')).toMatchObject({ resource: 'a', withResource: 'b', score: INFINITY, resourceRole: 'Unpromoted', withResourceRole: 'Promoted' });
    expect(byId.get('cs')).toMatchObject({ sets: [{ resources: ['a', 'b'], sequential: false, role: 'Started' }, { resources: ['c'] }] });
    // ordering="listed": a with b, b with c — the reversed list in the default ("group") reading
    expect(byId.get('cl')).toMatchObject({ sets: [{ resources: ['c', 'b', 'a'] }] });
    expect(byId.get('o1')).toMatchObject({ first: 'a', then: 'b', firstAction: 'promote', thenAction: 'start', kind: 'Optional', symmetrical: false });
    expect(byId.get('o2')).toMatchObject({ kind: 'Optional' });
    expect(byId.get('o3')).toMatchObject({ sets: [{ resources: ['a', 'b'], sequential: false }, { resources: ['c'] }] });
  });
});

describe('importCib: defaults that target agents or operations', () => {
  it('resolves rsc_expression / op_expression sets per resource and operation, below the resource and its parents', () => {
    const r = importCib(
      cib(`${NODES}<resources>
        <primitive id="d" class="ocf" provider="pacemaker" type="Dummy"><operations>
          <op id="m1" name="monitor" interval="10s"/><op id="m2" name="monitor" interval="20s" timeout="3s"/><op id="s" name="start" interval="0"/>
        </operations></primitive>
        <primitive id="ip" class="ocf" provider="heartbeat" type="IPaddr2"/>
        <group id="g"><meta_attributes id="gm"><nvpair id="gm1" name="is-managed" value="true"/></meta_attributes>
          <primitive id="gd" class="ocf" provider="pacemaker" type="Dummy"/></group>
      </resources><constraints/>
      <rsc_defaults><meta_attributes id="rd"><rule id="rr" score="INFINITY"><rsc_expression id="re" class="ocf" provider="pacemaker"/></rule>
        <nvpair id="rd1" name="is-managed" value="false"/></meta_attributes></rsc_defaults>
      <op_defaults><meta_attributes id="od"><rule id="or" score="INFINITY"><op_expression id="oe" name="monitor" interval="10s"/></rule>
        <nvpair id="od1" name="timeout" value="8s"/></meta_attributes></op_defaults>`),
    );
    expect(r.unsupported).toEqual([]);
    expect(r.config.defaults).toEqual({ resource: {}, operation: {} });
    const [d, ip, g] = r.config.resources;
    expect(d).toMatchObject({ meta: { isManaged: false } });
    if (d?.type !== 'primitive') throw new Error('not a primitive');
    expect(d.ops.map((o) => o.timeout)).toEqual([8000, 3000, undefined]);
    expect(ip).toMatchObject({ meta: {} });
    expect(g).toMatchObject({ meta: { isManaged: true }, members: [{ id: 'gd', meta: {} }] });
  });

  it('still reports rule-controlled sets it cannot decide at import time', () => {
    const r = importCib(
      cib(`${NODES}<resources/><constraints/>
      <rsc_defaults><meta_attributes id="rd"><rule id="rr" score="INFINITY"><date_expression id="de" operation="gt" start="2020-01-01"/></rule>
        <nvpair id="rd1" name="resource-stickiness" value="100"/></meta_attributes></rsc_defaults>`),
    );
    expect(r.unsupported.map((u) => u.path)).toEqual(['configuration/rsc_defaults/meta_attributes[rd]/rule']);
  });
});

describe('importCib: status', () => {
  const cfg = (stonith: boolean): string =>
    `<crm_config><cluster_property_set id="o"><nvpair id="s" name="stonith-enabled" value="${stonith}"/></cluster_property_set></crm_config>
     <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/><node id="3" uname="n3"/><node id="4" uname="n4"/></nodes>
     <resources><primitive id="r" class="ocf" provider="heartbeat" type="Dummy"/></resources><constraints/>`;
  const states = `${UP(
    '1',
    'n1',
    `<transient_attributes id="t"><instance_attributes id="ti">
        <nvpair id="a" name="fail-count-r#monitor_10000" value="3"/><nvpair id="b" name="last-failure-r#monitor_10000" value="1600000000"/>
        <nvpair id="c" name="master-r" value="10"/><nvpair id="d" name="standby" value="true"/><nvpair id="e" name="shutdown" value="0"/>
      </instance_attributes></transient_attributes>
      <lrm id="l"><lrm_resources><lrm_resource id="r" class="ocf" provider="heartbeat" type="Dummy">
        <lrm_rsc_op id="r_last_0" operation_key="r_start_0" operation="start" transition-key="3:1:0:abc" transition-magic="0:0;3:1:0:abc"
          call-id="7" rc-code="0" op-status="0" interval="0" last-rc-change="1600000000" last-run="1600000001" op-digest="dd" exec-time="1" queue-time="0"/>
        <lrm_rsc_op id="r_monitor_10000" operation_key="r_monitor_10000" operation="monitor" transition-key="4:1:0:abc" transition-magic="0:7;4:1:0:abc"
          call-id="8" rc-code="7" op-status="0" interval="10000" exit-reason="gone"/>
      </lrm_resource></lrm_resources></lrm>`,
  )}
    <node_state id="2" uname="n2" in_ccm="false" crmd="offline" join="down" expected="member"/>
    <node_state id="3" uname="n3" in_ccm="false" crmd="offline" join="down" expected="down"/>`;

  it('reads node states, transient attributes, fail counts and history with fencing enabled', () => {
    const r = importCib(cib(cfg(true), states, 'have-quorum="0" dc-uuid="1" execution-date="1700000000"'));
    expect(r.now).toBe(1_700_000_000_000);
    expect(r.status.quorum).toBe(false);
    expect(r.status.dc).toBe('n1');
    const [n1, n2, n3, n4] = r.status.nodes;
    expect(n1).toMatchObject({ name: 'n1', state: 'online', standby: true, shutdown: false, attributes: { 'master-r': '10' } });
    expect(n1!.failures).toEqual([{ resource: 'r', action: 'monitor', interval: 10_000, count: 3, lastFailure: 1_600_000_000_000 }]);
    expect(n1!.history[0]).toMatchObject({ resource: 'r', agent: 'ocf:heartbeat:Dummy' });
    expect(n1!.history[0]!.ops[0]).toEqual({
      action: 'start',
      interval: 0,
      callId: 7,
      status: 'done',
      rc: 0,
      lastRcChange: 1_600_000_000_000,
      lastRun: 1_600_000_001_000,
      expectedRc: 0,
      digest: 'dd',
      key: 'r_start_0',
      paramsChange: 'changed',
    });
    expect(n1!.history[0]!.ops[1]).toMatchObject({ action: 'monitor', interval: 10_000, rc: 7, exitReason: 'gone' });
    expect(n2).toMatchObject({ state: 'unclean', uncleanReason: 'peer is no longer part of the cluster' });
    expect(n3!.state).toBe('offline');
    expect(n4).toMatchObject({ state: 'unclean' });
  });

  it('treats a lost node as merely offline when fencing is disabled', () => {
    const r = importCib(cib(cfg(false), states));
    expect(r.status.nodes.map((n) => n.state)).toEqual(['online', 'offline', 'offline', 'offline']);
    expect(r.now).toBeUndefined();
  });

  it('rejects input that is not a CIB with a clear error', () => {
    expect(() => importCib('<foo/>', { source: 'x.xml' })).toThrow(/x\.xml: .*not a Pacemaker CIB/s);
  });
});

describe('importCib: the conformance corpus', () => {
  it('imports every corpus CIB, and the result passes the model schemas', () => {
    const CORPUS = requireCorpus();
    const files = readdirSync(CORPUS).filter((f) => f.endsWith('.xml'));
    expect(files.length).toBeGreaterThanOrEqual(345);
    const failures: string[] = [];
    let clean = 0;
    for (const f of files) {
      try {
        // importCib parses its configuration with ClusterConfig itself (it throws otherwise); parsing
        // the result again would read its milliseconds as seconds (a bare number is seconds).
        const r = importCib(readFileSync(join(CORPUS, f), 'utf8'), { source: f });
        // the status is built in its final shape, not parsed: it must be exactly what the schema yields
        expect(ClusterStatus.parse(r.status)).toEqual(r.status);
        if (r.unsupported.length === 0) clean++;
      } catch (e) {
        failures.push(`${f}: ${(e as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
    expect(clean).toBeGreaterThanOrEqual(325);
  });
});

describe('node states (Pacemaker 2.1.5 determine_online_status)', () => {
  const stateOf = (attrs: string, stonith: boolean, transient = ''): { state: string; standby: boolean; reason?: string | undefined } => {
    const r = importCib(
      cib(
        `<crm_config><cluster_property_set id="o"><nvpair id="s" name="stonith-enabled" value="${stonith}"/></cluster_property_set></crm_config>
         <nodes><node id="1" uname="n1"/></nodes><resources/><constraints/>`,
        `<node_state id="1" uname="n1" ${attrs}>${transient ? `<transient_attributes id="t"><instance_attributes id="ti">${transient}</instance_attributes></transient_attributes>` : ''}</node_state>`,
      ),
    );
    const n = r.status.nodes[0]!;
    return { state: n.state, standby: n.standby, reason: n.uncleanReason };
  };
  const shutdown = '<nvpair id="sd" name="shutdown" value="1234"/>';
  const terminate = '<nvpair id="tm" name="terminate" value="true"/>';
  it.each([
    ['member', 'in_ccm="true" crmd="online" join="member" expected="member"', true, '', 'online', false],
    ['lost', 'in_ccm="false" crmd="offline" join="down" expected="member"', true, '', 'unclean', false],
    ['clean shutdown', 'in_ccm="false" crmd="offline" join="down" expected="down"', true, '', 'offline', false],
    ['never seen by membership', 'crmd="offline" join="down" expected="member"', true, '', 'unclean', false],
    ['controller gone', 'in_ccm="true" crmd="offline" join="member" expected="member"', true, '', 'unclean', false],
    ['banned', 'in_ccm="true" crmd="online" join="banned" expected="member"', true, '', 'unclean', false],
    ['joining', 'in_ccm="true" crmd="online" join="pending" expected="member"', true, '', 'pending', false],
    ['starting (expected down)', 'in_ccm="true" crmd="online" join="down"', true, '', 'pending', false],
    ['controller up outside membership', 'in_ccm="false" crmd="online" join="down"', true, '', 'offline', true],
    ['shutting down, controller up', 'in_ccm="true" crmd="online" join="member" expected="member"', true, shutdown, 'online', false],
    ['shutting down, controller gone', 'in_ccm="false" crmd="offline" join="down" expected="member"', true, shutdown, 'offline', false],
    ['termination requested', 'in_ccm="true" crmd="online" join="member" expected="member"', true, terminate, 'unclean', false],
    ['just shot', 'in_ccm="false" crmd="offline" join="down" expected="member"', true, terminate, 'offline', false],
    ['no fencing: lost and expected', 'in_ccm="true" crmd="offline" join="down" expected="member"', false, '', 'unclean', false],
    ['no fencing: out of membership', 'in_ccm="false" crmd="offline" join="down" expected="member"', false, '', 'offline', false],
    ['no fencing: not joined', 'in_ccm="true" crmd="online" join="pending" expected="member"', false, '', 'offline', false],
  ])('%s', (_name, attrs, stonith, transient, state, standby) => {
    const s = stateOf(attrs, stonith, transient);
    expect(s.state).toBe(state);
    expect(s.standby).toBe(standby);
    if (state === 'unclean') expect(s.reason).toEqual(expect.any(String));
  });
});

describe('importCib: bad input', () => {
  it('reports malformed XML with its line and column', () => {
    expect(() => importCib('<cib>\n  <configuration>\n  </cib>', { source: 'bad.xml' })).toThrow(
      /bad\.xml: 1 problem found\n {2}- line 3, column 3: not well-formed XML: <\/cib> does not match <configuration>/,
    );
    expect(() => importCib('<cib><configuration a=1/></cib>')).toThrow(/line 1, column 21: not well-formed XML: malformed attribute in <configuration>/);
    expect(() => importCib('<cib><configuration>')).toThrow(/<configuration> is never closed/);
  });

  it('decodes entities and normalises whitespace in attribute values', () => {
    const r = importCib(
      cib(`${NODES}<resources><primitive id="a" class="ocf" provider="heartbeat" type="Dummy">
        <instance_attributes id="i"><nvpair id="p" name="cmd" value="a &amp;&amp; b &lt;x&gt; &#65;&#x42;&quot;"/><nvpair id="q" name="ml" value="x
y"/></instance_attributes></primitive></resources><constraints/>`),
    );
    expect(r.config.resources[0]).toMatchObject({ params: { cmd: 'a && b <x> AB"', ml: 'x y' } });
  });
});

describe('importCib: per-node parameters and node-attribute rules in attribute sets', () => {
  it('fills paramsByNode from node-attribute rules, with transient attributes, #uname and #site-name', () => {
    const r = importCib(
      cib(
        `<crm_config><cluster_property_set id="o"><nvpair id="cn" name="cluster-name" value="clusterA"/></cluster_property_set></crm_config>
        <nodes><node id="1" uname="n1"><instance_attributes id="a"><nvpair id="s" name="site-name" value="siteA"/></instance_attributes></node>
          <node id="2" uname="n2"/><node id="3" uname="n3"/></nodes>
        <resources><primitive id="r" class="ocf" provider="pacemaker" type="Dummy">
          <instance_attributes id="i0" score="10"><nvpair id="f0" name="fake" value="100"/></instance_attributes>
          <instance_attributes id="i1" score="20"><rule id="r1" score="0"><expression id="e1" attribute="#site-name" operation="eq" value="SITEA"/></rule>
            <nvpair id="f1" name="fake" value="site"/></instance_attributes>
          <instance_attributes id="i2" score="20"><rule id="r2" score="0"><expression id="e2" attribute="weight" operation="gt" value="9"/></rule>
            <nvpair id="f2" name="fake" value="heavy"/></instance_attributes>
          <instance_attributes id="i3" score="20"><rule id="r3" score="0"><expression id="e3" attribute="#uname" operation="ne" value="n1"/></rule>
            <nvpair id="f3" name="other" value="not-n1"/></instance_attributes>
        </primitive></resources><constraints/>`,
        UP('1', 'n1') +
          UP(
            '2',
            'n2',
            '<transient_attributes id="t"><instance_attributes id="ti"><nvpair id="w" name="weight" value="10"/></instance_attributes></transient_attributes>',
          ) +
          UP('3', 'n3'),
      ),
    );
    const p = r.config.resources[0]!;
    if (p.type !== 'primitive') throw new Error('not a primitive');
    // without a node, only "ne" holds (Pacemaker evaluates node expressions against no attributes)
    expect(p.params).toEqual({ fake: '100', other: 'not-n1' });
    expect(p.paramsByNode).toEqual({ n1: { fake: 'site' }, n2: { fake: 'heavy', other: 'not-n1' } });
    expect(r.unsupported).toEqual([]);
  });
});
