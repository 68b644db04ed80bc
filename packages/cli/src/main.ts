#!/usr/bin/env node
import { bundledCli } from './bundle.js';
import { LONG_RUNNING_COMMANDS, endQuietlyWhenOutputCloses, processIo } from './io.js';
import { tuneJitForOneShot } from './jit.js';

const argv = process.argv.slice(2);
if (!LONG_RUNNING_COMMANDS.has(argv[0] ?? '')) {
  endQuietlyWhenOutputCloses([process.stdout, process.stderr], (code) => process.exit(code));
  tuneJitForOneShot();
}
// The bundled commands (bundled.ts) run from the bundle when it is built and current (bundle.ts); the rest from the modules.
const run = (await bundledCli(argv)) ?? (await import('./program.js')).runCli;
process.exitCode = await run(argv, processIo);
