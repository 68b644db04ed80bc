/**
 * `config validate`'s (and `simulate`'s, `explain`'s, `config apply`'s, daemon start's) check of resource parameters against the agents' schemas: every primitive
 * whose agent is a `paceline:` agent (built in, or from an agent module of the configuration) gets its parameters (and each per-node parameter
 * set) parsed by that agent's schema, so a misspelt or unknown parameter of a strict agent is an
 * error with its path and a "did you mean". OCF and other agents are not checked here (their
 * scripts would have to be run).
 */
import { suggestName, validateParams, type AgentRegistry } from '@paceline/agent-api';
import { ConfigError, listPrimitives, type ClusterConfig } from '@paceline/model';

export interface ParamProblem {
  readonly path: string;
  readonly message: string;
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
      const near = suggestName(primitive.agent, known);
      problems.push({
        path: `${path}.agent`,
        message: `no agent "${primitive.agent}"${near ? ` (did you mean "${near}"?)` : ''} (known: ${known.join(', ')})`,
      });
      continue;
    }
    const sets: [string, unknown][] = [
      [`${path}.params`, primitive.params],
      ...Object.entries(primitive.paramsByNode ?? {}).map(([node, p]): [string, unknown] => [`${path}.paramsByNode.${node}`, p]),
    ];
    for (const [where, raw] of sets) {
      const v = validateParams(agent, raw, primitive.id);
      if (v.ok) continue;
      for (const issue of v.issues) {
        // "unknown parameter (did you mean ...)" names the agent here: the file does not say it next to the key.
        const message = issue.message.startsWith('unknown parameter')
          ? issue.message.replace('unknown parameter', `unknown parameter of ${primitive.agent}`)
          : issue.message;
        problems.push({ path: issue.path ? `${where}.${issue.path}` : where, message });
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
