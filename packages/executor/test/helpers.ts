/** Test helpers for the executor: a simulated clock, a recording fake agent, graph builders. */
import { z } from 'zod';
import type { ActionResult, AgentContext, Clock, ResourceAgent } from '@paceline/agent-api';
import { AgentRegistry, notRunning, ok, runningPromoted } from '@paceline/agent-api';
import { ClusterConfig, type GraphAction, type OrderEdge, type Transition } from '@paceline/model';

/** Time moves only on advance(); timers fire in due order; pending promise work runs between timers. */
export class SimClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: { due: number; seq: number; fire: () => void }[] = [];
  constructor(start = 1_000_000) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new Error('aborted'));
      const timer = {
        due: this.t + Math.max(0, ms),
        seq: this.seq++,
        fire: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.timers = this.timers.filter((x) => x !== timer);
        reject(new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.timers.push(timer);
    });
  }
  pending(): number {
    return this.timers.length;
  }
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    await settle();
    for (;;) {
      this.timers.sort((a, b) => a.due - b.due || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.due > target) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.due);
      next.fire();
      await settle();
    }
    this.t = target;
    await settle();
  }
}

export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

/** Runs `p` to completion, advancing the clock in steps. */
export async function drive<T>(clock: SimClock, p: Promise<T>, step = 10, maxMs = 600_000): Promise<T> {
  let done = false;
  let value: T | undefined;
  let failure: { readonly error: unknown } | undefined;
  p.then(
    (v) => {
      done = true;
      value = v;
    },
    (error: unknown) => {
      done = true;
      failure = { error };
    },
  );
  for (let t = 0; !done && t <= maxMs; t += step) await clock.advance(step);
  if (!done) throw new Error('did not finish');
  if (failure) throw failure.error;
  return value as T;
}

export interface Call {
  readonly action: string;
  readonly node: string;
  readonly instance: string;
  readonly at: number;
  readonly params: unknown;
  end?: number;
}
type Behaviour = (action: string, ctx: AgentContext) => ActionResult | 'hang' | 'throw' | { delay: number; result?: ActionResult } | undefined;

/** A promotable agent that keeps state in memory per node+instance and records every call. */
export function recordingAgent(name = 'fake', behaviour: Behaviour = () => undefined) {
  const state = new Map<string, 'started' | 'promoted'>();
  const calls: Call[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const act =
    (action: string, apply: (key: string) => ActionResult) =>
    async (params: unknown, ctx: AgentContext): Promise<ActionResult> => {
      const call: Call = { action, node: ctx.node, instance: ctx.instance, at: ctx.clock.now(), params };
      calls.push(call);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        const b = behaviour(action, ctx);
        if (b === 'hang') return await new Promise<ActionResult>(() => undefined);
        if (b === 'throw') throw new Error(`${action} exploded`);
        if (b && 'delay' in b) {
          try {
            await ctx.clock.sleep(b.delay, ctx.signal);
          } catch {
            return { execution: 'cancelled', outcome: 'generic-error', reason: 'cancelled' };
          }
          if (b.result) return b.result;
        } else if (b) return b;
        return apply(`${ctx.node}/${ctx.instance}`);
      } finally {
        inFlight--;
        call.end = ctx.clock.now();
      }
    };
  const agent: ResourceAgent & Record<string, unknown> = {
    meta: { name, version: '1', description: 'recording fake', defaultTimeouts: { start: 5000, stop: 5000, monitor: 5000 } },
    params: z.object({ value: z.string().default('v') }),
    start: act('start', (k) => {
      if (!state.has(k)) state.set(k, 'started');
      return ok();
    }),
    stop: act('stop', (k) => {
      state.delete(k);
      return ok();
    }),
    monitor: act('monitor', (k) => (state.get(k) === 'promoted' ? runningPromoted() : state.has(k) ? ok() : notRunning())),
    promote: act('promote', (k) => {
      state.set(k, 'promoted');
      return ok();
    }),
    demote: act('demote', (k) => {
      state.set(k, 'started');
      return ok();
    }),
  };
  return { agent, calls, state, maxInFlight: () => maxInFlight };
}

export function registryWith(...agents: ResourceAgent[]): AgentRegistry {
  return new AgentRegistry(agents);
}

export function config(
  resources: { id: string; agent?: string; params?: Record<string, unknown>; ops?: unknown[] }[],
  extra: Record<string, unknown> = {},
): ClusterConfig {
  return ClusterConfig.parse({
    nodes: [{ name: 'n1' }, { name: 'n2' }],
    resources: resources.map((r) => ({ type: 'primitive', id: r.id, agent: r.agent ?? 'paceline:fake', params: r.params ?? {}, ops: r.ops ?? [] })),
    ...extra,
  });
}

export function act(id: string, kind: GraphAction['kind'], resource: string | undefined, node: string, extra: Partial<GraphAction> = {}): GraphAction {
  return { id, kind, ...(resource ? { resource } : {}), node, interval: 0, reason: 'test', runnable: true, ...extra };
}

export function graph(actions: GraphAction[], edges: [string, string][] = []): Transition {
  return {
    current: [],
    placement: [],
    actions,
    edges: edges.map(([before, after]): OrderEdge => ({ before, after, reason: 'test' })),
    summary: [],
    explanation: { scores: [], decisions: [] },
    warnings: [],
  };
}
