/**
 * Turning untrusted input into a valid ClusterConfig: zod for shape, then the cross-references
 * that a schema cannot see. Every problem is collected and reported together; on any problem
 * nothing is returned, so a bad file is never half-applied.
 */
import type { z } from 'zod';
import { ClusterConfig, type Constraint } from './config.js';
import { ClusterStatus } from './status.js';
import { ConfigError, formatPath, type ConfigIssue } from './errors.js';
import { parseDocumentText } from './load.js';
import { listResourceIds } from './walk.js';

export interface ValidationResult {
  readonly config?: ClusterConfig;
  readonly issues: readonly ConfigIssue[];
  /** Suspicious but legal, e.g. a constraint naming a node that is not (yet) configured. */
  readonly warnings: readonly ConfigIssue[];
}

export function zodIssues(error: z.ZodError, prefix = ''): ConfigIssue[] {
  return error.issues.map((i) => {
    const path = formatPath(i.path);
    return { path: prefix && path ? `${prefix}.${path}` : prefix || path, message: humanMessage(i) };
  });
}

function humanMessage(i: z.core.$ZodIssue): string {
  if (i.code === 'unrecognized_keys') return `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`;
  if (i.code === 'invalid_union' && 'note' in i && i.note === 'No matching discriminator')
    return `missing or unknown "type"${'discriminator' in i ? ` (field "${String(i.discriminator)}")` : ''}`;
  // zod says "Invalid input: expected string, received undefined" for a field that is not there.
  if (i.code === 'invalid_type' && /received undefined$/.test(i.message)) return `missing (expected ${i.expected === 'object' ? 'a mapping' : i.expected === 'array' ? 'a list' : `a ${i.expected}`})`;
  return i.message;
}

/** Checks a configuration object; never throws. */
export function validateConfig(input: unknown): ValidationResult {
  const parsed = ClusterConfig.safeParse(input);
  if (!parsed.success) return { issues: zodIssues(parsed.error), warnings: [] };
  const config = parsed.data;
  const issues: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];

  const resourceIds = listResourceIds(config);
  for (const [id, paths] of resourceIds) {
    if (paths.length > 1)
      issues.push({ path: paths[1]!, message: `resource id "${id}" is already used at ${paths[0]} (a resource can be in only one place, e.g. in one group)` });
  }
  const nodeNames = new Set<string>();
  config.nodes.forEach((n, i) => {
    if (nodeNames.has(n.name)) issues.push({ path: `nodes[${i}].name`, message: `node "${n.name}" is declared twice` });
    nodeNames.add(n.name);
  });
  const constraintIds = new Map<string, number>();
  config.constraints.forEach((c, i) => {
    const prev = constraintIds.get(c.id);
    if (prev !== undefined) issues.push({ path: `constraints[${i}].id`, message: `constraint id "${c.id}" is already used by constraints[${prev}]` });
    else constraintIds.set(c.id, i);
    if (resourceIds.has(c.id)) issues.push({ path: `constraints[${i}].id`, message: `constraint id "${c.id}" is also a resource id` });
    checkConstraint(c, `constraints[${i}]`, resourceIds, nodeNames, issues, warnings);
  });
  issues.push(...findMandatoryCycles(config.constraints));
  return issues.length ? { issues, warnings } : { config, issues, warnings };
}

function checkConstraint(
  c: Constraint,
  path: string,
  resources: Map<string, string[]>,
  nodes: Set<string>,
  issues: ConfigIssue[],
  warnings: ConfigIssue[],
): void {
  const ref = (field: string, id: string | undefined): void => {
    if (id !== undefined && !resources.has(id))
      issues.push({ path: `${path}.${field}`, message: `constraint "${c.id}" names resource "${id}", which is not configured` });
  };
  const sets = 'sets' in c ? c.sets : undefined;
  sets?.forEach((s, i) => s.resources.forEach((r, j) => ref(`sets[${i}].resources[${j}]`, r)));
  switch (c.type) {
    case 'location':
      ref('resource', c.resource);
      if (c.node !== undefined && nodes.size > 0 && !nodes.has(c.node))
        warnings.push({ path: `${path}.node`, message: `constraint "${c.id}" names node "${c.node}", which is not configured` });
      return;
    case 'colocation':
      ref('resource', c.resource);
      ref('withResource', c.withResource);
      if (c.resource !== undefined && c.resource === c.withResource)
        issues.push({ path: `${path}.withResource`, message: `constraint "${c.id}" colocates "${c.resource}" with itself` });
      return;
    case 'order':
      ref('first', c.first);
      ref('then', c.then);
      if (c.first !== undefined && c.first === c.then && (c.thenAction ?? c.firstAction) === c.firstAction)
        issues.push({ path: `${path}.then`, message: `constraint "${c.id}" orders "${c.first}" after itself` });
      return;
  }
}

/** Mandatory orderings between pairs of resources (same action on both sides) must not form a cycle. */
function findMandatoryCycles(constraints: readonly Constraint[]): ConfigIssue[] {
  const edges = new Map<string, { to: string; index: number }[]>();
  constraints.forEach((c, index) => {
    if (c.type !== 'order' || c.kind !== 'Mandatory' || c.first === undefined || c.then === undefined) return;
    const thenAction = c.thenAction ?? c.firstAction;
    const from = `${c.first} ${c.firstAction}`;
    const to = `${c.then} ${thenAction}`;
    const list = edges.get(from) ?? [];
    list.push({ to, index });
    edges.set(from, list);
  });
  const issues: ConfigIssue[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: { node: string; index: number }[] = [];
  const visit = (node: string): void => {
    state.set(node, 'visiting');
    for (const e of edges.get(node) ?? []) {
      const s = state.get(e.to);
      if (s === 'visiting') {
        const start = stack.findIndex((x) => x.node === e.to);
        const cycle = [...stack.slice(start === -1 ? 0 : start), { node, index: e.index }];
        const ids = cycle.slice(1).map((x) => constraints[x.index]!.id);
        issues.push({
          path: `constraints[${e.index}]`,
          message: `mandatory orderings form a cycle (${[...cycle.slice(1).map((x) => x.node), e.to].join(' -> ')}) through constraints ${ids.join(', ')}: nothing in it could ever start`,
        });
      } else if (s === undefined) {
        stack.push({ node: e.to, index: e.index });
        visit(e.to);
        stack.pop();
      }
    }
    state.set(node, 'done');
  };
  for (const node of [...edges.keys()].sort()) {
    if (state.get(node) === undefined) {
      stack.push({ node, index: -1 });
      visit(node);
      stack.pop();
    }
  }
  return issues;
}

/** Parses and validates a configuration object; throws ConfigError listing every problem. */
export function parseConfig(input: unknown, source?: string): ClusterConfig {
  const r = validateConfig(input);
  if (!r.config) throw new ConfigError(r.issues, source);
  return r.config;
}

/** Parses YAML or JSON text (JSON is YAML) into a valid configuration; throws ConfigError. */
export function parseConfigText(text: string, source?: string): ClusterConfig {
  return parseConfig(parseDocumentText(text, source), source);
}

export function parseStatus(input: unknown, source?: string): ClusterStatus {
  const parsed = ClusterStatus.safeParse(input);
  if (!parsed.success) throw new ConfigError(zodIssues(parsed.error), source, 'STATUS_INVALID');
  return parsed.data;
}

export function parseStatusText(text: string, source?: string): ClusterStatus {
  return parseStatus(parseDocumentText(text, source), source);
}
