/**
 * Runs an existing OCF resource agent script, unchanged, as a Paceline ResourceAgent. The script
 * gets the environment Pacemaker's executor gives it (OCF_ROOT, OCF_RESOURCE_*, OCF_RESKEY_*,
 * OCF_RESKEY_CRM_meta_*), its exit code becomes an ActionResult, and its capabilities come from
 * the actions its meta-data advertises.
 */
import { join } from 'node:path';
import type { z } from 'zod';
import { rcToOutcome } from '@paceline/agent-api';
import type { ActionResult, AgentContext, AgentMetadata, CommandRunner, Notification, ResourceAgent } from '@paceline/agent-api';
import { OcfError } from './errors.js';
import { advertises, parseOcfMetadata } from './metadata.js';
import type { OcfMetadata } from './metadata.js';
import { formatOcfRef, parseOcfRef } from './ref.js';
import type { OcfRef } from './ref.js';
import { formatParamIssues, ocfParamsSchema, parseOcfParams } from './schema.js';
import type { OcfParams, OcfParamValue } from './schema.js';

export const DEFAULT_OCF_ROOT = '/usr/lib/ocf';
import { OCF_EXIT_REASON_PREFIX } from './ref.js';

export interface OcfAgentOptions {
  /** Where resource.d/ lives. Default /usr/lib/ocf. */
  readonly ocfRoot?: string;
  /** Runs the script (and `meta-data` when loading). */
  readonly run: CommandRunner;
  /** HA_RSCTMP for the script's state files; unset means the script's own default (/run/resource-agents). */
  readonly rscTmp?: string;
  /** Extra environment for every action. */
  readonly env?: Readonly<Record<string, string>>;
  /** Accept parameters the meta-data does not declare. Default false. */
  readonly allowUnknownParams?: boolean;
  /** Time allowed for the `meta-data` action when loading. Default 10 s. */
  readonly metadataTimeoutMs?: number;
}

type OcfSchema = z.ZodType<OcfParams, Record<string, OcfParamValue>>;

/** A ResourceAgent backed by an OCF script; capability methods exist only when advertised. */
export interface OcfAgent extends ResourceAgent<OcfSchema> {
  readonly ref: OcfRef;
  readonly path: string;
  readonly metadata: OcfMetadata;
  /** Validates raw parameters, throwing an OcfError that names the resource and the parameter. */
  parseParams(raw: unknown, resource: string): OcfParams;
}

/** Extra per-call meta attributes (become OCF_RESKEY_CRM_meta_<key>). */
type MetaAttrs = Record<string, string>;

function lastExitReason(stderr: string): string | undefined {
  const at = stderr.lastIndexOf(OCF_EXIT_REASON_PREFIX);
  if (at < 0) return undefined;
  const rest = stderr.slice(at + OCF_EXIT_REASON_PREFIX.length);
  const line = rest.split('\n', 1)[0]!.trim();
  return line === '' ? undefined : line.slice(0, 128);
}

function tail(text: string): string {
  const lines = text
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '');
  return (lines[lines.length - 1] ?? '').slice(0, 200);
}

function notificationMeta(n: Notification): MetaAttrs {
  const list = (xs: readonly string[]): string => xs.join(' ');
  return {
    notify_type: n.type,
    notify_operation: n.operation,
    notify_active_uname: list(n.active),
    notify_start_uname: list(n.starting),
    notify_stop_uname: list(n.stopping),
    notify_promote_uname: list(n.promoting),
    notify_demote_uname: list(n.demoting),
  };
}

/** The script an OcfAgent runs and what it needs to run it. */
interface OcfScript {
  readonly ref: OcfRef;
  readonly path: string;
  readonly ocfRoot: string;
  readonly agentName: string;
  readonly schema: OcfSchema;
  readonly options: OcfAgentOptions;
}

/** The environment of one action, as Pacemaker's executor sets it: OCF_*, the parameters as OCF_RESKEY_*, the meta attributes as OCF_RESKEY_CRM_meta_*. */
function ocfEnv(script: OcfScript, params: OcfParams, ctx: AgentContext, extraMeta: MetaAttrs): Record<string, string> {
  const { options, ref } = script;
  const env: Record<string, string> = {
    ...(options.env ?? {}),
    OCF_ROOT: script.ocfRoot,
    OCF_RA_VERSION_MAJOR: '1',
    OCF_RA_VERSION_MINOR: '1',
    OCF_EXIT_REASON_PREFIX,
    OCF_RESOURCE_INSTANCE: ctx.instance,
    OCF_RESOURCE_TYPE: ref.type,
    OCF_RESOURCE_PROVIDER: ref.provider,
    ...(options.rscTmp ? { HA_RSCTMP: options.rscTmp } : {}),
  };
  for (const [k, v] of Object.entries(params)) env[`OCF_RESKEY_${k}`] = v;
  const metaAttrs: MetaAttrs = {
    ...(ctx.meta ?? {}),
    name: ctx.op.name,
    timeout: String(ctx.op.timeout),
    interval: String(ctx.op.interval),
    on_node: ctx.node,
    ...extraMeta,
  };
  // As Pacemaker names them: CRM_meta_<name> with dashes turned into underscores (clone-max → clone_max).
  for (const [k, v] of Object.entries(metaAttrs)) env[`OCF_RESKEY_CRM_meta_${k.replace(/-/g, '_')}`] = v;
  return env;
}

/** Runs one action of the script: parameters checked, the environment set, the exit code (or the timeout, the signal) made a result. */
async function runOcfAction(script: OcfScript, action: string, params: unknown, ctx: AgentContext, extraMeta: MetaAttrs = {}): Promise<ActionResult> {
  const { schema, agentName, path } = script;
  const parsed = schema.safeParse(params);
  if (!parsed.success) {
    return { execution: 'done', outcome: 'misconfigured', reason: formatParamIssues(schema, parsed.error, ctx.instance, agentName, params) };
  }
  const env = ocfEnv(script, parsed.data, ctx, extraMeta);
  if (ctx.signal.aborted) return { execution: 'cancelled', outcome: 'generic-error', reason: `${action} cancelled before it started` };
  const timeoutMs = Math.max(1, ctx.deadline - ctx.clock.now());
  const started = ctx.clock.now();
  const res = await ctx.run.run(path, [action], { env, signal: ctx.signal, timeoutMs });
  const durationMs = ctx.clock.now() - started;
  if (res.notFound) {
    return { execution: 'not-installed', outcome: 'not-installed', reason: `${path} is not installed or not executable`, durationMs };
  }
  if (res.timedOut) {
    return { execution: 'timeout', outcome: 'generic-error', reason: `${action} did not finish within ${timeoutMs} ms (process group killed)`, durationMs };
  }
  if (ctx.signal.aborted && res.exitCode === null) {
    return { execution: 'cancelled', outcome: 'generic-error', reason: `${action} cancelled`, durationMs };
  }
  if (res.exitCode === null) {
    return { execution: 'error', outcome: 'generic-error', reason: `${action} killed by ${res.signal ?? 'a signal'}`, durationMs };
  }
  const outcome = rcToOutcome(res.exitCode);
  const reason = lastExitReason(res.stderr) ?? (outcome === 'ok' || outcome === 'not-running' ? undefined : tail(res.stderr) || `exit code ${res.exitCode}`);
  return { execution: 'done', outcome, ...(reason ? { reason } : {}), durationMs };
}

/** The agent's metadata from the script's: name, version, unique parameters, default timeouts and monitor interval. */
function agentMetadata(agentName: string, metadata: OcfMetadata): AgentMetadata {
  const timeoutOf = (name: string): number | undefined => metadata.actions.find((a) => a.name === name)?.timeoutMs;
  const monitorAction = metadata.actions.find((a) => a.name === 'monitor' && a.intervalMs !== undefined && a.intervalMs > 0);
  const defaultTimeouts: Record<string, number> = {};
  for (const a of ['start', 'stop', 'monitor', 'promote', 'demote', 'migrate_to', 'migrate_from', 'reload'] as const) {
    const t = timeoutOf(a);
    if (t !== undefined) defaultTimeouts[a] = t;
  }
  return {
    name: agentName,
    version: metadata.version,
    description: metadata.shortdesc || metadata.longdesc || agentName,
    uniqueParams: metadata.parameters.filter((p) => p.unique).map((p) => p.name),
    defaultTimeouts,
    ...(monitorAction?.intervalMs !== undefined ? { defaultMonitorInterval: monitorAction.intervalMs } : {}),
  };
}

/** Builds the agent from already-parsed meta-data (no I/O). */
export function ocfAgentFromMetadata(refText: string, metadata: OcfMetadata, options: OcfAgentOptions): OcfAgent {
  const ref = parseOcfRef(refText);
  const ocfRoot = options.ocfRoot ?? DEFAULT_OCF_ROOT;
  const path = join(ocfRoot, 'resource.d', ref.provider, ref.type);
  const agentName = formatOcfRef(ref);
  const schema = ocfParamsSchema(metadata, { allowUnknown: options.allowUnknownParams ?? false });
  const script: OcfScript = { ref, path, ocfRoot, agentName, schema, options };
  const runAction = (action: string, params: unknown, ctx: AgentContext, extraMeta: MetaAttrs = {}): Promise<ActionResult> =>
    runOcfAction(script, action, params, ctx, extraMeta);

  const agent: Record<string, unknown> = {
    meta: agentMetadata(agentName, metadata),
    params: schema,
    ref,
    path,
    metadata,
    parseParams: (raw: unknown, resource: string) => parseOcfParams(schema, raw, resource, agentName),
    start: (p: OcfParams, ctx: AgentContext) => runAction('start', p, ctx),
    stop: (p: OcfParams, ctx: AgentContext) => runAction('stop', p, ctx),
    monitor: (p: OcfParams, ctx: AgentContext) => runAction('monitor', p, ctx),
  };
  if (advertises(metadata, 'promote') && advertises(metadata, 'demote')) {
    agent['promote'] = (p: OcfParams, ctx: AgentContext) => runAction('promote', p, ctx);
    agent['demote'] = (p: OcfParams, ctx: AgentContext) => runAction('demote', p, ctx);
  }
  if (advertises(metadata, 'reload')) {
    const action = metadata.actions.some((a) => a.name === 'reload') ? 'reload' : 'reload-agent';
    agent['reload'] = (p: OcfParams, ctx: AgentContext) => runAction(action, p, ctx);
  }
  if (advertises(metadata, 'migrate_to') && advertises(metadata, 'migrate_from')) {
    agent['migrateTo'] = (p: OcfParams, ctx: AgentContext & { target: string }) =>
      runAction('migrate_to', p, ctx, { migrate_source: ctx.node, migrate_target: ctx.target });
    agent['migrateFrom'] = (p: OcfParams, ctx: AgentContext & { source: string }) =>
      runAction('migrate_from', p, ctx, { migrate_source: ctx.source, migrate_target: ctx.node });
  }
  if (advertises(metadata, 'validate-all')) {
    agent['validate'] = (p: OcfParams, ctx: AgentContext) => runAction('validate-all', p, ctx);
  }
  if (advertises(metadata, 'notify')) {
    agent['notify'] = (p: OcfParams, ctx: AgentContext & { notification: Notification }) => runAction('notify', p, ctx, notificationMeta(ctx.notification));
  }
  return agent as unknown as OcfAgent;
}

/**
 * Loads `ocf:PROVIDER:TYPE` from `<ocfRoot>/resource.d/PROVIDER/TYPE`: runs its `meta-data`
 * action and builds the parameter schema and capabilities from it.
 */
export async function loadOcfAgent(refText: string, options: OcfAgentOptions): Promise<OcfAgent> {
  const ref = parseOcfRef(refText);
  const ocfRoot = options.ocfRoot ?? DEFAULT_OCF_ROOT;
  const path = join(ocfRoot, 'resource.d', ref.provider, ref.type);
  const res = await options.run.run(path, ['meta-data'], {
    env: { ...(options.env ?? {}), OCF_ROOT: ocfRoot, OCF_RESOURCE_TYPE: ref.type, OCF_RESOURCE_PROVIDER: ref.provider },
    timeoutMs: options.metadataTimeoutMs ?? 10_000,
  });
  if (res.notFound) throw new OcfError('OCF_NOT_FOUND', `${refText}: no executable agent at ${path}`);
  if (res.timedOut) throw new OcfError('OCF_METADATA', `${refText}: meta-data did not finish in time`);
  if (res.exitCode !== 0) {
    throw new OcfError('OCF_METADATA', `${refText}: meta-data exited with ${res.exitCode ?? res.signal}: ${tail(res.stderr)}`);
  }
  return ocfAgentFromMetadata(refText, parseOcfMetadata(res.stdout, refText), options);
}
