/** The coordinator's action RPC: actions started together for a node leave in one message; unanswered ones are sent again, backing off. */
import { silentLogger, type ActionResult } from '@paceline/agent-api';
import type { GraphAction } from '@paceline/model';
import { ActionRpc, RETRANSMIT_FIRST_MS, RETRANSMIT_MAX_MS } from '../src/action-rpc.js';
import type { PeerMessage, PeerMessageBody } from '../src/messages.js';

const action = (i: number, node = 'serv2'): GraphAction => ({
  id: `r${i}_start_0 ${node}`,
  kind: 'start',
  resource: `r${i}`,
  node,
  interval: 0,
  reason: 'start',
  runnable: true,
});

function harness() {
  let now = 1_000_000;
  let boot = 7;
  let id = 0;
  const sent: PeerMessage[] = [];
  const rpc = new ActionRpc({
    node: 'serv1',
    log: silentLogger,
    clock: { now: () => now, sleep: async () => undefined },
    boot: () => 1,
    epoch: () => 3,
    runLocal: async () => ({ execution: 'done', outcome: 'ok' }),
    isMember: () => true,
    peerBoot: () => boot,
    envelope: (to: string, body: PeerMessageBody) => ({ ...body, v: 2, from: 'serv1', to, boot: 1, id: ++id, toBoot: boot }) as PeerMessage,
    transmit: (m: PeerMessage) => {
      sent.push(m);
      return true;
    },
  });
  return { rpc, sent, advance: (ms: number) => (now += ms), restart: () => (boot += 1) };
}
const tick = () => new Promise<void>((r) => setImmediate(r));
const keysOf = (m: PeerMessage) => (m.type === 'actions' ? m.items.map((i) => i.key) : m.type === 'action' ? [m.key] : []);

describe('ActionRpc', () => {
  test('actions dispatched in one turn for one node leave in one `actions` message; a lone one as `action`', async () => {
    const h = harness();
    const results = [1, 2, 3].map((i) => h.rpc.dispatch(5, action(i)));
    await tick();
    expect(h.sent.map((m) => m.type)).toEqual(['actions']);
    expect(keysOf(h.sent[0]!)).toEqual(['serv1/1/5/r1_start_0 serv2', 'serv1/1/5/r2_start_0 serv2', 'serv1/1/5/r3_start_0 serv2']);
    const lone = h.rpc.dispatch(5, action(4));
    await tick();
    expect(h.sent.map((m) => m.type)).toEqual(['actions', 'action']);
    const ok: ActionResult = { execution: 'done', outcome: 'ok' };
    for (const m of h.sent) for (const key of keysOf(m)) h.rpc.onResult('serv2', 7, key, ok);
    await expect(Promise.all([...results, lone])).resolves.toEqual([ok, ok, ok, ok]);
  });

  test('unanswered actions are sent again together, after 0.5 s, then at gaps doubling to 2 s; a result stops them', async () => {
    const h = harness();
    void h.rpc.dispatch(5, action(1));
    void h.rpc.dispatch(5, action(2));
    await tick();
    const sends = (): number => h.sent.length;
    h.advance(RETRANSMIT_FIRST_MS - 1);
    h.rpc.retransmit();
    expect(sends()).toBe(1);
    const gaps: number[] = [];
    let last = 0;
    for (let t = RETRANSMIT_FIRST_MS - 1; t < 8000; t += 100) {
      h.advance(100);
      const before = sends();
      h.rpc.retransmit();
      if (sends() > before) {
        expect(h.sent.at(-1)!.type).toBe('actions'); // both again, in one message
        gaps.push(t + 100 - last);
        last = t + 100;
      }
    }
    expect(gaps.slice(1, 4)).toEqual([2 * RETRANSMIT_FIRST_MS, RETRANSMIT_MAX_MS, RETRANSMIT_MAX_MS]);
    h.rpc.onResult('serv2', 7, keysOf(h.sent[0]!)[0]!, { execution: 'done', outcome: 'ok' });
    h.advance(RETRANSMIT_MAX_MS);
    h.rpc.retransmit();
    expect(h.sent.at(-1)!.type).toBe('action'); // only the one still unanswered
  });

  test('a node that restarted before its actions left gets none of them: they are cancelled', async () => {
    const h = harness();
    const r = h.rpc.dispatch(5, action(1));
    h.restart();
    await tick();
    expect(h.sent).toEqual([]);
    await expect(r).resolves.toMatchObject({ execution: 'cancelled', reason: 'serv2 restarted before the action was sent' });
  });
});
