/**
 * The resource agent contract: a small required base plus one interface per optional capability.
 * The executor asks `hasCapability`; it never branches on an agent's name or type.
 */
import type { z } from 'zod';
import type { ActionResult } from './result.js';
import type { AgentContext } from './context.js';
import { assertZod4Schema } from './params.js';

export interface AgentMetadata {
  /** Referenced in configs as `paceline:<name>`. */
  readonly name: string;
  readonly version: string;
  readonly description: string;
  /** Parameters that must be unique across resources of this agent (e.g. an IP address). */
  readonly uniqueParams?: readonly string[];
  /** Suggested timeouts per action, in ms. */
  readonly defaultTimeouts?: Partial<Record<'start' | 'stop' | 'monitor' | 'promote' | 'demote' | 'migrate_to' | 'migrate_from' | 'reload', number>>;
  /** Suggested monitor interval, in ms. */
  readonly defaultMonitorInterval?: number;
}

/**
 * Every agent implements these. `P` is the parsed parameter type, inferred from `params`.
 * Parameters are validated with `params` before any action is called.
 */
export interface ResourceAgent<S extends z.ZodType = z.ZodType> {
  readonly meta: AgentMetadata;
  /** The parameter schema: zod, with `.describe()` on each field for generated docs and OCF meta-data. */
  readonly params: S;
  /** Bring the resource up. Must return 'ok' only when the resource is usable. Starting a running resource is 'ok'. */
  start(params: z.infer<S>, ctx: AgentContext): Promise<ActionResult>;
  /** Bring the resource down. Idempotent: stopping a stopped resource is 'ok'. Failing here may get the node fenced. */
  stop(params: z.infer<S>, ctx: AgentContext): Promise<ActionResult>;
  /**
   * Report state: 'ok' running, 'not-running' cleanly stopped, 'running-promoted' for promoted instances,
   * an error outcome when failed. Returns 'not-running' rather than throwing. A probe is a monitor on a
   * node where the state is unknown: it must not assume anything was started there.
   */
  monitor(params: z.infer<S>, ctx: AgentContext): Promise<ActionResult>;
}

/** Promotable resources: instances run Unpromoted and one (or promoted-max) is Promoted. */
export interface Promotable<S extends z.ZodType = z.ZodType> {
  promote(params: z.infer<S>, ctx: AgentContext): Promise<ActionResult>;
  demote(params: z.infer<S>, ctx: AgentContext): Promise<ActionResult>;
}

/** Can apply parameter changes without a restart. */
export interface Reloadable<S extends z.ZodType = z.ZodType> {
  reload(params: z.infer<S>, ctx: AgentContext): Promise<ActionResult>;
}

/** Live migration: migrateTo runs on the source, migrateFrom on the target. */
export interface Migratable<S extends z.ZodType = z.ZodType> {
  migrateTo(params: z.infer<S>, ctx: AgentContext & { readonly target: string }): Promise<ActionResult>;
  migrateFrom(params: z.infer<S>, ctx: AgentContext & { readonly source: string }): Promise<ActionResult>;
}

/** Deeper validation than the schema (e.g. a binary exists, an interface is present). */
export interface Validatable<S extends z.ZodType = z.ZodType> {
  validate(params: z.infer<S>, ctx: AgentContext): Promise<ActionResult>;
}

export interface Notifiable<S extends z.ZodType = z.ZodType> {
  notify(params: z.infer<S>, ctx: AgentContext & { readonly notification: Notification }): Promise<ActionResult>;
}

export interface Notification {
  readonly type: 'pre' | 'post';
  readonly operation: 'start' | 'stop' | 'promote' | 'demote';
  readonly active: readonly string[];
  readonly starting: readonly string[];
  readonly stopping: readonly string[];
  readonly promoting: readonly string[];
  readonly demoting: readonly string[];
}

export interface CapabilityMap<S extends z.ZodType = z.ZodType> {
  promotable: Promotable<S>;
  reloadable: Reloadable<S>;
  migratable: Migratable<S>;
  validatable: Validatable<S>;
  notifiable: Notifiable<S>;
}
export type Capability = keyof CapabilityMap;

const CAPABILITY_METHODS: Record<Capability, readonly string[]> = {
  promotable: ['promote', 'demote'],
  reloadable: ['reload'],
  migratable: ['migrateTo', 'migrateFrom'],
  validatable: ['validate'],
  notifiable: ['notify'],
};

/** Does the agent implement a capability? Narrows the agent's type. */
export function hasCapability<A extends ResourceAgent, C extends Capability>(agent: A, capability: C): agent is A & CapabilityMap<A['params']>[C] {
  return CAPABILITY_METHODS[capability].every((m) => typeof (agent as unknown as Record<string, unknown>)[m] === 'function');
}

/** The capabilities an agent implements, sorted. */
export function capabilitiesOf(agent: ResourceAgent): Capability[] {
  return (Object.keys(CAPABILITY_METHODS) as Capability[]).filter((c) => hasCapability(agent, c)).sort();
}

/** Everything an agent may implement: the base plus any capability methods. */
export type AgentDefinition<S extends z.ZodType = z.ZodType> = ResourceAgent<S> &
  Partial<Promotable<S> & Reloadable<S> & Migratable<S> & Validatable<S> & Notifiable<S>>;

/**
 * Identity helper that gives agent authors full type inference, capability methods included:
 * `export const dummy = defineAgent({ meta, params, start, stop, monitor, reload })`.
 */
export function defineAgent<S extends z.ZodType, A extends AgentDefinition<S>>(agent: A & { params: S }): A {
  assertZod4Schema(agent.params, `agent paceline:${agent.meta.name}: params`);
  return agent;
}
