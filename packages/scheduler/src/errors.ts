/**
 * Errors the scheduler raises. Bad input is a ScheduleInputError (input.ts) or the model's
 * ConfigError, each naming what is wrong and where; a SchedulerInvariantError is a bug: a stage
 * found its own data in a state that cannot happen, and says which stage and what it found.
 */
import { PacelineError } from '@paceline/model';

export class SchedulerInvariantError extends PacelineError<'SCHEDULER_INVARIANT'> {
  constructor(
    /** The stage or function that found it, e.g. `copyActionSet (action-set.ts)`. */
    readonly where: string,
    /** What it found. */
    readonly detail: string,
  ) {
    super('SCHEDULER_INVARIANT', `scheduler bug in ${where}: ${detail}`);
  }
}
