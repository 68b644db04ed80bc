/**
 * The node daemon, the public face of the thin imperative shell around the pure cores
 * (docs/architecture.md, "packages/daemon"): `start()` locks the state directory and makes this
 * run's `Incarnation` (incarnation.ts), which builds and wires the layers and drives them; the
 * control socket's and embedders' calls (status, update, cleanup, document) go to it; `dispose()`
 * moves this node's resources away and leaves cleanly, `abandon()` stops dead as `kill -9` would.
 */
import { promises as fs } from 'node:fs';
import type { Clock, Logger } from '@paceline/agent-api';
import type { UpdateAnswer } from './admin.js';
import { ControlServer, type ControlTarget } from './control.js';
import { DaemonError } from './errors.js';
import { DaemonEvents } from './events.js';
import { Incarnation } from './incarnation.js';
import { checkOverrides } from './membership-settings.js';
import type { ClusterDoc } from './messages.js';
import type { DaemonOptions } from './options.js';
import { loadStartState } from './startup.js';
import { daemonStatus, type DaemonStatus } from './status.js';
import { checkStateDir, lockStateDir, type StateLock } from './store.js';
import { messageStats, type DaemonMessageStats } from './transports.js';
import type { UpdateRequest } from './updates.js';
import { PlacementViews } from './view.js';

export type { DaemonStatus } from './status.js';
export type { DaemonOptions } from './options.js';
export type { DaemonMessageStats } from './transports.js';

export class Daemon extends DaemonEvents implements ControlTarget {
  private readonly log: Logger;
  /** This run, from start() to the end (undefined before start, or when start failed). */
  private run: Incarnation | undefined;
  private started = false;
  private disposing: Promise<void> | undefined;
  /** abandon() was called (perhaps while a clean shutdown waited): the shutdown must not carry on. */
  private abandoned = false;
  /** The resource view `status` shows (never computed by running the scheduler). */
  private readonly views = new PlacementViews();
  /** The state directory's lock, held from start() until the daemon ends. */
  private lock: StateLock | undefined;

  constructor(private readonly o: DaemonOptions) {
    super();
    this.log = o.logger.child({ node: o.node });
  }

  get name(): string {
    return this.o.node;
  }

  /** The clock the daemon runs on (the control socket's waits use it too). */
  get clock(): Clock {
    return this.o.clock;
  }

  /** This daemon's incarnation (0 until `start()`). */
  get incarnation(): number {
    return this.run?.boot ?? 0;
  }

  /** Locks and loads the state, opens the transports and starts ticking. */
  async start(): Promise<void> {
    if (this.started) throw new DaemonError('DAEMON_CONFIG', 'the daemon was already started');
    this.started = true;
    const o = this.o;
    await fs.mkdir(o.stateDir, { recursive: true, mode: 0o700 });
    // Before anything in the directory is read or written: nobody else may write there, and no
    // other daemon may use it (a second one started by mistake would rewrite state.json).
    await checkStateDir(o.stateDir);
    this.lock = await lockStateDir(o.stateDir);
    try {
      checkOverrides(o.membership);
      const start = await loadStartState({ node: o.node, stateDir: o.stateDir, config: o.config, now: o.clock.now() }, this.log);
      this.run = new Incarnation(o, this.log, this, start);
      await this.run.open(async () => ((o.controlSocket ?? true) ? ControlServer.open(this, o.stateDir) : undefined));
    } catch (e) {
      await this.lock.release();
      throw e;
    }
    o.signal?.addEventListener('abort', () => void this.dispose(), { once: true });
  }

  /** This run (an error before start()). */
  private get current(): Incarnation {
    if (this.run === undefined) throw new DaemonError('NOT_STARTED', `the daemon ${this.o.node} has not started`);
    return this.run;
  }

  // ---- control ---------------------------------------------------------------------------------

  /** Applies an administrative change (forwarded to the coordinator when this node is not it). See Admin. */
  update(request: UpdateRequest, timeoutMs = 5000): Promise<UpdateAnswer> {
    return this.current.admin.update(request, timeoutMs);
  }

  /** Why `cleanup(resource, node)` has nothing to act on (undefined: it has). See Admin. */
  cleanupProblem(resource?: string, node?: string): string | undefined {
    return this.current.admin.cleanupProblem(resource, node);
  }

  /** Forgets the history and fail counts of a resource on one node or all, so that it is probed again. */
  cleanup(resource?: string, node?: string): string {
    return this.current.admin.cleanup(resource, node);
  }

  /** The replicated document (configuration, epoch, quarantine). */
  document(): ClusterDoc {
    return this.current.admin.document();
  }

  /** A crm_mon-style snapshot (status.ts). */
  status(): DaemonStatus {
    const r = this.current;
    return daemonStatus({
      node: this.o.node,
      boot: r.boot,
      membership: r.membership,
      core: r.core,
      views: this.views,
      now: this.o.clock.now(),
      log: this.log,
      channelDrops: r.channel?.stats?.().dropped ?? {},
      freshnessDrops: r.freshness.stats().dropped,
    });
  }

  /**
   * Message counters since this daemon started, for metrics: heartbeat packets (when the transport
   * counts them, as the UDP one does) and daemon-channel messages. Drops are in `status().dropped`.
   */
  messageStats(): DaemonMessageStats {
    return messageStats(this.run?.transport, this.run?.channel);
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  /**
   * For tests: stops dead as `kill -9` would — no leave message, resources left as they are, the
   * state still marked running (so the next start knows the end was unclean).
   */
  async abandon(): Promise<void> {
    this.abandoned = true;
    if (this.run === undefined || this.run.halted) return;
    this.disposing = Promise.resolve();
    await this.run.abandon();
    this.lock?.abandon();
    this.removeAllListeners();
  }

  /** Stops this node's resources (unless stopOnShutdown is false), tells the peers, closes everything. Idempotent. */
  dispose(): Promise<void> {
    this.disposing ??= this.shutdown();
    return this.disposing;
  }

  private async shutdown(): Promise<void> {
    const run = this.run;
    if (run === undefined) return;
    this.log.info('shutting down');
    // Ask the cluster to move everything off this node; what cannot move in time is stopped here.
    if (this.o.stopOnShutdown ?? true) await run.moveAway(this.o.clock.now() + (this.o.shutdownTimeoutMs ?? 30_000), () => this.abandoned);
    // Killed while waiting (tests' abandon()): a dead process does nothing more — above all it
    // must not write "stopped cleanly" into a state directory a next incarnation may already use.
    if (this.abandoned) return;
    await run.leave();
    await this.lock?.release();
    this.removeAllListeners();
  }
}
