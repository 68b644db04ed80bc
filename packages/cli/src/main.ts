#!/usr/bin/env node
import { runCli } from './program.js';
import { LONG_RUNNING_COMMANDS, endQuietlyWhenOutputCloses, processIo } from './io.js';

const argv = process.argv.slice(2);
if (!LONG_RUNNING_COMMANDS.has(argv[0] ?? '')) endQuietlyWhenOutputCloses([process.stdout, process.stderr], (code) => process.exit(code));
process.exitCode = await runCli(argv, processIo);
