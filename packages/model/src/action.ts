/**
 * The schemas of what crosses between nodes about actions: one action of a transition graph (the
 * coordinator sends it to the node that runs it) and an action's two-axis result (the node sends it
 * back). The types are inferred from them, so the scheduler, the executor, the agents and the
 * daemon's wire format share one definition; a receiver parses with these at the trust boundary.
 */
import { z } from 'zod';
import { MonitorReport } from './status.js';

export const GraphActionKind = z.enum([
  'start',
  'stop',
  'monitor',
  'probe',
  'promote',
  'demote',
  'migrate_to',
  'migrate_from',
  'reload',
  'notify',
  'fence',
  'pseudo',
]);
export type GraphActionKind = z.infer<typeof GraphActionKind>;

/** How a node is fenced (Pacemaker's stonith-action; `poweroff` is written `off`). */
export const FenceType = z.enum(['reboot', 'off', 'on']);
export type FenceType = z.infer<typeof FenceType>;

/** The agent and parameters an orphan last ran with on a node. */
export const OrphanDefinition = z.strictObject({
  agent: z.string().min(1),
  params: z.record(z.string(), z.unknown()),
});
export type OrphanDefinition = z.infer<typeof OrphanDefinition>;

/** One action in the transition graph. */
export const GraphAction = z.strictObject({
  /** Unique, stable id: e.g. "web_start_0 serv1", "fence serv2". */
  id: z.string().min(1),
  kind: GraphActionKind,
  /** Instance id the agent is called for ("web", or "httpd:1" for a clone instance); absent for fencing. */
  resource: z.string().min(1).optional(),
  /** The configured primitive behind the instance. */
  primitive: z.string().min(1).optional(),
  /**
   * For a resource no longer in the configuration (an orphan, being stopped): its last known
   * definition on the action's node, from that node's history.
   */
  definition: OrphanDefinition.optional(),
  /** Node the action runs on (for fencing: the node to fence). */
  node: z.string().min(1).optional(),
  /** Recurring monitor interval in ms; 0 for one-shot actions. */
  interval: z.number().int().nonnegative(),
  timeout: z.number().int().nonnegative().optional(),
  /** For fencing: reboot / off / on. */
  fenceType: FenceType.optional(),
  /** Pseudo actions mark points in the graph (e.g. "group started"); nothing runs. */
  pseudo: z.string().optional(),
  /** Why this action exists. */
  reason: z.string(),
  /** False when the action is wanted but cannot run in this transition (blocked). */
  runnable: z.boolean(),
});
export type GraphAction = z.infer<typeof GraphAction>;

/** Did the action run? */
export const Execution = z.enum(['done', 'timeout', 'cancelled', 'error', 'not-installed', 'not-supported']);
export type Execution = z.infer<typeof Execution>;

/** What the agent reported (meaningful when execution is 'done'); one-to-one with OCF exit codes. */
export const Outcome = z.enum([
  'ok',
  'not-running',
  'running-promoted',
  'failed-promoted',
  'degraded',
  'degraded-promoted',
  'generic-error',
  'invalid-args',
  'unimplemented',
  'insufficient-privileges',
  'not-installed',
  'misconfigured',
]);
export type Outcome = z.infer<typeof Outcome>;

/**
 * Two-axis action results. `execution` says whether the action ran to completion; `outcome` says
 * what the agent reported. Expected outcomes are values: only bugs throw.
 */
export const ActionResult = z.strictObject({
  execution: Execution,
  outcome: Outcome,
  /** A short human-readable reason, e.g. "address 10.0.0.10 already in use by 52:54:00:12:34:56". */
  reason: z.string().optional(),
  /** Wall time the action took, in ms (filled in by the executor). */
  durationMs: z.number().nonnegative().optional(),
  /**
   * Typed facts a monitor reports besides its outcome (a replica's lag: see MonitorReport). The
   * executor checks it against the schema (an invalid one is dropped with a warning) and the daemon
   * carries the last one into the status, the metrics and the scheduler's input.
   */
  report: MonitorReport.optional(),
});
export type ActionResult = z.infer<typeof ActionResult>;
