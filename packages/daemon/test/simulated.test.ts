/**
 * A simulated two-node cluster: real Daemons on the testkit's SimulatedClock and in-memory network
 * (heartbeats with the real codec; the daemon channel as plain objects), an in-memory agent whose
 * state is a shared "world", and fencing that powers the target off (its daemon stops dead, its
 * resources vanish). Seeded random fault schedules (partitions of one or all links, power losses,
 * restarts, `node clear`) are run while the invariant "never active on two nodes" is checked at
 * every tick; at the end, with everything healed and cleared, every resource is placed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { z } from 'zod';
import { AgentRegistry, defineAgent, ok, notRunning, type ActionResult, type AgentContext } from '@paceline/agent-api';
import { createLogger } from '@paceline/runtime';
import { InMemoryNetwork, InMemoryTransport, Prng, SimulatedClock, type TimerHandle } from '@paceline/testkit';
import { Daemon, Dedup, type DaemonStatus, type PeerChannel, type PeerMessage } from '@paceline/daemon';

const LINKS = ['crossover', 'lan'];
const NODES = ['serv1', 'serv2'];
const RESOURCES = ['web', 'mail', 'dns'];
const TICK = 50;

class World {
  /** resource → nodes where it runs */
  readonly running = new Map<string, Set<string>>();
  violations: string[] = [];
  at(node: string): string[] { return [...this.running].filter(([, s]) => s.has(node)).map(([r]) => r); }
  powerOff(node: string): void { for (const s of this.running.values()) s.delete(node); }
  check(t: number): void {
    for (const [r, s] of this.running) if (s.size > 1) this.violations.push(`t=${t} ${r} active on ${[...s].join(' and ')}`);
  }
}

function memAgent(world: World) {
  const set = (ctx: AgentContext): Set<string> => {
    const rsc = ctx.instance;
    if (!world.running.has(rsc)) world.running.set(rsc, new Set());
    return world.running.get(rsc)!;
  };
  return defineAgent({
    meta: { name: 'mem', version: '1.0.0', description: 'in-memory test agent' },
    params: z.object({}),
    async start(_p: object, ctx: AgentContext): Promise<ActionResult> { set(ctx).add(ctx.node); return ok(); },
    async stop(_p: object, ctx: AgentContext): Promise<ActionResult> { set(ctx).delete(ctx.node); return ok(); },
    async monitor(_p: object, ctx: AgentContext): Promise<ActionResult> { return set(ctx).has(ctx.node) ? ok() : notRunning(); },
  });
}

const realTick = (): Promise<void> => new Promise((r) => setImmediate(r));

async function runSchedule(seed: number): Promise<{ world: World; final: DaemonStatus; events: string[] }> {
  const prng = new Prng(seed);
  const clock = new SimulatedClock(1_800_000_000_000);
  const hb = new InMemoryNetwork<Buffer>(LINKS, prng);
  const ch = new InMemoryNetwork<PeerMessage>(LINKS, prng);
  const world = new World();
  const registry = new AgentRegistry([memAgent(world)]);
  const root = mkdtempSync(join(tmpdir(), `paceline-sim-${process.pid}-${seed}-`));
  const key = Buffer.alloc(32, 7);
  const logger = createLogger({ stream: new Writable({ write(_c, _e, cb) { cb(); } }), clock });
  const config = {
    properties: { stonithEnabled: false },
    defaults: { resource: { stickiness: 0 } },
    nodes: NODES.map((name) => ({ name, addresses: { crossover: `${name}-x`, lan: `${name}-l` } })),
    resources: RESOURCES.map((id) => ({ type: 'primitive', id, agent: 'paceline:mem', ops: [{ name: 'monitor', interval: '2s' }] })),
    constraints: RESOURCES.map((id, i) => ({ type: 'location', id: `${id}-home`, resource: id, node: NODES[i % 2]!, score: 100 })),
  };
  const daemons = new Map<string, Daemon>();
  const events: string[] = [];
  const timers = {
    setInterval: (fn: () => void, ms: number): unknown => clock.setInterval(fn, ms),
    clearInterval: (h: unknown): void => clock.clearInterval(h as TimerHandle),
  };
  const kill = async (node: string): Promise<void> => {
    const d = daemons.get(node);
    daemons.delete(node);
    world.powerOff(node);
    await d?.abandon();
  };
  const start = async (node: string): Promise<void> => {
    const d = new Daemon({
      node, config, stateDir: join(root, node), key, agents: registry, runner: { run: async () => ({ exitCode: 0, stdout: '', stderr: '', timedOut: false, notFound: false }) } as never,
      clock, timers, logger, controlSocket: false,
      fence: async (target) => { events.push(`${node} fences ${target}`); await kill(target); return { ok: true }; },
      transport: async (onInput) => new InMemoryTransport({ network: hb, self: node, key, onInput, now: () => clock.now() }),
      channel: async (onMessage) => {
        const dedup = new Dedup();
        ch.attach(node, (_link, _from, m) => { if (m.to === node && dedup.first(m)) onMessage(structuredClone(m)); });
        const channel: PeerChannel = {
          send: (m) => { for (const l of LINKS) ch.send(l, node, m.to, m); },
          dispose: async () => { ch.detach(node); },
        };
        return channel;
      },
    });
    daemons.set(node, d);
    await d.start();
  };
  let tick = 0;
  const step = async (): Promise<void> => {
    tick += 1;
    clock.advance(TICK);
    hb.setTick(tick);
    ch.setTick(tick);
    hb.deliver();
    ch.deliver();
    for (let i = 0; i < 4; i++) await realTick();
    world.check(tick);
  };
  const run = async (ticks: number): Promise<void> => { for (let i = 0; i < ticks; i++) await step(); };
  const partition = (links: readonly string[]): void => { for (const l of links) { hb.partition(l, [['serv1'], ['serv2']]); ch.partition(l, [['serv1'], ['serv2']]); } };

  try {
    for (const n of NODES) await start(n);
    await run(80);
    for (let round = 0; round < 6; round++) {
      const r = prng.next();
      if (r < 0.25) { events.push('cut one link'); partition(['lan']); }
      else if (r < 0.5) { events.push('cut all links'); partition(LINKS); }
      else if (r < 0.75) { const n = NODES[prng.int(2)]!; if (daemons.has(n)) { events.push(`power off ${n}`); await kill(n); } }
      else { events.push('heal'); hb.heal(); ch.heal(); }
      await run(20 + prng.int(60));
      for (const n of NODES) if (!daemons.has(n) && prng.chance(0.7)) { events.push(`start ${n}`); hb.heal(); ch.heal(); await start(n); }
      await run(40);
    }
    // Heal everything, bring every node up, clear quarantines, and let it settle.
    hb.heal(); ch.heal();
    for (const n of NODES) if (!daemons.has(n)) await start(n);
    await run(100);
    const any = [...daemons.values()][0]!;
    for (const n of NODES) {
      if (any.document().quarantine[n] === undefined) continue;
      const done = any.update({ op: 'clear-node', node: n }); // answered while the simulated clock runs
      await run(20);
      await done;
    }
    await run(200);
    return { world, final: any.status(), events };
  } finally {
    for (const d of daemons.values()) await d.abandon();
    clock.dispose();
    rmSync(root, { recursive: true, force: true });
  }
}

test.each(Array.from({ length: 20 }, (_, i) => i + 1))('seeded fault schedule %i: never active on two nodes, everything placed at the end', async (seed) => {
  const { world, final, events } = await runSchedule(seed);
  expect({ seed, events, violations: world.violations }).toEqual({ seed, events, violations: [] });
  for (const r of RESOURCES) expect({ r, nodes: [...(world.running.get(r) ?? [])] }).toEqual({ r, nodes: [expect.any(String)] });
  expect(final.quorate).toBe(true);
  if (process.env['SIM_DEBUG']) process.stderr.write(`seed ${seed}: ${events.join('; ')}\n${JSON.stringify(final.resources.map((x) => `${x.resource}@${x.node}`))}\n`);
}, 60_000);
