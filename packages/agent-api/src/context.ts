/**
 * What an agent gets from its environment: the commands it runs, time, logging, cancellation, work
 * left running after an action (`background`) and what the daemon knows (`keyFile`,
 * `fencedNodes`) are injected here, so agents can be tested with recorded commands and a fake
 * clock. Files are not: an agent reads and writes the node's files directly (node:fs) — its state
 * directory, the configuration it renders, the data it manages — and its tests point those paths
 * at a scratch directory, the real filesystem rather than a fake one (the built-in agents and the
 * mirror's tests do). A filesystem port would have no second implementation: every runner in the
 * project runs an agent's commands where its process runs (the lab runs the whole daemon inside
 * each server's mount namespace), and the mirror's replica worker and change tracker, which do
 * most of its file work, are processes of their own without a context.
 */

/** Runs a program with an argument array. Never a shell string built from parameters. */
export interface CommandRunner {
  run(file: string, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
  /**
   * Starts a long-running program (a daemon an agent manages) in its own process group and returns
   * without waiting for it: it outlives the call and the calling process. Output goes to `logFile`
   * (appended) or is discarded. Optional: runners that cannot start daemons leave it out, and
   * agents that need it report 'not-installed'.
   */
  spawn?(file: string, args: readonly string[], options?: SpawnOptions): Promise<SpawnResult>;
}

export interface SpawnOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Append stdout and stderr to this file. */
  readonly logFile?: string;
}

/** A started daemon (`pid` is also its process-group id), or why it could not be started. */
export type SpawnResult = { readonly ok: true; readonly pid: number } | { readonly ok: false; readonly notFound: boolean; readonly message: string };

export interface RunOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly input?: string;
  readonly signal?: AbortSignal;
  /** Kill the whole process group after this many ms. */
  readonly timeoutMs?: number;
  /** Run detached in its own process group (for daemons the agent starts). */
  readonly detached?: boolean;
}

export interface CommandResult {
  readonly exitCode: number | null;
  readonly signal?: string | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** The program could not be found or executed. */
  readonly notFound: boolean;
}

/** Structured logging; fields such as node/resource/action are added by the caller. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** Milliseconds since the epoch, and sleeping, as an injectable port. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * Calls `fn` once `ms` have passed; returns a function that cancels it. Optional: what a sleep
   * with an AbortSignal does, without the signal (a deadline per action, cancelled when it ends).
   */
  after?(ms: number, fn: () => void): () => void;
}

/**
 * Work an action leaves running after it returns (the ip agent's gratuitous-ARP series after
 * start). `start` returns at once; the task's signal aborts when a stop of the same instance
 * begins, and the task must then end promptly (pass the signal to its commands and sleeps). A
 * task's error is logged, never thrown. See `runInBackground`.
 */
export interface BackgroundTasks {
  start(name: string, task: (signal: AbortSignal) => Promise<void>): void;
}

export interface AgentContext {
  /** The node the action runs on. */
  readonly node: string;
  /** Resource instance id ("web" or "httpd:1"). */
  readonly instance: string;
  /**
   * A directory owned by this instance on this node, for pid files and state. The executor creates it
   * before every action but a probe, when the daemon gives it a way to (a probe may find it missing:
   * nothing ran here yet); agents that write there create it if missing (mkdir -p).
   */
  readonly stateDir: string;
  readonly run: CommandRunner;
  readonly log: Logger;
  readonly clock: Clock;
  /** Aborted when the deadline passes or the transition is cancelled. Agents must stop promptly. */
  readonly signal: AbortSignal;
  /** Epoch ms by which the action must finish. */
  readonly deadline: number;
  /** Operation-specific extras (e.g. the monitor's interval, notification data). */
  readonly op: { readonly name: string; readonly interval: number; readonly timeout: number };
  /** Pacemaker-style meta attributes of the resource (clone_max, clone_node_max, notify, ...), for OCF agents. */
  readonly meta?: Readonly<Record<string, string>>;
  /**
   * The cluster key file the node's daemon runs with (`paceline daemon --key`), for agents that
   * derive a shared secret from it (never its bytes: agents read the file with the checks a key
   * deserves). Unset where no daemon runs the agent (the OCF shim, tests): agents then look at the
   * daemon's default path.
   */
  readonly keyFile?: string;
  /**
   * Nodes the daemon knows to be powered off when the action started: fencing confirmed it, and the
   * node has not come back since. An agent need not wait to hear from them (a promotable clone's
   * promote after a failover). Unset where no daemon runs the agent.
   */
  readonly fencedNodes?: readonly string[];
  /** Where to run work that outlives the action, cancelled when the instance is stopped (`invokeAgent` sets it). */
  readonly background?: BackgroundTasks;
}
