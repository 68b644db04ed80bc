/** Typed causes and their one formatter (reasons.ts): every kind prints, bans are known by kind. */
import { formatCause, isBan, type Cause } from '../src/reasons.js';
import { schedule } from '@paceline/scheduler';
import { ClusterConfig, ClusterStatus } from '@paceline/model';

describe('reasons', () => {
  test.each<[Cause, string]>([
    [{ kind: 'location', constraint: 'loc-web' }, 'location loc-web'],
    [{ kind: 'node-health', strategy: 'migrate-on-red' }, 'location node health (migrate-on-red)'],
    [{ kind: 'stickiness' }, 'stickiness'],
    [{ kind: 'history', what: 'unmanaged and active here' }, 'unmanaged and active here'],
    [{ kind: 'colocation', colocation: 'web-with-ip', primary: 'ip' }, 'colocation web-with-ip with ip'],
    [{ kind: 'preferences', colocation: 'c', dependent: 'web' }, 'preferences of web (colocated with it by c)'],
    [{ kind: 'preferences', colocation: 'c', dependent: 'web', via: 'base-clone' }, 'preferences of web (colocated with base-clone by c)'],
    [{ kind: 'promotion-score' }, 'promotion score'],
    [{ kind: 'not-allowed' }, 'not allowed (opt-in cluster without a location constraint for this node)'],
    [{ kind: 'ban', ban: { kind: 'node-state', state: 'in standby' } }, 'banned: node in standby'],
    [{ kind: 'ban', ban: { kind: 'fail-count', count: 3, threshold: 3 } }, 'banned: fail count 3 ≥ migration-threshold 3'],
    [{ kind: 'ban', ban: { kind: 'discovery-exclusive' } }, 'banned: resource-discovery=exclusive elsewhere'],
    [{ kind: 'ban', ban: { kind: 'capacity' } }, 'banned: not enough capacity (utilization)'],
    [{ kind: 'ban', ban: { kind: 'role-stopped', why: 'target-role' } }, 'banned: target-role (role Stopped)'],
    [{ kind: 'ban', ban: { kind: 'history', what: 'stop failed here' } }, 'banned: stop failed here'],
    [{ kind: 'ban', ban: { kind: 'clone-instance', limit: { kind: 'node-max', max: 1 } } }, 'banned: clone-node-max (1) reached'],
    [{ kind: 'ban', ban: { kind: 'clone-instance', limit: { kind: 'clone-banned', clone: 'cl' } } }, 'banned: clone cl is banned here'],
    [{ kind: 'ban', ban: { kind: 'clone-instance', limit: { kind: 'cannot-run' } } }, 'banned: clone instance cannot run here'],
    [{ kind: 'ban', ban: { kind: 'no-partner', colocation: 'c', primary: 'cl' } }, 'colocation c: no instance of cl to pair with'],
  ])('%j prints as %s', (cause, text) => {
    expect(formatCause(cause)).toBe(text);
    expect(isBan(cause)).toBe(cause.kind === 'ban');
  });

  test('a zero-score ban is still shown; a zero location is not', () => {
    const t = schedule({
      config: ClusterConfig.parse({
        properties: { stonithEnabled: false },
        nodes: [{ name: 'n1' }, { name: 'n2' }],
        resources: [{ type: 'primitive', id: 'a', agent: 'ocf:heartbeat:Dummy', meta: { targetRole: 'Stopped' } }],
        constraints: [{ type: 'location', id: 'zero', resource: 'a', node: 'n1', score: 0 }],
      }),
      status: ClusterStatus.parse({
        nodes: [
          { name: 'n1', state: 'online' },
          { name: 'n2', state: 'online' },
        ],
      }),
      now: 0,
    });
    const n1 = t.explanation.scores.find((s) => s.resource === 'a' && s.node === 'n1')!;
    expect(n1.contributions.map((c) => c.source)).toEqual(['banned: target-role (role Stopped)']);
  });

  test('a fence action keeps its type beside its reason (no "type:reason" string)', () => {
    const t = schedule({
      config: ClusterConfig.parse({
        properties: { stonithEnabled: true, stonithAction: 'off' },
        nodes: [{ name: 'n1' }, { name: 'n2' }],
        resources: [{ type: 'primitive', id: 'fence', agent: 'stonith:fence_dummy' }],
      }),
      status: ClusterStatus.parse({
        nodes: [
          { name: 'n1', state: 'unclean' },
          { name: 'n2', state: 'online' },
        ],
      }),
      now: 0,
    });
    const fence = t.actions.find((a) => a.kind === 'fence')!;
    expect(fence).toMatchObject({ fenceType: 'off', node: 'n1' });
    expect(fence.reason).not.toMatch(/^off:/);
    expect(t.summary.find((l) => l.action === 'fence')).toMatchObject({ fenceType: 'off', node: 'n1', reason: fence.reason });
  });
});
