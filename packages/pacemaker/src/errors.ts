import { PacelineError } from '@paceline/model';

/** What the Pacemaker package can reject: crm_simulate output that is not its XML result, or a failed run. */
export type PacemakerErrorCode = 'SIMULATE_OUTPUT' | 'SIMULATE_FAILED';

export class PacemakerError extends PacelineError<PacemakerErrorCode> {}
