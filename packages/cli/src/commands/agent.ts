/** `paceline agent list | info AGENT | test AGENT --param k=v ... | init NAME`: the agent SDK from the command line. */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  capabilitiesOf,
  coerceParams,
  describeAgentParams,
  formatReport,
  testAgent,
  type Clock,
  type CommandRunner,
  type ParamDescription,
  type ResourceAgent,
} from '@paceline/agent-api';
import { AgentRegistry } from '@paceline/agent-api';
import { createLogger, ExecaCommandRunner, SystemClock } from '@paceline/runtime';
import { dummyAgents } from '@paceline/agent-dummy';
import { processAgent } from '@paceline/agent-process';
import { ExitError, processIo, type CliIo } from '../io.js';
import { AGENT_NAME, agentPackageFiles } from '../scaffold.js';

/** @paceline/agent-api's package.json: the version a new agent builds against and the zod it accepts. */
function agentApiPackage(): { version: string; peerDependencies?: Record<string, string>; devDependencies?: Record<string, string> } {
  const path = createRequire(import.meta.url).resolve('@paceline/agent-api/package.json');
  return JSON.parse(readFileSync(path, 'utf8')) as { version: string };
}

export interface AgentCommandDeps {
  readonly runner?: CommandRunner;
  readonly clock?: Clock;
  /**
   * The agents a configuration file can use (`--config FILE`): the built-in ones and its agent
   * modules, with the module each module agent comes from. Throws when a module cannot be loaded.
   */
  readonly configAgents?: (configFile: string) => Promise<{ readonly registry: AgentRegistry; readonly origin: ReadonlyMap<string, string> }>;
  /** The agent a module reference names (`MODULE#AGENT`, `./dist/index.js`); see agentFromModuleRef. */
  readonly moduleAgent?: (ref: string) => Promise<ResourceAgent>;
  /** Is `ref` a module reference rather than an agent name? */
  readonly isModuleRef?: (ref: string) => boolean;
}

/** A registry with the built-in agents (dummy, stateful, process) plus `extra`. */
export function builtinAgentRegistry(extra: readonly ResourceAgent[] = []): AgentRegistry {
  return new AgentRegistry([...dummyAgents, processAgent, ...extra]);
}

const collect = (v: string, acc: string[]): string[] => [...acc, v];

/** "k=v" pairs to a map; a repeated key collects its values (for array parameters). */
export function parseParamPairs(pairs: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ExitError(2, `--param "${pair}": write NAME=VALUE`);
    const k = pair.slice(0, eq);
    const v = pair.slice(eq + 1);
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

function show(v: unknown): string {
  if (v === undefined) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** A plain-text table of an agent's parameters. */
export function renderParams(params: readonly ParamDescription[]): string[] {
  const rows = params.map((p) => [
    p.name,
    p.values ? p.values.map(String).join('|') : p.type === 'array' ? `${p.itemType ?? 'any'}[]` : p.type,
    p.required ? 'yes' : '',
    show(p.default),
    p.unique ? 'yes' : '',
    p.description,
  ]);
  const head = ['NAME', 'TYPE', 'REQUIRED', 'DEFAULT', 'UNIQUE', 'DESCRIPTION'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)];
}

async function find(registry: AgentRegistry, ref: string, deps: AgentCommandDeps): Promise<ResourceAgent> {
  if (deps.moduleAgent && deps.isModuleRef?.(ref)) return deps.moduleAgent(ref);
  const agent = await registry.resolve(ref);
  if (!agent) {
    const known = registry
      .list()
      .map((a) => `paceline:${a.meta.name}`)
      .join(', ');
    throw new ExitError(
      2,
      `no agent "${ref}" (known: ${known || 'none'}; an agent of a module: MODULE#AGENT, or --config FILE for the modules a configuration names)`,
    );
  }
  return agent;
}

/**
 * Adds `paceline agent ...` to `program`. `registry` holds the built-in agents (and any `ocf:`
 * resolver); `deps` adds the agents of a configuration's modules (`--config FILE`) and of module
 * references, and lets tests inject the command runner and clock used by `agent test`.
 */
export function registerAgentCommands(program: Command, registry: AgentRegistry, io: CliIo = processIo, deps: AgentCommandDeps = {}): Command {
  const agent = program.command('agent').description('Resource agents: list them, describe their parameters, test them, start a new one');
  const agentsOf = async (configFile: string | undefined): Promise<{ registry: AgentRegistry; origin: ReadonlyMap<string, string> }> => {
    if (configFile === undefined) return { registry, origin: new Map() };
    if (!deps.configAgents) throw new ExitError(2, '--config: this program cannot load agent modules');
    return deps.configAgents(configFile);
  };
  const configOption = '--config <file>';
  const configHelp = 'also the agents of the modules this configuration names (its agents: list)';

  agent
    .command('list')
    .description('List the available agents')
    .option(configOption, configHelp)
    .action(async (o: { config?: string }) => {
      const { registry: r, origin } = await agentsOf(o.config);
      const agents = r.list();
      const w = Math.max(...agents.map((a) => a.meta.name.length + 9), 4);
      for (const a of agents) {
        const from = origin.get(a.meta.name);
        io.out(`${`paceline:${a.meta.name}`.padEnd(w)}  ${a.meta.version.padEnd(7)}  ${a.meta.description}${from !== undefined ? `  (module ${from})` : ''}`);
      }
    });

  agent
    .command('info')
    .description('Describe an agent: capabilities, timeouts and parameters')
    .argument('<agent>', 'paceline:NAME, NAME, MODULE#AGENT (an agent of a package or built .js file), or ocf:PROVIDER:TYPE')
    .option('--format <text|json>', 'output format', 'text')
    .option(configOption, configHelp)
    .action(async (ref: string, o: { format: string; config?: string }) =>
      printAgentInfo(await find((await agentsOf(o.config)).registry, ref, deps), o.format, io),
    );

  agent
    .command('test')
    .description('Run the agent test kit (probe, start twice, stop twice, promote/demote, timeouts, exit-code lint) against the real agent')
    .argument('<agent>', 'paceline:NAME, NAME, or MODULE#AGENT (an agent of a package or built .js file)')
    .option(configOption, configHelp)
    .option('-p, --param <name=value>', 'a parameter (repeatable; repeat a name for array items, or give a JSON array)', collect, [])
    .option('--state-dir <dir>', 'the instance state directory (default: a new temporary directory)')
    .option('--timeout <action=ms>', 'override an action timeout (repeatable)', collect, [])
    .action(async (ref: string, o: AgentTestOpts) => runAgentTest(await find((await agentsOf(o.config)).registry, ref, deps), o, deps, io));

  agent
    .command('init')
    .description('Start a new agent package: a working agent with a strict parameter schema, a test that runs the agent test kit, a README')
    .argument('<name>', "the agent's name (paceline:NAME): lower-case letters, digits and _ . -, starting with a letter")
    .option('--dir <dir>', 'where to write it (default: ./paceline-agent-NAME); must not exist or be empty')
    .option('--package <name>', 'the npm package name (default: paceline-agent-NAME)')
    .action((name: string, o: { dir?: string; package?: string }) => initAgentPackage(name, o, io));

  for (const c of agent.commands) c.exitOverride();
  agent.exitOverride();
  return agent;
}

/** `paceline agent info`: metadata, capabilities, default timeouts and parameters, as text or JSON. */
function printAgentInfo(a: ResourceAgent, format: string, io: CliIo): void {
  const params = describeAgentParams(a);
  if (format === 'json') {
    io.out(JSON.stringify({ ...a.meta, capabilities: capabilitiesOf(a), params }, null, 2));
    return;
  }
  io.out(`${a.meta.name} ${a.meta.version}: ${a.meta.description}`);
  io.out(`capabilities: ${capabilitiesOf(a).join(', ') || 'none (start, stop, monitor only)'}`);
  const t = a.meta.defaultTimeouts;
  if (t && Object.keys(t).length)
    io.out(
      `default timeouts: ${Object.entries(t)
        .map(([k, v]) => `${k} ${v} ms`)
        .join(', ')}`,
    );
  if (a.meta.defaultMonitorInterval) io.out(`default monitor interval: ${a.meta.defaultMonitorInterval} ms`);
  io.out('');
  for (const l of params.length ? renderParams(params) : ['(no parameters)']) io.out(l);
}

interface AgentTestOpts {
  param: string[];
  stateDir?: string;
  timeout: string[];
  config?: string;
}

/** `paceline agent test`: the agent test kit against the real agent with the parameters given; exit 1 when a check failed. */
async function runAgentTest(a: ResourceAgent, o: AgentTestOpts, deps: AgentCommandDeps, io: CliIo): Promise<void> {
  const params = coerceParams(a.params, parseParamPairs(o.param));
  const timeouts: Record<string, number> = {};
  for (const [k, v] of Object.entries(parseParamPairs(o.timeout))) {
    const ms = Number(Array.isArray(v) ? v[v.length - 1] : v);
    if (!Number.isFinite(ms) || ms <= 0) throw new ExitError(2, `--timeout ${k}: "${String(v)}" is not a number of ms`);
    timeouts[k] = ms;
  }
  const report = await testAgent(a, params, {
    runner: deps.runner ?? new ExecaCommandRunner(),
    clock: deps.clock ?? new SystemClock(),
    logger: createLogger({ level: 'warn' }),
    ...(o.stateDir ? { stateDir: o.stateDir } : {}),
    timeouts,
  });
  for (const line of formatReport(report).split('\n')) io.out(line);
  if (!report.passed) throw new ExitError(1);
}

/** `paceline agent init`: a new agent package's files written into an empty folder. */
function initAgentPackage(name: string, o: { dir?: string; package?: string }, io: CliIo): void {
  if (!AGENT_NAME.test(name)) throw new ExitError(2, `agent name "${name}": use lower-case letters, digits and _ . -, starting with a letter`);
  const packageName = o.package ?? `paceline-agent-${name}`;
  if (!/^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/.test(packageName)) throw new ExitError(2, `--package "${packageName}" is not an npm package name`);
  const dir = resolve(o.dir ?? `paceline-agent-${name}`);
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new ExitError(2, `${dir} exists and is not empty: choose another --dir`);
  const api = agentApiPackage();
  const files = agentPackageFiles({
    name,
    packageName,
    agentApiRange: `^${api.version}`,
    zodRange: api.peerDependencies?.['zod'] ?? '^4.0.0',
    zodDevRange: api.devDependencies?.['zod'] ?? '^4.0.0',
  });
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  io.out(`wrote ${Object.keys(files).sort().join(', ')} in ${dir}`);
  io.out(`next: cd ${dir} && npm install && npm test`);
  io.out(`then: paceline agent test ./#${name} --param path=/tmp/${name}-held   and name "${packageName}" in a cluster's agents:`);
}
