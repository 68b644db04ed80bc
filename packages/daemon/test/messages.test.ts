/** The wire messages parse actions and results with the model's schemas: what does not fit is refused, with its path. */
import { MAX_BATCH_ITEMS, PeerMessage } from '../src/messages.js';

const envelope = { v: 2, from: 'serv1', to: 'serv2', boot: 1, id: 1, toBoot: 2 } as const;
const action = { id: 'web_start_0 serv2', kind: 'start', resource: 'web', node: 'serv2', interval: 0, reason: 'start', runnable: true };
const report = { boot: 2, rev: 1, ver: 1, base: 0, full: true, digest: '00000000000000000000000000000000', changed: [], removed: [], failures: [] };

describe('action and result messages', () => {
  test('a graph action and a two-axis result pass as the model defines them', () => {
    expect(PeerMessage.safeParse({ ...envelope, type: 'action', key: 'k', epoch: 3, action }).success).toBe(true);
    expect(PeerMessage.safeParse({ ...envelope, type: 'result', key: 'k', result: { execution: 'done', outcome: 'ok', durationMs: 5 }, report }).success).toBe(
      true,
    );
  });

  test.each([
    ['an unknown action kind', { type: 'action', key: 'k', epoch: 3, action: { ...action, kind: 'explode' } }, ['action', 'kind']],
    ['an action with an unknown field', { type: 'action', key: 'k', epoch: 3, action: { ...action, shell: 'rm -rf /' } }, ['action']],
    ['an action without its reason', { type: 'action', key: 'k', epoch: 3, action: { ...action, reason: undefined } }, ['action', 'reason']],
    ['an unknown outcome', { type: 'result', key: 'k', result: { execution: 'done', outcome: 'fine' }, report }, ['result', 'outcome']],
  ])('%s is refused at its path', (_what, body, path) => {
    const r = PeerMessage.safeParse({ ...envelope, ...body });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path)).toContainEqual(path);
  });

  test("a result's fields the model does not know are dropped, not refused", () => {
    const r = PeerMessage.safeParse({ ...envelope, type: 'result', key: 'k', result: { execution: 'done', outcome: 'ok', extra: 1 }, report });
    expect(r.success && r.data.type === 'result' && r.data.result).toEqual({ execution: 'done', outcome: 'ok' });
  });
});

describe('batches of actions and results', () => {
  const items = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, action: { ...action, id: `r${i}_start_0 serv2`, resource: `r${i}` } }));
  const results = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, result: { execution: 'done', outcome: 'ok' } }));

  test('several actions for one node, and several results with one report, pass; each item as its single message would', () => {
    expect(PeerMessage.safeParse({ ...envelope, type: 'actions', epoch: 3, items: items(3) }).success).toBe(true);
    expect(PeerMessage.safeParse({ ...envelope, type: 'results', items: results(3), report }).success).toBe(true);
  });

  test.each([
    ['an empty batch of actions', { type: 'actions', epoch: 3, items: [] }, ['items']],
    [`more than ${MAX_BATCH_ITEMS} actions`, { type: 'actions', epoch: 3, items: items(MAX_BATCH_ITEMS + 1) }, ['items']],
    [
      'an unknown action kind in a batch',
      { type: 'actions', epoch: 3, items: [{ key: 'k', action: { ...action, kind: 'explode' } }] },
      ['items', 0, 'action', 'kind'],
    ],
    ['results without their report', { type: 'results', items: results(2) }, ['report']],
    [
      'an unknown outcome in a batch',
      { type: 'results', items: [{ key: 'k', result: { execution: 'done', outcome: 'fine' } }], report },
      ['items', 0, 'result', 'outcome'],
    ],
  ])('%s is refused at its path', (_what, body, path) => {
    const r = PeerMessage.safeParse({ ...envelope, ...body });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path)).toContainEqual(path);
  });
});
