/**
 * The entry of the CLI's bundle (scripts/bundle-cli.mjs, bundle.ts): the commands run most often
 * and expected to answer at once — planning (simulate, explain, demo), the daemon's control
 * commands (status, node, resource) and `--version` — with everything they import.
 */
import { runCommands, type CommandTable } from './command-table.js';
import { CONTROL_COMMANDS } from './control-commands.js';
import type { CliIo } from './io.js';
import { PLANNING_COMMANDS } from './planning.js';

export const BUNDLED_COMMANDS: CommandTable = [...PLANNING_COMMANDS, ...CONTROL_COMMANDS];

/** runCli for the bundled commands and `--version` only (anything else is an unknown command). */
export function runBundled(argv: readonly string[], io: CliIo): Promise<number> {
  return runCommands(BUNDLED_COMMANDS, argv, io);
}
