/** `paceline config show|apply FILE` (next to `config validate`): the running cluster's replicated configuration. */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { formatIssues } from '@paceline/model';
import type { ClusterDoc } from '@paceline/daemon';
import { ExitError, type CliIo } from '../io.js';
import { loadConfigDocument } from '../load.js';
import { loadConfigAgents } from '../agents.js';
import { assertAgentParams } from '../agent-params-check.js';
import { DEFAULT_STATE_DIR } from '../defaults.js';
import { control } from './status.js';

export function registerClusterConfigCommands(program: Command, io: CliIo): void {
  const config = program.commands.find((c) => c.name() === 'config') ?? program.command('config').description('Work with configuration files');
  config
    .command('show')
    .description("Print the running cluster's configuration (YAML, with its epoch)")
    .option('--state-dir <dir>', "the local daemon's state directory", DEFAULT_STATE_DIR)
    .option('--json', 'print the replicated document (epoch, configuration, quarantine) as JSON')
    .action(async (o: { stateDir: string; json?: boolean }) => {
      const doc = (await control(io, o.stateDir, { cmd: 'config' })) as ClusterDoc;
      if (o.json) io.out(JSON.stringify(doc, null, 2));
      else io.out(stringify({ ...doc.config, epoch: doc.epoch }).replace(/\n$/, ''));
    });
  config
    .command('apply <file>')
    .description("Replace the cluster configuration (an epoch in the file must be newer than the cluster's)")
    .option('--state-dir <dir>', "the local daemon's state directory", DEFAULT_STATE_DIR)
    .option('--force', 'apply even a configuration that drops a current member, or has no nodes or no resources')
    .action(async (file: string, o: { stateDir: string; force?: boolean }) => {
      const { document: raw, result: r } = loadConfigDocument(io, file);
      if (!r.config) {
        io.err(formatIssues(r.issues, file));
        throw new ExitError(2);
      }
      assertAgentParams(r.config, await loadConfigAgents(file, r.config), file);
      const epoch = typeof raw['epoch'] === 'number' ? raw['epoch'] : undefined;
      await control(io, o.stateDir, {
        cmd: 'update',
        request: { op: 'replace', config: raw, ...(epoch !== undefined ? { epoch } : {}), ...(o.force ? { force: true } : {}) },
      });
    });
}
