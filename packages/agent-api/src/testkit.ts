/**
 * The agent test kit: the checks people run `ocf-tester` for, as a library call. Every agent in
 * `agents/` runs it in its test suite, and `paceline agent test` prints its report.
 *
 *   validate   bad parameters are rejected; good ones pass the schema (and `validate` when present)
 *   probe      a monitor on a clean node reports not-running
 *   start      ok; monitor ok; start again ok (idempotent)
 *   promote    (promotable) promote ok, monitor running-promoted, demote ok, monitor ok — twice
 *   reload     (reloadable) reload ok, monitor still ok
 *   stop       ok; stop again ok (idempotent); monitor not-running
 *   timeouts   every action finished within its timeout
 *   lint       every outcome is one its action may return, errors say why, results are well formed
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResourceAgent } from './agent.js';
import { hasCapability } from './agent.js';
import type { Clock, CommandRunner, Logger } from './context.js';
import { invokeAgent, DEFAULT_ACTION_TIMEOUT_MS, type AgentAction } from './invoke.js';
import { validateParams } from './params.js';
import type { ActionResult, Execution, Outcome } from './result.js';
import { silentLogger } from './logger.js';
import { systemClock } from './clock.js';

export interface TestAgentOptions {
  /** Runs the agent's commands; without one every command reports "not found". */
  readonly runner?: CommandRunner;
  /** Defaults to the wall clock. */
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** The instance's state directory; defaults to a fresh temporary directory, removed afterwards when the resource stopped. */
  readonly stateDir?: string;
  readonly node?: string;
  readonly instance?: string;
  /** Parameter sets the schema must reject, in addition to `{}` when some parameter is required. */
  readonly badParams?: readonly unknown[];
  /** Per-action timeouts in ms (default: the agent's defaultTimeouts, else 20 s). */
  readonly timeouts?: Partial<Record<AgentAction, number>>;
  /** Promote/demote cycles for promotable agents (default 2). */
  readonly promoteCycles?: number;
}

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  readonly name: string;
  readonly status: CheckStatus;
  readonly reason?: string;
  readonly action?: AgentAction;
  readonly result?: ActionResult;
}

export interface AgentTestReport {
  readonly agent: string;
  readonly passed: boolean;
  readonly checks: readonly CheckResult[];
  readonly stateDir: string;
}

const ERROR_OUTCOMES: readonly Outcome[] = ['generic-error', 'invalid-args', 'unimplemented', 'insufficient-privileges', 'not-installed', 'misconfigured'];
const ALL_OUTCOMES: readonly Outcome[] = ['ok', 'not-running', 'running-promoted', 'failed-promoted', 'degraded', 'degraded-promoted', ...ERROR_OUTCOMES];
const EXECUTIONS: readonly Execution[] = ['done', 'timeout', 'cancelled', 'error', 'not-installed', 'not-supported'];

/** The outcomes each action may report (the exit-code lint). Monitors may report anything. */
export const ALLOWED_OUTCOMES: Readonly<Record<AgentAction, readonly Outcome[]>> = {
  start: ['ok', ...ERROR_OUTCOMES],
  stop: ['ok', ...ERROR_OUTCOMES],
  monitor: ALL_OUTCOMES,
  promote: ['ok', ...ERROR_OUTCOMES],
  demote: ['ok', ...ERROR_OUTCOMES],
  reload: ['ok', ...ERROR_OUTCOMES],
  migrate_to: ['ok', ...ERROR_OUTCOMES],
  migrate_from: ['ok', ...ERROR_OUTCOMES],
  validate: ['ok', ...ERROR_OUTCOMES],
  notify: ['ok', ...ERROR_OUTCOMES],
};

const noRunner: CommandRunner = {
  run: (file) =>
    Promise.resolve({ exitCode: null, stdout: '', stderr: `no command runner given to the test kit (wanted ${file})`, timedOut: false, notFound: true }),
};

type TimeoutKey = keyof NonNullable<ResourceAgent['meta']['defaultTimeouts']>;

/** Runs the checks against one agent with one good parameter set. Always tries to leave the resource stopped. */
export async function testAgent(agent: ResourceAgent, params: unknown, options: TestAgentOptions = {}): Promise<AgentTestReport> {
  const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), `paceline-agent-test-${agent.meta.name}-`)));
  const run = new AgentTestRun(agent, options, stateDir);
  // 1. parameters
  const good = run.checkParams(params);
  if (!good.ok) return run.finish();
  if (hasCapability(agent, 'validatable')) await run.expect(good.params, 'validate: accepts the given parameters', 'validate', ['ok']);
  // 2. lifecycle
  await run.lifecycle(good.params);
  return run.finish();
}

/** One testAgent run: the checks so far and every action called (for the timeout and lint checks at the end). */
class AgentTestRun {
  private readonly checks: CheckResult[] = [];
  private readonly calls: { action: AgentAction; result: ActionResult; timeoutMs: number }[] = [];

  constructor(
    private readonly agent: ResourceAgent,
    private readonly options: TestAgentOptions,
    private readonly stateDir: string,
  ) {}

  /** Records a check; false when it failed. */
  private add(c: CheckResult): boolean {
    this.checks.push(c);
    return c.status !== 'fail';
  }

  /** The given parameters pass the schema; `{}` (when a parameter is required) and `badParams` are rejected with an error naming a parameter. */
  checkParams(params: unknown): ReturnType<typeof validateParams> {
    const { agent, options } = this;
    const good = validateParams(agent, params, options.instance ?? 'test');
    this.add(
      good.ok
        ? { name: 'params: the given parameters are valid', status: 'pass' }
        : { name: 'params: the given parameters are valid', status: 'fail', reason: good.message },
    );
    const required = requiredNames(agent);
    const bad = [...(required.length > 0 ? [{}] : []), ...(options.badParams ?? [])];
    if (bad.length === 0)
      this.add({ name: 'params: bad parameters are rejected', status: 'skip', reason: 'every parameter is optional and no badParams were given' });
    for (const b of bad) {
      const r = validateParams(agent, b, options.instance ?? 'test');
      this.add(
        r.ok
          ? { name: `params: rejects ${JSON.stringify(b)}`, status: 'fail', reason: 'the schema accepted it' }
          : r.message.includes('parameter')
            ? { name: `params: rejects ${JSON.stringify(b)}`, status: 'pass', reason: r.message }
            : { name: `params: rejects ${JSON.stringify(b)}`, status: 'fail', reason: `the error does not name a parameter: ${r.message}` },
      );
    }
    return good;
  }

  private timeoutOf(action: AgentAction): number {
    return this.options.timeouts?.[action] ?? this.agent.meta.defaultTimeouts?.[action as TimeoutKey] ?? DEFAULT_ACTION_TIMEOUT_MS;
  }

  private async invoke(p: unknown, action: AgentAction): Promise<ActionResult> {
    const { options } = this;
    const timeoutMs = this.timeoutOf(action);
    const result = await invokeAgent(this.agent, {
      action,
      params: p,
      node: options.node ?? 'test-node',
      instance: options.instance ?? 'test',
      stateDir: this.stateDir,
      run: options.runner ?? noRunner,
      log: options.logger ?? silentLogger,
      clock: options.clock ?? systemClock,
      timeoutMs,
    });
    this.calls.push({ action, result, timeoutMs });
    return result;
  }

  /** Calls `action` and checks that it ran and reported one of `want`; false when not. */
  async expect(p: unknown, name: string, action: AgentAction, want: readonly Outcome[]): Promise<boolean> {
    const r = await this.invoke(p, action);
    const okay = r.execution === 'done' && want.includes(r.outcome);
    return this.add({
      name,
      action,
      result: r,
      status: okay ? 'pass' : 'fail',
      ...(okay ? {} : { reason: `expected ${want.join(' or ')}, got ${describeResult(r)}` }),
    });
  }

  /** Probe, start (twice), promote cycles, reload, stop (twice); stops the resource whatever happened, then removes a state directory the kit made. */
  async lifecycle(p: unknown): Promise<void> {
    const { agent, options } = this;
    const expect = (name: string, action: AgentAction, want: readonly Outcome[]): Promise<boolean> => this.expect(p, name, action, want);
    let started = false;
    try {
      if (!(await expect('probe: monitor on a clean node is not-running', 'monitor', ['not-running']))) return;
      started = true;
      if (!(await expect('start', 'start', ['ok']))) return;
      await expect('monitor after start is ok', 'monitor', ['ok']);
      await expect('start again is ok (idempotent)', 'start', ['ok']);
      await expect('monitor after second start is ok', 'monitor', ['ok']);
      if (hasCapability(agent, 'promotable')) await this.promoteCycles(expect, options.promoteCycles ?? 2);
      else this.add({ name: 'promote/demote', status: 'skip', reason: 'not promotable' });
      if (hasCapability(agent, 'reloadable')) {
        await expect('reload', 'reload', ['ok']);
        await expect('monitor after reload is ok', 'monitor', ['ok']);
      } else this.add({ name: 'reload', status: 'skip', reason: 'not reloadable' });
      if (await expect('stop', 'stop', ['ok'])) started = false;
      await expect('stop again is ok (idempotent)', 'stop', ['ok']);
      await expect('monitor after stop is not-running', 'monitor', ['not-running']);
    } finally {
      if (started) {
        const r = await this.invoke(p, 'stop');
        if (r.execution === 'done' && r.outcome === 'ok') started = false;
      }
      // A state directory the kit made itself goes away once the resource is stopped.
      if (options.stateDir === undefined && !started) await rm(this.stateDir, { recursive: true, force: true });
    }
  }

  private async promoteCycles(expect: (name: string, action: AgentAction, want: readonly Outcome[]) => Promise<boolean>, cycles: number): Promise<void> {
    for (let i = 1; i <= cycles; i++) {
      if (!(await expect(`promote (cycle ${i})`, 'promote', ['ok']))) break;
      await expect(`monitor after promote is running-promoted (cycle ${i})`, 'monitor', ['running-promoted']);
      if (i === 1) await expect('promote again is ok (idempotent)', 'promote', ['ok']);
      if (!(await expect(`demote (cycle ${i})`, 'demote', ['ok']))) break;
      await expect(`monitor after demote is ok (cycle ${i})`, 'monitor', ['ok']);
    }
  }

  /** The checks over every call (timeouts, lint) and the report. */
  finish(): AgentTestReport {
    const { calls } = this;
    const late = calls.filter((c) => c.result.execution === 'timeout' || (c.result.durationMs ?? 0) > c.timeoutMs);
    this.add(
      late.length === 0
        ? { name: 'timeouts: every action finished within its timeout', status: calls.length ? 'pass' : 'skip' }
        : {
            name: 'timeouts: every action finished within its timeout',
            status: 'fail',
            reason: late.map((c) => `${c.action} took ${c.result.durationMs} ms (timeout ${c.timeoutMs} ms)`).join('; '),
          },
    );
    const problems = calls.flatMap((c) => lint(c.action, c.result));
    this.add(
      problems.length === 0
        ? { name: 'lint: outcomes allowed for each action, errors give a reason', status: calls.length ? 'pass' : 'skip' }
        : { name: 'lint: outcomes allowed for each action, errors give a reason', status: 'fail', reason: [...new Set(problems)].join('; ') },
    );
    return { agent: this.agent.meta.name, passed: this.checks.every((c) => c.status !== 'fail'), checks: this.checks, stateDir: this.stateDir };
  }
}

/** Problems with one result: unknown execution/outcome, an outcome its action may not report, an error without a reason. */
export function lint(action: AgentAction, r: ActionResult): string[] {
  const out: string[] = [];
  if (!EXECUTIONS.includes(r.execution)) out.push(`${action}: unknown execution "${String(r.execution)}"`);
  if (!ALL_OUTCOMES.includes(r.outcome)) out.push(`${action}: unknown outcome "${String(r.outcome)}"`);
  else if (r.execution === 'done' && supportsActionName(action) && !ALLOWED_OUTCOMES[action].includes(r.outcome))
    out.push(`${action} may not report ${r.outcome}`);
  if (r.execution === 'done' && ERROR_OUTCOMES.includes(r.outcome) && !r.reason) out.push(`${action}: ${r.outcome} without a reason`);
  return out;
}

function supportsActionName(action: string): action is AgentAction {
  return action in ALLOWED_OUTCOMES;
}

function requiredNames(agent: ResourceAgent): string[] {
  const r = agent.params.safeParse({});
  return r.success ? [] : r.error.issues.map((i) => i.path.map(String).join('.'));
}

export function describeResult(r: ActionResult): string {
  const base = r.execution === 'done' ? r.outcome : `${r.execution} (${r.outcome})`;
  return r.reason ? `${base}: ${r.reason}` : base;
}

/** One line per check: `PASS start`, `FAIL stop: expected ok, got generic-error: ...`. */
export function formatReport(report: AgentTestReport): string {
  const lines = report.checks.map((c) => `${c.status.toUpperCase().padEnd(4)} ${c.name}${c.reason && c.status !== 'pass' ? ` — ${c.reason}` : ''}`);
  const failedCount = report.checks.filter((c) => c.status === 'fail').length;
  lines.push(report.passed ? `agent ${report.agent}: all checks passed` : `agent ${report.agent}: ${failedCount} check(s) failed`);
  return lines.join('\n');
}
