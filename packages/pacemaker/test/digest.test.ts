import { readFileSync } from 'node:fs';
import { importCib } from '@paceline/pacemaker';
import { DigestCache, digestParams, digestText } from '../src/digest.js';
import { corpusFile } from './corpus.js';

const cib = (ops: string, history: string): string => `<cib have-quorum="1" crm_feature_set="3.16.1"><configuration><crm_config/>
  <nodes><node id="1" uname="n1"/></nodes>
  <resources><primitive id="d" class="ocf" provider="pacemaker" type="Dummy">
    <instance_attributes id="i"><nvpair id="p" name="state" value="/run/d"/><nvpair id="q" name="passwd" value="secret"/></instance_attributes>
    <operations>${ops}</operations></primitive></resources><constraints/></configuration>
  <status><node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"><lrm id="1"><lrm_resources>
    <lrm_resource id="d" class="ocf" provider="pacemaker" type="Dummy">${history}</lrm_resource></lrm_resources></lrm></node_state></status></cib>`;

const md5 = (text: string): string => new DigestCache().md5(text);

describe('Pacemaker operation digests', () => {
  it('hashes the text Pacemaker hashes (known 2.1.5 digests)', () => {
    expect(md5(digestText({}))).toBe('f2317cad3d54cec5d7d7aa7d0bf35cf8');
    expect(md5(digestText({ CRM_meta_timeout: '20000' }))).toBe('4811cef7f7f94e3a35a70be7916cb2fd');
    expect(digestText({ b: '2', a: 'x"<', id: 'gone' })).toBe(' <parameters a="x&quot;&lt;" b="2"/>\n');
  });

  it('classifies records as same, changed or restart, honouring secure and restart digests', () => {
    const all = md5(' <parameters passwd="secret" state="/run/d"/>\n');
    const mon = md5(' <parameters CRM_meta_timeout="30000" passwd="secret" state="/run/d"/>\n');
    const onlyState = md5(' <parameters state="/run/d"/>\n');
    const op = (id: string, attrs: string): string =>
      `<lrm_rsc_op id="${id}" operation="start" interval="0" call-id="1" rc-code="0" op-status="0" crm_feature_set="3.16.1" ${attrs}/>`;
    const r = importCib(
      cib(
        '<op id="m" name="monitor" interval="10s" timeout="30s"/>',
        op('a', `op-digest="${all}"`) +
          op('b', 'op-digest="0000"') +
          op('c', `op-digest="0000" op-restart-digest="1111" op-force-restart=" state "`) +
          op('d', `op-digest="0000" op-restart-digest="${onlyState}" op-force-restart=" state "`) +
          op('e', `op-digest="0000" op-secure-params=" passwd " op-secure-digest="${onlyState}"`) +
          `<lrm_rsc_op id="f" operation="monitor" interval="10000" call-id="2" rc-code="0" op-status="0" crm_feature_set="3.16.1" op-digest="${mon}"/>`,
      ),
    );
    expect(r.status.nodes[0]!.history[0]!.ops.map((o) => o.paramsChange)).toEqual(['same', 'changed', 'restart', 'changed', 'same', 'same']);
  });

  it('includes operation parameters and the recurring timeout', () => {
    const r = importCib(
      cib(
        '<op id="m" name="monitor" interval="10s"><instance_attributes id="oi"><nvpair id="l" name="OCF_CHECK_LEVEL" value="10"/></instance_attributes></op>',
        '',
      ),
    );
    const p = r.config.resources[0]!;
    if (p.type !== 'primitive') throw new Error('not a primitive');
    expect(digestParams(p, 'n1', 'monitor', 10_000, undefined)).toEqual({
      state: '/run/d',
      passwd: 'secret',
      OCF_CHECK_LEVEL: '10',
      CRM_meta_timeout: '20000',
    });
    expect(digestParams(p, 'n1', 'start', 0, 90_000)).toEqual({ state: '/run/d', passwd: 'secret' });
  });

  it('flags the definition changes of the corpus (params-4: reload, params-5: restart)', () => {
    const last = (name: string, node: string, rsc: string): string | undefined => {
      const r = importCib(readFileSync(corpusFile(`${name}.xml`), 'utf8'));
      const ops = r.status.nodes.find((n) => n.name === node)!.history.find((h) => h.resource === rsc)!.ops;
      return ops.filter((o) => o.action === 'start').sort((a, b) => b.callId - a.callId)[0]?.paramsChange;
    };
    expect(last('params-4', 'c001n02', 'DcIPaddr')).toBe('changed');
    // params-5: the resource was found running by a probe whose restart digest (no op-force-restart list: all
    // parameters) no longer matches → Restart
    const r5 = importCib(readFileSync(corpusFile('params-5.xml'), 'utf8'));
    const probe = r5.status.nodes
      .find((n) => n.name === 'c001n02')!
      .history.find((h) => h.resource === 'DcIPaddr')!
      .ops.find((o) => o.interval === 0);
    expect(probe?.paramsChange).toBe('restart');
  });
});
