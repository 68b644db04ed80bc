import { PacelineError } from '@paceline/model';

export type ObserveErrorCode = 'LISTEN_INVALID' | 'LISTEN_FAILED' | 'TOKEN_FILE';

export class ObserveError extends PacelineError<ObserveErrorCode> {}
