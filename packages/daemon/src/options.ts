/** What a daemon is started with (`new Daemon(options)`). */
import type { AgentResolver, Clock, CommandRunner, Logger } from '@paceline/agent-api';
import type { ClusterConfigInput, MembershipSettings } from '@paceline/model';
import type { Transport, TransportInput } from '@paceline/membership';
import type { PeerChannel, PeerReceiver } from './channel.js';
import type { DaemonArbiter, FenceHook } from './membership-driver.js';
import type { Timers } from './timers.js';
import type { SchedulerMode } from './core-types.js';
import type { SchedulerThread } from './scheduler-thread.js';

export interface DaemonOptions {
  readonly node: string;
  /**
   * The configuration as written (used unless the state directory holds a document with a newer or
   * equal epoch); read files with the model's loader (`parseConfigDocumentText`), which validates it.
   */
  readonly config: ClusterConfigInput;
  readonly stateDir: string;
  readonly key: Uint8Array;
  /** The file `key` was read from: agents that derive a shared secret from the cluster key read it there (AgentContext.keyFile). */
  readonly keyFile?: string;
  readonly agents: AgentResolver;
  readonly runner: CommandRunner;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly logger: Logger;
  /**
   * This node's overrides of the configuration's `membership` section (`--membership`, `--profile`,
   * `--partition-policy`); validated with the model's schema at start. The coordinator does not
   * schedule while the members' settings in effect differ (see `membershipConflict` in the status).
   */
  readonly membership?: MembershipSettings;
  /** node → link → address overrides (e.g. 127.0.0.1:PORT in tests). */
  readonly addresses?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** The daemon channel listens on each link address's port + this (default 1). */
  readonly portOffset?: number;
  /** Membership transport factory (default: UDP). */
  readonly transport?: (onInput: (input: TransportInput) => void) => Promise<Transport>;
  /** Daemon channel factory (default: UDP). */
  readonly channel?: (onMessage: PeerReceiver) => Promise<PeerChannel>;
  /** Fences a node; see FenceHook. */
  readonly fence?: FenceHook;
  /** Checks the witness (partition policy `witness`). */
  readonly witness?: () => Promise<boolean>;
  /**
   * A tie-breaking arbiter (`paceline witness`, see docs/membership.md): with it, a node fences a
   * lost peer only while it holds the arbiter's vote, and then at once. The daemon disposes it.
   */
  readonly arbiter?: DaemonArbiter;
  /** Stop this node's resources before leaving on dispose() (default true). */
  readonly stopOnShutdown?: boolean;
  /** How long dispose() waits for the cluster to move resources off this node (default 30 s). */
  readonly shutdownTimeoutMs?: number;
  /**
   * Where the coordinator runs the scheduler (default `auto`: in a worker thread for configurations
   * of 64 primitives or more, else inline; see SchedulerMode in core-types.ts). Tests on a simulated
   * clock pass `inline`: each run then happens within the step that asks for it, replayably.
   */
  readonly scheduler?: SchedulerMode;
  /**
   * Makes the scheduler's thread (default: `schedule-worker.js` in a worker thread). The simulated
   * clusters give one whose worker answers on their clock, after a delay (class `thread`).
   */
  readonly schedulerThread?: () => SchedulerThread;
  /** Serve the control socket STATE_DIR/control.sock (default true). */
  readonly controlSocket?: boolean;
  readonly signal?: AbortSignal;
}
