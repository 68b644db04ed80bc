#!/usr/bin/env node
/**
 * `npm test`: every jest suite, in two runs.
 *
 * 1. The suites that only compute (scheduler, model, simulated clusters, parsers, …) with two
 *    workers: they are CPU-bound, and jest's default on a two-core machine is one worker, which
 *    leaves a core idle.
 * 2. The live suites — real daemons, services and processes in network namespaces, real timeouts
 *    and failovers measured at a client — with one worker, as before: they wait far more than they
 *    compute, and their timing must not compete with a CPU-bound neighbour (a failover bound, a
 *    start timeout).
 *
 * Both runs always run (the second also when the first failed), so one report shows every failure;
 * the exit code is non-zero when either failed. Arguments (`npm test -- PATTERN …`) run one plain
 * jest with them instead, as jest itself would.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { LIVE } from './lib/test-groups.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const jest = [process.execPath, '--experimental-vm-modules', '--no-warnings', join(root, 'node_modules/jest/bin/jest.js')];

function run(args) {
  const r = spawnSync(jest[0], [...jest.slice(1), ...args], { cwd: root, stdio: 'inherit' });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

const extra = process.argv.slice(2);
if (extra.length > 0) process.exit(run(extra));

const started = Date.now();
process.stdout.write('npm test, run 1 of 2: the suites that only compute, two workers\n');
const pure = run(['--maxWorkers=2', '--testPathIgnorePatterns', '/node_modules/', '/dist/', ...LIVE]);
process.stdout.write('\nnpm test, run 2 of 2: the live suites (real processes, namespaces, services), one worker\n');
const live = run(['--maxWorkers=1', '--passWithNoTests', ...LIVE]);
const min = ((Date.now() - started) / 60_000).toFixed(1);
process.stdout.write(`\nnpm test: ${pure === 0 && live === 0 ? 'both runs passed' : `FAILED (run 1: exit ${pure}, run 2: exit ${live})`} in ${min} min\n`);
process.exit(pure !== 0 ? pure : live);
