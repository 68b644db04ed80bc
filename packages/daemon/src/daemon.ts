/**
 * The node daemon: the thin imperative shell around the pure cores, and the place where its layers
 * are wired together (docs/architecture.md, "packages/daemon"). It starts them (lock and load the
 * state, open the transports), drives every periodic duty from one tick on the injected timers,
 * carries out the coordinator core's commands (run a transition through the executor, with each
 * action dispatched to the node that runs it; publish and persist the replicated document), and
 * shuts them down. The layers do the work: the membership driver, the peer router, the action RPC,
 * this node's resources (local.ts) and report (reporter.ts), the saved state (durable.ts),
 * administration (admin.ts) and the status view (status.ts, view.ts).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { ClusterConfig } from '@paceline/model';
import {
  initialState,
  membershipNodes,
  type MembershipEvent,
  type MembershipInput,
  type MembershipState,
  type Transport,
  type TransportInput,
} from '@paceline/membership';
import { unboundedSignal, type Clock, type Logger } from '@paceline/agent-api';
import { ExecutorEvents } from '@paceline/executor';
import type { PeerChannel } from './channel.js';
import { initialCoreState, scheduleBlocker, type CoreEvent, type CoreState } from './core.js';
import { CoreDriver } from './core-driver.js';
import { ActionRpc } from './action-rpc.js';
import { PeerRouter } from './peer-router.js';
import { MembershipDriver } from './membership-driver.js';
import { checkOverrides, describeOverrides, nodesWithAddresses, resolveMembership } from './membership-settings.js';
import { Admin, type UpdateAnswer } from './admin.js';
import { DaemonError } from './errors.js';
import type { DaemonOptions } from './options.js';
import { messageStats, openTransports, type DaemonMessageStats } from './transports.js';
import { ControlServer, type ControlTarget } from './control.js';
import { DaemonEvents, publishMembershipEvent } from './events.js';
import { FreshnessGuard } from './freshness.js';
import { LocalNode, activeRoles } from './local.js';
import type { ClusterDoc } from './messages.js';
import { Reporter } from './reporter.js';
import { DurableState } from './durable.js';
import { fileDoc, loadStartState, type StartState } from './startup.js';
import { checkStateDir, lockStateDir, type PersistedStateInput, type StateLock } from './store.js';
import { docKey, type UpdateRequest } from './updates.js';
import { PlacementViews } from './view.js';
import { daemonStatus, type DaemonStatus } from './status.js';

export type { DaemonStatus } from './status.js';
export type { DaemonOptions } from './options.js';
export type { DaemonMessageStats } from './transports.js';

const iso = (ms: number): string => new Date(ms).toISOString();

export class Daemon extends DaemonEvents implements ControlTarget {
  private driver!: MembershipDriver;
  private coord!: CoreDriver;
  private local!: LocalNode;
  private reporter!: Reporter;
  private durable!: DurableState;
  private transport: Transport | undefined;
  private channel: PeerChannel | undefined;
  private timer: unknown;
  /** Which daemon messages are fresh (this incarnation, the sender's newest, not seen before). */
  private freshness!: FreshnessGuard;
  private boot = 0;
  private msgId = 0;
  private unclean: string | undefined;
  private readonly rpc: ActionRpc;
  private readonly router: PeerRouter;
  private readonly admin: Admin;
  private readonly log: Logger;
  private readonly execEvents = new ExecutorEvents();
  private started = false;
  private disposed = false;
  private disposing: Promise<void> | undefined;
  private tickCount = 0;
  /** The resource view `status` shows (never computed by running the scheduler). */
  private readonly views = new PlacementViews();
  private shuttingDown = false;
  /** abandon() was called (perhaps while a clean shutdown waited): the shutdown must not carry on. */
  private abandoned = false;
  private control: ControlServer | undefined;
  private reqSeq = 0;
  /** Aborted when the daemon ends (dispose or abandon): fencing and the coordinator's executor stop waiting. */
  private readonly lifetime = unboundedSignal();
  /** The state directory's lock, held from start() until the daemon ends. */
  private lock: StateLock | undefined;

  constructor(private readonly o: DaemonOptions) {
    super();
    this.log = o.logger.child({ node: o.node });
    this.router = new PeerRouter({
      node: o.node,
      log: this.log,
      clock: o.clock,
      boot: () => this.boot,
      nextMessageId: () => ++this.msgId,
      membership: () => this.membership,
      core: () => this.core,
      durableKey: () => this.durable?.savedKey,
      channel: () => this.channel,
      freshness: () => this.freshness,
      stopped: () => this.disposed,
      persist: () => void this.durable.persist(),
      feedCore: (e) => this.feedCore(e),
      answer: (reqId, r) => this.admin.answer(reqId, r),
      onResult: (from, boot, key, result) => this.rpc.onResult(from, boot, key, result),
      runAction: (key, action) => this.local.run(key, action),
      reportFor: (peer) => this.reporter.reportFor(peer),
      reportWanted: (peer, boot, ver) => this.reporter.outbox.want(peer, boot, ver),
      cleanupLocal: (resource) => this.local.cleanup(resource),
    });
    this.rpc = new ActionRpc({
      node: o.node,
      log: this.log,
      clock: o.clock,
      boot: () => this.boot,
      epoch: () => this.core.doc.epoch,
      runLocal: (key, action) => this.local.run(key, action, true), // the transition's executor publishes its events
      isMember: (node) => this.membership.peers[node]?.member === true,
      peerBoot: (node) => this.router.peerBoot(node),
      envelope: (to, body) => this.router.envelope(to, body),
      transmit: (m) => this.router.transmit(m),
    });
    this.admin = new Admin({
      node: o.node,
      clock: o.clock,
      timers: o.timers,
      core: () => this.core,
      peers: () => Object.keys(this.membership.peers),
      nextRequestId: () => `${o.node}/${this.boot}/${++this.reqSeq}`,
      feedCore: (e) => this.feedCore(e),
      cleanupLocal: (resource) => this.local.cleanup(resource),
      send: (to, body) => this.router.send(to, body),
    });
    this.execEvents.on('action-started', (e) => this.emit('action-started', e));
    this.execEvents.on('action-finished', (e) => this.emit('action-finished', e));
  }

  /** The coordinator core's state (the core driver holds it). */
  private get core(): CoreState {
    return this.coord.state;
  }

  /** The membership state machine's state (the driver holds it). */
  private get membership(): MembershipState {
    return this.driver.state;
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
    return this.boot;
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
      await this.startLocked();
    } catch (e) {
      await this.lock.release();
      throw e;
    }
  }

  private async startLocked(): Promise<void> {
    const o = this.o;
    checkOverrides(o.membership);
    const start = await loadStartState({ node: o.node, stateDir: o.stateDir, config: o.config, now: o.clock.now() }, this.log);
    const config = start.config;
    this.unclean = start.unclean;
    this.boot = start.boot;
    this.durable = new DurableState({
      node: o.node,
      stateDir: o.stateDir,
      log: this.log,
      snapshot: (running) => this.savedState(running),
      // (The core's key when it is the core's document: canonical JSON of a large configuration is not free.)
      docKey: (doc) => (doc === this.coord?.state.doc ? this.coord.state.docKey : docKey(doc)),
    });
    const overridden = describeOverrides(config, o.membership);
    if (overridden !== undefined) this.log.info(overridden);
    const peerBoots = { ...start.peerBoots };
    this.freshness = new FreshnessGuard(
      o.node,
      this.boot,
      config.nodes.map((n) => n.name),
      peerBoots,
    );
    const settings = resolveMembership(config, {
      self: o.node,
      nodes: membershipNodes(nodesWithAddresses(config, o.addresses)),
      overrides: o.membership,
      arbiter: o.arbiter !== undefined,
    });
    this.driver = this.membershipDriver(config, initialState(settings, { boot: this.boot, peerBoots }));
    this.coord = this.coreDriver(initialCoreState(o.node, start.doc, this.driver.view(), { scheduler: o.scheduler ?? 'auto' }));
    this.local = this.localNode(config, start);
    this.reporter = this.nodeReporter();
    await this.durable.persist();
    ({ transport: this.transport, channel: this.channel } = await openTransports(o, nodesWithAddresses(config, o.addresses), {
      log: this.log,
      input: (i) => this.input(i),
      receive: (m) => this.router.receive(m),
      forged: (link, detail) => this.driver.warnForged(`channel/${link}`, `daemon messages on link ${link} fail authentication (${detail})`),
    }));
    this.log.info('daemon started', {
      boot: this.boot,
      epoch: start.doc.epoch,
      links: settings.selfLinks,
      tickMs: settings.tickMs,
      policy: settings.partitionPolicy,
      ...(this.unclean ? { unclean: this.unclean } : {}),
    });
    this.feedCore({ type: 'report', node: o.node, report: this.reporter.report(), now: o.clock.now() });
    this.tickEvery(settings.tickMs);
    if (o.controlSocket ?? true) this.control = await ControlServer.open(this, o.stateDir);
    o.signal?.addEventListener('abort', () => void this.dispose(), { once: true });
  }

  /** What the state file holds now (`running` is false only in the last write of a clean shutdown). */
  private savedState(running: boolean): PersistedStateInput {
    return {
      version: 1,
      doc: this.coord?.state.doc ?? fileDoc(this.o.config),
      failures: this.local ? [...this.local.failures] : [],
      lastBoot: this.boot,
      running,
      peerBoots: this.freshness?.incarnations() ?? {},
      ...(this.unclean !== undefined ? { unclean: this.unclean } : {}),
    };
  }

  private membershipDriver(config: ClusterConfig, state: MembershipState): MembershipDriver {
    const o = this.o;
    return new MembershipDriver(
      {
        node: o.node,
        log: this.log,
        clock: o.clock,
        fence: o.fence,
        witness: o.witness,
        arbiter: o.arbiter,
        overrides: o.membership,
        lifetime: this.lifetime.signal,
        transport: () => this.transport,
        stopped: () => this.disposed,
        config: () => this.coord?.state.config ?? config,
        nodes: () => nodesWithAddresses(this.coord?.state.config ?? config, o.addresses),
        reports: () => this.coord?.state.reports ?? {},
        onEvent: (e) => this.onMembershipEvent(e),
        onView: (view) => {
          this.feedCore({ type: 'membership', view, now: this.o.clock.now() });
          this.rpc.failLost();
        },
      },
      state,
    );
  }

  private coreDriver(state: CoreState): CoreDriver {
    const o = this.o;
    return new CoreDriver(
      {
        node: o.node,
        log: this.log,
        clock: o.clock,
        agents: o.agents,
        runner: o.runner,
        stateRoot: join(o.stateDir, 'resources'),
        events: this.execEvents,
        fence: o.fence,
        lifetime: this.lifetime.signal,
        stopped: () => this.disposed,
        membership: () => this.membership,
        reportsChanged: () => this.driver.feedWeights(),
        dispatch: (txn, action) => this.rpc.dispatch(txn, action),
        send: (to, body) => this.router.send(to, body),
        broadcast: (body) => this.router.broadcast(body),
        answer: (reqId, r) => this.admin.answer(reqId, r),
        persist: () => void this.durable.persist(),
        replyWhenDurable: (c, deliver) => this.durable.replyWhenDurable(c, deliver),
        configChanged: (doc, from) => this.onConfigChanged(doc, from),
        transitionDone: (t) => this.emit('transition-done', t),
      },
      state,
    );
  }

  private localNode(config: ClusterConfig, start: StartState): LocalNode {
    const o = this.o;
    return new LocalNode(
      {
        node: o.node,
        agents: o.agents,
        runner: o.runner,
        clock: o.clock,
        logger: this.log,
        stateRoot: join(o.stateDir, 'resources'),
        events: this.execEvents,
        ...(o.keyFile !== undefined ? { keyFile: o.keyFile } : {}),
        // Powered off for certain: fencing confirmed, not back since, and not one of two daemons claiming the name.
        fencedNodes: () =>
          Object.values(this.membership.peers)
            .filter((p) => p.fence.phase === 'confirmed' && !p.member && p.conflict === undefined)
            .map((p) => p.name),
        onChange: () => this.reporter.localChanged(),
        onReport: () => this.reporter.publish(),
        onMonitorFailure: (instance, reason) => {
          this.log.warn('monitor failed', { resource: instance, reason });
          // The report carrying the failure reaches every node; the coordinator reschedules on it.
          this.feedCore({ type: 'kick', reason: `monitor of ${instance} failed`, now: this.o.clock.now() });
        },
      },
      config,
      start.persisted?.failures ?? [],
    );
  }

  private nodeReporter(): Reporter {
    return new Reporter({
      node: this.o.node,
      boot: this.boot,
      clock: this.o.clock,
      membership: () => this.membership,
      local: () => this.local,
      unclean: () => this.unclean,
      shuttingDown: () => this.shuttingDown,
      tick: () => this.tickCount,
      feedCore: (e) => this.feedCore(e),
      peerBoot: (peer) => this.router.peerBoot(peer),
      send: (to, body) => this.router.send(to, body),
      persist: () => void this.durable.persist(),
    });
  }

  // ---- the tick and membership ---------------------------------------------------------------

  private tickEvery(ms: number): void {
    if (this.timer !== undefined) this.o.timers.clearInterval(this.timer);
    this.timer = this.o.timers.setInterval(() => this.tick(), ms);
  }

  private tick(): void {
    if (this.disposed) return;
    this.tickCount += 1;
    // Heartbeats first: nothing else this tick does may delay them.
    this.stepMembership({ type: 'tick' });
    this.reporter.onTick();
    const ticksPerSecond = Math.max(1, Math.round(1000 / this.membership.config.tickMs));
    if (this.tickCount % Math.max(1, Math.round(ticksPerSecond / 2)) === 0) this.retransmit();
    if (this.tickCount % ticksPerSecond === 0) {
      // Anti-entropy: every second, peers get this node's report version (and what changed, if
      // anything did since the last message to them; report-outbox.ts) and its document again.
      this.reporter.flush();
      if (this.o.witness && this.membership.config.partitionPolicy === 'witness')
        void this.o.witness().then(
          (reachable) => this.stepMembership({ type: 'witness', reachable }),
          () => this.stepMembership({ type: 'witness', reachable: false }),
        );
    }
    if (this.tickCount % (ticksPerSecond * 5) === 0) {
      this.router.broadcast({ type: 'doc', doc: this.core.doc });
      this.durable.retryIfFailed(); // the space may be back
    }
    const recheck = this.core.config.properties.clusterRecheckInterval;
    if (recheck > 0 && this.tickCount % Math.max(1, Math.round(recheck / this.membership.config.tickMs)) === 0)
      this.feedCore({ type: 'kick', reason: 'cluster-recheck-interval', now: this.o.clock.now() });
  }

  private input(i: TransportInput): void {
    if (!this.disposed) this.stepMembership(i);
  }

  private stepMembership(input: MembershipInput): void {
    this.driver.step(input);
  }

  /** A membership event's consequences outside membership (the driver has logged it): events, reports, the core. */
  private onMembershipEvent(e: MembershipEvent): void {
    if (e.type === 'node-joined' || e.type === 'node-restarted') {
      if (this.freshness.observe(e.node, e.boot)) void this.durable.persist();
      this.reporter.resend(e.node);
    }
    publishMembershipEvent(this, e);
    if (e.type === 'fence-confirmed') {
      this.feedCore({
        type: 'fenced',
        node: e.node,
        reason: `fenced at ${iso(this.o.clock.now())} by ${this.o.node} after it was lost on every link; check it, then run: paceline node clear ${e.node}`,
        now: this.o.clock.now(),
      });
      this.reporter.publish();
    }
    if (e.type === 'may-run-changed' && !e.mayRun) void this.stopLocalIfForbidden();
  }

  // ---- the coordinator core ------------------------------------------------------------------

  private feedCore(e: CoreEvent): void {
    if (this.coord !== undefined) this.coord.step(e);
  }

  /** A new configuration is in force: this node's resources, the membership settings, a recorded unclean end. */
  private onConfigChanged(doc: ClusterDoc, from: string): void {
    this.local.setConfig(this.core.config);
    this.applyMembershipSettings();
    if (this.unclean !== undefined && this.core.doc.quarantine[this.o.node] !== undefined) {
      this.unclean = undefined; // the cluster has recorded it: do not quarantine again after `node clear`
      void this.durable.persist();
    }
    this.log.info(`configuration epoch ${doc.epoch}`, { from });
    this.emit('config-changed', { epoch: doc.epoch, from, doc });
  }

  /** A changed `membership` section takes effect at once (its nodes and links only at a restart). */
  private applyMembershipSettings(): void {
    const tickMs = this.membership.config.tickMs;
    if (this.driver.applySettings(this.core.config).length === 0) return;
    if (this.membership.config.tickMs !== tickMs) this.tickEvery(this.membership.config.tickMs);
    this.reporter.publish();
  }

  /** Every half second: the unconfirmed document to the members that have not acknowledged it, and actions not yet answered. */
  private retransmit(): void {
    this.coord.retransmitDoc();
    this.rpc.retransmit();
  }

  // ---- this node -----------------------------------------------------------------------------

  /** Without permission to run (no quorum, stop-all policy, ...), this node stops what it runs. */
  private async stopLocalIfForbidden(): Promise<void> {
    if (this.membership.mayRun || this.membership.leaving) return;
    await this.stopLocal('this node may not run resources');
  }

  private stopLocal(reason: string): Promise<void> {
    return this.local.stopAll(reason, (instance, kind) => `local/${this.boot}/${instance}/${kind}/${++this.reqSeq}`);
  }

  // ---- control ---------------------------------------------------------------------------------

  /** Applies an administrative change (forwarded to the coordinator when this node is not it). See Admin. */
  update(request: UpdateRequest, timeoutMs = 5000): Promise<UpdateAnswer> {
    return this.admin.update(request, timeoutMs);
  }

  /** Why `cleanup(resource, node)` has nothing to act on (undefined: it has). See Admin. */
  cleanupProblem(resource?: string, node?: string): string | undefined {
    return this.admin.cleanupProblem(resource, node);
  }

  /** Forgets the history and fail counts of a resource on one node or all, so that it is probed again. */
  cleanup(resource?: string, node?: string): string {
    return this.admin.cleanup(resource, node);
  }

  /** The replicated document (configuration, epoch, quarantine). */
  document(): ClusterDoc {
    return this.admin.document();
  }

  /** A crm_mon-style snapshot (status.ts). */
  status(): DaemonStatus {
    return daemonStatus({
      node: this.o.node,
      boot: this.boot,
      membership: this.membership,
      core: this.core,
      views: this.views,
      now: this.o.clock.now(),
      log: this.log,
      channelDrops: this.channel?.stats?.().dropped ?? {},
      freshnessDrops: this.freshness.stats().dropped,
    });
  }

  /**
   * Message counters since this daemon started, for metrics: heartbeat packets (when the transport
   * counts them, as the UDP one does) and daemon-channel messages. Drops are in `status().dropped`.
   */
  messageStats(): DaemonMessageStats {
    return messageStats(this.transport, this.channel);
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  /**
   * For tests: stops dead as `kill -9` would — no leave message, resources left as they are, the
   * state still marked running (so the next start knows the end was unclean).
   */
  async abandon(): Promise<void> {
    this.abandoned = true;
    if (this.disposed) return;
    this.disposed = true;
    this.disposing = Promise.resolve();
    this.coord.abortTransition();
    await this.close('abandoned');
    await this.durable.flush();
    this.lock?.abandon();
    this.removeAllListeners();
  }

  /** Stops this node's resources (unless stopOnShutdown is false), tells the peers, closes everything. Idempotent. */
  dispose(): Promise<void> {
    this.disposing ??= this.shutdown();
    return this.disposing;
  }

  private async shutdown(): Promise<void> {
    if (!this.started) {
      this.disposed = true;
      return;
    }
    this.log.info('shutting down');
    if (this.o.stopOnShutdown ?? true) await this.moveAway();
    if (this.abandoned) return;
    this.durable.finishing();
    this.stepMembership({ type: 'leave' });
    this.disposed = true;
    await this.close('the daemon is stopping');
    await this.durable.saveStopped();
    await this.lock?.release();
    this.removeAllListeners();
  }

  /**
   * Asks the cluster to move everything off this node (the coordinator schedules stops here and
   * starts elsewhere); if that cannot happen soon, stops what is left here directly.
   */
  private async moveAway(): Promise<void> {
    this.shuttingDown = true;
    this.reporter.localChanged();
    const deadline = this.o.clock.now() + (this.o.shutdownTimeoutMs ?? 30_000);
    const canMove = (): boolean => this.membership.mayRun && (this.core.view.coordinator !== this.o.node || scheduleBlocker(this.core) === undefined);
    while (activeRoles(this.local.history).length > 0 && this.o.clock.now() < deadline && canMove()) await this.o.clock.sleep(50);
    if (this.coord.running) {
      this.coord.abortTransition();
      while (this.coord.running && this.o.clock.now() < deadline) await this.o.clock.sleep(20);
    }
    // Killed while waiting (tests' abandon()): a dead process does nothing more — above all it
    // must not write "stopped cleanly" into a state directory a next incarnation may already use.
    if (this.abandoned) return;
    await this.stopLocal('the node is shutting down').catch((e: Error) => this.log.error('stopping resources failed', { error: e.message }));
  }

  /** Stops the tick, cancels what waits, closes the control socket, this node's resources' runner and the transports. */
  private async close(reason: string): Promise<void> {
    this.o.timers.clearInterval(this.timer);
    this.lifetime.abort();
    this.rpc.cancelAll(reason);
    await this.coord.dispose();
    await this.control?.dispose();
    await this.local.dispose();
    await this.transport?.dispose();
    await this.channel?.dispose();
    await this.o.arbiter?.dispose().catch(() => undefined);
  }
}
