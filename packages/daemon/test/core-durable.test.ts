/**
 * Issue 16 ("Hardening"), item 3, in the pure core: an ok answer carries the epoch it is about (the
 * shell sends it once that is saved); a member's negative acknowledgement ("holds it, could not save
 * it") answers the waiting change with an error naming the member and the reason, and the document
 * is not counted as held there (it keeps being resent).
 */
import { docRetransmitTargets, initialCoreState, type MembershipView } from '../src/core.js';
import { run } from './core-steps.js';
import { docKey } from '../src/updates.js';
import type { ClusterDoc } from '@paceline/daemon';

const config = {
  properties: { stonithEnabled: false },
  nodes: [
    { name: 'serv1', addresses: { lan: '127.0.0.1:7001' } },
    { name: 'serv2', addresses: { lan: '127.0.0.1:7003' } },
  ],
  resources: [{ type: 'primitive', id: 'web', agent: 'paceline:dummy' }],
};
const doc: ClusterDoc = { epoch: 1, config: { ...config, epoch: 1 }, quarantine: {} };
const view: MembershipView = {
  members: ['serv1', 'serv2'],
  coordinator: 'serv1',
  term: 1,
  quorate: true,
  mayRun: true,
  mayRunReason: 'ok',
  peers: { serv2: { member: true, safelyDown: false, reason: 'member', boot: 20, links: { lan: true } } },
};
const now = 1_700_000_000_000;

test('an ok answer carries its epoch; a negative acknowledgement answers the change with the member and the reason', () => {
  const coord = run(initialCoreState('serv1', doc, view), [{ type: 'doc', from: 'serv2', doc, now }]).state;
  const c = run(coord, [{ type: 'update', request: { op: 'standby', node: 'serv2', on: true }, reqId: 'r1', replyTo: 'serv2', now }]);
  const key = docKey(c.state.doc);

  const ok = run(c.state, [{ type: 'doc-signal', from: 'serv2', reqId: `doc-ack/${key}`, now }]);
  expect(ok.commands).toContainEqual({ type: 'reply', to: 'serv2', reqId: 'r1', ok: true, message: 'serv2 is in standby (epoch 2)', epoch: 2 });

  const nack = run(c.state, [
    { type: 'doc-signal', from: 'serv2', reqId: `doc-ack/${key}`, ok: false, message: 'cannot write /var/lib/paceline/state.json: ENOSPC', now },
  ]);
  expect(nack.commands).toContainEqual(
    expect.objectContaining({
      type: 'reply',
      to: 'serv2',
      reqId: 'r1',
      ok: false,
      message: expect.stringMatching(/^serv2 is in standby \(epoch 2\) is in effect, but serv2 could not save it \(cannot write .*ENOSPC\)/),
    }),
  );
  expect(nack.commands).toContainEqual(expect.objectContaining({ type: 'log', level: 'error' }));
  expect(docRetransmitTargets(nack.state)).toEqual(['serv2']);
  // Once it can save it, its acknowledgement confirms the document; nothing is answered twice.
  const later = run(nack.state, [{ type: 'doc-signal', from: 'serv2', reqId: `doc-ack/${key}`, now }]);
  expect(later.commands.filter((x) => x.type === 'reply' && x.reqId === 'r1')).toEqual([]);
  expect(later.state.committed).toBe(true);
});
