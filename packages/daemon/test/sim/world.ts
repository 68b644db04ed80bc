/**
 * The simulated world the daemons act on: where each resource really runs, per host (a machine; a
 * cloned machine is a second host under the same node name), as the resources themselves would
 * tell — not as any coordinator believes. The in-memory agent starts and stops resources in it, and
 * every start and every tick checks that no resource is active on two hosts.
 *
 * A node cut from its links (`isolate` steps) may also impair its resources: their monitors fail
 * (a VIP's monitor sees its link down) and their starts fail (nothing can bring the link up). On
 * such a node starts and monitors take a tick (an agent that checks a dead link waits for it),
 * which also keeps a restart loop from spinning in zero simulated time.
 *
 * Agent actions are otherwise instant. A daemon that runs more than MAX_ACTIONS_PER_TICK of them
 * within one tick is in a loop that never lets time pass: that is reported as a violation, and
 * its further actions that tick wait a tick each.
 */
import { z } from 'zod';
import { defineAgent, failed, notRunning, ok, type ActionResult, type AgentContext } from '@paceline/agent-api';

/** What losing its links does to a node's resources. */
export interface Impairment {
  readonly links: readonly string[];
  readonly monitorsFail: boolean;
  readonly startFails: boolean;
}

export const MAX_ACTIONS_PER_TICK = 1000;

export class World {
  /** resource → hosts where it runs */
  readonly running = new Map<string, Set<string>>();
  /** node name → the impairment of its resources while it is isolated */
  readonly impaired = new Map<string, Impairment>();
  readonly violations: string[] = [];
  /** Ticks a start or a stop takes (schedule class `slow`); 0: instant. */
  slowTicks = 0;
  /** Ticks a start takes when longer than `slowTicks` (schedule class `slow`); 0: `slowTicks`. */
  startTicks = 0;
  /** `host/resource` → the start or stop under way there (a monitor meanwhile is a violation). */
  readonly busy = new Map<string, string>();
  /** The current tick (for the violation messages of starts). */
  tick = 0;
  private actions = 0;
  private actionsTick = 0;
  private spun = false;

  /** Counts an agent action; true when this tick already had too many (the action should wait). */
  spinning(host: string): boolean {
    if (this.actionsTick !== this.tick) {
      this.actionsTick = this.tick;
      this.actions = 0;
    }
    this.actions += 1;
    if (this.actions <= MAX_ACTIONS_PER_TICK) return false;
    if (!this.spun)
      this.violations.push(`t=${this.tick} more than ${MAX_ACTIONS_PER_TICK} agent actions in one tick (${host} and others): a loop that lets no time pass`);
    this.spun = true;
    return true;
  }

  at(host: string): string[] {
    return [...this.running].filter(([, s]) => s.has(host)).map(([r]) => r);
  }

  hosts(resource: string): Set<string> {
    let s = this.running.get(resource);
    if (s === undefined) this.running.set(resource, (s = new Set()));
    return s;
  }

  start(resource: string, host: string): void {
    const s = this.hosts(resource);
    s.add(host);
    if (s.size > 1) this.violations.push(`t=${this.tick} ${resource} active on ${[...s].sort().join(' and ')} (started on ${host})`);
  }

  powerOff(host: string): void {
    for (const s of this.running.values()) s.delete(host);
  }

  check(t: number): void {
    for (const [r, s] of this.running) if (s.size > 1) this.violations.push(`t=${t} ${r} active on ${[...s].sort().join(' and ')}`);
  }
}

/**
 * The in-memory agent of one host (`node` is the name its daemon runs under; a tick is `tickMs`).
 * `alive` says whether the daemon it belongs to still runs: an action still under way when its
 * machine lost power does nothing.
 */
export function memAgent(world: World, host: string, node: string, tickMs: number, alive: () => boolean) {
  const dead = (): ActionResult => failed('generic-error', `${host} lost power`);
  // Undefined when the action need not wait (then it answers without an extra await, as before).
  const pause = (ctx: AgentContext, impaired: boolean): Promise<void> | undefined =>
    world.spinning(host) || impaired ? ctx.clock.sleep(tickMs, ctx.signal).catch(() => undefined) : undefined;
  const busy = async (ctx: AgentContext, action: string, ticks: number): Promise<void> => {
    const key = `${host}/${ctx.instance}`;
    world.busy.set(key, action);
    try {
      await ctx.clock.sleep(ticks * tickMs, ctx.signal).catch(() => undefined);
    } finally {
      world.busy.delete(key);
    }
  };
  return defineAgent({
    meta: { name: 'mem', version: '1.0.0', description: 'in-memory test agent' },
    params: z.object({}),
    async start(_p: object, ctx: AgentContext): Promise<ActionResult> {
      const w = pause(ctx, world.impaired.has(node));
      if (w) await w;
      if (!alive()) return dead();
      const imp = world.impaired.get(node);
      if (imp?.startFails) return failed('generic-error', `${imp.links.join(' and ')} of ${node} down: cannot start ${ctx.instance}`);
      if (world.slowTicks > 0) {
        // A slow start: the service runs from its launch and answers once ready, at the start's
        // end; a start given up (its signal aborted) stops what it launched, as a real agent does.
        world.start(ctx.instance, host);
        await busy(ctx, 'start', world.startTicks || world.slowTicks);
        if (!alive()) return dead();
        if (ctx.signal.aborted) {
          world.hosts(ctx.instance).delete(host);
          return failed('generic-error', `the start of ${ctx.instance} on ${host} was given up`);
        }
        return ok();
      }
      world.start(ctx.instance, host);
      return ok();
    },
    async stop(_p: object, ctx: AgentContext): Promise<ActionResult> {
      const w = pause(ctx, false);
      if (w) await w;
      if (!alive()) return dead();
      // A slow stop: the service is gone at once, the stop returns once it has waited for it.
      world.hosts(ctx.instance).delete(host);
      if (world.slowTicks > 0) await busy(ctx, 'stop', world.slowTicks);
      if (!alive()) return dead();
      return ok();
    },
    async monitor(_p: object, ctx: AgentContext): Promise<ActionResult> {
      const doing = world.busy.get(`${host}/${ctx.instance}`);
      if (doing)
        world.violations.push(`t=${world.tick} a monitor of ${ctx.instance} on ${host} ran during its ${doing}: one operation of an instance at a time`);
      const w = pause(ctx, world.impaired.has(node) && world.hosts(ctx.instance).has(host));
      if (w) await w;
      if (!alive()) return dead();
      if (!world.hosts(ctx.instance).has(host)) return notRunning();
      const imp = world.impaired.get(node);
      return imp?.monitorsFail ? failed('generic-error', `${imp.links.join(' and ')} of ${node} down`) : ok();
    },
  });
}
