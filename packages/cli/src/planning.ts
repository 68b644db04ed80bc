/**
 * The planning commands — `simulate`, `explain`, `demo` — which compute and print, and touch
 * nothing outside their input files. This module is also the entry of the CLI's bundle
 * (scripts/bundle-cli.mjs; main.ts runs these commands and `--version` from it when it is built).
 */
import { runCommands, type CommandTable } from './command-table.js';
import type { CliIo } from './io.js';

export const PLANNING_COMMANDS: CommandTable = [
  [['simulate', 'explain'], async (p, io) => (await import('./commands/simulate.js')).registerSimulateCommands(p, io)],
  [['demo'], async (p, io) => (await import('./commands/demo.js')).registerDemoCommand(p, io)],
];

/** runCli for the planning commands and `--version` only (anything else is an unknown command). */
export function runPlanning(argv: readonly string[], io: CliIo): Promise<number> {
  return runCommands(PLANNING_COMMANDS, argv, io);
}
