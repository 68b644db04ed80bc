/**
 * schedule → execute → record → schedule converges: the real scheduler and the real dummy agents
 * (state files in a temporary directory), every node's actions run in this process.
 * Clones are left out for now: the scheduler (work in progress) re-probes anonymous clone
 * instances on every round, with its own applyTransition as well.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentRegistry, silentLogger } from '@paceline/agent-api';
import { dummyAgents } from '@paceline/agent-dummy';
import { ClusterConfig, ClusterStatus, type Transition } from '@paceline/model';
import { applyTransition, schedule } from '@paceline/scheduler';
import { SystemClock } from '@paceline/runtime';
import { executeTransition, recordAll, recordResult, RecurringMonitors, refreshUnknown, stateDirFor, type MonitorFailedEvent } from '@paceline/executor';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), `converge-${process.pid}-`));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const config = ClusterConfig.parse({
  properties: { stonithEnabled: false },
  nodes: [{ name: 'serv1' }, { name: 'serv2' }],
  resources: [
    {
      type: 'group',
      id: 'g-samba',
      members: [
        { type: 'primitive', id: 'samba-ip', agent: 'paceline:dummy', ops: [{ name: 'monitor', interval: '10s' }] },
        { type: 'primitive', id: 'samba', agent: 'paceline:dummy', ops: [{ name: 'monitor', interval: '10s' }] },
      ],
    },
    { type: 'primitive', id: 'imap', agent: 'paceline:dummy', ops: [{ name: 'monitor', interval: '10s' }] },
  ],
  constraints: [
    { type: 'location', id: 'samba-home', resource: 'g-samba', node: 'serv1', score: 100 },
    { type: 'location', id: 'imap-home', resource: 'imap', node: 'serv2', score: 100 },
  ],
});

/**
 * Actions that change something. A recurring monitor that is already recorded as running on its
 * node is not one (the scheduler may list it again; re-arming it changes nothing).
 */
let status: ClusterStatus;
const realActions = (t: Transition) =>
  t.actions.filter((a) => {
    if (a.kind === 'pseudo' || !a.runnable) return false;
    if (a.kind !== 'monitor' || a.interval === 0) return true;
    const ops = status.nodes.find((n) => n.name === a.node)?.history.find((h) => h.resource === a.resource)?.ops ?? [];
    return !ops.some((o) => o.action === 'monitor' && o.interval === a.interval && o.status === 'done' && o.rc === o.expectedRc);
  });

/**
 * Every recorded operation as "node/resource/action_interval=rc", sorted (call ids and times left
 * out). Anonymous clone instances are compared by primitive id: the executor records them so.
 */
function opSet(s: ClusterStatus): string[] {
  return [
    ...new Set(
      s.nodes.flatMap((n) => n.history.flatMap((h) => h.ops.map((o) => `${n.name}/${h.resource.replace(/:\d+$/, '')}/${o.action}_${o.interval}=${o.rc}`))),
    ),
  ].sort();
}

describe('schedule → execute → schedule', () => {
  test('converges from nothing running, and again after a monitor failure', async () => {
    const clock = new SystemClock();
    const agents = new AgentRegistry(dummyAgents);
    const deps = {
      agents,
      config,
      runner: {
        run: async () => {
          throw new Error('no commands');
        },
      },
      clock,
      logger: silentLogger,
      stateRoot: root,
    };
    status = ClusterStatus.parse({
      nodes: [
        { name: 'serv1', state: 'online' },
        { name: 'serv2', state: 'online' },
      ],
    });
    let rounds = 0;
    const converge = async (compareWithSimulation: boolean): Promise<Transition> => {
      for (;;) {
        const t = schedule({ config, status, now: clock.now() });
        if (realActions(t).length === 0) return t;
        if (++rounds > 6)
          throw new Error(
            `no convergence: ${realActions(t)
              .map((a) => a.id)
              .join(', ')}`,
          );
        const report = await executeTransition(t, deps);
        const before = status;
        status = recordAll(status, report.records);
        // The executor's records agree with the scheduler's own simulation of a fully successful transition.
        expect(report.results.filter((r) => r.state !== 'succeeded').map((r) => `${r.id}: ${r.state} ${r.reason ?? ''}`)).toEqual([]);
        // (Only from a clean start: the scheduler's graph does not yet order a recurring monitor after its start, which
        // its simulation applies in id order while the executor adds the missing edge.)
        if (compareWithSimulation) expect(opSet(status)).toEqual(opSet(applyTransition(config, before, t, clock.now())));
      }
    };
    const settled = await converge(true);
    expect(rounds).toBeLessThanOrEqual(3);
    const where = (id: string) =>
      settled.placement
        .filter((p) => p.resource === id && p.role !== 'Stopped')
        .map((p) => `${p.node}:${p.role}`)
        .sort();
    expect(where('samba')).toEqual(['serv1:Started']);
    expect(where('imap')).toEqual(['serv2:Started']);

    // samba dies on serv1: the recurring monitor notices, the scheduler recovers it, and it converges again.
    const { rm: remove } = await import('node:fs/promises');
    await remove(join(stateDirFor(root, 'serv1', 'samba'), 'dummy.state'));
    const monitors = new RecurringMonitors({ ...deps, node: 'serv1' });
    const failed = new Promise<MonitorFailedEvent>((resolve) => monitors.once('monitor-failed', resolve));
    monitors.update(
      [{ instance: 'samba', role: 'Started' }],
      ClusterConfig.parse({
        ...config,
        resources: [{ type: 'primitive', id: 'samba', agent: 'paceline:dummy', ops: [{ name: 'monitor', interval: '20ms' }] }],
      }),
    );
    const f = await failed;
    await monitors.dispose();
    status = recordResult(status, f.node, f.instance, { ...f.record!.op, interval: 10_000 }, f.result, f.at);
    const recovery = schedule({ config, status, now: clock.now() });
    expect(realActions(recovery).map((a) => a.id)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^samba_stop_0/), expect.stringMatching(/^samba_start_0/)]),
    );
    rounds = 0;
    const again = await converge(false);
    expect(again.placement.find((p) => p.resource === 'samba')?.node).toBe('serv1');
    expect(status.nodes.find((n) => n.name === 'serv1')!.failures).toEqual([expect.objectContaining({ resource: 'samba', count: 1 })]);
  });

  test('an action whose outcome is unknown is refreshed and then probed by the next transition', () => {
    let s = ClusterStatus.parse({
      nodes: [
        { name: 'serv1', state: 'online' },
        { name: 'serv2', state: 'online' },
      ],
    });
    for (const node of ['serv1', 'serv2'])
      for (const id of ['samba-ip', 'samba', 'imap'])
        s = recordResult(s, node, id, { action: 'monitor', interval: 0 }, { execution: 'done', outcome: 'not-running' }, 1);
    s = recordResult(s, 'serv2', 'imap', { action: 'start', interval: 0 }, { execution: 'cancelled', outcome: 'generic-error', reason: 'daemon stopping' }, 2);
    const probes = (t: Transition) => t.actions.filter((a) => a.kind === 'probe').map((a) => a.id);
    expect(probes(schedule({ config, status: s, now: 3 }))).toEqual([]);
    expect(probes(schedule({ config, status: refreshUnknown(s), now: 3 }))).toEqual(['imap_probe_0 serv2']);
  });
});
