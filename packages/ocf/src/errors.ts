import { PacelineError } from '@paceline/model';

/** What the OCF bridge can reject. */
export type OcfErrorCode = 'OCF_BAD_REF' | 'OCF_NOT_FOUND' | 'OCF_METADATA' | 'OCF_PARAMS' | 'OCF_EXPORT';

export class OcfError extends PacelineError<OcfErrorCode> {}
