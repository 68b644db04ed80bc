/**
 * Placement policy, as zod schemas: rules (node-attribute and date expressions), location,
 * colocation and order constraints, and resource sets. Part of the cluster configuration
 * (config.ts); docs/constraints.md explains how to use them.
 */
import { z } from 'zod';
import type { Score } from './score.js';
import { compileResourcePattern } from './pattern.js';
import { ActionName, ConstraintRole, Id, ScoreSchema } from './schema-basics.js';

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
