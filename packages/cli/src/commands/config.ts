/**
 * `paceline config validate FILE`: every problem at once, each with its path; exit 2 when invalid.
 * Besides the configuration itself, the parameters of resources of built-in `paceline:` agents
 * are parsed by their agents' schemas (an unknown parameter of a strict agent is an error).
 */
import type { Command } from 'commander';
import { formatIssues } from '@paceline/model';
import { ExitError, type CliIo } from '../io.js';
import { loadConfigDocument } from '../load.js';
import { cliAgentRegistry } from '../agents.js';
import { checkAgentParams } from '../agent-params-check.js';

export function registerConfigCommands(program: Command, io: CliIo): void {
  const config = program.command('config').description('Work with configuration files');
  config
    .command('validate <file>')
    .description('Check a configuration file and report every problem with its path')
    .action((file: string) => {
      const { result: r } = loadConfigDocument(io, file);
      for (const w of r.warnings) io.err(`warning: ${file}: ${w.path}: ${w.message}`);
      if (!r.config) {
        io.err(formatIssues(r.issues, file));
        throw new ExitError(2);
      }
      const params = checkAgentParams(r.config, cliAgentRegistry());
      if (params.length > 0) {
        io.err(formatIssues(params, file));
        throw new ExitError(2);
      }
      io.out(`${file}: valid (${r.config.nodes.length} nodes, ${r.config.resources.length} resources, ${r.config.constraints.length} constraints)`);
    });
}
