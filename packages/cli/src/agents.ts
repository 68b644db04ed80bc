/**
 * The agents the `paceline` command knows: the built-in TypeScript agents (dummy, stateful, process,
 * ip, mac, mirror, httpd, bind, samba, radius, cyrus, sendmail), through the OCF bridge every
 * installed OCF script (`ocf:PROVIDER:TYPE`), and the agent modules a configuration names
 * (`agents:`, loaded by @paceline/runtime's ModuleAgentResolver, relative to the configuration file).
 */
import { isAbsolute } from 'node:path';
import { AgentModuleError, type AgentRegistry, type ResourceAgent } from '@paceline/agent-api';
import { bindAgent } from '@paceline/agent-bind';
import { cyrusAgent } from '@paceline/agent-cyrus';
import { httpdAgent } from '@paceline/agent-httpd';
import { ipAgent } from '@paceline/agent-ip';
import { macAgent } from '@paceline/agent-mac';
import { mirrorAgent } from '@paceline/agent-mirror';
import { radiusAgent } from '@paceline/agent-radius';
import { sambaAgent } from '@paceline/agent-samba';
import { sendmailAgent } from '@paceline/agent-sendmail';
import { ConfigError, type ClusterConfig } from '@paceline/model';
import { ocfRefResolver } from '@paceline/ocf';
import { ExecaCommandRunner, ModuleAgentResolver, configBaseDir, loadAgentModule, type ModuleAgents } from '@paceline/runtime';
import { builtinAgentRegistry } from './commands/agent.js';

/** OCF_ROOT from the environment (as Pacemaker's tools honour it), else undefined: the OCF default. */
export function envOcfRoot(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env['OCF_ROOT'] || undefined;
}

/** `ocfRoot` defaults to the OCF_ROOT environment variable, then to the OCF default (/usr/lib/ocf). */
export function cliAgentRegistry(options: { ocfRoot?: string } = {}): AgentRegistry {
  const ocfRoot = options.ocfRoot ?? envOcfRoot();
  return builtinAgentRegistry([ipAgent, macAgent, mirrorAgent, httpdAgent, bindAgent, sambaAgent, radiusAgent, cyrusAgent, sendmailAgent]).addResolver(
    'ocf',
    ocfRefResolver({ run: new ExecaCommandRunner(), ...(ocfRoot !== undefined ? { ocfRoot } : {}) }),
  );
}

/** The resolver for a configuration file: built-in agents plus its `agents:` modules (relative to the file). */
export function configAgentResolver(configFile: string, config: Pick<ClusterConfig, 'agents'>, options: { ocfRoot?: string } = {}): ModuleAgentResolver {
  return new ModuleAgentResolver(cliAgentRegistry(options), { baseDir: configBaseDir(configFile), source: configFile, modules: config.agents ?? [] });
}

/** Module failures as configuration problems: `agents[0]: agent module "./x.js": ...`. */
export function moduleProblems(loaded: ModuleAgents): { path: string; message: string }[] {
  return loaded.failures.map((f) => ({ path: `agents[${f.index}]`, message: `agent module "${f.spec}": ${f.error.problems.join('; ')}` }));
}

/**
 * Every agent a configuration file can use: built-in ones and those of its modules. A module that
 * cannot be loaded is a ConfigError naming the file, `agents[i]`, the module and why (exit 2).
 */
export async function loadConfigAgents(configFile: string, config: Pick<ClusterConfig, 'agents'>): Promise<AgentRegistry> {
  const loaded = await configAgentResolver(configFile, config).load();
  const problems = moduleProblems(loaded);
  if (problems.length > 0) throw new ConfigError(problems, configFile);
  return loaded.registry;
}

/** Does an agent reference name a module (`MODULE#AGENT`, `./dist/index.js`, `/abs/path`)? */
export function isModuleRef(ref: string): boolean {
  return ref.includes('#') || ref.startsWith('./') || ref.startsWith('../') || isAbsolute(ref);
}

/**
 * The agent `MODULE#AGENT` (or the only agent of `MODULE`) names: the module is loaded as a
 * configuration's would be, relative to `baseDir` (the current folder), with the same checks.
 */
export async function agentFromModuleRef(ref: string, baseDir: string = process.cwd()): Promise<ResourceAgent> {
  const hash = ref.lastIndexOf('#');
  const spec = hash >= 0 ? ref.slice(0, hash) : ref;
  const name = hash >= 0 ? ref.slice(hash + 1) : undefined;
  const m = await loadAgentModule(spec, { baseDir });
  if (name === undefined) {
    if (m.agents.length === 1) return m.agents[0]!;
    throw new AgentModuleError(spec, [`has several agents (${m.agents.map((a) => a.meta.name).join(', ')}): name one, ${spec}#NAME`]);
  }
  const agent = m.agents.find((a) => a.meta.name === name || a.meta.name === name.replace(/^paceline:/, ''));
  if (!agent) throw new AgentModuleError(spec, [`no agent "${name}" (it has: ${m.agents.map((a) => a.meta.name).join(', ')})`]);
  return agent;
}
