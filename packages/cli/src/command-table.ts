/**
 * The `paceline` program built from a table of commands, and running it: parsing and rendering
 * only; the work is done by the packages the commands call. program.ts holds the whole table,
 * bundled.ts the commands the CLI's bundle runs.
 */
import { Command, CommanderError } from 'commander';
import { ExitError, type CliIo } from './io.js';
import { VERSION } from './version.js';

/** Adds one top-level command (and its subcommands) to the program; loads the modules that define it. */
export type Register = (program: Command, io: CliIo) => Promise<void>;

/** Top-level commands in the order `paceline --help` lists them: the names each entry defines, and how to register it. */
export type CommandTable = readonly (readonly [names: readonly string[], register: Register])[];

/** Arguments that need no command at all: the version. */
export const VERSION_FLAGS: ReadonlySet<string> = new Set(['-V', '--version']);

/**
 * The command tree. With `only` naming a command, only that command is registered (and its
 * modules loaded): `paceline simulate --cib F` does not load the daemon, nor `paceline status` the
 * scheduler, and a whole-process run is dominated by start-up otherwise. `-V`/`--version`
 * registers none; anything else (help, no command, a misspelt one, which gets a "did you mean")
 * registers every command in the table.
 */
export async function createProgramFrom(commands: CommandTable, io: CliIo, only?: string): Promise<Command> {
  const program = new Command('paceline')
    .description('Paceline: a typed high-availability cluster resource manager with Pacemaker semantics')
    .version(VERSION, '-V, --version', "print the version of Paceline (the CLI package's) and exit")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) });
  const one = only === undefined ? undefined : commands.find(([names]) => names.includes(only));
  if (one !== undefined) await one[1](program, io);
  else if (only === undefined || !VERSION_FLAGS.has(only)) {
    // One at a time: jest's ESM loader mishandles concurrent dynamic imports of shared modules.
    for (const [, register] of commands) await register(program, io);
  }
  for (const c of program.commands) c.exitOverride();
  return program;
}

/** Runs the program the table defines; returns the exit code instead of exiting, so it can be tested. */
export async function runCommands(commands: CommandTable, argv: readonly string[], io: CliIo): Promise<number> {
  const program = await createProgramFrom(commands, io, argv[0]);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof ExitError) {
      if (e.message) io.err(e.message);
      return e.exitCode;
    }
    if (e instanceof CommanderError) return e.exitCode;
    // The model (and zod with it) loads here, not up front: `--version` needs neither.
    const { ConfigError, PacelineError } = await import('@paceline/model');
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
