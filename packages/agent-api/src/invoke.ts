/**
 * Calling one agent action with a deadline: the one place that turns "the agent threw", "the
 * deadline passed", "the capability is missing" into two-axis results. Used by the executor, the
 * recurring monitors and the test kit, so all three agree.
 */
import { MonitorReport } from '@paceline/model';
import type { ResourceAgent, Notification } from './agent.js';
import { hasCapability } from './agent.js';
import type { AgentContext, Clock, CommandRunner, Logger } from './context.js';
import { isActionResult, type ActionResult, type Execution, type Outcome } from './result.js';
import { processBackgroundTasks, type BackgroundTaskSet } from './background.js';

/** The actions an agent can be asked to run (OCF names). */
export type AgentAction = 'start' | 'stop' | 'monitor' | 'promote' | 'demote' | 'reload' | 'migrate_to' | 'migrate_from' | 'validate' | 'notify';

export const AGENT_ACTIONS: readonly AgentAction[] = [
  'start',
  'stop',
  'monitor',
  'promote',
  'demote',
  'reload',
  'migrate_to',
  'migrate_from',
  'validate',
  'notify',
];

/** The default timeout of an action when neither the operation nor the agent says otherwise. */
export const DEFAULT_ACTION_TIMEOUT_MS = 20_000;

export interface InvokeRequest {
  readonly action: AgentAction;
  /** Parsed (validated) parameters. */
  readonly params: unknown;
  readonly node: string;
  readonly instance: string;
  readonly stateDir: string;
  readonly run: CommandRunner;
  readonly log: Logger;
  readonly clock: Clock;
  /** Milliseconds the action may take; then its signal is aborted and the result is a timeout. */
  readonly timeoutMs: number;
  /** Recurring interval (monitors), 0 otherwise. */
  readonly interval?: number;
  /** Cancels the action (the transition was aborted or the daemon is stopping). */
  readonly signal?: AbortSignal;
  /** Pacemaker-style meta attributes (clone_max, notify ...). */
  readonly meta?: Readonly<Record<string, string>>;
  /** migrate_to: the target node; migrate_from: the source node. */
  readonly peer?: string;
  readonly notification?: Notification;
  /** The daemon's cluster key file (AgentContext.keyFile). */
  readonly keyFile?: string;
  /** Nodes known to be powered off (AgentContext.fencedNodes). */
  readonly fencedNodes?: readonly string[];
  /** Where actions leave background work (AgentContext.background); default the process's `processBackgroundTasks`. */
  readonly background?: BackgroundTaskSet;
}

const result = (execution: Execution, outcome: Outcome, reason: string, durationMs: number): ActionResult => ({
  execution,
  outcome,
  reason,
  durationMs,
});

/** Whether the agent implements `action`. */
export function supportsAction(agent: ResourceAgent, action: AgentAction): boolean {
  switch (action) {
    case 'start':
    case 'stop':
    case 'monitor':
      return true;
    case 'promote':
    case 'demote':
      return hasCapability(agent, 'promotable');
    case 'reload':
      return hasCapability(agent, 'reloadable');
    case 'migrate_to':
    case 'migrate_from':
      return hasCapability(agent, 'migratable');
    case 'validate':
      return hasCapability(agent, 'validatable');
    case 'notify':
      return hasCapability(agent, 'notifiable');
  }
}

function call(agent: ResourceAgent, req: InvokeRequest, ctx: AgentContext): Promise<ActionResult> {
  const p = req.params as never;
  switch (req.action) {
    case 'start':
      return agent.start(p, ctx);
    case 'stop':
      return agent.stop(p, ctx);
    case 'monitor':
      return agent.monitor(p, ctx);
    case 'promote':
      if (hasCapability(agent, 'promotable')) return agent.promote(p, ctx);
      break;
    case 'demote':
      if (hasCapability(agent, 'promotable')) return agent.demote(p, ctx);
      break;
    case 'reload':
      if (hasCapability(agent, 'reloadable')) return agent.reload(p, ctx);
      break;
    case 'validate':
      if (hasCapability(agent, 'validatable')) return agent.validate(p, ctx);
      break;
    case 'migrate_to':
      if (hasCapability(agent, 'migratable')) return agent.migrateTo(p, { ...ctx, target: req.peer ?? '' });
      break;
    case 'migrate_from':
      if (hasCapability(agent, 'migratable')) return agent.migrateFrom(p, { ...ctx, source: req.peer ?? '' });
      break;
    case 'notify':
      if (hasCapability(agent, 'notifiable') && req.notification) return agent.notify(p, { ...ctx, notification: req.notification });
      break;
  }
  return Promise.resolve(result('not-supported', 'unimplemented', `agent ${agent.meta.name} does not implement ${req.action}`, 0));
}

/**
 * A result's report, checked against MonitorReport (strict, bounded): an invalid one is an agent
 * bug, not a failure of the resource, so it is dropped with a warning naming what is wrong.
 */
function checkedReport(r: ActionResult, req: InvokeRequest): ActionResult {
  if (r.report === undefined) return r;
  const parsed = MonitorReport.safeParse(r.report);
  if (parsed.success) return { ...r, report: parsed.data };
  const issue = parsed.error.issues[0];
  req.log.warn(
    `${req.action} of ${req.instance} returned an invalid report (dropped): ${issue ? `${issue.path.join('.') || 'report'}: ${issue.message}` : 'invalid'}`,
  );
  const { report: _dropped, ...rest } = r;
  void _dropped;
  return rest;
}

/** Why an action's deadline timer is cleared: it finished first. */
const FINISHED = new Error('the action finished before its deadline');

/**
 * The agent's signal, made when the agent first reads it (most never do: a dummy, a quick check):
 * an AbortController and a listener on the long-lived cancellation signal per action were a good
 * part of what an action cost the daemon beyond its agent.
 */
class AgentSignal {
  private controller: AbortController | undefined;
  private onAbort: (() => void) | undefined;
  private expired = false;

  constructor(private readonly cancel: AbortSignal | undefined) {}

  get signal(): AbortSignal {
    if (this.controller !== undefined) return this.controller.signal;
    const c = (this.controller = new AbortController());
    const cancel = this.cancel;
    if (this.expired) c.abort(new Error('deadline passed'));
    else if (cancel?.aborted) c.abort(cancel.reason);
    else if (cancel !== undefined) {
      this.onAbort = (): void => c.abort(cancel.reason);
      cancel.addEventListener('abort', this.onAbort, { once: true });
    }
    return c.signal;
  }

  /** The deadline passed: aborted now (or when first read). */
  expire(): void {
    this.expired = true;
    this.controller?.abort(new Error('deadline passed'));
  }

  /** The action ended: no longer listens to the cancellation. */
  release(): void {
    if (this.onAbort !== undefined) this.cancel?.removeEventListener('abort', this.onAbort);
  }
}

/** A promise of `timeout` after `ms`, and `cancel` to clear its timer (the clock's `after` when it has one: no AbortController). */
function deadlineOf(clock: Clock, ms: number): { readonly promise: Promise<{ kind: 'timeout' }>; readonly cancel: () => void } {
  let cancel!: () => void;
  const promise = new Promise<{ kind: 'timeout' }>((resolve) => {
    const timeout = (): void => resolve({ kind: 'timeout' });
    if (clock.after !== undefined) cancel = clock.after(ms, timeout);
    else {
      const timer = new AbortController();
      cancel = () => timer.abort(FINISHED); // (a shared reason: without one, every action would build a DOMException with its stack)
      clock.sleep(ms, timer.signal).then(timeout, timeout);
    }
  });
  return { promise, cancel };
}

/**
 * Runs one action with a deadline. Never throws: an agent that throws gives `execution: 'error'`
 * (outcome unknown), a deadline that passes gives `'timeout'` (the agent's signal is aborted so it
 * can kill what it started), an aborted `signal` gives `'cancelled'`. `durationMs` is filled in.
 */
export async function invokeAgent(agent: ResourceAgent, req: InvokeRequest): Promise<ActionResult> {
  const started = req.clock.now();
  if (!supportsAction(agent, req.action)) return result('not-supported', 'unimplemented', `agent ${agent.meta.name} does not implement ${req.action}`, 0);
  if (req.signal?.aborted) return result('cancelled', 'generic-error', 'cancelled before it started', 0);
  // A stop first ends what the instance's earlier actions left running (a gratuitous-ARP series),
  // waiting a little for it (a task that ignores its signal must not hold the stop).
  const background = req.background ?? processBackgroundTasks;
  const key = `${req.node}/${req.instance}`;
  if (req.action === 'stop' && background.running(key).length > 0) {
    const bound = new AbortController();
    await Promise.race([
      background.cancel(key, 'the instance is being stopped'),
      req.clock.sleep(Math.min(1000, req.timeoutMs / 10), bound.signal).catch(() => undefined),
    ]);
    bound.abort();
  }
  const agentSignal = new AgentSignal(req.signal);
  const ctx: AgentContext = {
    node: req.node,
    instance: req.instance,
    stateDir: req.stateDir,
    run: req.run,
    log: req.log,
    clock: req.clock,
    get signal() {
      return agentSignal.signal;
    },
    deadline: started + req.timeoutMs,
    op: { name: req.action, interval: req.interval ?? 0, timeout: req.timeoutMs },
    ...(req.meta ? { meta: req.meta } : {}),
    ...(req.keyFile !== undefined ? { keyFile: req.keyFile } : {}),
    ...(req.fencedNodes !== undefined ? { fencedNodes: req.fencedNodes } : {}),
    background: background.scope(key, req.log),
  };
  type Race = { kind: 'result'; value: unknown } | { kind: 'threw'; error: unknown } | { kind: 'timeout' };
  const running: Promise<Race> = (async () => call(agent, req, ctx))().then(
    (value): Race => ({ kind: 'result', value }),
    (error: unknown): Race => ({ kind: 'threw', error }),
  );
  const deadline = deadlineOf(req.clock, req.timeoutMs);
  // A cancellation aborts the agent's signal and gives it the rest of its timeout to wind down:
  // its own result wins if it returns in time (an agent may report 'cancelled' itself).
  const first = await Promise.race([running, deadline.promise]);
  const duration = req.clock.now() - started;
  deadline.cancel();
  agentSignal.release();
  switch (first.kind) {
    case 'timeout':
      agentSignal.expire();
      return result('timeout', 'generic-error', `${req.action} did not finish within ${req.timeoutMs} ms`, duration);
    case 'threw': {
      const e = first.error;
      return result('error', 'generic-error', `${req.action} threw: ${e instanceof Error ? e.message : String(e)}`, duration);
    }
    case 'result': {
      if (!isActionResult(first.value)) return result('error', 'generic-error', `${req.action} returned something that is not an ActionResult`, duration);
      return { ...checkedReport(first.value, req), durationMs: duration };
    }
  }
}
