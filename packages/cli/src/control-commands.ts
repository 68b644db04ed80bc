/**
 * The commands that ask the local daemon over its control socket — `status`, `node`, `resource` —
 * which load the daemon's control client only, not the daemon. Run from the CLI's bundle like the
 * planning commands (bundled.ts).
 */
import type { CommandTable } from './command-table.js';

export const CONTROL_COMMANDS: CommandTable = [
  [['status'], async (p, io) => (await import('./commands/status.js')).registerStatusCommand(p, io)],
  [['node'], async (p, io) => (await import('./commands/node.js')).registerNodeCommands(p, io)],
  [['resource'], async (p, io) => (await import('./commands/resource.js')).registerResourceCommands(p, io)],
];
