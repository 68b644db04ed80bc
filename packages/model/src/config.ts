/**
 * The cluster configuration, as zod schemas. Types are inferred from these schemas; nothing else
 * defines their shape. Field names are camelCase; docs/model.md maps each to its Pacemaker name.
 * The constraints and their rules are in constraints.ts, the small shared schemas (scores, ids,
 * roles) in schema-basics.ts; both are exported from here too.
 */
import { z } from 'zod';
import { INFINITY } from './score.js';
import { Duration } from './duration.js';
import { Monitoring } from './monitoring.js';
import { MembershipSettings } from './membership.js';
import { Constraint } from './constraints.js';
import { ActionName, Id, OnFail, Role, ScoreSchema } from './schema-basics.js';

export { ActionName, ConstraintRole, OnFail, Role, ScoreSchema } from './schema-basics.js';
export * from './constraints.js';

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

/**
 * The defaults of `properties` and `defaults`, parsed when first needed rather than when the module
 * loads (parsing a schema the first time compiles its checks: a cost every command paid at start,
 * most of which never use these defaults). Each use gets its own top-level object, as zod gives
 * for a default value.
 */
let propertiesDefault: ClusterProperties | undefined;
let defaultsDefault: z.infer<typeof Defaults> | undefined;

export const ClusterConfig = z.strictObject({
  /** Configuration epoch: increases with every accepted change (at most MAX_EPOCH). */
  epoch: z
    .number()
    .int()
    .nonnegative()
    .max(MAX_EPOCH, { error: `at most ${MAX_EPOCH}, so that later changes can still raise it` })
    .default(0),
  properties: ClusterProperties.default(() => ({ ...(propertiesDefault ??= ClusterProperties.parse({})) })),
  defaults: Defaults.default(() => ({ ...(defaultsDefault ??= Defaults.parse({})) })),
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
