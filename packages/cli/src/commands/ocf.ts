/**
 * `paceline agent export-ocf AGENT --out DIR` and `paceline agent meta-data AGENT`: Paceline
 * agents as OCF resource agents for Pacemaker users. The work is done by @paceline/ocf
 * (`ocfCliApi`), injected here so this file stays parsing and printing only.
 *
 * AGENT is `NAME` or `paceline:NAME` (a built-in agent), `MODULE#AGENT` (an agent in a package or
 * built .js file), or for meta-data also `ocf:PROVIDER:TYPE` (an installed OCF script).
 */
import type { Command } from 'commander';
import { processIo, type CliIo } from '../io.js';

/** The slice of @paceline/ocf's `ocfCliApi` these commands use. */
export interface OcfCommandsApi {
  exportOcfAgent(spec: string, outDir: string, name?: string): Promise<{ readonly name: string; readonly shimPath: string; readonly metadataPath: string }>;
  agentMetadataXml(spec: string, ocfRoot?: string): Promise<string>;
}

/** Finds `paceline agent` (registered by registerAgentCommands) or creates it. */
function agentCommand(program: Command): Command {
  return program.commands.find((c) => c.name() === 'agent') ?? program.command('agent').description('Resource agents');
}

/**
 * Adds `agent export-ocf` and `agent meta-data` to `program`; call after registerAgentCommands.
 * `configModuleRef(file, agent)` turns `paceline:NAME` into `MODULEFILE#NAME` when NAME is an agent
 * of a module the configuration file names (`--config FILE`), else returns undefined.
 */
export function registerOcfCommands(
  program: Command,
  ocf: OcfCommandsApi,
  io: CliIo = processIo,
  configModuleRef?: (configFile: string, agent: string) => Promise<string | undefined>,
): Command {
  const specFor = async (spec: string, configFile: string | undefined): Promise<string> =>
    (configFile !== undefined && configModuleRef ? await configModuleRef(configFile, spec) : undefined) ?? spec;
  const agent = agentCommand(program);
  agent
    .command('export-ocf')
    .description('Write AGENT out as an OCF resource agent: an executable shim plus its meta-data XML')
    .argument('<agent>', 'NAME, paceline:NAME, or MODULE#AGENT')
    .requiredOption('--out <dir>', 'folder to write the shim into (install it as /usr/lib/ocf/resource.d/PROVIDER/NAME)')
    .option('--name <name>', 'the OCF type name (default: the agent name)')
    .option('--config <file>', 'also the agents of the modules this configuration names (its agents: list)')
    .action(async (spec: string, opts: { out: string; name?: string; config?: string }) => {
      const r = await ocf.exportOcfAgent(await specFor(spec, opts.config), opts.out, opts.name);
      io.out(`wrote ${r.shimPath} (OCF agent "${r.name}") and ${r.metadataPath}`);
      io.out(`install: cp ${r.shimPath} /usr/lib/ocf/resource.d/paceline/${r.name}   then use ocf:paceline:${r.name}`);
    });
  agent
    .command('meta-data')
    .description("Print AGENT's OCF meta-data XML (generated from its parameter schema)")
    .argument('<agent>', 'NAME, paceline:NAME, MODULE#AGENT, or ocf:PROVIDER:TYPE')
    .option(
      '--ocf-root <dir>',
      'OCF_ROOT for ocf: agents (default: the OCF_ROOT environment variable, else /usr/lib/ocf)',
      process.env['OCF_ROOT'] || '/usr/lib/ocf',
    )
    .action(async (spec: string, opts: { ocfRoot: string }) => {
      io.out((await ocf.agentMetadataXml(spec, opts.ocfRoot)).replace(/\n$/, ''));
    });
  return agent;
}
