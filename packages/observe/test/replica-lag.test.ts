/**
 * Issue 15 (lag shown): a monitor's typed report — a replica's lag — travels from the agent through
 * the executor and the daemons (its own node's report, broadcast to the coordinator) into every
 * node's status and the Prometheus metrics, and follows each monitor without a new transition. An
 * invalid report is dropped with a warning; the monitor's outcome stands. Two in-process daemons
 * over real UDP on 127.0.0.1; the promotable agent is `paceline:stateful` whose Unpromoted monitor
 * adds the report the test writes into a file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { AgentRegistry, defineAgent, type ActionResult, type AgentContext } from '@paceline/agent-api';
import { DummyParams, stateful } from '@paceline/agent-dummy';
import { ExecaCommandRunner, createLogger, systemClock } from '@paceline/runtime';
import { Daemon, systemTimers } from '@paceline/daemon';
import { ClusterMetrics } from '@paceline/observe';
import { freePorts, twoNodeConfig, waitFor, testbed } from '../../daemon/test/helpers.js';

const { root, key, daemons } = testbed('replica-lag');
const lines: string[] = [];
const logger = createLogger({
  stream: new Writable({
    write(c, _e, cb) {
      lines.push(String(c));
      cb();
    },
  }),
  level: 'info',
});
const reportFile = join(root, 'report.json');

/** `paceline:replica`: stateful, whose Unpromoted monitor reports what reportFile holds. */
const replica = defineAgent({
  ...stateful,
  meta: { ...stateful.meta, name: 'replica', description: 'Test agent: stateful, reporting a replica lag from a file' },
  params: DummyParams,
  async monitor(p: DummyParams, ctx: AgentContext): Promise<ActionResult> {
    const r = await stateful.monitor(p, ctx);
    if (r.outcome !== 'ok' || ctx.op.interval === 0) return r;
    return { ...r, report: JSON.parse(readFileSync(reportFile, 'utf8')) as never };
  },
});

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

test("a replica's lag reaches every node's status and the metrics, monitor by monitor", async () => {
  const asOf = Date.now() - 300;
  writeFileSync(reportFile, JSON.stringify({ replica: { source: 'serv1', state: 'in-sync', reachable: true, asOf, seconds: 0.3, bytes: 0, changes: 0 } }));
  const config = twoNodeConfig(await freePorts(8), {
    resources: [
      {
        type: 'clone',
        id: 'data',
        promotable: true,
        meta: { promotedMax: 1 },
        child: {
          type: 'primitive',
          id: 'copy',
          agent: 'paceline:replica',
          ops: [
            { name: 'monitor', interval: '1s', role: 'Unpromoted' },
            { name: 'monitor', interval: '1100ms', role: 'Promoted' },
          ],
        },
      },
    ],
    constraints: [{ type: 'location', id: 'home', resource: 'data', node: 'serv1', score: 100, role: 'Promoted' }],
  });
  const make = (node: string): Daemon =>
    new Daemon({
      node,
      config,
      stateDir: join(root, node),
      key,
      agents: new AgentRegistry([replica]),
      runner: new ExecaCommandRunner(),
      clock: systemClock,
      timers: systemTimers,
      logger: logger.child({ node }),
      shutdownTimeoutMs: 5000,
    });
  const [d1, d2] = [make('serv1'), make('serv2')];
  daemons.push(d1, d2);
  await Promise.all([d1.start(), d2.start()]);
  const onServ2 = (d: Daemon) => d.status().replicas?.find((r) => r.node === 'serv2');
  // The replica runs on serv2; serv1 coordinates: the report crosses the daemon channel.
  const first = await waitFor("serv2's replica report on serv1", () => onServ2(d1), 30_000);
  expect(first).toMatchObject({
    instance: expect.stringMatching(/^copy/),
    node: 'serv2',
    source: 'serv1',
    state: 'in-sync',
    reachable: true,
    asOf,
    seconds: 0.3,
    bytes: 0,
  });
  expect(onServ2(d2)).toMatchObject({ state: 'in-sync' });
  expect(d1.status().replicas?.some((r) => r.node === 'serv1')).toBe(false); // the Promoted one reports none
  const transitions = d1.status().lastTransition?.id;

  // The replica falls behind: the next monitor's report replaces the last, and no transition runs for it.
  writeFileSync(
    reportFile,
    JSON.stringify({
      replica: { source: 'serv1', state: 'behind', reachable: false, asOf, seconds: 12.5, bytes: 301000, changes: 2, oldestMissingAt: asOf + 100 },
    }),
  );
  const behind = await waitFor('the new report on serv1', () => onServ2(d1)?.state === 'behind' && onServ2(d1), 15_000);
  expect(behind).toMatchObject({ reachable: false, seconds: 12.5, bytes: 301000, changes: 2, oldestMissingAt: asOf + 100 });
  expect(behind.at).toBeGreaterThan(first.at);
  expect(d1.status().lastTransition?.id).toBe(transitions);

  const metrics = new ClusterMetrics(d1, { processMetrics: false });
  try {
    const text = (await metrics.render()).body;
    const labels = { resource: behind.instance, node: 'serv2', source: 'serv1' };
    expect(sample(text, 'paceline_replica_lag_seconds', labels)).toBe(12.5);
    expect(sample(text, 'paceline_replica_behind_bytes', labels)).toBe(301000);
    expect(sample(text, 'paceline_replica_in_sync', labels)).toBe(0);
    expect(sample(text, 'paceline_replica_source_reachable', labels)).toBe(0);
    expect(sample(text, 'paceline_replica_report_timestamp_seconds', labels)).toBeCloseTo(behind.at / 1000, 3);
  } finally {
    metrics.dispose();
  }

  // An invalid report (an unknown key, a negative lag) is dropped with a warning; the monitor still succeeds and the last report stays.
  writeFileSync(reportFile, JSON.stringify({ replica: { source: 'serv1', state: 'behind', reachable: true, seconds: -1 }, note: 'free text' }));
  await waitFor('the warning', () => lines.some((l) => l.includes('returned an invalid report (dropped)')), 15_000);
  expect(onServ2(d1)).toMatchObject({ seconds: 12.5 });
  expect(d1.status().resources.filter((r) => r.failed)).toEqual([]);
  await Promise.all([d2.dispose(), d1.dispose()]);
}, 90_000);
