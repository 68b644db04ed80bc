import { PacelineError } from '@paceline/model';

/**
 * How the test kit was misused (a node that is not running, an unknown node, a bad setting), a
 * malformed scenario script, a fuzz run that found failures, or a program run by the namespace
 * helpers that failed.
 */
export type TestkitErrorCode = 'TESTKIT_USAGE' | 'SCRIPT_INVALID' | 'FUZZ_FAILED' | 'COMMAND_FAILED';

export class TestkitError extends PacelineError<TestkitErrorCode> {}

/**
 * A program run to completion failed: `command` is the program and its arguments; either it could
 * not be run or was killed at its timeout (`spawnError`, also the cause), or it exited with
 * `status` (null: killed by a signal) and wrote `output` (its stderr, or stdout when stderr was
 * empty, trimmed).
 */
export class CommandFailedError extends TestkitError {
  constructor(
    readonly command: readonly string[],
    readonly status: number | null,
    readonly output: string,
    readonly spawnError?: Error,
  ) {
    super(
      'COMMAND_FAILED',
      spawnError ? `${command.join(' ')}: ${spawnError.message}` : `${command.join(' ')} failed (exit ${status}): ${output}`,
      spawnError ? { cause: spawnError } : undefined,
    );
  }
}
