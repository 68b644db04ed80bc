/**
 * Agent modules: what a package or a built file must export to give the cluster its agents, and
 * the check made when one is loaded. Loading itself (finding the file, the trust checks, the
 * import) is I/O and lives in `@paceline/runtime` (`loadAgentModule`); this is the contract.
 *
 * A module's agents are its exports that are resource agents (`export const lock = defineAgent(...)`)
 * and the items of exported arrays of agents (`export const agents = [a, b]`).
 */
import { PacelineError } from '@paceline/model';
import type { ResourceAgent } from './agent.js';
import { describeAgentParams } from './params.js';

/** Does this value have the shape of a ResourceAgent (meta.name, params with safeParse, start, stop, monitor)? */
export function isResourceAgent(v: unknown): v is ResourceAgent {
  if (typeof v !== 'object' || v === null) return false;
  const a = v as Record<string, unknown>;
  const meta = a['meta'] as Record<string, unknown> | undefined;
  return (
    typeof meta === 'object' &&
    meta !== null &&
    typeof meta['name'] === 'string' &&
    typeof (a['params'] as { safeParse?: unknown } | undefined)?.safeParse === 'function' &&
    typeof a['start'] === 'function' &&
    typeof a['stop'] === 'function' &&
    typeof a['monitor'] === 'function'
  );
}

/** Raised when a module cannot give its agents: `module` names it, `problems` say what is wrong. */
export class AgentModuleError extends PacelineError<'AGENT_MODULE'> {
  constructor(
    readonly module: string,
    readonly problems: readonly string[],
    options?: { cause?: unknown },
  ) {
    super('AGENT_MODULE', `agent module ${module}: ${problems.join('; ')}`, options);
  }
}

/** Something that was meant to be an agent: an object with a `meta` object. */
function looksLikeAgent(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && typeof (v as Record<string, unknown>)['meta'] === 'object' && (v as Record<string, unknown>)['meta'] !== null;
}

const NAME = /^[A-Za-z0-9_.-]+$/;
const PAIRS: readonly (readonly [string, string])[] = [
  ['promote', 'demote'],
  ['migrateTo', 'migrateFrom'],
];

/** What is wrong with one would-be agent, against the contract (empty: nothing). */
export function agentContractProblems(v: Record<string, unknown>): string[] {
  const meta = v['meta'] as Record<string, unknown>;
  const problems: string[] = [];
  const name = meta['name'];
  if (typeof name !== 'string' || !NAME.test(name)) problems.push('meta.name must be a name of letters, digits and _ . -');
  for (const k of ['version', 'description']) if (typeof meta[k] !== 'string') problems.push(`meta.${k} must be a string`);
  for (const k of ['start', 'stop', 'monitor']) if (typeof v[k] !== 'function') problems.push(`${k}() is missing`);
  for (const [a, b] of PAIRS) {
    const has = [a, b].filter((k) => typeof v[k] === 'function');
    if (has.length === 1) problems.push(`${has[0]}() without ${has[0] === a ? b : a}()`);
  }
  const params = v['params'] as { safeParse?: unknown; _zod?: unknown } | undefined;
  if (typeof params?.safeParse !== 'function') problems.push('params must be a zod schema');
  else if (params._zod === undefined) problems.push('params is not a zod 4 schema (a zod 3 schema? Paceline needs zod 4)');
  else {
    try {
      describeAgentParams(v as unknown as ResourceAgent);
    } catch (e) {
      problems.push(`params: ${(e as Error).message}`);
    }
  }
  return problems;
}

/**
 * The agents a module exports, checked against the contract. Throws AgentModuleError naming
 * `source` and every problem: an export that is meant to be an agent (it has a `meta` object)
 * but breaks the contract, two agents with one name, or no agent at all.
 */
export function agentsOfModule(exports: Readonly<Record<string, unknown>>, source: string): ResourceAgent[] {
  const problems: string[] = [];
  const agents: ResourceAgent[] = [];
  const byName = new Map<string, { agent: unknown; where: string }>();
  const consider = (v: unknown, where: string): void => {
    if (!looksLikeAgent(v)) return;
    const bad = agentContractProblems(v);
    if (bad.length > 0) {
      problems.push(`export ${where}: ${bad.join(', ')}`);
      return;
    }
    const agent = v as unknown as ResourceAgent;
    const seen = byName.get(agent.meta.name);
    if (seen && seen.agent !== agent) problems.push(`exports ${seen.where} and ${where} are two agents named "${agent.meta.name}"`);
    if (seen) return;
    byName.set(agent.meta.name, { agent, where });
    agents.push(agent);
  };
  for (const key of Object.keys(exports).sort()) {
    const v = exports[key];
    if (Array.isArray(v)) v.forEach((item, i) => consider(item, `${key}[${i}]`));
    else consider(v, key);
  }
  if (problems.length === 0 && agents.length === 0)
    problems.push('exports no resource agent (an agent is an object with meta, params, start, stop and monitor: see defineAgent)');
  if (problems.length > 0) throw new AgentModuleError(source, problems);
  return agents.sort((a, b) => a.meta.name.localeCompare(b.meta.name));
}
