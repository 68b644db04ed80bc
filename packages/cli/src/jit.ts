/**
 * V8's tiering for a command that runs once and ends. V8 compiles a function with TurboFan once it
 * has used up an "interrupt budget" of work (132 KB of bytecode executed by default). In a process
 * that reads one CIB, schedules it and exits, hundreds of functions reach that budget, and their
 * optimising compiles (on V8's helper threads, but on this process's CPU) cost more than the faster
 * code wins back before the exit: `paceline simulate --cib F --format json` took 20–35 % less CPU
 * with a budget of 1,000,000 (16 × 1,000 cold 0.54 → 0.34 s, one node failed 0.82 → 0.59 s, 32 ×
 * 2,000 failed 1.80 → 1.46 s, 32 × 5,000 cold 1.95 → 1.41 s; least of 3, load 6; docs/cli.md).
 * Only the hottest code is still optimised, and with less inlined into it
 * (ONE_SHOT_INLINING_BUDGET); results are the same (V8's tiers do not change what JavaScript
 * computes). The long-running commands (the daemon, the witness) keep
 * V8's default: they run the same code for days. `PACELINE_V8_DEFAULT_TIERING=1` keeps the default
 * for every command (to measure the difference).
 */
import { setFlagsFromString } from 'node:v8';

/** The interrupt budget for one-shot commands (V8's default is 132 KB). */
export const ONE_SHOT_INTERRUPT_BUDGET = 1_000_000;

/**
 * The bytecode TurboFan may inline into one optimised function, in all, for one-shot commands (V8's
 * default is 920). With the default, the few dozen functions a large `simulate` still optimises
 * took about 0.25 s of compiling on V8's helper threads (32 × 2,000 one node failed: the CIB
 * importer's history loop alone 0.04–0.08 s); with 200, 0.14–0.2 s. The whole process: 32 × 5,000
 * cold 0.06 s less CPU, the failed-node inputs no change beyond the noise (docs/cli.md).
 */
export const ONE_SHOT_INLINING_BUDGET = 200;

/** Raises V8's interrupt budget for a one-shot command; must run before the command's modules load. */
export function tuneJitForOneShot(env: NodeJS.ProcessEnv = process.env): void {
  if (env['PACELINE_V8_DEFAULT_TIERING'] === '1') return;
  setFlagsFromString(`--interrupt-budget=${ONE_SHOT_INTERRUPT_BUDGET}`);
  setFlagsFromString(`--max-inlined-bytecode-size-cumulative=${ONE_SHOT_INLINING_BUDGET}`);
}
