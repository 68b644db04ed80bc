/** The `paceline` command: parsing and rendering only; the work is done by the packages it calls. */
import { Command, CommanderError } from 'commander';
import { ConfigError, PacelineError } from '@paceline/model';
import { ExitError, type CliIo } from './io.js';
import { VERSION } from './version.js';

/**
 * Commands that drive the real world (agents, the daemon, its control socket) load their packages
 * only when they are used, so that `simulate`, `explain` and `demo` start fast.
 */
async function registerSystemCommands(program: Command, io: CliIo): Promise<void> {
  // One at a time: jest's ESM loader mishandles concurrent dynamic imports of shared modules.
  const agent = await import('./commands/agent.js');
  const ocfCommands = await import('./commands/ocf.js');
  const ocf = await import('@paceline/ocf');
  const agents = await import('./agents.js');
  const daemon = await import('./commands/daemon.js');
  const status = await import('./commands/status.js');
  const node = await import('./commands/node.js');
  const resource = await import('./commands/resource.js');
  const clusterConfig = await import('./commands/cluster-config.js');
  const keygen = await import('./commands/keygen.js');
  const witness = await import('./commands/witness.js');
  const report = await import('./commands/report.js');
  const { loadConfig } = await import('./load.js');
  const { configBaseDir, resolveAgentModulePath } = await import('@paceline/runtime');
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
  daemon.registerDaemonCommand(program, io);
  status.registerStatusCommand(program, io);
  node.registerNodeCommands(program, io);
  resource.registerResourceCommands(program, io);
  clusterConfig.registerClusterConfigCommands(program, io);
  keygen.registerKeygenCommand(program, io);
  witness.registerWitnessCommand(program, io);
  report.registerReportCommand(program, io);
}

/**
 * Planning commands and the one module that defines each: run on their own, only that module (and
 * what it imports) is loaded — a whole-process `simulate --cib` is dominated by start-up otherwise.
 */
const PLANNING_COMMANDS: Record<string, () => Promise<(program: Command, io: CliIo) => void>> = {
  simulate: async () => (await import('./commands/simulate.js')).registerSimulateCommands,
  explain: async () => (await import('./commands/simulate.js')).registerSimulateCommands,
  demo: async () => (await import('./commands/demo.js')).registerDemoCommand,
};

/**
 * The whole command tree. With `only` naming a planning command (simulate, explain, demo), only
 * the module of that command is loaded.
 */
export async function createProgram(io: CliIo, only?: string): Promise<Command> {
  const program = new Command('paceline')
    .description('Paceline: a typed high-availability cluster resource manager with Pacemaker semantics')
    .version(VERSION, '-V, --version', "print the version of Paceline (the CLI package's) and exit")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) });
  const planning = only === undefined ? undefined : PLANNING_COMMANDS[only];
  if (planning !== undefined) (await planning())(program, io);
  else {
    // One at a time (see registerSystemCommands), in the order `paceline --help` lists them.
    (await import('./commands/simulate.js')).registerSimulateCommands(program, io);
    (await import('./commands/demo.js')).registerDemoCommand(program, io);
    (await import('./commands/config.js')).registerConfigCommands(program, io);
    await registerSystemCommands(program, io);
  }
  for (const c of program.commands) c.exitOverride();
  return program;
}

/** Runs the CLI; returns the exit code instead of exiting, so it can be tested. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = await createProgram(io, argv[0]);
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
