/**
 * OP_READER's reading of a matched start tag in one pass (src/status-op-match.ts) against its
 * reading one attribute at a time: each `lrm_rsc_op` is read alone (the first of its tag: the
 * scanner's general path, `set` per attribute) and after three elements with the same attributes
 * (the tag's pattern, read by the compiled reader), and the values the tree keeps must be equal.
 */
import { parseXml, type LeafReader } from '../src/xml.js';
import { OP_READER } from '../src/status-ops.js';

const READERS = { lrm_rsc_op: OP_READER as LeafReader<unknown> };

/** `attrs` with every value replaced (the primer: same names, other values, so that values are not shared by chance). */
const primer = (attrs: string): string => `<lrm_rsc_op ${attrs.replace(/="[^"]*"/g, (_m) => '="9"')}/>`.repeat(3);

const valueOf = (text: string): unknown => {
  const els = parseXml(`<r>${text}</r>`, READERS)[0]!.children;
  return els[els.length - 1]!.value;
};

const BASE =
  'id="db_last_0" operation_key="db_start_0" operation="start" crm-debug-origin="x" crm_feature_set="3.16.1" transition-key="1:2:7:uuid" transition-magic="0:0;1:2:0:uuid" exit-reason="" on_node="n1" call-id="4" rc-code="0" op-status="0" interval="0" last-rc-change="1700000000" exec-time="1" queue-time="0" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"';

test.each([
  ['a start as Pacemaker writes it', BASE],
  ['a monitor with last-run and a restart digest', `${BASE} last-run="1700000100" op-restart-digest="abc" op-force-restart=" state " op-secure-params=" pw "`],
  ['a failed one with an exit reason', BASE.replace('exit-reason=""', 'exit-reason="it broke"').replace('rc-code="0"', 'rc-code="1"')],
  ['a migration', `${BASE} migrate_source="n1" migrate_target="n2" op-secure-digest="sec"`],
  ['no transition key', BASE.replace(' transition-key="1:2:7:uuid"', '')],
  ['a transition key without a target rc', BASE.replace('1:2:7:uuid', '1:2')],
  ['numbers that are not numbers', BASE.replace('call-id="4"', 'call-id="x"').replace('interval="0"', 'interval=""')],
  ['no operation name (kept as read, reported later)', BASE.replace(' operation="start"', '')],
  ['an unknown op-status (kept as read, reported later)', BASE.replace('op-status="0"', 'op-status="42"')],
  ['an attribute the model does not know (read one at a time)', `${BASE} colour="red"`],
  ['an attribute listed twice (read one at a time)', `${BASE} operation="stop"`],
])('%s: the same value after the tag has a pattern', (_what, attrs) => {
  const el = `<lrm_rsc_op ${attrs}/>`;
  expect(valueOf(`${primer(attrs)}${el}`)).toEqual(valueOf(el));
});
