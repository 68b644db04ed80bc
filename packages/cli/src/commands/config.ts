/**
 * `paceline config validate FILE`: every problem at once, each with its path; exit 2 when invalid.
 * Besides the configuration itself, the agent modules it names are loaded (relative to the file)
 * and the parameters of resources of `paceline:` agents are parsed by their agents' schemas (an
 * unknown parameter of a strict agent is an error).
 */
import type { Command } from 'commander';
import { formatIssues } from '@paceline/model';
import { ExitError, type CliIo } from '../io.js';
import { loadConfigDocument } from '../load.js';
import { configAgentResolver, moduleProblems } from '../agents.js';
import { checkAgentParams } from '../agent-params-check.js';

export function registerConfigCommands(program: Command, io: CliIo): void {
  const config = program.command('config').description('Work with configuration files');
  config
    .command('validate <file>')
    .description('Check a configuration file and report every problem with its path')
    .action(async (file: string) => {
      const { result: r } = loadConfigDocument(io, file);
      for (const w of r.warnings) io.err(`warning: ${file}: ${w.path}: ${w.message}`);
      if (!r.config) {
        io.err(formatIssues(r.issues, file));
        throw new ExitError(2);
      }
      // The agent modules it names must load here, and every paceline: agent's parameters must parse.
      const loaded = await configAgentResolver(file, r.config).load();
      const problems = [...moduleProblems(loaded), ...checkAgentParams(r.config, loaded.registry, { unloadedModules: loaded.failures.length > 0 })];
      if (problems.length > 0) {
        io.err(formatIssues(problems, file));
        throw new ExitError(2);
      }
      // Valid, but applied to a running cluster it would take every node or resource out of it.
      if (r.config.nodes.length === 0)
        io.err(`warning: ${file}: nodes: none: applied to a running cluster, every node would leave it (\`config apply\` refuses this without --force)`);
      if (r.config.resources.length === 0)
        io.err(
          `warning: ${file}: resources: none: applied to a running cluster, every resource would be left unmanaged or stopped (\`config apply\` refuses this without --force)`,
        );
      io.out(`${file}: valid (${r.config.nodes.length} nodes, ${r.config.resources.length} resources, ${r.config.constraints.length} constraints)`);
    });
}
