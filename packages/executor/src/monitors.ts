/**
 * Recurring monitors: for each instance active on this node, run every enabled monitor operation
 * of its primitive at its interval (operations with role Promoted only while promoted, the others
 * only while not). Each loop sleeps on the injected clock, so tests drive it with a simulated
 * clock and the daemon (or a benchmark) with the system clock. Failures are published as
 * 'monitor-failed' events — once per change from healthy to failed — so the scheduler runs again.
 */
import type { ClusterConfig, InstancePlacement, Operation, PrimitiveEntry, Role } from '@paceline/model';
import { OcfRc, operationParams } from '@paceline/model';
import {
  invokeAgent,
  resolveForAction,
  validateParams,
  type ActionResult,
  type AgentResolver,
  type ParamsCheck,
  type ResourceAgent,
  type Clock,
  type CommandRunner,
  type Logger,
} from '@paceline/agent-api';
import { ExecutorEvents } from './events.js';
import { findPrimitive, localInstanceId, metaFor, stateDirFor, timeoutFor } from './lookup.js';
import { metExpectation, type PendingRecord, type RecordedOp } from './record.js';
import { WakeUps } from './wake-ups.js';

export interface MonitorDeps {
  readonly agents: AgentResolver;
  readonly config: ClusterConfig;
  /** The node these monitors run on. */
  readonly node: string;
  readonly runner: CommandRunner;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly stateRoot: string;
  /**
   * Wake-ups are aligned to this grid (ms), so monitors that fall due close together run in one
   * wake-up of the process instead of each waking it alone: for cheap in-process monitors, being
   * woken costs more CPU than the check. Default: a tenth of the interval, at most 1 s (a 10 s
   * monitor runs 10–11 s after the last). 0 disables it.
   */
  readonly coalesceMs?: number;
  /** The daemon's cluster key file, passed to agents (AgentContext.keyFile). */
  readonly keyFile?: string;
}

/** Why a loop stops (one shared error: hundreds stop in a burst, each would capture a stack). */
const CANCELLED = new Error('monitor cancelled');
/** Why hold() clears its wait: the monitors it stopped returned first. */
const STOPPED = new Error('the monitors returned');

/** How long an action waits for its instance's cancelled in-flight monitor to return (see hold()). */
export const HOLD_WAIT_MS = 2000;

/** Delay until the first grid point at least `interval` from `now` (the plain interval when grid is 0). */
export function coalescedDelay(now: number, interval: number, grid: number): number {
  if (grid <= 0) return interval;
  return Math.ceil((now + interval) / grid) * grid - now;
}

/** An instance active on this node. */
export interface MonitorTarget {
  readonly instance: string;
  /** Primitive id (defaults to the instance id without its ":N" suffix). */
  readonly primitive?: string;
  readonly role: Role;
}

interface Loop {
  readonly key: string;
  readonly target: MonitorTarget;
  readonly interval: number;
  readonly controller: AbortController;
  readonly done: Promise<void>;
  healthy: boolean;
  runs: number;
  /** The local instance id (anonymous clone instances share one), as indexed in `byLocal`. */
  localId: string;
  plan?: Plan;
}

/**
 * What a loop's monitor takes from the configuration, worked out once per configuration (and its
 * parameters once per agent), not at every run: a node at rest runs a hundred monitors a second.
 */
interface Plan {
  readonly config: ClusterConfig;
  readonly entry: PrimitiveEntry;
  /** The local instance id the agent is given. */
  readonly instance: string;
  readonly configuredOp: Operation | undefined;
  readonly stateDir: string;
  params?: { readonly agent: ResourceAgent; readonly check: ParamsCheck<unknown>; readonly timeoutMs: number };
}

export interface MonitorInfo {
  readonly instance: string;
  readonly interval: number;
  readonly role: Role;
  readonly runs: number;
  readonly healthy: boolean;
}

export class RecurringMonitors extends ExecutorEvents {
  private config: ClusterConfig;
  private readonly loops = new Map<string, Loop>();
  /** Local instance ids an action is running on (count of holds): no monitor of theirs runs meanwhile. */
  private readonly held = new Map<string, number>();
  /** Loop keys by instance, and by local instance id (what `hold` and `pause` name). */
  private readonly byInstance = new Map<string, Set<string>>();
  private readonly byLocal = new Map<string, Set<string>>();
  /** Loops waiting for their next run: those due together (the coalescing grid) share one timer. */
  private readonly due: WakeUps<Loop>;
  private disposed = false;

  constructor(private readonly deps: MonitorDeps) {
    super();
    this.config = deps.config;
    this.due = new WakeUps(deps.clock);
  }

  /** Monitors exactly these instances from now on (loops for others stop, new ones start). */
  update(targets: readonly MonitorTarget[], config: ClusterConfig = this.config): void {
    if (this.disposed) return;
    if (config !== this.config) {
      this.config = config;
      // Local instance ids come from the configuration (a clone made anonymous shares one): index again.
      this.byLocal.clear();
      for (const [key, loop] of this.loops) {
        loop.localId = this.localId(loop.target);
        addTo(this.byLocal, loop.localId, key);
      }
    }
    const wanted = new Map<string, { target: MonitorTarget; interval: number }>();
    for (const t of targets) for (const w of this.wantedFor(t)) wanted.set(w.key, w);
    for (const [key, loop] of this.loops) if (!wanted.has(key)) this.stopLoop(key, loop);
    for (const [key, w] of wanted) if (!this.loops.has(key)) this.startLoop(key, w.target, w.interval);
  }

  /**
   * Monitors instance `target.instance` as `target` says from now on (Stopped: not at all); the
   * other instances' monitors are left as they are. What `update` does for one instance, in time
   * proportional to its monitors (a node records hundreds of results in a burst, each changing one
   * instance: updating every instance at each was most of a node's CPU while it placed a thousand).
   */
  updateOne(target: MonitorTarget): void {
    if (this.disposed) return;
    const wanted = new Map(this.wantedFor(target).map((w) => [w.key, w] as const));
    for (const key of [...(this.byInstance.get(target.instance) ?? [])]) {
      const loop = this.loops.get(key);
      if (loop !== undefined && !wanted.has(key)) this.stopLoop(key, loop);
    }
    for (const [key, w] of wanted) if (!this.loops.has(key)) this.startLoop(key, w.target, w.interval);
  }

  /** The loops a target needs (none while an action holds its instance). */
  private wantedFor(t: MonitorTarget): { key: string; target: MonitorTarget; interval: number }[] {
    if (t.role === 'Stopped') return [];
    const entry = findPrimitive(this.config, t.instance, t.primitive);
    if (!entry || this.held.has(localInstanceId(entry, t.instance))) return [];
    const out: { key: string; target: MonitorTarget; interval: number }[] = [];
    for (const op of entry.primitive.ops) {
      if (op.name !== 'monitor' || !(op.interval > 0) || op.enabled === false) continue;
      const promotedOp = op.role === 'Promoted';
      if (promotedOp !== (t.role === 'Promoted')) continue;
      out.push({ key: `${t.instance}@${op.interval}@${t.role}`, target: t, interval: op.interval });
    }
    return out;
  }

  /** Monitors what a placement puts on this node. */
  updateFromPlacement(placement: readonly InstancePlacement[], config: ClusterConfig = this.config): void {
    this.update(
      placement.filter((p) => p.node === this.deps.node && p.role !== 'Stopped').map((p) => ({ instance: p.instance, primitive: p.resource, role: p.role })),
      config,
    );
  }

  /** Stops the monitors of one instance (e.g. before an action on it runs). */
  pause(instance: string): void {
    for (const key of [...(this.byLocal.get(instance) ?? [])]) this.stopLoop(key, this.loops.get(key)!);
  }

  /**
   * An action is about to run on local instance `instance` (as the executor names it: anonymous
   * clone instances share one): its recurring monitors stop, an in-flight one is cancelled and
   * awaited (its result is discarded), and none starts again until the returned release is called;
   * then `update` starts the monitors of the instance's new role. As Pacemaker's executor runs one
   * operation of a resource at a time: a monitor of the old role that ran during a promote or a stop
   * would report the agent's half-changed state as a failure (a replica's worker stopping for the
   * promote looked like a dead replica, and the instance was banned from its only node). A cancelled
   * monitor gets up to HOLD_WAIT_MS to wind down: a hung one must not delay a stop by its timeout.
   */
  async hold(instance: string): Promise<() => void> {
    this.held.set(instance, (this.held.get(instance) ?? 0) + 1);
    const stopping: Promise<void>[] = [];
    for (const key of [...(this.byLocal.get(instance) ?? [])]) {
      const loop = this.loops.get(key)!;
      stopping.push(loop.done);
      this.stopLoop(key, loop);
    }
    if (stopping.length) {
      const timer = new AbortController();
      await Promise.race([Promise.allSettled(stopping), this.deps.clock.sleep(HOLD_WAIT_MS, timer.signal).catch(() => undefined)]);
      timer.abort(STOPPED); // (a shared reason: without one, each would build a DOMException with its stack)
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.held.get(instance) ?? 1) - 1;
      if (n > 0) this.held.set(instance, n);
      else this.held.delete(instance);
    };
  }

  private localId(t: MonitorTarget): string {
    return localInstanceId(findPrimitive(this.config, t.instance, t.primitive), t.instance);
  }

  /** Files a loop under its instance and its local instance id (the one computed now is kept for unindex). */
  private index(key: string, loop: Loop): void {
    loop.localId = this.localId(loop.target);
    addTo(this.byInstance, loop.target.instance, key);
    addTo(this.byLocal, loop.localId, key);
  }

  private unindex(key: string, loop: Loop): void {
    removeFrom(this.byInstance, loop.target.instance, key);
    removeFrom(this.byLocal, loop.localId, key);
  }

  list(): MonitorInfo[] {
    return [...this.loops.values()]
      .map((l) => ({ instance: l.target.instance, interval: l.interval, role: l.target.role, runs: l.runs, healthy: l.healthy }))
      .sort((a, b) => a.instance.localeCompare(b.instance) || a.interval - b.interval);
  }

  /** Stops every loop and removes listeners; resolves when in-flight monitors have returned. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const pending = [...this.loops.values()].map((l) => l.done);
    for (const [key, loop] of this.loops) this.stopLoop(key, loop);
    await Promise.allSettled(pending);
    this.removeAllListeners();
  }

  private stopLoop(key: string, loop: Loop): void {
    loop.controller.abort(CANCELLED);
    this.loops.delete(key);
    this.unindex(key, loop);
    this.due.cancel(loop);
  }

  private startLoop(key: string, target: MonitorTarget, interval: number): void {
    const controller = new AbortController();
    const loop: Loop = { key, target, interval, controller, done: Promise.resolve(), healthy: true, runs: 0, localId: target.instance };
    (loop as { done: Promise<void> }).done = this.run(loop);
    this.loops.set(key, loop);
    this.index(key, loop);
  }

  private async run(loop: Loop): Promise<void> {
    const signal = loop.controller.signal;
    const grid = this.deps.coalesceMs ?? Math.min(1000, Math.floor(loop.interval / 10));
    for (;;) {
      const now = this.deps.clock.now();
      if (!(await this.due.wait(loop, now + coalescedDelay(now, loop.interval, grid)))) return;
      if (signal.aborted) return;
      await this.monitorOnce(loop, signal);
      if (signal.aborted) return;
    }
  }

  /** The loop's plan for the configuration in effect (undefined: its primitive is not in it). */
  private planFor(loop: Loop): Plan | undefined {
    if (loop.plan?.config === this.config) return loop.plan;
    const entry = findPrimitive(this.config, loop.target.instance, loop.target.primitive);
    if (!entry) return undefined;
    const instance = localInstanceId(entry, loop.target.instance);
    const configuredOp = entry.primitive.ops.find((o) => o.name === 'monitor' && o.interval === loop.interval);
    loop.plan = { config: this.config, entry, instance, configuredOp, stateDir: stateDirFor(this.deps.stateRoot, this.deps.node, instance) };
    return loop.plan;
  }

  private async monitorOnce(loop: Loop, signal: AbortSignal): Promise<void> {
    const { node, clock } = this.deps;
    const { role } = loop.target;
    const at = clock.now();
    const id = `${loop.target.instance}_monitor_${loop.interval} ${node}`;
    const plan = this.planFor(loop);
    if (!plan) return;
    const { entry, instance, configuredOp } = plan;
    const op: RecordedOp = {
      action: 'monitor',
      interval: loop.interval,
      expectedRc: role === 'Promoted' ? OcfRc.RUNNING_PROMOTED : OcfRc.SUCCESS,
      agent: entry.primitive.agent,
    };
    const event = { id, node, instance, action: 'monitor', interval: loop.interval, at };
    this.emit('action-started', event);
    const found = await resolveForAction(this.deps.agents, entry.primitive.agent, { modules: this.config.agents ?? [] }, node);
    let result: ActionResult;
    if ('result' in found) result = found.result;
    else {
      const agent = found.agent;
      // Parameters are parsed once per configuration and agent, not on every tick.
      if (plan.params?.agent !== agent)
        plan.params = {
          agent,
          check: validateParams(agent, operationParams(entry.primitive, node, configuredOp), instance),
          timeoutMs: timeoutFor(this.config, agent, 'monitor', undefined, configuredOp),
        };
      const params = plan.params.check;
      if (!params.ok) result = params.result;
      else {
        const log = this.deps.logger.child({ node, resource: instance, action: 'monitor' });
        result = await invokeAgent(agent, {
          action: 'monitor',
          params: params.params,
          node,
          instance,
          stateDir: plan.stateDir,
          run: this.deps.runner,
          log,
          clock,
          timeoutMs: plan.params.timeoutMs,
          interval: loop.interval,
          signal,
          meta: metaFor(this.config, entry),
          ...(this.deps.keyFile !== undefined ? { keyFile: this.deps.keyFile } : {}),
        });
      }
    }
    if (signal.aborted) return; // cancelled while running: the result describes a monitor nobody wants any more
    loop.runs++;
    const finishedAt = clock.now();
    const record: PendingRecord = { node, instance, op, result, at: finishedAt };
    const succeeded = metExpectation(op, result);
    const finished = { ...event, result, succeeded, record };
    this.emit('action-finished', finished);
    const wasHealthy = loop.healthy;
    loop.healthy = succeeded;
    if (!succeeded && wasHealthy) {
      this.deps.logger.warn('monitor failed', {
        node,
        resource: instance,
        action: 'monitor',
        interval: loop.interval,
        outcome: result.outcome,
        execution: result.execution,
        ...(result.reason ? { reason: result.reason } : {}),
      });
      this.emit('monitor-failed', { ...finished, primitive: entry.primitive.id });
    }
  }
}

function addTo(index: Map<string, Set<string>>, id: string, key: string): void {
  const keys = index.get(id);
  if (keys) keys.add(key);
  else index.set(id, new Set([key]));
}

function removeFrom(index: Map<string, Set<string>>, id: string, key: string): void {
  const keys = index.get(id);
  if (keys?.delete(key) && keys.size === 0) index.delete(id);
}
