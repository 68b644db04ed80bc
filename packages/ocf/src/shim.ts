/**
 * The other direction: a Paceline agent driven the way Pacemaker drives an OCF script. Reads
 * OCF_RESKEY_* into typed parameters, runs the action named on the command line and returns the
 * OCF exit code. `runOcfAction` takes all its I/O as arguments; `runOcfShim` is the thin
 * process-level wrapper the generated executable calls.
 */
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { capabilitiesOf, coerceParams, describeAgentParams, invokeAgent, isResourceAgent, outcomeToRc, supportsAction, systemClock } from '@paceline/agent-api';
import type { ActionResult, AgentAction, Clock, CommandRunner, Logger, Notification, ResourceAgent } from '@paceline/agent-api';
import { OcfRc } from '@paceline/model';
import { OCF_EXIT_REASON_PREFIX } from './ref.js';
import { OcfError } from './errors.js';
import { generateOcfMetadata } from './metadata-gen.js';
import { createProcessRunner } from './runner.js';

export interface ShimIo {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly run: CommandRunner;
  readonly clock: Clock;
  /** Aborted on SIGTERM. */
  readonly signal: AbortSignal;
  /** Creates the per-instance state directory. */
  readonly mkdirp: (dir: string) => void;
  readonly hostname: string;
}

const ACTIONS = [
  'start',
  'stop',
  'monitor',
  'status',
  'promote',
  'demote',
  'reload',
  'migrate_to',
  'migrate_from',
  'notify',
  'validate-all',
  'meta-data',
  'usage',
  'methods',
];

/** Reads OCF_RESKEY_<name> for the schema's parameters into typed values (CRM_meta_* excluded). */
export function paramsFromEnv(agent: ResourceAgent, env: Readonly<Record<string, string | undefined>>): Record<string, unknown> {
  const raw: Record<string, string> = {};
  for (const p of describeAgentParams(agent)) {
    const v = env[`OCF_RESKEY_${p.name}`];
    if (v !== undefined) raw[p.name] = v;
  }
  return coerceParams(agent.params, raw);
}

function stderrLogger(write: (t: string) => void, debug: boolean, fields: Record<string, unknown> = {}): Logger {
  const line = (level: string, msg: string, f?: Record<string, unknown>): void => {
    const all = { ...fields, ...(f ?? {}) };
    write(`${level}: ${msg}${Object.keys(all).length ? ` ${JSON.stringify(all)}` : ''}\n`);
  };
  return {
    debug: (m, f) => (debug ? line('DEBUG', m, f) : undefined),
    info: (m, f) => line('INFO', m, f),
    warn: (m, f) => line('WARNING', m, f),
    error: (m, f) => line('ERROR', m, f),
    child: (f) => stderrLogger(write, debug, { ...fields, ...f }),
  };
}

function words(v: string | undefined): string[] {
  return (v ?? '').split(/\s+/).filter((w) => w !== '');
}

function notificationFromEnv(env: Readonly<Record<string, string | undefined>>): Notification {
  const m = (k: string): string | undefined => env[`OCF_RESKEY_CRM_meta_notify_${k}`];
  const type = m('type') === 'post' ? 'post' : 'pre';
  const op = m('operation');
  const operation = op === 'stop' || op === 'promote' || op === 'demote' ? op : 'start';
  return {
    type,
    operation,
    active: words(m('active_uname')),
    starting: words(m('start_uname')),
    stopping: words(m('stop_uname')),
    promoting: words(m('promote_uname')),
    demoting: words(m('demote_uname')),
  };
}

function exitCodeOf(r: ActionResult): number {
  switch (r.execution) {
    case 'done':
      return outcomeToRc(r.outcome);
    case 'not-supported':
      return OcfRc.ERR_UNIMPLEMENTED;
    case 'not-installed':
      return OcfRc.ERR_INSTALLED;
    default:
      return OcfRc.ERR_GENERIC;
  }
}

/** Runs one OCF action of `agent`; returns the exit code. Never throws for expected failures. */
export async function runOcfAction(agent: ResourceAgent, name: string, io: ShimIo): Promise<number> {
  const action = io.argv[0] ?? '';
  const reason = (text: string): void => io.stderr(`${OCF_EXIT_REASON_PREFIX}${text.replace(/\n/g, ' ')}\n`);
  if (action === 'meta-data') {
    io.stdout(generateOcfMetadata(agent, name));
    return OcfRc.SUCCESS;
  }
  if (action === 'usage' || action === 'help' || action === 'methods') {
    const caps = new Set(capabilitiesOf(agent));
    const list = ACTIONS.filter((a) => {
      if (a === 'promote' || a === 'demote') return caps.has('promotable');
      if (a === 'reload') return caps.has('reloadable');
      if (a === 'migrate_to' || a === 'migrate_from') return caps.has('migratable');
      if (a === 'notify') return caps.has('notifiable');
      return true;
    });
    io.stdout(action === 'methods' ? `${list.join('\n')}\n` : `usage: ${name} {${list.join('|')}}\n`);
    return OcfRc.SUCCESS;
  }
  if (!ACTIONS.includes(action)) {
    io.stderr(`usage: ${name} {${ACTIONS.join('|')}}\n`);
    reason(`unknown action "${action}"`);
    return OcfRc.ERR_UNIMPLEMENTED;
  }

  const instance = io.env['OCF_RESOURCE_INSTANCE'] ?? name;
  const parsed = agent.params.safeParse(paramsFromEnv(agent, io.env));
  if (!parsed.success) {
    const text = parsed.error.issues.map((i) => `parameter "${i.path.map(String).join('.') || '(all)'}" ${i.message}`).join('; ');
    reason(`resource "${instance}": ${text}`);
    return OcfRc.ERR_CONFIGURED;
  }
  const params: unknown = parsed.data;
  const timeout = Number(io.env['OCF_RESKEY_CRM_meta_timeout'] ?? '20000') || 20_000;
  const interval = Number(io.env['OCF_RESKEY_CRM_meta_interval'] ?? '0') || 0;
  const rscTmp = io.env['HA_RSCTMP'] || '/run/resource-agents';
  const stateDir = join(rscTmp, 'paceline', agent.meta.name, instance.replace(/[^A-Za-z0-9._:-]/g, '_'));
  io.mkdirp(stateDir);
  const opName = action === 'status' ? 'monitor' : action === 'validate-all' ? 'validate' : action;
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(io.env)) {
    if (k.startsWith('OCF_RESKEY_CRM_meta_') && v !== undefined) meta[k.slice('OCF_RESKEY_CRM_meta_'.length)] = v;
  }
  let result: ActionResult;
  if (opName === 'validate' && !supportsAction(agent, 'validate')) {
    result = { execution: 'done', outcome: 'ok' }; // the schema accepted the parameters
  } else {
    result = await invokeAgent(agent, {
      action: opName as AgentAction,
      params,
      node: io.env['OCF_RESKEY_CRM_meta_on_node'] || io.hostname,
      instance,
      stateDir,
      run: io.run,
      log: stderrLogger(io.stderr, io.env['HA_debug'] === '1', { resource: instance, action: opName }),
      clock: io.clock,
      timeoutMs: timeout,
      interval,
      signal: io.signal,
      meta,
      peer: (opName === 'migrate_to' ? io.env['OCF_RESKEY_CRM_meta_migrate_target'] : io.env['OCF_RESKEY_CRM_meta_migrate_source']) ?? '',
      ...(opName === 'notify' ? { notification: notificationFromEnv(io.env) } : {}),
    });
  }
  const rc = exitCodeOf(result);
  if (rc !== OcfRc.SUCCESS && result.reason) reason(result.reason);
  return rc;
}

/**
 * Picks the agent out of a module: `selector` is an export name or an agent's meta.name; without
 * one, the only export that is an agent. Returns the agent and its export name.
 */
export function findAgent(mod: Record<string, unknown>, selector: string | undefined, source: string): { agent: ResourceAgent; exportName: string } {
  // Exports that are agents, and the items of exported arrays of agents (found again by their name).
  const found: [string, ResourceAgent][] = Object.entries(mod).flatMap(([k, v]): [string, ResourceAgent][] =>
    isResourceAgent(v) ? [[k, v]] : Array.isArray(v) ? v.filter(isResourceAgent).map((a): [string, ResourceAgent] => [a.meta.name, a]) : [],
  );
  const names = [...new Set(found.map(([, a]) => a.meta.name))].sort();
  if (selector !== undefined) {
    const hit = found.find(([k]) => k === selector) ?? found.find(([, a]) => a.meta.name === selector);
    if (!hit) throw new OcfError('OCF_EXPORT', `${source}: no agent "${selector}" (it has: ${names.join(', ') || 'none'})`);
    return { agent: hit[1], exportName: hit[0] };
  }
  const distinct = [...new Map(found.map(([k, a]) => [a, k])).entries()];
  if (distinct.length === 1) return { agent: distinct[0]![0], exportName: distinct[0]![1] };
  if (distinct.length === 0) throw new OcfError('OCF_EXPORT', `${source}: exports no resource agent`);
  throw new OcfError('OCF_EXPORT', `${source}: has several agents (${names.join(', ')}); name one`);
}

/** Entry point of a generated shim: runs the action in process.argv[2] and sets the exit code. */
export async function runOcfShim(mod: Record<string, unknown>, exportName: string | undefined, name: string): Promise<number> {
  const controller = new AbortController();
  process.once('SIGTERM', () => controller.abort());
  let agent: ResourceAgent;
  try {
    agent = findAgent(mod, exportName, name).agent;
  } catch (err) {
    process.stderr.write(`${OCF_EXIT_REASON_PREFIX}${(err as Error).message}\n`);
    return OcfRc.ERR_INSTALLED;
  }
  return runOcfAction(agent, name, {
    argv: process.argv.slice(2),
    env: process.env,
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    run: createProcessRunner(),
    clock: systemClock,
    signal: controller.signal,
    mkdirp: (dir) => mkdirSync(dir, { recursive: true }),
    hostname: hostname(),
  });
}
