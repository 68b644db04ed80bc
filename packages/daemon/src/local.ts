/**
 * This node's own resources: it runs the actions the coordinator sends (through the executor,
 * one action at a time, each with its own deadline), records their results in its history and
 * fail counts (it is their authority; fail counts are persisted), and keeps recurring monitors
 * running for what is active here.
 */
import { promises as fs } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { ClusterConfig, ClusterStatus, FailCount, GraphAction, ResourceHistory, Role } from '@paceline/model';
import { OcfRc } from '@paceline/model';
import { unboundedSignal, type ActionResult, type AgentResolver, type Clock, type CommandRunner, type Logger } from '@paceline/agent-api';
import {
  RecurringMonitors,
  type ExecutorEvents,
  executeAction,
  findHistory,
  findPrimitive,
  localInstanceId,
  recordReport,
  recordResult,
  type MonitorTarget,
  type PendingRecord,
} from '@paceline/executor';

export interface LocalNodeDeps {
  readonly node: string;
  readonly agents: AgentResolver;
  readonly runner: CommandRunner;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly stateRoot: string;
  readonly events: ExecutorEvents;
  /** Called after every change of history or failures. */
  readonly onChange: () => void;
  /**
   * A recurring monitor that succeeded reported something (a replica's lag): the history carries
   * it, without a new revision (nothing the scheduler plans from changed), to the next report.
   */
  readonly onReport?: () => void;
  /** A recurring monitor failed: the coordinator must reschedule. */
  readonly onMonitorFailure: (instance: string, reason: string) => void;
  /** The cluster key file, passed to agents (AgentContext.keyFile). */
  readonly keyFile?: string;
  /** Nodes fencing confirmed powered off (and not back), for the agents' actions (AgentContext.fencedNodes). */
  readonly fencedNodes?: () => readonly string[];
}

/**
 * Agent actions this node runs at once (the coordinator may send hundreds together): as Pacemaker's
 * node-action-limit, from the number of cores, with room for agents that mostly wait.
 */
export const NODE_ACTION_LIMIT = Math.max(16, 4 * availableParallelism());

/** Actions that change an instance's state: recorded as pending while they run. */
const PENDING_RECORDED = new Set<GraphAction['kind']>(['start', 'stop', 'promote', 'demote']);
/** Actions given up when the node must stop everything (`abortStarts`): each may leave the instance running. */
const ABORTABLE = new Set<GraphAction['kind']>(['start', 'promote']);

/** Each history entry's role, computed once (entries are replaced on change, never mutated). */
const roles = new WeakMap<ResourceHistory, Role>();

/** The role an instance is in on a node, from its history (newest record last by call id). */
export function activeRoles(history: readonly ResourceHistory[]): MonitorTarget[] {
  const out: MonitorTarget[] = [];
  for (const h of history) {
    const role = cachedRole(h);
    if (role !== 'Stopped') out.push({ instance: h.resource, role });
  }
  return out;
}

function cachedRole(h: ResourceHistory): Role {
  const role = roles.get(h) ?? roleOf(h);
  roles.set(h, role);
  return role;
}

function roleOf(h: ResourceHistory): Role {
  let role: Role = 'Stopped';
  for (const op of [...h.ops].sort((a, b) => a.callId - b.callId)) {
    if (op.status !== 'done') continue;
    const ok = op.rc === OcfRc.SUCCESS;
    if (op.action === 'start' && ok) role = 'Started';
    else if (op.action === 'stop' && ok) role = 'Stopped';
    else if (op.action === 'promote' && ok) role = 'Promoted';
    else if (op.action === 'demote' && ok) role = 'Unpromoted';
    else if (op.action === 'monitor' && op.interval === 0)
      role = op.rc === OcfRc.RUNNING_PROMOTED ? 'Promoted' : ok ? 'Started' : op.rc === OcfRc.NOT_RUNNING ? 'Stopped' : role;
  }
  return role;
}

/**
 * What a node must stop to run nothing: every instance active by its history, and every one with
 * an action still under way (its newest record pending: a start or promote may leave it running;
 * the stop is queued behind it). Promoted, or being promoted: demote first.
 */
export function toStop(history: readonly ResourceHistory[]): MonitorTarget[] {
  const active = new Map(activeRoles(history).map((t) => [t.instance, t.role] as const));
  for (const h of history) {
    const newest = h.ops.reduce<ResourceHistory['ops'][number] | undefined>((a, o) => (a === undefined || o.callId > a.callId ? o : a), undefined);
    if (newest?.status !== 'pending') continue;
    const role = active.get(h.resource);
    active.set(h.resource, newest.action === 'promote' || role === 'Promoted' ? 'Promoted' : (role ?? 'Started'));
  }
  return [...active].map(([instance, role]) => ({ instance, role }));
}

export class LocalNode {
  history: ResourceHistory[] = [];
  failures: FailCount[];
  rev = 0;
  private config: ClusterConfig;
  private readonly monitors: RecurringMonitors;
  private readonly kill = unboundedSignal();
  private readonly inflight = new Map<string, Promise<ActionResult>>();
  /** Per local instance, the end of its last queued action: the next one waits for it. */
  private readonly queue = new Map<string, Promise<void>>();
  /** Per local instance, the start or promote running now, to give up with `abortStarts` (and to abort when the daemon stops). */
  private readonly abortable = new Map<string, AbortController>();
  /** The ones `abortStarts` gave up (as opposed to aborted because the daemon stops). */
  private readonly givenUp = new WeakSet<AbortController>();
  /** Agent actions running now, and the ones waiting for a free slot (NODE_ACTION_LIMIT). */
  private running = 0;
  /** State directories already made. */
  private readonly dirs = new Set<string>();
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly deps: LocalNodeDeps,
    config: ClusterConfig,
    failures: readonly FailCount[],
  ) {
    this.config = config;
    this.failures = [...failures];
    this.monitors = new RecurringMonitors({
      agents: deps.agents,
      config,
      node: deps.node,
      runner: deps.runner,
      clock: deps.clock,
      logger: deps.logger,
      stateRoot: deps.stateRoot,
      ...(deps.keyFile !== undefined ? { keyFile: deps.keyFile } : {}),
    });
    this.monitors.on('action-finished', (e) => {
      if (e.record && !e.succeeded) this.record(e.record);
      else if (e.record && e.result.report !== undefined) this.report(e.record);
    });
    this.monitors.on('monitor-failed', (e) => deps.onMonitorFailure(e.instance, e.result.reason ?? e.result.outcome));
  }

  setConfig(config: ClusterConfig): void {
    this.config = config;
    this.monitors.update(activeRoles(this.history), config);
  }

  /**
   * Runs one action (each key once; a repeated key gets the same result). `silent`: publish no
   * action events (the coordinator's transition executor already publishes its own actions).
   */
  run(key: string, action: GraphAction, silent = false): Promise<ActionResult> {
    const known = this.inflight.get(key);
    if (known) return known;
    const p = this.execute(action, silent);
    this.inflight.set(key, p);
    if (this.inflight.size > 2000) this.inflight.delete(this.inflight.keys().next().value as string);
    return p;
  }

  private async execute(action: GraphAction, silent: boolean): Promise<ActionResult> {
    // One operation of an instance at a time: its recurring monitors wait for this action.
    const instance =
      action.resource !== undefined && action.kind !== 'fence' && action.kind !== 'pseudo'
        ? localInstanceId(findPrimitive(this.config, action.resource, action.primitive), action.resource)
        : undefined;
    // ... and after the instance's previous action (an agent never runs two actions of an instance at once).
    const previous = instance !== undefined ? this.queue.get(instance) : undefined;
    let finished!: () => void;
    const mine = new Promise<void>((resolve) => {
      finished = resolve;
    });
    if (instance !== undefined) this.queue.set(instance, mine);
    try {
      if (previous) await previous;
      return await this.executeInOrder(action, silent, instance);
    } finally {
      finished();
      if (instance !== undefined && this.queue.get(instance) === mine) this.queue.delete(instance);
    }
  }

  private async executeInOrder(action: GraphAction, silent: boolean, instance: string | undefined): Promise<ActionResult> {
    const release = instance !== undefined ? await this.monitors.hold(instance) : undefined;
    // Recorded as pending while it runs (Pacemaker's record-pending): a coordinator that plans
    // meanwhile — a new one after the membership changed, whose own view never sent this action —
    // sees the instance as possibly active here and does not start it elsewhere as well.
    if (instance !== undefined && PENDING_RECORDED.has(action.kind)) {
      const entry = findPrimitive(this.config, action.resource!, action.primitive);
      const agent = entry?.primitive.agent ?? action.definition?.agent;
      this.record({
        node: this.deps.node,
        instance,
        at: this.deps.clock.now(),
        op: { action: action.kind, interval: 0, ...(agent !== undefined ? { agent } : {}) },
        result: { execution: 'cancelled', outcome: 'generic-error', reason: `${action.kind} in progress` },
      });
    }
    const giveUp = instance !== undefined && ABORTABLE.has(action.kind) ? new AbortController() : undefined;
    if (giveUp && this.kill.signal.aborted) giveUp.abort(this.kill.signal.reason);
    if (giveUp) this.abortable.set(instance!, giveUp);
    try {
      return await this.executeHeld(action, silent, giveUp);
    } finally {
      if (giveUp && this.abortable.get(instance!) === giveUp) this.abortable.delete(instance!);
      if (release) {
        release();
        this.updateMonitors(instance!);
      }
    }
  }

  /**
   * Gives up every start and promote under way: their agents' signals abort (an agent then ends
   * what it began, as on a timeout) and the result is recorded as an unknown outcome (pending: not
   * a failure, and possibly active until a stop has run). For a node that must stop everything (no permission to run): a start
   * that takes longer than the peer's grace would otherwise finish, and its stop run, after the
   * peer took the resource over. Returns the instances given up.
   */
  abortStarts(reason: string): string[] {
    for (const c of this.abortable.values()) {
      if (!c.signal.aborted) this.givenUp.add(c);
      c.abort(new Error(reason));
    }
    return [...this.abortable.keys()];
  }

  /**
   * Stops everything active here, demoting what is promoted first. What to stop includes the starts
   * and promotes under way (pending), whose stops queue behind them; giving those up makes the stops
   * run now rather than once the starts have finished. `key` names each action (unique per incarnation).
   */
  async stopAll(reason: string, key: (instance: string, kind: 'demote' | 'stop') => string): Promise<void> {
    const node = this.deps.node;
    const targets = toStop(this.history);
    const givenUp = this.abortStarts(reason);
    if (givenUp.length > 0) this.deps.logger.warn('giving up actions under way to stop everything', { reason, instances: givenUp });
    for (const t of targets) {
      const base = { resource: t.instance, node, interval: 0, reason, runnable: true } as const;
      if (t.role === 'Promoted') await this.run(key(t.instance, 'demote'), { ...base, id: `${t.instance}_demote_0 ${node}`, kind: 'demote' });
      await this.run(key(t.instance, 'stop'), { ...base, id: `${t.instance}_stop_0 ${node}`, kind: 'stop' });
    }
  }

  private async executeHeld(action: GraphAction, silent: boolean, giveUp: AbortController | undefined): Promise<ActionResult> {
    if (this.running >= NODE_ACTION_LIMIT) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running += 1;
    try {
      return await this.executeAgent(action, silent, giveUp);
    } finally {
      this.running -= 1;
      this.waiting.shift()?.();
    }
  }

  private async executeAgent(action: GraphAction, silent: boolean, giveUp: AbortController | undefined): Promise<ActionResult> {
    // A start's signal is its give-up controller's (dispose aborts those too): one signal per action.
    const killSignal = giveUp?.signal ?? this.kill.signal;
    const report = await executeAction(
      { ...action, runnable: true },
      {
        agents: this.deps.agents,
        config: this.config,
        node: this.deps.node,
        runner: this.deps.runner,
        clock: this.deps.clock,
        logger: this.deps.logger,
        stateRoot: this.deps.stateRoot,
        ...(silent ? {} : { events: this.deps.events }),
        killSignal,
        ensureStateDir: async (dir) => {
          if (this.dirs.has(dir)) return; // made once (an action per resource, hundreds in a burst)
          await fs.mkdir(dir, { recursive: true });
          this.dirs.add(dir);
        },
        ...(this.deps.keyFile !== undefined ? { keyFile: this.deps.keyFile } : {}),
        ...(this.deps.fencedNodes ? { fencedNodes: this.deps.fencedNodes } : {}),
      },
    );
    // A given-up action's outcome is unknown, whatever its agent answered when it wound down: not a
    // failure (no fail count, no ban here), but possibly active until the stop behind it has run.
    const given = giveUp !== undefined && this.givenUp.has(giveUp) ? (giveUp.signal.reason as Error).message : undefined;
    const cancelled = (r: ActionResult): ActionResult => ({
      execution: 'cancelled',
      outcome: 'generic-error',
      reason: `given up: ${given}; ${r.reason ?? r.outcome}`,
    });
    for (const r of report.records) this.record(given !== undefined ? { ...r, result: cancelled(r.result) } : r);
    const first = report.results[0];
    if (given !== undefined && first?.result) return cancelled(first.result);
    return first?.result ?? { execution: 'error', outcome: 'generic-error', reason: first?.reason ?? 'the action did not run' };
  }

  private record(r: PendingRecord): void {
    const status: ClusterStatus = {
      quorum: true,
      nodes: [
        {
          name: this.deps.node,
          state: 'online',
          standby: false,
          maintenance: false,
          shutdown: false,
          attributes: {},
          history: this.history,
          failures: this.failures,
        },
      ],
    };
    const options = { startFailureIsFatal: this.config.properties.startFailureIsFatal };
    const next = recordResult(status, r.node, r.instance, r.op, r.result, r.at, options).nodes[0]!;
    this.history = next.history; // a new array (recordResult never shares or mutates one)
    this.failures = [...next.failures];
    // An orphan (no longer configured) that stopped is gone: nothing of it is left to report.
    if (r.op.action === 'stop' && r.result.execution === 'done' && r.result.outcome === 'ok' && findPrimitive(this.config, r.instance) === undefined) {
      this.history = this.history.filter((h) => h.resource !== r.instance);
      this.failures = this.failures.filter((f) => f.resource !== r.instance);
    }
    this.rev += 1;
    this.updateMonitors(r.instance);
    this.deps.onChange();
  }

  /** The recurring monitors of one instance, after its history changed (or an action on it ended). */
  private updateMonitors(instance: string): void {
    const h = findHistory(this.history, instance);
    this.monitors.updateOne({ instance, role: h === undefined ? 'Stopped' : cachedRole(h) });
  }

  private report(r: PendingRecord): void {
    const status: ClusterStatus = {
      quorum: true,
      nodes: [
        {
          name: this.deps.node,
          state: 'online',
          standby: false,
          maintenance: false,
          shutdown: false,
          attributes: {},
          history: this.history,
          failures: this.failures,
        },
      ],
    };
    this.history = recordReport(status, r.node, r.instance, r.op.interval, r.result, r.at).nodes[0]!.history;
    this.deps.onReport?.();
  }

  /** Forgets history and fail counts of `resource` (all when undefined): the scheduler probes again. */
  cleanup(resource?: string): boolean {
    const match = (id: string): boolean => resource === undefined || id === resource || id.startsWith(`${resource}:`);
    const before = this.history.length + this.failures.length;
    this.history = this.history.filter((h) => !match(h.resource));
    this.failures = this.failures.filter((f) => !match(f.resource));
    if (this.history.length + this.failures.length === before) return false;
    this.rev += 1;
    this.monitors.update(activeRoles(this.history), this.config);
    this.deps.onChange();
    return true;
  }

  async dispose(): Promise<void> {
    const stopping = new Error('the daemon is stopping');
    this.kill.abort(stopping);
    for (const c of this.abortable.values()) c.abort(stopping);
    await this.monitors.dispose();
  }
}
