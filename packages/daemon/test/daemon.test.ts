/**
 * Two Daemon instances in this process over real UDP on 127.0.0.1, with the dummy agent: start,
 * placement at home, failover after an unclean loss (fenced by a stub), quarantine on return,
 * `node clear` and failback, a configuration change made on the non-coordinator, persistence.
 */
import { join } from 'node:path';
import { AgentRegistry, type AgentContext, type AgentResolver } from '@paceline/agent-api';
import { dummyAgents } from '@paceline/agent-dummy';
import { ExecaCommandRunner, createLogger, systemClock } from '@paceline/runtime';
import { Daemon, controlRequest, loadState, systemTimers, type DaemonStatus } from '@paceline/daemon';
import { Writable } from 'node:stream';
import { freePorts, twoNodeConfig, waitFor, testbed } from './helpers.js';

const { root, key, daemons } = testbed('daemon');
const logLines: string[] = [];
const sink = new Writable({
  write(chunk, _e, cb) {
    logLines.push(String(chunk));
    cb();
  },
});
const logger = createLogger({ stream: sink, level: 'debug' });
let config: Record<string, unknown>;
const fenced: string[] = [];
/** What the agents were told at each start: node, the key file, the nodes known to be powered off. */
const starts: Array<[string, string | undefined, readonly string[] | undefined]> = [];
const registry = new AgentRegistry([...dummyAgents]);
const agents: AgentResolver = {
  async resolve(ref) {
    const a = await registry.resolve(ref);
    return (
      a && {
        ...a,
        start: (p: never, ctx: AgentContext) => {
          starts.push([ctx.node, ctx.keyFile, ctx.fencedNodes]);
          return a.start(p, ctx);
        },
      }
    );
  },
};

function make(node: string): Daemon {
  const d = new Daemon({
    node,
    config,
    stateDir: join(root, node),
    key,
    keyFile: join(root, 'authkey'),
    agents,
    runner: new ExecaCommandRunner(),
    clock: systemClock,
    timers: systemTimers,
    logger,
    fence: async (n) => {
      fenced.push(n);
      return { ok: true };
    },
  });
  daemons.push(d);
  return d;
}

const where = (s: DaemonStatus, rsc: string): string | null | undefined => s.resources.find((r) => r.resource === rsc && r.role !== 'Stopped')?.node;

beforeAll(async () => {
  config = twoNodeConfig(await freePorts(8));
});

test('failover, quarantine, clear and failback', async () => {
  const s1 = make('serv1');
  const s2 = make('serv2');
  await Promise.all([s1.start(), s2.start()]);
  // (The status places web on serv1 once its start is under way, recorded as pending: wait for the start itself too.)
  await waitFor(
    'web on serv1, both quorate',
    () => where(s2.status(), 'web') === 'serv1' && starts.some(([n]) => n === 'serv1') && s1.status().mayRun && s2.status().mayRun,
  );
  expect(s1.status().coordinator).toBe('serv1');

  // serv1 dies without a word (kill -9): serv2 fences it and takes web over.
  const t0 = Date.now();
  await s1.abandon();
  // (The status places web on serv2 as soon as its start is under way — recorded as pending — so wait for the start itself.)
  await waitFor('web on serv2', () => where(s2.status(), 'web') === 'serv2' && starts.some(([n]) => n === 'serv2'));
  const failoverMs = Date.now() - t0;
  expect(fenced).toEqual(['serv1']);
  // The agents ran with the daemon's key file; web's start on serv2 knew serv1 was powered off.
  expect(starts[0]).toEqual(['serv1', join(root, 'authkey'), []]);
  expect(starts.find(([n]) => n === 'serv2')).toEqual(['serv2', join(root, 'authkey'), ['serv1']]);
  expect(s2.status().nodes.find((n) => n.name === 'serv1')).toMatchObject({ state: 'offline', quarantine: expect.stringContaining('fenced') });
  process.stderr.write(`in-process failover after an unclean loss: ${failoverMs} ms (detection + 1 s fence delay + start)\n`);

  // serv1 comes back: quarantined in standby, web stays on serv2.
  const s1b = make('serv1');
  await s1b.start();
  await waitFor('serv1 back, in standby', () => {
    const n = s2.status().nodes.find((x) => x.name === 'serv1');
    return n?.state === 'online' && n.standby;
  });
  await waitFor('serv1 probed', () => s2.status().lastTransition?.state !== 'running' && s2.status().lastTransition);
  expect(where(s2.status(), 'web')).toBe('serv2');
  const shown = await controlRequest(join(root, 'serv1'), { cmd: 'status' });
  expect((shown.data as DaemonStatus).nodes.find((n) => n.name === 'serv1')?.quarantine).toContain('fenced');

  // The administrator clears it (on serv1, which forwards to the coordinator serv2): web fails back home.
  const cleared = await controlRequest(join(root, 'serv1'), { cmd: 'update', request: { op: 'clear-node', node: 'serv1' } });
  expect(cleared).toMatchObject({ ok: true, message: expect.stringContaining('serv1 cleared') });
  await waitFor('web back on serv1', () => where(s2.status(), 'web') === 'serv1');
  await waitFor('serv1 adopted the cleared document', () => s1b.document().quarantine['serv1'] === undefined);

  // A configuration change reaches both, and is persisted.
  const before = s2.document().epoch;
  const ban = await controlRequest(join(root, 'serv2'), { cmd: 'update', request: { op: 'ban', resource: 'web', node: 'serv1' } });
  expect(ban.ok).toBe(true);
  await waitFor('epoch replicated', () => s1b.document().epoch === before + 1);
  await waitFor('web moved by the ban', () => where(s2.status(), 'web') === 'serv2');
  await waitFor('persisted', async () => (await loadState(join(root, 'serv1')))?.doc.epoch === before + 1);

  // A stale `config apply` is refused as a conflicting edit.
  const stale = await controlRequest(join(root, 'serv1'), {
    cmd: 'update',
    request: { op: 'replace', config: { ...config, properties: { clusterName: 'other' } }, epoch: before },
  });
  expect(stale).toMatchObject({ ok: false, message: expect.stringContaining('conflicting edit') });

  // A clean shutdown stops its resources and leaves: no quarantine on the next start.
  await s1b.dispose();
  const st = await loadState(join(root, 'serv1'));
  expect(st?.running).toBe(false);
  await waitFor('serv1 left', () => s2.status().nodes.find((n) => n.name === 'serv1')?.state === 'offline');
  const s1c = make('serv1');
  await s1c.start();
  await waitFor('serv1 rejoined without quarantine', () => {
    const n = s2.status().nodes.find((x) => x.name === 'serv1');
    return n?.state === 'online' && n.quarantine === undefined;
  });
}, 60_000);
