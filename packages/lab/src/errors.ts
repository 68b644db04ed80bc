import { PacelineError } from '@paceline/model';

/**
 * What the live lab reports as wrong: a check of the story that failed (STORY_FAILED), a mail
 * server that refused a command (MAIL_REFUSED), a condition that did not come in its time
 * (TIMEOUT), a condition waitFor polls that is not true yet (NOT_YET: retried until its deadline), a
 * lab that cannot be set up as its files say (LAB_SETUP). A program that fails is the test kit's
 * CommandFailedError.
 */
export type LabErrorCode = 'STORY_FAILED' | 'MAIL_REFUSED' | 'TIMEOUT' | 'NOT_YET' | 'LAB_SETUP';

export class LabError extends PacelineError<LabErrorCode> {}
