/**
 * `config validate`'s (and `simulate`'s, `explain`'s, `config apply`'s, daemon start's) check of resource parameters against the agents' schemas: every primitive
 * whose agent is a `paceline:` agent (built in, or from an agent module of the configuration) gets its parameters (and each per-node parameter
 * set) parsed by that agent's schema, so a misspelt or unknown parameter of a strict agent is an
 * error with its path and a "did you mean". OCF and other agents are not checked here (their
 * scripts would have to be run).
 */
import { describeAgentParams, validateParams, type AgentRegistry } from '@paceline/agent-api';
import { ConfigError, listPrimitives, type ClusterConfig } from '@paceline/model';

export interface ParamProblem {
  readonly path: string;
  readonly message: string;
}

/** Levenshtein distance, for suggestions. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The closest of `names` to `given`, when close enough to be a likely typo. */
export function suggest(given: string, names: readonly string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const name of names) {
    const d = distance(given, name);
    if (!best || d < best.d) best = { name, d };
  }
  return best && best.d <= Math.max(2, Math.floor(given.length / 3)) ? best.name : undefined;
}

/**
 * `unloadedModules`: some agent module of the configuration could not be loaded here (the daemon
 * starts anyway: that node cannot run those agents), so an unknown `paceline:` agent may be one of
 * its agents and is not reported.
 */
export function checkAgentParams(config: ClusterConfig, registry: AgentRegistry, options: { unloadedModules?: boolean } = {}): ParamProblem[] {
  const problems: ParamProblem[] = [];
  for (const { primitive, path } of listPrimitives(config)) {
    if (!primitive.agent.startsWith('paceline:')) continue;
    const agent = registry.get(primitive.agent);
    if (!agent && options.unloadedModules) continue;
    if (!agent) {
      const known = registry.list().map((a) => `paceline:${a.meta.name}`);
      const near = suggest(primitive.agent, known);
      problems.push({ path: `${path}.agent`, message: `no agent "${primitive.agent}"${near ? ` (did you mean "${near}"?)` : ''} (known: ${known.join(', ')})` });
      continue;
    }
    const names = describeAgentParams(agent).map((p) => p.name);
    const sets: [string, unknown][] = [[`${path}.params`, primitive.params], ...Object.entries(primitive.paramsByNode ?? {}).map(([node, p]): [string, unknown] => [`${path}.paramsByNode.${node}`, p])];
    for (const [where, raw] of sets) {
      const v = validateParams(agent, raw, primitive.id);
      if (v.ok) continue;
      for (const issue of v.issues) {
        const unknown = /^Unrecognized keys?/.test(issue.message) ? [...issue.message.matchAll(/"([^"]+)"/g)].map((m) => m[1]!) : [];
        if (unknown.length === 0) {
          problems.push({ path: issue.path ? `${where}.${issue.path}` : where, message: issue.message });
          continue;
        }
        for (const k of new Set(unknown)) {
          const near = suggest(k, names);
          problems.push({ path: `${where}.${k}`, message: `unknown parameter of ${primitive.agent}${near ? ` (did you mean "${near}"?)` : ` (known: ${names.join(', ')})`}` });
        }
      }
    }
  }
  return problems;
}

/**
 * The same check for the commands that act on a configuration (`simulate`, `explain`, `config
 * apply`, daemon start): throws a ConfigError naming every problem (exit 2), so a misspelt
 * parameter never reaches a node.
 */
export function assertAgentParams(config: ClusterConfig, registry: AgentRegistry, source?: string, options: { unloadedModules?: boolean } = {}): void {
  const problems = checkAgentParams(config, registry, options);
  if (problems.length > 0) throw new ConfigError(problems, source);
}
