/** The planning commands — `simulate`, `explain`, `demo` — which compute and print, and touch nothing outside their input files. */
import type { CommandTable } from './command-table.js';

export const PLANNING_COMMANDS: CommandTable = [
  [['simulate', 'explain'], async (p, io) => (await import('./commands/simulate.js')).registerSimulateCommands(p, io)],
  [['demo'], async (p, io) => (await import('./commands/demo.js')).registerDemoCommand(p, io)],
];
