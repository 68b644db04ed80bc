/** `paceline config validate FILE`: every problem at once, each with its path; exit 2 when invalid. */
import type { Command } from 'commander';
import { formatIssues } from '@paceline/model';
import { ExitError, type CliIo } from '../io.js';
import { loadConfigDocument } from '../load.js';

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
      io.out(`${file}: valid (${r.config.nodes.length} nodes, ${r.config.resources.length} resources, ${r.config.constraints.length} constraints)`);
    });
}
