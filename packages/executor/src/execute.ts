/**
 * Runs a transition graph through agents. An action starts when all its predecessors succeeded;
 * independent actions run in parallel up to a limit; each has a timeout and an AbortSignal. A
 * failed action stops its dependents (reported not run). Aborting the run (a newer transition
 * replaces this one) starts nothing new: in-flight actions finish or time out, the rest are
 * reported cancelled and nothing is recorded for them. Results come back as data
 * (`ExecutionReport.records`) for `recordAll` to write into the status.
 */
import type { ClusterConfig, FenceType, GraphAction, Operation, PrimitiveEntry, Transition } from '@paceline/model';
import {
  invokeAgent,
  resolveForAction,
  supportsAction,
  validateParams,
  type ActionResult,
  type AgentAction,
  type AgentResolver,
  type Clock,
  type CommandRunner,
  type Logger,
  type Notification,
} from '@paceline/agent-api';
import { OcfRc, Primitive, operationParams, paramsDigest } from '@paceline/model';
import type { ExecutorEvents } from './events.js';
import { findOperation, findPrimitive, localInstanceId, metaFor, stateDirFor, timeoutFor } from './lookup.js';
import { ReadyQueue, walkGraph, type WalkGraph } from './graph.js';
import { isFailure, metExpectation, type PendingRecord, type RecordedOp } from './record.js';

export interface ExecutorDeps {
  readonly agents: AgentResolver;
  readonly config: ClusterConfig;
  /** Run only this node's actions here; others go to `remote`. Unset: run every node's actions here (simulation, tests). */
  readonly node?: string;
  readonly runner: CommandRunner;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Instances keep their state under STATE_ROOT/NODE/INSTANCE. */
  readonly stateRoot: string;
  /** Agent actions in flight at once (default: the cluster's batchLimit, else 8). */
  readonly concurrency?: number;
  readonly events?: ExecutorEvents;
  /** Creates an instance's state directory before its first action (the daemon passes an fs-backed one). */
  readonly ensureStateDir?: (dir: string) => Promise<void>;
  /** Runs an action on another node (the daemon dispatches it); without it those actions are not run. */
  readonly remote?: (action: GraphAction, signal: AbortSignal) => Promise<ActionResult>;
  /** Fences a node; without it fencing actions are not run. */
  readonly fence?: (node: string, type: FenceType, signal: AbortSignal) => Promise<ActionResult>;
  /** Aborting this cancels in-flight agent calls too (daemon shutdown); their outcome is recorded as unknown. */
  readonly killSignal?: AbortSignal;
  /** Label for logs and events. */
  readonly transition?: string | number;
  /** The daemon's cluster key file, passed to agents (AgentContext.keyFile). */
  readonly keyFile?: string;
  /** Nodes fencing confirmed powered off (and not back), asked when an action starts (AgentContext.fencedNodes). */
  readonly fencedNodes?: () => readonly string[];
}

export type ActionState = 'succeeded' | 'failed' | 'not-run' | 'cancelled';

export interface ActionReport {
  readonly id: string;
  readonly action: GraphAction;
  readonly state: ActionState;
  readonly result?: ActionResult;
  /** Why it failed, or why it did not run. */
  readonly reason?: string;
  readonly startedAt?: number;
  readonly finishedAt?: number;
  readonly record?: PendingRecord;
}

export interface ExecutionReport {
  /** One report per graph action, in graph order. */
  readonly results: readonly ActionReport[];
  /** Results to write into the status, in completion order. */
  readonly records: readonly PendingRecord[];
  /** Every action succeeded. */
  readonly succeeded: boolean;
  /** The run was aborted before everything ran. */
  readonly aborted: boolean;
}

const AGENT_ACTION: Partial<Record<GraphAction['kind'], AgentAction>> = {
  start: 'start',
  stop: 'stop',
  monitor: 'monitor',
  probe: 'monitor',
  promote: 'promote',
  demote: 'demote',
  migrate_to: 'migrate_to',
  migrate_from: 'migrate_from',
  reload: 'reload',
  notify: 'notify',
};

type Done = Omit<ActionReport, 'id' | 'action'>;

/** Runs `graph`. Never throws for agent problems: they are results. */
export async function executeTransition(graph: Transition, deps: ExecutorDeps, signal?: AbortSignal): Promise<ExecutionReport> {
  const log = deps.logger.child(deps.transition !== undefined ? { transition: deps.transition } : {});
  return new GraphRun(graph, deps, log).run(signal);
}

const NO_GRAPH: Transition = { current: [], placement: [], actions: [], edges: [], summary: [], explanation: { scores: [], decisions: [] }, warnings: [] };

/**
 * Runs one action, as `executeTransition` would run a graph of that action alone, without building
 * the graph's machinery (what a node does for each action the coordinator sends it: thousands in a
 * burst). Never throws for agent problems: they are results.
 */
export async function executeAction(action: GraphAction, deps: ExecutorDeps): Promise<ExecutionReport> {
  const log = deps.logger.child(deps.transition !== undefined ? { transition: deps.transition } : {});
  const d = immediateOutcome(action, deps) ?? (await runOne(action, NO_GRAPH, deps, log));
  return { results: [{ id: action.id, action, ...d }], records: d.record ? [d.record] : [], succeeded: d.state === 'succeeded', aborted: false };
}

/**
 * One run of a graph. Readiness is kept in O(1) per completion: `unmet[i]` counts the
 * predecessors not yet succeeded, `open[i]` is 1 while the action is neither done nor in flight,
 * and an action whose last predecessor succeeds joins the ready queue (rescanning the whole graph
 * at every completion was the coordinator's hottest spot in a 4,000-action transition).
 */
class GraphRun {
  private readonly actions: readonly GraphAction[];
  private readonly g: WalkGraph;
  private readonly limit: number;
  private readonly done = new Map<string, Done>();
  private readonly records: PendingRecord[] = [];
  private readonly open: Uint8Array;
  private readonly unmet: Int32Array;
  /** Ready actions that run an agent (or fence), and ready ones that complete at once. */
  private readonly ready = new ReadyQueue();
  private readonly immediate: number[] = [];
  private readonly inFlight = new Set<number>();
  private aborted = false;
  /** Wakes the run when an action in flight completes. */
  private wake: (() => void) | undefined;

  constructor(
    private readonly graph: Transition,
    private readonly deps: ExecutorDeps,
    private readonly log: Logger,
  ) {
    this.actions = graph.actions;
    this.g = walkGraph(graph, deps.config, log);
    this.limit = Math.max(1, deps.concurrency ?? (deps.config.properties.batchLimit > 0 ? deps.config.properties.batchLimit : 8));
    this.open = new Uint8Array(this.actions.length).fill(1);
    this.unmet = Int32Array.from(this.g.preds);
  }

  async run(signal: AbortSignal | undefined): Promise<ExecutionReport> {
    this.unmet.forEach((n, i) => n === 0 && this.becomeReady(i));
    for (;;) {
      if (signal?.aborted && !this.aborted) this.abortRest();
      if (!this.aborted) this.startReady();
      if (this.inFlight.size === 0) break;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    const results = this.actions.map((a): ActionReport => {
      const d = this.done.get(a.id) ?? { state: 'not-run', reason: 'its predecessors never completed (ordering cycle?)' };
      return { id: a.id, action: a, ...d };
    });
    return { results, records: this.records, succeeded: results.every((r) => r.state === 'succeeded'), aborted: this.aborted };
  }

  private becomeReady(i: number): void {
    if (immediateOutcome(this.actions[i]!, this.deps) !== undefined) this.immediate.push(i);
    else this.ready.push(i);
  }

  /** Completes what completes at once, then starts ready actions up to the limit. */
  private startReady(): void {
    for (;;) {
      const i = this.immediate.shift();
      if (i !== undefined) {
        if (this.open[i] === 1) this.finish(i, immediateOutcome(this.actions[i]!, this.deps)!);
        continue;
      }
      if (this.inFlight.size >= this.limit || this.ready.size === 0) return;
      const r = this.ready.pop()!;
      if (this.open[r] === 1) this.start(r);
    }
  }

  private start(i: number): void {
    this.open[i] = 0;
    this.inFlight.add(i);
    void runOne(this.actions[i]!, this.graph, this.deps, this.log).then((d) => {
      this.inFlight.delete(i);
      this.finish(i, d);
      this.wake?.();
    });
  }

  private finish(i: number, d: Done): void {
    const id = this.actions[i]!.id;
    this.done.set(id, d);
    this.open[i] = 0;
    if (d.record) this.records.push(d.record);
    if (d.state === 'succeeded') {
      for (const s of this.g.succs[i]!) if ((this.unmet[s]! -= 1) === 0 && this.open[s] === 1) this.becomeReady(s);
      return;
    }
    // Dependents of a failed, unrun or cancelled action cannot run.
    const stack = [...this.g.succs[i]!];
    while (stack.length) {
      const s = stack.pop()!;
      const sid = this.actions[s]!.id;
      if (this.done.has(sid) || this.inFlight.has(s)) continue;
      this.done.set(sid, { state: d.state === 'cancelled' ? 'cancelled' : 'not-run', reason: `${id} ${d.state}` });
      this.open[s] = 0;
      stack.push(...this.g.succs[s]!);
    }
  }

  /** The run was aborted: nothing new starts; what is neither done nor in flight is cancelled. */
  private abortRest(): void {
    this.aborted = true;
    this.actions.forEach((a, i) => {
      if (this.done.has(a.id) || this.inFlight.has(i)) return;
      this.done.set(a.id, { state: 'cancelled', reason: 'the transition was aborted' });
      this.open[i] = 0;
    });
  }
}

/** Actions that complete without running anything: pseudo actions, blocked ones, ones nobody here can run. */
function immediateOutcome(a: GraphAction, deps: ExecutorDeps): Done | undefined {
  if (!a.runnable) return { state: 'not-run', reason: `blocked: ${a.reason}` };
  if (a.kind === 'pseudo') return { state: 'succeeded' };
  if (a.kind === 'fence') return deps.fence ? undefined : { state: 'not-run', reason: 'no fencing available to this executor' };
  if (deps.node !== undefined && a.node !== deps.node && !deps.remote)
    return { state: 'not-run', reason: `runs on ${a.node ?? '(no node)'} and no remote dispatcher is configured` };
  if (!a.resource || !a.node || !AGENT_ACTION[a.kind]) return { state: 'failed', reason: `action ${a.id} names no resource or node` };
  return undefined;
}

async function runOne(a: GraphAction, graph: Transition, deps: ExecutorDeps, log: Logger): Promise<Done> {
  const startedAt = deps.clock.now();
  const signal = deps.killSignal ?? new AbortController().signal;
  if (a.kind === 'fence') return runFence(a, deps, signal, startedAt);
  const node = a.node!;
  const action = AGENT_ACTION[a.kind]!;
  // A resource removed from the configuration (an orphan) runs with its last known definition.
  const entry = findPrimitive(deps.config, a.resource!, a.primitive) ?? orphanEntry(a);
  const instance = localInstanceId(entry, a.resource!);
  const opName = action;
  // A probe uses the interval-0 monitor operation's settings, when there is one.
  const configuredOp = entry ? findOperation(entry, opName, a.interval) : undefined;
  const rawParams = entry ? operationParams(entry.primitive, node, configuredOp) : undefined;
  const op: RecordedOp = {
    action: opName,
    interval: a.interval,
    expectedRc: a.kind === 'probe' ? OcfRc.NOT_RUNNING : a.kind === 'monitor' && configuredOp?.role === 'Promoted' ? OcfRc.RUNNING_PROMOTED : OcfRc.SUCCESS,
    ...(entry ? { agent: entry.primitive.agent, digest: paramsDigest(rawParams!) } : {}),
    // The definition the instance runs with, kept in its history for the day it becomes an orphan.
    ...(entry && !(opName === 'monitor' && a.interval > 0) ? { params: operationParams(entry.primitive, node, undefined) } : {}),
    ...(a.kind === 'migrate_to' || a.kind === 'migrate_from' ? migration(graph, a.resource!) : {}),
  };
  const event = {
    id: a.id,
    node,
    instance,
    action: opName,
    interval: a.interval,
    at: startedAt,
    ...(deps.transition !== undefined ? { transition: deps.transition } : {}),
  };
  const alog = log.child({ node, resource: instance, action: a.kind });
  deps.events?.emit('action-started', event);

  const result = await actionResult({ a, deps, node, action, entry, instance, configuredOp, rawParams, op, signal, log: alog });
  const finishedAt = deps.clock.now();
  const record: PendingRecord = { node, instance, op, result, at: finishedAt };
  const succeeded = a.kind === 'notify' ? result.execution === 'done' : metExpectation(op, result);
  const fields = { outcome: result.outcome, execution: result.execution, durationMs: result.durationMs, ...(result.reason ? { reason: result.reason } : {}) };
  if (succeeded) alog.info(`${a.kind} ${result.outcome}`, fields);
  else if (isFailure(op, result)) alog.warn(`${a.kind} failed`, fields);
  else alog.info(`${a.kind} found ${result.outcome}`, fields);
  deps.events?.emit('action-finished', { ...event, result, succeeded, record });
  return {
    state: succeeded ? 'succeeded' : 'failed',
    result,
    startedAt,
    finishedAt,
    record,
    ...(succeeded ? {} : { reason: describeUnexpected(a, result) }),
  };
}

/** A fencing action: the executor's fence port, whose result is the action's. */
async function runFence(a: GraphAction, deps: ExecutorDeps, signal: AbortSignal, startedAt: number): Promise<Done> {
  const result = await deps.fence!(a.node!, a.fenceType ?? 'reboot', signal).catch(threw);
  const ok = result.execution === 'done' && result.outcome === 'ok';
  return {
    state: ok ? 'succeeded' : 'failed',
    result,
    startedAt,
    finishedAt: deps.clock.now(),
    ...(ok ? {} : { reason: result.reason ?? 'fencing failed' }),
  };
}

/** One resource action, as runOne prepared it. */
interface ActionCall {
  readonly a: GraphAction;
  readonly deps: ExecutorDeps;
  readonly node: string;
  readonly action: AgentAction;
  /** The primitive in the configuration (or an orphan's last definition); undefined: neither. */
  readonly entry: PrimitiveEntry | undefined;
  readonly instance: string;
  readonly configuredOp: Operation | undefined;
  /** The agent parameters before validation (present when `entry` is). */
  readonly rawParams: Record<string, unknown> | undefined;
  readonly op: RecordedOp;
  readonly signal: AbortSignal;
  readonly log: Logger;
}

/**
 * What a resource action came to: run by the node's own executor (`remote`) when it is another
 * node's, otherwise by its agent here — unless the primitive, the agent or valid parameters are
 * missing, or the agent takes no notifications. An agent that throws is an error result.
 */
async function actionResult(c: ActionCall): Promise<ActionResult> {
  const { a, deps, node, action, entry, instance, op, signal } = c;
  if (deps.node !== undefined && node !== deps.node) return deps.remote!(a, signal).catch(threw);
  if (!entry) return { execution: 'done', outcome: 'misconfigured', reason: `no primitive "${a.primitive ?? a.resource}" in the configuration` };
  const found = await resolveForAction(deps.agents, entry.primitive.agent, { modules: deps.config.agents ?? [] }, node);
  if ('result' in found) return found.result;
  const agent = found.agent;
  const params = validateParams(agent, c.rawParams!, instance);
  if (!params.ok) return params.result;
  if (action === 'notify' && !supportsAction(agent, 'notify')) return { execution: 'done', outcome: 'ok', reason: 'agent does not take notifications' };
  const stateDir = stateDirFor(deps.stateRoot, node, instance);
  try {
    // A probe only looks: the directory is made by the first action that may write there (a cold
    // start probes every resource on every node: a thousand directories each, most never used).
    if (a.kind !== 'probe') await deps.ensureStateDir?.(stateDir);
    return await invokeAgent(agent, {
      action,
      params: params.params,
      node,
      instance,
      stateDir,
      run: deps.runner,
      log: c.log,
      clock: deps.clock,
      timeoutMs: timeoutFor(deps.config, agent, action, a.timeout, c.configuredOp),
      interval: a.interval,
      signal,
      meta: metaFor(deps.config, entry),
      ...(a.kind === 'migrate_to' ? { peer: op.migrateTarget ?? '' } : a.kind === 'migrate_from' ? { peer: op.migrateSource ?? '' } : {}),
      ...(action === 'notify' ? { notification: notificationOf(a) } : {}),
      ...(deps.keyFile !== undefined ? { keyFile: deps.keyFile } : {}),
      ...(deps.fencedNodes ? { fencedNodes: deps.fencedNodes() } : {}),
    });
  } catch (e) {
    return threw(e);
  }
}

/** A primitive entry for an orphan's action from the definition the graph carries (its node's history). */
function orphanEntry(a: GraphAction): PrimitiveEntry | undefined {
  const d = a.definition;
  if (d === undefined) return undefined;
  const r = Primitive.safeParse({ type: 'primitive', id: a.primitive ?? a.resource, agent: d.agent, params: d.params });
  return r.success ? { primitive: r.data, path: `(orphan ${a.resource ?? ''}: its last known definition)` } : undefined;
}

function describeUnexpected(a: GraphAction, r: ActionResult): string {
  const what = r.execution === 'done' ? r.outcome : r.execution;
  if (a.kind === 'probe' && r.execution === 'done') return `probe found ${what}${r.reason ? `: ${r.reason}` : ''} (the transition must be recomputed)`;
  return `${a.kind} ${what}${r.reason ? `: ${r.reason}` : ''}`;
}

function threw(e: unknown): ActionResult {
  return { execution: 'error', outcome: 'generic-error', reason: e instanceof Error ? e.message : String(e) };
}

function migration(graph: Transition, instance: string): Pick<RecordedOp, 'migrateSource' | 'migrateTarget'> {
  const from = graph.current.find((p) => p.instance === instance)?.node ?? undefined;
  const to = graph.placement.find((p) => p.instance === instance)?.node ?? undefined;
  return { ...(from ? { migrateSource: from } : {}), ...(to ? { migrateTarget: to } : {}) };
}

function notificationOf(a: GraphAction): Notification {
  const type = /\bpre\b|pre_notify|_pre_/.test(a.id) ? 'pre' : 'post';
  const operation = (['start', 'stop', 'promote', 'demote'] as const).find((o) => a.id.includes(o)) ?? 'start';
  return { type, operation, active: [], starting: [], stopping: [], promoting: [], demoting: [] };
}
