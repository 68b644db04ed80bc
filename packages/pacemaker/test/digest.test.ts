import { readFileSync } from 'node:fs';
import { importCib } from '@paceline/pacemaker';
import { DigestCache, digestParams, digestText, operationDigest } from '../src/digest.js';
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

  // Each digest is the one crm_simulate 2.1.5 computed for a `start` of a Dummy whose only
  // parameter `v` has the value (read from its "hash was ... vs. now ..." log line).
  it.each([
    ['a tab', 'x\ty', '144fff6fdd00ebdd6483bf0ed97abbb5'],
    ['a line feed', 'x\ny', '35fadb78ef2ebeed8f2194f8c382a823'],
    ['a carriage return', 'x\ry', '87bbf0fabd532dcca7a8a4532cb14442'],
    ['DEL', 'x\x7fy', '96eae26ae68bf8f063d16dcb4b4fc7ab'],
    ['a double quote', 'x"y', 'fd20bfa946b6485105c133f367511e03'],
    ['an apostrophe', "x'y", '6a98e25fa5499dce69001ea902dbf58a'],
    ['a less-than sign', 'x<y', '66e06facdceca12556bcb38610d6d40c'],
    ['a greater-than sign', 'x>y', '7075904796228bf95c1e65ca48e0f382'],
    ['an ampersand', 'x&y', '95a80f695a25b8d88c346b8da31bca21'],
    ['non-ASCII text', 'é ü', '88e43da5b8a90b8032a105027b9e1714'],
    ['non-ASCII at the end', 'xé', '3ccd1530aafbafd39b513172520e8a1b'],
    ['a tab before non-ASCII', '\té', '923fd60682fce02e218e73bbc1a118c7'],
    ['a line feed before non-ASCII', 'x\né', '54c0ff0a7846ea7a8c1c118be4546962'],
    ['a tab after non-ASCII (a space)', 'é\ty', 'e288a2184014318753c24f806e8c67cf'],
    ['CR LF after non-ASCII (one space)', 'é\r\ny', 'e288a2184014318753c24f806e8c67cf'],
    ['CR after non-ASCII (a space)', 'é\ry', 'e288a2184014318753c24f806e8c67cf'],
    ['LF CR after non-ASCII (two spaces)', 'é\n\ry', 'bb5f09c9cee4d1111d20d613e19b25f7'],
    ['two tabs after non-ASCII', 'é\t\ty', 'bb5f09c9cee4d1111d20d613e19b25f7'],
    ['a greater-than sign after non-ASCII (unescaped)', 'é>y', '090b8c8c7c3e6a2a9f7cda364714bda7'],
    ['an apostrophe after non-ASCII (unescaped)', "é'y", 'c763b1f3b18c23bca7cd4c819f9f86b1'],
  ])('escapes a value with %s as Pacemaker 2.1.5 does', (_what, v, digest) => {
    expect(operationDigest({ v })).toBe(digest);
  });

  it('sorts names by their UTF-8 bytes, and escapes several values (crm_simulate 2.1.5 digests)', () => {
    // JavaScript's order puts U+10000 (a surrogate pair) before U+F900; strcmp on UTF-8 does not.
    expect(operationDigest({ 'a\uF900': '1', 'a\u{10000}': '2', B: '3', a_: '4' })).toBe('72bb6e1637ab4e58a98fcc2f96dad8cb');
    const params = { v: 'a "q" <t> & \'x\'\ttab\nlf\rcr', ctl: 'xy\x7fz' };
    expect(operationDigest(params)).toBe('80a03e3fb6dff3cf00f92ebad2469853');
    expect(operationDigest({ ...params, CRM_meta_timeout: '20000' })).toBe('d99907089e2ec4d50ab943b93fc1bde8');
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
