import type { InstancePlacement, Transition } from '@paceline/model';
import { addNotifications } from '../src/clone/notify.js';

const place = (instance: string, node: string | null, role: InstancePlacement['role'] = 'Unpromoted'): InstancePlacement => ({
  resource: instance.replace(/:\d+$/, ''),
  instance,
  node,
  role,
  clone: 'ms',
  managed: true,
  failed: false,
});

describe('clone notifications', () => {
  const t: Transition = {
    current: [place('d:0', 'a', 'Promoted'), place('d:1', 'b')],
    placement: [place('d:0', 'a'), place('d:1', 'b', 'Promoted')],
    actions: [
      { id: 'd:0_demote_0 a', kind: 'demote', resource: 'd:0', primitive: 'd', node: 'a', interval: 0, reason: 'x', runnable: true },
      { id: 'd:1_promote_0 b', kind: 'promote', resource: 'd:1', primitive: 'd', node: 'b', interval: 0, reason: 'x', runnable: true },
    ],
    edges: [],
    summary: [],
    explanation: { scores: [], decisions: [] },
    warnings: [],
  };
  const config = {
    resources: [
      {
        type: 'clone',
        id: 'ms',
        promotable: true,
        meta: { notify: true },
        child: { type: 'primitive', id: 'd', agent: 'ocf:pacemaker:Stateful', params: {}, meta: {}, ops: [], utilization: {} },
      },
    ],
  } as never;

  it('notifies every active instance before and after each kind of action, rounds in order', () => {
    const out = addNotifications(config, t);
    const notes = out.actions
      .filter((a) => a.kind === 'notify')
      .map((a) => a.id)
      .sort();
    expect(notes).toEqual([
      'd:0_post_notify_demote_0 a',
      'd:0_post_notify_promote_0 a',
      'd:0_pre_notify_demote_0 a',
      'd:0_pre_notify_promote_0 a',
      'd:1_post_notify_demote_0 b',
      'd:1_post_notify_promote_0 b',
      'd:1_pre_notify_demote_0 b',
      'd:1_pre_notify_promote_0 b',
    ]);
    const has = (b: string, a: string) => out.edges.some((e) => e.before === b && e.after === a);
    expect(has('d:1_pre_notify_demote_0 b', 'd:0_demote_0 a')).toBe(true);
    expect(has('d:0_demote_0 a', 'd:0_post_notify_demote_0 a')).toBe(true);
    expect(has('d:0_post_notify_demote_0 a', 'd:1_pre_notify_promote_0 b')).toBe(true);
    expect(out.summary).toEqual([]);
  });

  it('leaves clones without notify alone', () => {
    const quiet = { resources: [{ ...(config as { resources: object[] }).resources[0], meta: {} }] } as never;
    expect(addNotifications(quiet, t)).toBe(t);
  });
});
