/** `paceline keygen PATH`: a new cluster key (32 random bytes, mode 0600; never overwrites). */
import type { Command } from 'commander';
import { generateKey } from '@paceline/runtime';
import type { CliIo } from '../io.js';

export function registerKeygenCommand(program: Command, io: CliIo): void {
  program
    .command('keygen <path>')
    .description('Create the cluster key file (copy it to every node; it is refused if group or others can read it)')
    .action(async (path: string) => {
      const key = await generateKey(path);
      io.out(`wrote a ${key.length}-byte key to ${path} (mode 0600); copy it to every node`);
    });
}
