/**
 * `paceline:dummy` and `paceline:stateful`: agents for tests and demos that keep their state in a
 * file (like ocf:heartbeat:Dummy and ocf:pacemaker:Stateful). Optional delays make them slow, and
 * `failActions` makes chosen actions fail, to exercise timeouts and recovery.
 */
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { defineAgent, failed, notRunning, ok, runningPromoted, type ActionResult, type AgentContext, type ResourceAgent } from '@paceline/agent-api';

const FailableAction = z.enum(['start', 'stop', 'monitor', 'promote', 'demote', 'reload']);

export const DummyParams = z
  .object({
    state: z.string().optional().describe('State file; default: dummy.state in the instance state directory'),
    fake: z.string().default('dummy').describe('A parameter that can be changed with a reload'),
    delayMs: z.number().int().nonnegative().default(0).describe('Sleep this many ms in every action'),
    startDelayMs: z.number().int().nonnegative().default(0).describe('Extra sleep in start, in ms'),
    stopDelayMs: z.number().int().nonnegative().default(0).describe('Extra sleep in stop, in ms'),
    failActions: z.array(FailableAction).default([]).describe('Actions that report a generic error (for tests)'),
  })
  .strict();
export type DummyParams = z.infer<typeof DummyParams>;

type Role = 'started' | 'promoted';

function stateFile(p: DummyParams, ctx: AgentContext): string {
  return p.state ?? join(ctx.stateDir, 'dummy.state');
}

/**
 * The state file is read and written synchronously: it is a few bytes in the instance's state
 * directory, and one blocking system call (microseconds) costs far less CPU than the thread-pool
 * round trips of the asynchronous forms (open, write or read, close: each a round trip and a
 * promise) — which was most of what a dummy start or a cheap monitor cost. A probe of an instance
 * that was never started looks first rather than catching ENOENT (an exception with its stack).
 */
async function readRole(file: string): Promise<Role | undefined> {
  if (!existsSync(file)) return undefined;
  try {
    const text = readFileSync(file, 'utf8').trim();
    return text.startsWith('promoted') ? 'promoted' : 'started';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function writeRole(file: string, role: Role, fake: string): Promise<void> {
  const text = `${role}\n${fake}\n`;
  try {
    writeFileSync(file, text);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    mkdirSync(dirname(file), { recursive: true }); // a `state` path in a directory not made yet
    writeFileSync(file, text);
  }
}

function removeState(file: string): void {
  try {
    unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

async function pause(p: DummyParams, ctx: AgentContext, extra = 0): Promise<ActionResult | undefined> {
  const ms = p.delayMs + extra;
  if (ms <= 0) return undefined;
  try {
    await ctx.clock.sleep(ms, ctx.signal);
    return undefined;
  } catch (e) {
    void e;
    return { execution: 'cancelled', outcome: 'generic-error', reason: `${ctx.op.name} cancelled during its ${ms} ms delay` };
  }
}

function injected(p: DummyParams, action: z.infer<typeof FailableAction>): ActionResult | undefined {
  return p.failActions.includes(action) ? failed('generic-error', `${action} fails because failActions includes it`) : undefined;
}

const base = {
  version: '1.0.0',
  uniqueParams: ['state'],
  defaultTimeouts: { start: 20_000, stop: 20_000, monitor: 20_000, promote: 10_000, demote: 10_000, reload: 20_000 },
  defaultMonitorInterval: 10_000,
} as const;

const lifecycle = {
  async start(p: DummyParams, ctx: AgentContext): Promise<ActionResult> {
    const stopped = await pause(p, ctx, p.startDelayMs);
    if (stopped) return stopped;
    const fail = injected(p, 'start');
    if (fail) return fail;
    const file = stateFile(p, ctx);
    if (!(await readRole(file))) await writeRole(file, 'started', p.fake);
    ctx.log.debug('dummy started', { file });
    return ok();
  },
  async stop(p: DummyParams, ctx: AgentContext): Promise<ActionResult> {
    const stopped = await pause(p, ctx, p.stopDelayMs);
    if (stopped) return stopped;
    const fail = injected(p, 'stop');
    if (fail) return fail;
    removeState(stateFile(p, ctx));
    return ok();
  },
  async monitor(p: DummyParams, ctx: AgentContext): Promise<ActionResult> {
    const stopped = await pause(p, ctx);
    if (stopped) return stopped;
    const role = await readRole(stateFile(p, ctx));
    if (!role) return notRunning();
    const fail = injected(p, 'monitor');
    if (fail) return fail;
    return role === 'promoted' ? runningPromoted() : ok();
  },
  async validate(p: DummyParams): Promise<ActionResult> {
    if (p.state !== undefined && !isAbsolute(p.state)) return failed('misconfigured', `state must be an absolute path, not "${p.state}"`);
    return ok();
  },
  async reload(p: DummyParams, ctx: AgentContext): Promise<ActionResult> {
    const fail = injected(p, 'reload');
    if (fail) return fail;
    const file = stateFile(p, ctx);
    const role = await readRole(file);
    if (role) await writeRole(file, role, p.fake);
    return ok();
  },
};

/** `paceline:dummy`: started when its state file exists. */
export const dummy = defineAgent({
  meta: { ...base, name: 'dummy', description: 'Test agent: running while its state file exists' },
  params: DummyParams,
  ...lifecycle,
});

async function setRole(p: DummyParams, ctx: AgentContext, action: 'promote' | 'demote', role: Role): Promise<ActionResult> {
  const stopped = await pause(p, ctx);
  if (stopped) return stopped;
  const fail = injected(p, action);
  if (fail) return fail;
  const file = stateFile(p, ctx);
  if (!(await readRole(file))) return failed('generic-error', `cannot ${action}: not running`);
  await writeRole(file, role, p.fake);
  return ok();
}

/** `paceline:stateful`: a promotable dummy (the state file records the role). */
export const stateful = defineAgent({
  meta: { ...base, name: 'stateful', description: 'Promotable test agent: the state file records Promoted or Unpromoted' },
  params: DummyParams,
  ...lifecycle,
  promote: (p: DummyParams, ctx: AgentContext) => setRole(p, ctx, 'promote', 'promoted'),
  demote: (p: DummyParams, ctx: AgentContext) => setRole(p, ctx, 'demote', 'started'),
});

export const dummyAgents: readonly ResourceAgent[] = [dummy, stateful];
