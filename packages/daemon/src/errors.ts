import { PacelineError } from '@paceline/model';

export type DaemonErrorCode =
  | 'DAEMON_CONFIG' | 'STATE_CORRUPT' | 'STATE_WRITE_FAILED' | 'STATE_INSECURE' | 'STATE_LOCKED' | 'CONFIG_CONFLICT' | 'CONFIG_INVALID'
  | 'CONTROL_UNAVAILABLE' | 'CONTROL_REQUEST' | 'UNKNOWN_NODE' | 'UNKNOWN_RESOURCE';

export class DaemonError extends PacelineError<DaemonErrorCode> {}
