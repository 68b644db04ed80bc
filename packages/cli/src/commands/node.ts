/** `paceline node standby|online|clear NODE`. */
import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { DEFAULT_STATE_DIR } from '../defaults.js';
import { control } from './status.js';

export function registerNodeCommands(program: Command, io: CliIo): void {
  const node = program.command('node').description('Node administration (through the local daemon)');
  const sd = ['--state-dir <dir>', "the local daemon's state directory", DEFAULT_STATE_DIR] as const;
  node
    .command('standby <node>')
    .description('Move every resource off NODE and keep it empty')
    .option(...sd)
    .action(async (name: string, o: { stateDir: string }) => {
      await control(io, o.stateDir, { cmd: 'update', request: { op: 'standby', node: name, on: true } });
    });
  node
    .command('online <node>')
    .description('Let NODE run resources again (ends standby)')
    .option(...sd)
    .action(async (name: string, o: { stateDir: string }) => {
      await control(io, o.stateDir, { cmd: 'update', request: { op: 'standby', node: name, on: false } });
    });
  node
    .command('clear <node>')
    .description('End the quarantine of NODE (after a fence, an unclean loss or a failed stop)')
    .option(...sd)
    .action(async (name: string, o: { stateDir: string }) => {
      await control(io, o.stateDir, { cmd: 'update', request: { op: 'clear-node', node: name } });
    });
}
