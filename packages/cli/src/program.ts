/** The `paceline` command: every command, each loading its modules only when it runs (see command-table.ts). */
import type { Command } from 'commander';
import { createProgramFrom, runCommands, type CommandTable, type Register } from './command-table.js';
import { CONTROL_COMMANDS } from './control-commands.js';
import type { CliIo } from './io.js';
import { PLANNING_COMMANDS } from './planning.js';

/**
 * `paceline agent …`: the agent SDK commands and the OCF ones (export-ocf, meta-data) under it.
 * Their packages (every built-in agent, the OCF bridge, the runtime) load only here.
 */
const registerAgent: Register = async (program, io) => {
  // One at a time (see createProgramFrom).
  const agent = await import('./commands/agent.js');
  const ocfCommands = await import('./commands/ocf.js');
  const ocf = await import('@paceline/ocf');
  const agents = await import('./agents.js');
  const { loadConfig } = await import('./load.js');
  const { configBaseDir, resolveAgentModulePath } = await import('@paceline/runtime');
  const { ConfigError } = await import('@paceline/model');
  agent.registerAgentCommands(program, agents.cliAgentRegistry(), io, {
    configAgents: async (file) => {
      const config = loadConfig(io, file);
      const loaded = await agents.configAgentResolver(file, config).load();
      const problems = agents.moduleProblems(loaded);
      if (problems.length > 0) throw new ConfigError(problems, file);
      return loaded;
    },
    moduleAgent: (ref) => agents.agentFromModuleRef(ref),
    isModuleRef: agents.isModuleRef,
  });
  ocfCommands.registerOcfCommands(program, ocf.ocfCliApi, io, async (file, spec) => {
    const name = spec.replace(/^paceline:/, '');
    const config = loadConfig(io, file);
    const loaded = await agents.configAgentResolver(file, config).load();
    const problems = agents.moduleProblems(loaded);
    if (problems.length > 0) throw new ConfigError(problems, file);
    const module = loaded.origin.get(name);
    return module === undefined ? undefined : `${resolveAgentModulePath(module, configBaseDir(file))}#${name}`;
  });
};

/** Every top-level command, in the order `paceline --help` lists them. */
const COMMANDS: CommandTable = [
  ...PLANNING_COMMANDS,
  [
    ['config'],
    async (p, io) => {
      (await import('./commands/config.js')).registerConfigCommands(p, io);
      (await import('./commands/cluster-config.js')).registerClusterConfigCommands(p, io);
    },
  ],
  [['agent'], registerAgent],
  [['daemon'], async (p, io) => (await import('./commands/daemon.js')).registerDaemonCommand(p, io)],
  ...CONTROL_COMMANDS,
  [['keygen'], async (p, io) => (await import('./commands/keygen.js')).registerKeygenCommand(p, io)],
  [['witness'], async (p, io) => (await import('./commands/witness.js')).registerWitnessCommand(p, io)],
  [['report'], async (p, io) => (await import('./commands/report.js')).registerReportCommand(p, io)],
];

/** The command tree; with `only` naming a command, only that one (see createProgramFrom). */
export function createProgram(io: CliIo, only?: string): Promise<Command> {
  return createProgramFrom(COMMANDS, io, only);
}

/** Runs the CLI; returns the exit code instead of exiting, so it can be tested. */
export function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  return runCommands(COMMANDS, argv, io);
}
