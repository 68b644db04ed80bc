/**
 * Turning untrusted input into a valid ClusterConfig: zod for shape, then the cross-references
 * that a schema cannot see. Every problem is collected and reported together; on any problem
 * nothing is returned, so a bad file is never half-applied.
 */
import type { z } from 'zod';
import { ClusterConfig, type ClusterConfigInput, type Constraint } from './config.js';
import { ClusterStatus } from './status.js';
import { ConfigError, formatPath, type ConfigIssue } from './errors.js';
import { parseDocumentText } from './load.js';
import { listPrimitives, listResourceIds } from './walk.js';

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
  if (i.code === 'invalid_type' && /received undefined$/.test(i.message))
    return `missing (expected ${i.expected === 'object' ? 'a mapping' : i.expected === 'array' ? 'a list' : `a ${i.expected}`})`;
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
  const modules = new Map<string, number>();
  config.agents?.forEach((m, i) => {
    const prev = modules.get(m);
    if (prev !== undefined) issues.push({ path: `agents[${i}]`, message: `agent module "${m}" is already listed at agents[${prev}]` });
    else modules.set(m, i);
  });
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
  issues.push(...membershipIssues(config));
  const noFencing = noFencingWarning(config);
  if (noFencing) warnings.push(noFencing);
  return issues.length ? { issues, warnings } : { config, issues, warnings };
}

/** The membership section's references to nodes and links (the state machine checks the rest). */
function membershipIssues(config: ClusterConfig): ConfigIssue[] {
  const m = config.membership;
  if (m === undefined) return [];
  const issues: ConfigIssue[] = [];
  const names = config.nodes.map((n) => n.name);
  if (m.twoNode === true && names.length !== 2)
    issues.push({ path: 'membership.twoNode', message: `two-node mode needs exactly 2 nodes, not ${names.length}` });
  if (m.preferredNode !== undefined && !names.includes(m.preferredNode))
    issues.push({ path: 'membership.preferredNode', message: `"${m.preferredNode}" is not one of the nodes (${names.join(', ')})` });
  const links = new Set(config.nodes.flatMap((n) => Object.keys(n.addresses)));
  for (const link of Object.keys(m.links ?? {}))
    if (!links.has(link))
      issues.push({
        path: `membership.links.${link}`,
        message: `no node has an address on a link named "${link}" (links: ${[...links].sort().join(', ') || 'none'})`,
      });
  if (m.warnTicks !== undefined && m.deadTicks !== undefined && m.warnTicks > m.deadTicks)
    issues.push({ path: 'membership.warnTicks', message: `warnTicks (${m.warnTicks}) exceeds deadTicks (${m.deadTicks})` });
  return issues;
}

/**
 * Fencing enabled (the default) without a fencing device leaves every resource unmanaged: the
 * scheduler starts nothing and stops nothing (as Pacemaker does; crm_verify reports it). Said here
 * so that `config validate` names the cause and both fixes instead of calling the file "valid".
 */
export const NO_FENCING_DEVICE =
  'fencing is enabled (properties.stonithEnabled, default true) but no fencing device is configured, so resource start-up is disabled: every resource is left unmanaged. Add a fencing device (a primitive whose agent is stonith:...), or set properties.stonithEnabled: false if the resources share no data that two nodes must never write at once';

function noFencingWarning(config: ClusterConfig): ConfigIssue | undefined {
  if (!config.properties.stonithEnabled || config.resources.length === 0) return undefined;
  if (listPrimitives(config).some((e) => e.primitive.agent.startsWith('stonith:'))) return undefined;
  return { path: 'properties.stonithEnabled', message: NO_FENCING_DEVICE };
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

/** One mandatory "before" edge between resource actions, e.g. `web start` → `db start`, and the constraint it comes from. */
interface OrderEdge {
  readonly to: string;
  readonly index: number;
}

/**
 * The mandatory orderings a constraint implies, by resource id and action, as the scheduler
 * expands them (packages/scheduler/src/ordersets.ts, forward side only): a pair, the members of a
 * sequential set one after another, and between consecutive sets the last member of a sequential
 * set (every member otherwise) before the first member of the next (every member otherwise). A set
 * whose members need not all be done (requireAll: false) lets the next go after any one of them,
 * and Optional and Serialize orderings never wait: they cannot lock anything.
 */
function mandatoryEdges(c: Constraint): { from: string; to: string }[] {
  if (c.type !== 'order') return [];
  const out: { from: string; to: string }[] = [];
  if (c.first !== undefined && c.then !== undefined) {
    if (c.kind === 'Mandatory') out.push({ from: `${c.first} ${c.firstAction}`, to: `${c.then} ${c.thenAction ?? c.firstAction}` });
    return out;
  }
  const sets = c.sets ?? [];
  sets.forEach((set, k) => {
    const action = set.action ?? 'start';
    if ((set.kind ?? c.kind) === 'Mandatory' && set.sequential)
      for (let i = 1; i < set.resources.length; i++) out.push({ from: `${set.resources[i - 1]} ${action}`, to: `${set.resources[i]} ${action}` });
    const prev = sets[k - 1];
    if (!prev || c.kind !== 'Mandatory' || !prev.requireAll) return;
    const prevAction = prev.action ?? 'start';
    const firsts = prev.sequential ? prev.resources.slice(-1) : prev.resources;
    const thens = set.sequential ? set.resources.slice(0, 1) : set.resources;
    for (const f of firsts) for (const t of thens) out.push({ from: `${f} ${prevAction}`, to: `${t} ${action}` });
  });
  return out;
}

/** Cycles reported at most; more would only repeat the point. */
const MAX_CYCLE_ISSUES = 10;
/** Steps of a cycle shown in full; longer ones are shortened in the middle. */
const MAX_CYCLE_STEPS = 12;

/**
 * Mandatory orderings (pairs and sets) must not form a cycle: nothing in it could ever start.
 * Iterative depth-first search, so thousands of chained orderings cannot exhaust the stack.
 */
function findMandatoryCycles(constraints: readonly Constraint[]): ConfigIssue[] {
  const edges = new Map<string, OrderEdge[]>();
  constraints.forEach((c, index) => {
    for (const e of mandatoryEdges(c)) {
      if (e.from === e.to) continue; // "after itself" is reported by checkConstraint
      const list = edges.get(e.from) ?? [];
      list.push({ to: e.to, index });
      edges.set(e.from, list);
    }
  });
  const issues: ConfigIssue[] = [];
  let more = 0;
  const state = new Map<string, 'visiting' | 'done'>();
  // The current path: each node with the edge that led to it and how many of its edges are explored.
  const path: { node: string; via: number; next: number }[] = [];
  const onPath = new Map<string, number>();
  for (const root of [...edges.keys()].sort()) {
    if (state.has(root)) continue;
    path.push({ node: root, via: -1, next: 0 });
    onPath.set(root, 0);
    state.set(root, 'visiting');
    while (path.length > 0) {
      const top = path[path.length - 1]!;
      const out = edges.get(top.node) ?? [];
      if (top.next >= out.length) {
        state.set(top.node, 'done');
        onPath.delete(top.node);
        path.pop();
        continue;
      }
      const e = out[top.next++]!;
      const s = state.get(e.to);
      if (s === undefined) {
        state.set(e.to, 'visiting');
        onPath.set(e.to, path.length);
        path.push({ node: e.to, via: e.index, next: 0 });
      } else if (s === 'visiting') {
        if (issues.length >= MAX_CYCLE_ISSUES) {
          more++;
          continue;
        }
        const cycle = path.slice(onPath.get(e.to)!);
        const steps = [...cycle.map((x) => x.node), e.to];
        const shown =
          steps.length <= MAX_CYCLE_STEPS
            ? steps
            : [...steps.slice(0, MAX_CYCLE_STEPS / 2), `… ${steps.length - MAX_CYCLE_STEPS} more …`, ...steps.slice(-MAX_CYCLE_STEPS / 2)];
        const ids = [...new Set([...cycle.slice(1).map((x) => x.via), e.index].map((i) => constraints[i]!.id))];
        const named = ids.length <= MAX_CYCLE_STEPS ? ids.join(', ') : `${ids.slice(0, MAX_CYCLE_STEPS).join(', ')} and ${ids.length - MAX_CYCLE_STEPS} more`;
        issues.push({
          path: `constraints[${e.index}]`,
          message: `mandatory orderings form a cycle (${shown.join(' -> ')}) through constraint${ids.length > 1 ? 's' : ''} ${named}: nothing in it could ever start`,
        });
      }
    }
  }
  if (more > 0) issues.push({ path: 'constraints', message: `… and ${more} more ordering cycle${more > 1 ? 's' : ''}` });
  return issues;
}

/** Parses and validates a configuration object; throws ConfigError listing every problem. */
export function parseConfig(input: unknown, source?: string): ClusterConfig {
  const r = validateConfig(input);
  if (!r.config) throw new ConfigError(r.issues, source);
  return r.config;
}

/**
 * A configuration as written beside its parsed form: the daemon starts from `written` (it is what
 * the cluster replicates, without the defaults filled in) and plans with `config`.
 */
export interface ConfigDocument {
  readonly written: ClusterConfigInput;
  readonly config: ClusterConfig;
  readonly warnings: readonly ConfigIssue[];
}

/** Parses YAML or JSON text into a configuration as written and as parsed; throws ConfigError naming `source`. */
export function parseConfigDocumentText(text: string, source?: string): ConfigDocument {
  const written = parseDocumentText(text, source);
  const r = validateConfig(written);
  if (!r.config) throw new ConfigError(r.issues, source);
  // It validated, so it is a mapping of the configuration's input shape.
  return { written: written as ClusterConfigInput, config: r.config, warnings: r.warnings };
}

/** Parses YAML or JSON text (JSON is YAML) into a valid configuration; throws ConfigError. */
export function parseConfigText(text: string, source?: string): ClusterConfig {
  return parseConfigDocumentText(text, source).config;
}

export function parseStatus(input: unknown, source?: string): ClusterStatus {
  const parsed = ClusterStatus.safeParse(input);
  if (!parsed.success) throw new ConfigError(zodIssues(parsed.error), source, 'STATUS_INVALID');
  return parsed.data;
}

export function parseStatusText(text: string, source?: string): ClusterStatus {
  return parseStatus(parseDocumentText(text, source), source);
}
