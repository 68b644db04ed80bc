import { PacelineError } from '@paceline/model';

/** How the test kit was misused (a node that is not running, an unknown node, a bad setting), a malformed scenario script, or a fuzz run that found failures. */
export type TestkitErrorCode = 'TESTKIT_USAGE' | 'SCRIPT_INVALID' | 'FUZZ_FAILED';

export class TestkitError extends PacelineError<TestkitErrorCode> {}
