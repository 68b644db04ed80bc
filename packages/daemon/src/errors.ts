import { PacelineError } from '@paceline/model';

export type DaemonErrorCode =
  | 'DAEMON_CONFIG'
  | 'STATE_CORRUPT'
  | 'STATE_WRITE_FAILED'
  | 'STATE_INSECURE'
  | 'STATE_LOCKED'
  | 'CONFIG_CONFLICT'
  | 'CONFIG_INVALID'
  | 'CONTROL_UNAVAILABLE'
  | 'CONTROL_REQUEST'
  | 'UNKNOWN_NODE'
  | 'UNKNOWN_RESOURCE'
  /** A message cannot be framed within the channel's limits (sender name, size, fragments). */
  | 'WIRE_LIMIT'
  /** Asked for something that exists only once the daemon has started (its incarnation). */
  | 'NOT_STARTED'
  /** The scheduler's thread was asked to run before it was given a configuration. */
  | 'SCHEDULER_THREAD';

export class DaemonError extends PacelineError<DaemonErrorCode> {}
