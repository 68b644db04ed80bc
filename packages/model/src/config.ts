/**
 * The cluster configuration, as zod schemas. Types are inferred from these schemas; nothing else
 * defines their shape. Field names are camelCase; docs/model.md maps each to its Pacemaker name.
 */
import { z } from 'zod';
import { INFINITY, parseScore, type Score } from './score.js';
import { Duration } from './duration.js';
import { Monitoring } from './monitoring.js';
import { MembershipSettings } from './membership.js';
import { compileResourcePattern } from './pattern.js';

/** A score: a number, or "INFINITY" / "+INFINITY" / "-INFINITY". */
export const ScoreSchema = z.union([z.number(), z.string()]).transform((v, ctx): Score => {
  const s = parseScore(v);
  if (s === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a score (a whole number, INFINITY or -INFINITY)` });
    return z.NEVER;
  }
  return s;
});

const Id = z
  .string()
  .min(1, 'an id must not be empty')
  .regex(/^[A-Za-z0-9_.:@+-]+$/, 'an id may contain only letters, digits and _ . : @ + -');

export const Role = z.enum(['Stopped', 'Started', 'Unpromoted', 'Promoted']);
export type Role = z.infer<typeof Role>;

/** Roles a constraint may name; `Started` in a constraint means "any active role". */
export const ConstraintRole = z.enum(['Started', 'Unpromoted', 'Promoted']);

export const OnFail = z.enum(['ignore', 'block', 'stop', 'restart', 'standby', 'fence', 'demote']);
export type OnFail = z.infer<typeof OnFail>;

export const ActionName = z.enum(['start', 'stop', 'monitor', 'promote', 'demote', 'migrate_to', 'migrate_from', 'reload', 'notify']);
export type ActionName = z.infer<typeof ActionName>;

export const Operation = z.strictObject({
  name: ActionName,
  /** Repeat interval for monitors (0 = one-shot). */
  interval: Duration.default(0),
  timeout: Duration.optional(),
  /** For monitors of promotable resources: the role this monitor checks. */
  role: z.enum(['Started', 'Unpromoted', 'Promoted', 'Stopped']).optional(),
  onFail: OnFail.optional(),
  enabled: z.boolean().default(true),
  /** Wait this long after the resource starts before running this operation (Pacemaker: start-delay). */
  startDelay: Duration.optional(),
  /** Extra parameters passed to the agent for this operation only. */
  params: z.record(z.string(), z.unknown()).optional(),
});
export type Operation = z.infer<typeof Operation>;

/** Meta attributes of any resource (primitive, group or clone); unset means "inherit or default". */
export const ResourceMeta = z.strictObject({
  targetRole: Role.optional(),
  /** Preference to stay where it runs (Pacemaker: resource-stickiness). */
  stickiness: ScoreSchema.optional(),
  /** Failures on a node before the resource is banned from it (0 = never). */
  migrationThreshold: z.number().int().nonnegative().optional(),
  /** After this long without new failures, fail counts expire (0 = never). */
  failureTimeout: Duration.optional(),
  priority: z.number().int().optional(),
  isManaged: z.boolean().optional(),
  maintenance: z.boolean().optional(),
  multipleActive: z.enum(['stop_start', 'stop_only', 'block', 'stop_unexpected']).optional(),
  /** What must hold before the resource may start: nothing, quorum, fencing of unclean nodes, unfencing. */
  requires: z.enum(['nothing', 'quorum', 'fencing', 'unfencing']).optional(),
  allowMigrate: z.boolean().optional(),
  /** A score a constraint uses instead of its own when this resource is the dependent (Pacemaker: critical). */
  critical: z.boolean().optional(),
  /** Deprecated Pacemaker option: `restart` restarts dependents when this resource restarts. */
  restartType: z.enum(['ignore', 'restart']).optional(),
  /** May run on nodes whose health is red (Pacemaker: allow-unhealthy-nodes). */
  allowUnhealthyNodes: z.boolean().optional(),
  /** For fencing devices: `unfencing` means nodes must be unfenced by this device before resources start there. */
  provides: z.enum(['unfencing']).optional(),
  /** Meta attributes with no built-in meaning, kept by name (rules with value-source="meta" can read them). */
  other: z.record(z.string(), z.string()).optional(),
});
export type ResourceMeta = z.infer<typeof ResourceMeta>;

/** Group meta: a group's members are ordered and colocated unless these say otherwise (deprecated in Pacemaker). */
export const GroupMeta = ResourceMeta.extend({
  ordered: z.boolean().optional(),
  collocated: z.boolean().optional(),
});
export type GroupMeta = z.infer<typeof GroupMeta>;

export const CloneMeta = ResourceMeta.extend({
  /** Instances in the whole cluster (default: number of nodes). */
  cloneMax: z.number().int().nonnegative().optional(),
  /** Instances on one node (default 1). */
  cloneNodeMax: z.number().int().positive().optional(),
  /** Instances that must run before dependents may start. */
  cloneMin: z.number().int().nonnegative().optional(),
  /** Orderings/colocations against another clone apply instance by instance on the same node. */
  interleave: z.boolean().optional(),
  /** Each instance is distinct (has its own identity) rather than interchangeable. */
  globallyUnique: z.boolean().optional(),
  ordered: z.boolean().optional(),
  notify: z.boolean().optional(),
  /** Promotable clones: instances in the Promoted role in the whole cluster (default 1). */
  promotedMax: z.number().int().nonnegative().optional(),
  /** Promotable clones: promoted instances on one node (default 1). */
  promotedNodeMax: z.number().int().positive().optional(),
  /**
   * Promotable clones whose agent reports a replica's lag (paceline:mirror): which replica may be
   * promoted while the copy it follows cannot be asked (its node is down or lost). `any` (default):
   * the best copy, whatever it missed (availability first; the transition's reasons say how far
   * behind it is). `in-sync`: only one whose last report said in sync (DRBD's UpToDate); one that
   * reported itself behind or never synced stays Unpromoted (DRBD's Outdated / Inconsistent) until
   * its source returns or an administrator sets `any`.
   */
  promoteReplica: z.enum(['any', 'in-sync']).optional(),
});
export type CloneMeta = z.infer<typeof CloneMeta>;

/**
 * Which agent runs a primitive: `paceline:<name>` for a built-in/TypeScript agent,
 * `ocf:<provider>:<type>` for an OCF script, `stonith:<type>` for a fencing device,
 * `lsb:`, `systemd:`, `service:` accepted for Pacemaker compatibility.
 */
export const AgentRef = z
  .string()
  .regex(
    /^(paceline:[A-Za-z0-9_.-]+|ocf:[A-Za-z0-9_.-]+:[A-Za-z0-9_./-]+|stonith:[A-Za-z0-9_.:/-]+|(lsb|systemd|service|upstart|nagios):[A-Za-z0-9_.@:/-]+)$/,
    'an agent is written "paceline:NAME", "ocf:PROVIDER:TYPE" or "stonith:TYPE"',
  );

export const Primitive = z.strictObject({
  type: z.literal('primitive'),
  id: Id,
  agent: AgentRef,
  description: z.string().optional(),
  params: z.record(z.string(), z.unknown()).default({}),
  /**
   * The complete parameters on particular nodes, where they differ from `params` (Pacemaker:
   * instance_attributes guarded by node-attribute rules). Absent node = `params`.
   */
  paramsByNode: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  meta: ResourceMeta.default({}),
  ops: z.array(Operation).default([]),
  /** Resource-level utilization (Pacemaker's utilization section), e.g. { cpu: 2, memory: 512 }. */
  utilization: z.record(z.string(), z.number()).default({}),
});
export type Primitive = z.infer<typeof Primitive>;

export const Group = z.strictObject({
  type: z.literal('group'),
  id: Id,
  description: z.string().optional(),
  /** Members start in this order, stop in reverse, and run on the same node. */
  members: z.array(Primitive).min(1, 'a group needs at least one member'),
  meta: GroupMeta.default({}),
});
export type Group = z.infer<typeof Group>;

export const Clone = z.strictObject({
  type: z.literal('clone'),
  id: Id,
  description: z.string().optional(),
  /** Promotable clones have instances in Promoted and Unpromoted roles. */
  promotable: z.boolean().default(false),
  child: z.discriminatedUnion('type', [Primitive, Group]),
  meta: CloneMeta.default({}),
});
export type Clone = z.infer<typeof Clone>;

export const Resource = z.discriminatedUnion('type', [Primitive, Group, Clone]);
export type Resource = z.infer<typeof Resource>;

/** Comparison operators of rule expressions, as in Pacemaker. */
export const ExprOp = z.enum(['lt', 'gt', 'lte', 'gte', 'eq', 'ne', 'defined', 'not_defined']);

export const AttributeExpression = z.strictObject({
  kind: z.literal('attribute'),
  /** A node attribute, or `#uname`, `#id`, `#kind`, `#cluster-name`, `#role` */
  attribute: z.string().min(1),
  op: ExprOp,
  value: z.string().optional(),
  valueType: z.enum(['string', 'integer', 'number', 'version']).optional(),
  /** `literal` compares with `value`; `param`/`meta` read `value` as a resource parameter/meta name. */
  valueSource: z.enum(['literal', 'param', 'meta']).default('literal'),
});

/** A date expression (Pacemaker's date_expression): in range, before/after a date, or matching a date spec. */
export const DateExpression = z.strictObject({
  kind: z.literal('date'),
  op: z.enum(['in_range', 'gt', 'lt', 'date_spec']),
  start: z.string().optional(),
  end: z.string().optional(),
  /** ISO-8601 duration-like object added to start when no end is given. */
  duration: z.record(z.string(), z.number()).optional(),
  /** Fields such as hours: "9-16", weekdays: "1-5". */
  spec: z.record(z.string(), z.string()).optional(),
});

/** A rule: expressions joined with and/or, possibly nested. */
export interface Rule {
  readonly kind: 'rule';
  readonly id?: string | undefined;
  readonly score?: Score | undefined;
  /** Take the score from this node attribute instead of `score`. */
  readonly scoreAttribute?: string | undefined;
  readonly role?: z.infer<typeof ConstraintRole> | undefined;
  readonly booleanOp: 'and' | 'or';
  readonly expressions: readonly RuleExpression[];
}
export type RuleExpression = z.infer<typeof AttributeExpression> | z.infer<typeof DateExpression> | Rule;

export const RuleSchema: z.ZodType<Rule, any> = z.lazy(() =>
  z.strictObject({
    kind: z.literal('rule'),
    id: z.string().optional(),
    score: ScoreSchema.optional(),
    scoreAttribute: z.string().optional(),
    role: ConstraintRole.optional(),
    booleanOp: z.enum(['and', 'or']).default('and'),
    expressions: z.array(z.union([AttributeExpression, DateExpression, RuleSchema])),
  }),
) as z.ZodType<Rule, any>;

export const LocationConstraint = z
  .strictObject({
    type: z.literal('location'),
    id: Id,
    /** The resource this constraint places (any primitive, group or clone id). */
    resource: z.string().optional(),
    /** Or every top-level resource whose id matches this pattern (RE2 syntax, linear-time; a leading "!" inverts it). */
    resourcePattern: z.string().optional(),
    role: ConstraintRole.optional(),
    /** A fixed node and score ... */
    node: z.string().optional(),
    score: ScoreSchema.optional(),
    /** ... or rules evaluated against each node's attributes. */
    rules: z.array(RuleSchema).optional(),
    /** Whether to probe the resource on the matching nodes. */
    resourceDiscovery: z.enum(['always', 'never', 'exclusive']).default('always'),
  })
  .superRefine((c, ctx) => {
    if ((c.resource === undefined) === (c.resourcePattern === undefined))
      ctx.addIssue({ code: 'custom', message: 'give exactly one of "resource" or "resourcePattern"' });
    if (c.resourcePattern !== undefined) {
      const compiled = compileResourcePattern(c.resourcePattern);
      if (!compiled.ok) ctx.addIssue({ code: 'custom', path: ['resourcePattern'], message: compiled.message });
    }
    if (c.rules === undefined && (c.node === undefined || c.score === undefined))
      ctx.addIssue({ code: 'custom', message: 'give "node" and "score", or "rules"' });
    if (c.rules !== undefined && c.node !== undefined) ctx.addIssue({ code: 'custom', message: '"node" and "rules" cannot both be given' });
  });
export type LocationConstraint = z.infer<typeof LocationConstraint>;

/** A resource set (as in Pacemaker's resource_set), used by colocation and order constraints. */
export const ResourceSet = z.strictObject({
  id: z.string().optional(),
  resources: z.array(z.string()).min(1),
  /** Members of a sequential set are ordered/colocated one after another. */
  sequential: z.boolean().default(true),
  /** For order sets: any one member satisfies the ordering when false. */
  requireAll: z.boolean().default(true),
  role: ConstraintRole.optional(),
  action: ActionName.optional(),
  kind: z.enum(['Mandatory', 'Optional', 'Serialize']).optional(),
  score: ScoreSchema.optional(),
});
export type ResourceSet = z.infer<typeof ResourceSet>;

/** "Place `resource` where `withResource` is" (Pacemaker: rsc / with-rsc). */
export const ColocationConstraint = z
  .strictObject({
    type: z.literal('colocation'),
    id: Id,
    resource: z.string().optional(),
    withResource: z.string().optional(),
    sets: z.array(ResourceSet).optional(),
    score: ScoreSchema,
    resourceRole: ConstraintRole.optional(),
    withResourceRole: ConstraintRole.optional(),
    /** Colocate by this node attribute instead of by node name. */
    nodeAttribute: z.string().default('#uname'),
    /** Whether the dependent's preferences may pull `withResource` (default true). */
    influence: z.boolean().optional(),
  })
  .superRefine((c, ctx) => {
    const pair = c.resource !== undefined || c.withResource !== undefined;
    if (pair === (c.sets !== undefined)) ctx.addIssue({ code: 'custom', message: 'give "resource" and "withResource", or "sets"' });
    else if (pair && (c.resource === undefined || c.withResource === undefined))
      ctx.addIssue({ code: 'custom', message: 'a colocation needs both "resource" and "withResource"' });
  });
export type ColocationConstraint = z.infer<typeof ColocationConstraint>;

/** "Do `thenAction` on `then` only after `firstAction` on `first`". */
export const OrderConstraint = z
  .strictObject({
    type: z.literal('order'),
    id: Id,
    first: z.string().optional(),
    then: z.string().optional(),
    sets: z.array(ResourceSet).optional(),
    firstAction: ActionName.default('start'),
    /** Defaults to firstAction (Pacemaker's rule). */
    thenAction: ActionName.optional(),
    kind: z.enum(['Mandatory', 'Optional', 'Serialize']).default('Mandatory'),
    /** Also order the reverse actions in reverse (stop `then` before stopping `first`). Default: true except for Serialize. */
    symmetrical: z.boolean().optional(),
    /** With clones: apply instance-by-instance only (see clone `interleave`). */
    requireAll: z.boolean().default(true),
  })
  .superRefine((c, ctx) => {
    const pair = c.first !== undefined || c.then !== undefined;
    if (pair === (c.sets !== undefined)) ctx.addIssue({ code: 'custom', message: 'give "first" and "then", or "sets"' });
    else if (pair && (c.first === undefined || c.then === undefined)) ctx.addIssue({ code: 'custom', message: 'an order needs both "first" and "then"' });
  });
export type OrderConstraint = z.infer<typeof OrderConstraint>;

export const Constraint = z.discriminatedUnion('type', [LocationConstraint, ColocationConstraint, OrderConstraint]);
export type Constraint = z.infer<typeof Constraint>;

export const NodeConfig = z.strictObject({
  name: Id,
  /** Pacemaker's node id, if it differs from the name. */
  id: z.string().optional(),
  /** Address of this node on each heartbeat link, e.g. { crossover: "10.0.0.1", lan: "192.168.1.1" }. */
  addresses: z.record(z.string(), z.string()).default({}),
  /** Permanent node attributes used by rules (Pacemaker: instance_attributes of the node). */
  attributes: z.record(z.string(), z.string()).default({}),
  utilization: z.record(z.string(), z.number()).default({}),
  /** Administrative standby: nothing may run here. */
  standby: z.boolean().default(false),
  maintenance: z.boolean().default(false),
});
export type NodeConfig = z.infer<typeof NodeConfig>;

export const ClusterProperties = z.strictObject({
  clusterName: z.string().optional(),
  /** When false, resources run nowhere unless a location constraint allows it (opt-in cluster). */
  symmetricCluster: z.boolean().default(true),
  noQuorumPolicy: z.enum(['stop', 'freeze', 'ignore', 'demote', 'suicide']).default('stop'),
  stonithEnabled: z.boolean().default(true),
  stonithAction: z.enum(['reboot', 'off', 'poweroff']).default('reboot'),
  maintenanceMode: z.boolean().default(false),
  startFailureIsFatal: z.boolean().default(true),
  stopOrphanResources: z.boolean().default(true),
  stopOrphanActions: z.boolean().default(true),
  stopAllResources: z.boolean().default(false),
  concurrentFencing: z.boolean().default(false),
  placementStrategy: z.enum(['default', 'utilization', 'minimal', 'balanced']).default('default'),
  nodeHealthStrategy: z.enum(['none', 'migrate-on-red', 'only-green', 'progressive', 'custom']).default('none'),
  /** Scores for node health attributes (#health-*) of each colour; unset = the strategy's default. */
  nodeHealthGreen: ScoreSchema.optional(),
  nodeHealthYellow: ScoreSchema.optional(),
  nodeHealthRed: ScoreSchema.optional(),
  /** For the progressive strategy: the score every node starts with. */
  nodeHealthBase: ScoreSchema.optional(),
  /** Probe resources on nodes where their state is unknown (default true). */
  enableStartupProbes: z.boolean().optional(),
  shutdownLock: z.boolean().default(false),
  /** How long a shutdown lock holds at most (0 or unset = until the node rejoins). */
  shutdownLockLimit: Duration.optional(),
  /** Live migrations one node may run at once (Pacemaker: migration-limit; -1 or unset = no limit). */
  migrationLimit: z.number().int().optional(),
  /** Re-check for time-based changes (failure-timeout, date rules) at least this often. */
  clusterRecheckInterval: Duration.default(900_000),
  /** How many actions run in parallel on one node (executor). */
  batchLimit: z.number().int().nonnegative().default(0),
});
export type ClusterProperties = z.infer<typeof ClusterProperties>;

/** Defaults applied to every resource's meta (Pacemaker: rsc_defaults) and operations (op_defaults). */
export const Defaults = z.strictObject({
  resource: ResourceMeta.default({}),
  operation: z.strictObject({ timeout: Duration.optional(), onFail: OnFail.optional() }).default({}),
});

/**
 * The highest epoch a configuration may name: far below 2^53, so that every later change (each
 * raises the epoch by one or two) still has an exact integer to go to.
 */
export const MAX_EPOCH = 2 ** 48 - 1;

/**
 * An agent module the configuration loads: an npm package name (`@acme/paceline-agents`, found in
 * node_modules from the configuration file's folder upwards, then from Paceline's own), or a path
 * to a built ES module (`./agents/lock.js`, relative to the configuration file). Its exported
 * agents are referenced as `paceline:NAME` like the built-in ones. Loading is done by the commands
 * and the daemon (docs/agents.md, "Agent modules"), not by this schema.
 */
export const AgentModuleSpec = z
  .string()
  .min(1, 'an agent module must not be empty')
  .refine((s) => !/[\u0000-\u001f#]/.test(s), 'an agent module is a package name or a path (no control characters, no "#")');

export const ClusterConfig = z.strictObject({
  /** Configuration epoch: increases with every accepted change (at most MAX_EPOCH). */
  epoch: z
    .number()
    .int()
    .nonnegative()
    .max(MAX_EPOCH, { error: `at most ${MAX_EPOCH}, so that later changes can still raise it` })
    .default(0),
  properties: ClusterProperties.default(ClusterProperties.parse({})),
  defaults: Defaults.default(Defaults.parse({})),
  nodes: z.array(NodeConfig).default([]),
  resources: z.array(Resource).default([]),
  constraints: z.array(Constraint).default([]),
  /** Agent modules to load (package names, or paths relative to the configuration file); absent: only the built-in agents. */
  agents: z.array(AgentModuleSpec).optional(),
  /** Metrics, the web view and alerts (docs/operations.md); absent: none of them. */
  monitoring: Monitoring.optional(),
  /** Heartbeat timing and partition policy, the same on every node (docs/membership.md); absent: the defaults. */
  membership: MembershipSettings.optional(),
});
/** A parsed, valid configuration (defaults applied). */
export type ClusterConfig = z.infer<typeof ClusterConfig>;
/** What a user writes: defaults may be left out. */
export type ClusterConfigInput = z.input<typeof ClusterConfig>;

export { INFINITY };
