/** `paceline resource move|ban|clear|cleanup|restart RSC [--node N]`. */
import type { Command } from 'commander';
import { ExitError, type CliIo } from '../io.js';
import { DEFAULT_STATE_DIR } from '../defaults.js';
import { control } from './status.js';

interface Opts {
  stateDir: string;
  node?: string;
}

export function registerResourceCommands(program: Command, io: CliIo): void {
  const rsc = program.command('resource').description('Resource administration (through the local daemon)');
  const add = (name: string, description: string, run: (r: string, o: Opts) => Promise<unknown>): void => {
    rsc
      .command(`${name} <resource>`)
      .description(description)
      .option('--state-dir <dir>', "the local daemon's state directory", DEFAULT_STATE_DIR)
      .option('--node <node>', 'the node concerned')
      .action(async (r: string, o: Opts) => {
        await run(r, o);
      });
  };
  add('move', 'Move RSC to --node (constraint cli-prefer-RSC), or away from where it runs (cli-ban-RSC-on-NODE)', (r, o) =>
    control(io, o.stateDir, { cmd: 'move', resource: r, ...(o.node ? { node: o.node } : {}) }),
  );
  add('ban', 'Keep RSC off --node (constraint cli-ban-RSC-on-NODE)', (r, o) => {
    if (!o.node) throw new ExitError(2, 'resource ban needs --node');
    return control(io, o.stateDir, { cmd: 'update', request: { op: 'ban', resource: r, node: o.node } });
  });
  add('clear', 'Remove the move/ban constraints of RSC (only those for --node when given)', (r, o) =>
    control(io, o.stateDir, { cmd: 'update', request: { op: 'clear', resource: r, ...(o.node ? { node: o.node } : {}) } }),
  );
  add('cleanup', 'Forget the failures and history of RSC (on --node, or everywhere) so it is probed again', (r, o) =>
    control(io, o.stateDir, { cmd: 'cleanup', resource: r, ...(o.node ? { node: o.node } : {}) }),
  );
  add('restart', 'Stop RSC everywhere, wait, and start it again', (r, o) => control(io, o.stateDir, { cmd: 'restart', resource: r }));
}
