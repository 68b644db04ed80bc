/**
 * Paceline as a library, end to end (docs/library.md): a cluster built in TypeScript, scheduled and
 * explained; "what if serv1 fails?" answered without the CLI; a custom agent checked by the agent
 * test kit; then the same configuration run by two embedded daemons on loopback, where a clean
 * stop of serv1 moves the resource to serv2. Prints one JSON summary line on stdout.
 */
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterBuilder, type ClusterConfig } from '@paceline/model';
import { coldStartStatus, explainResource, schedule, simulate } from '@paceline/scheduler';
import { AgentRegistry, describeAgentParams, formatReport, testAgent } from '@paceline/agent-api';
import { Daemon, systemTimers, type DaemonStatus } from '@paceline/daemon';
import { ExecaCommandRunner, createLogger, systemClock } from '@paceline/runtime';
import { markerAgent } from './marker-agent.js';

/** A base port such that base .. base+count-1 are free UDP ports on 127.0.0.1. */
async function freePorts(count: number): Promise<number> {
  const bindable = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => {
        s.close();
        resolve(false);
      });
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    let free = true;
    for (let i = 0; i < count && free; i++) free = await bindable(base + i);
    if (free) return base;
  }
  throw new Error('no free UDP ports on 127.0.0.1');
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const activeOn = (s: DaemonStatus, resource: string): string | null | undefined =>
  s.resources.find((r) => r.resource === resource && r.role !== 'Stopped')?.node;

function buildConfig(base: number, dir: string): ClusterConfig {
  return (
    clusterBuilder()
      // This example has no fencing device: with fencing on (the default) nothing would start.
      .properties({ clusterName: 'library-example', stonithEnabled: false, noQuorumPolicy: 'ignore' })
      // Each node's heartbeat address; its daemon channel listens on the port + 1.
      .node('serv1', { addresses: { lan: `127.0.0.1:${base}` } })
      .node('serv2', { addresses: { lan: `127.0.0.1:${base + 2}` } })
      .primitive('flag', 'paceline:marker', { params: { dir }, ops: [{ name: 'monitor', interval: '1s' }] })
      .location('flag-home', 'flag', 'serv1', 100)
      .build()
  );
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'paceline-library-'));
  const daemons: Daemon[] = [];
  try {
    const config = buildConfig(await freePorts(4), work);

    // 1. Schedule a cold start and ask why.
    const now = Date.now();
    const start = schedule({ config, status: coldStartStatus(config), now });
    const placed = start.placement.find((p) => p.resource === 'flag')?.node ?? null;
    const why = explainResource(start, 'flag');

    // 2. What if serv1 fails once flag runs there?
    const running = simulate({ config, status: coldStartStatus(config), now }).revisedStatus;
    const failover = simulate({ config, status: running, now, whatIf: [{ type: 'node-fail', node: 'serv1' }] });
    const afterFailure = failover.transition.placement.find((p) => p.resource === 'flag')?.node ?? null;

    // 3. The agent test kit on the custom agent, with parameter sets its strict schema must refuse.
    const report = await testAgent(
      markerAgent,
      { dir: work },
      {
        stateDir: join(work, 'testkit-state'),
        badParams: [{ dir: 'relative/path' }, { dir: work, txet: 'a typo' }],
      },
    );
    const params = describeAgentParams(markerAgent).map((p) => `${p.name}${p.required ? '' : '?'}: ${p.type}`);

    // 4. Two embedded daemons on loopback run the same configuration.
    const key = randomBytes(32);
    const agents = new AgentRegistry([markerAgent]);
    const logger = createLogger({ level: 'warn' });
    const events: string[] = [];
    for (const node of ['serv1', 'serv2']) {
      const d = new Daemon({
        node,
        config,
        stateDir: join(work, node),
        key,
        agents,
        runner: new ExecaCommandRunner(),
        clock: systemClock,
        timers: systemTimers,
        logger,
        controlSocket: false,
      });
      d.on('node-joined', (e) => events.push(`${node}: ${e.node} joined`));
      daemons.push(d);
    }
    const [serv1, serv2] = daemons as [Daemon, Daemon];
    await Promise.all(daemons.map((d) => d.start()));
    await waitFor('flag active on serv1', () => activeOn(serv2.status(), 'flag') === 'serv1');
    const markerBefore = await readFile(join(work, 'flag'), 'utf8');
    const t0 = Date.now();
    await serv1.dispose(); // a clean stop: the cluster moves flag away first
    await waitFor('flag active on serv2', () => activeOn(serv2.status(), 'flag') === 'serv2');
    const movedMs = Date.now() - t0;
    const markerAfter = await readFile(join(work, 'flag'), 'utf8');

    console.log(
      JSON.stringify({
        placed,
        why,
        afterFailure,
        testkit: formatReport(report).split('\n').pop(),
        params,
        cluster: { before: markerBefore.trim(), after: markerAfter.trim(), movedMs, joined: events.length > 0 },
      }),
    );
  } finally {
    for (const d of daemons) await d.dispose().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exitCode = 1;
});
