/** The `paceline` command: parsing and rendering only; the work is done by the packages it calls. */
import { Command, CommanderError } from 'commander';
import { ConfigError, PacelineError } from '@paceline/model';
import { ExitError, type CliIo } from './io.js';
import { registerSimulateCommands } from './commands/simulate.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerConfigCommands } from './commands/config.js';
import { registerAgentCommands } from './commands/agent.js';
import { registerOcfCommands } from './commands/ocf.js';
import { ocfCliApi } from '@paceline/ocf';
import { cliAgentRegistry } from './agents.js';
import { registerDaemonCommand } from './commands/daemon.js';
import { registerStatusCommand } from './commands/status.js';
import { registerNodeCommands } from './commands/node.js';
import { registerResourceCommands } from './commands/resource.js';
import { registerClusterConfigCommands } from './commands/cluster-config.js';
import { registerKeygenCommand } from './commands/keygen.js';

export function createProgram(io: CliIo): Command {
  const program = new Command('paceline')
    .description('Paceline: a typed high-availability cluster resource manager with Pacemaker semantics')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) });
  registerSimulateCommands(program, io);
  registerDemoCommand(program, io);
  registerConfigCommands(program, io);
  registerAgentCommands(program, cliAgentRegistry(), io);
  registerOcfCommands(program, ocfCliApi, io);
  registerDaemonCommand(program, io);
  registerStatusCommand(program, io);
  registerNodeCommands(program, io);
  registerResourceCommands(program, io);
  registerClusterConfigCommands(program, io);
  registerKeygenCommand(program, io);
  for (const c of program.commands) c.exitOverride();
  return program;
}

/** Runs the CLI; returns the exit code instead of exiting, so it can be tested. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof ExitError) {
      if (e.message) io.err(e.message);
      return e.exitCode;
    }
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof ConfigError) {
      io.err(e.message);
      return 2;
    }
    if (e instanceof PacelineError) {
      io.err(`error (${e.code}): ${e.message}`);
      return 1;
    }
    io.err(`error: ${(e as Error).message}`);
    return 1;
  }
}
