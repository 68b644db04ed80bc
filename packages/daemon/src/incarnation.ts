/**
 * One incarnation of a daemon: everything that exists from `start()` to its end, built from the state
 * it starts from (startup.ts) and wired together here — the membership driver, the core driver, the
 * peer router, the action RPC, this node's resources and report, the saved state, administration.
 * One tick on the injected timers drives every periodic duty; `moveAway`, `leave` and `abandon` end
 * it. The `Daemon` (daemon.ts) is its public face: it locks the state directory, makes one, and
 * hands the control socket's and embedders' calls to it.
 */
// size: the one place where the daemon's nine layers are built and wired (one port a line) and driven by the tick; each layer's logic lives in its own module, and the wiring read in one file is the map of how they connect
import { join } from 'node:path';
import type { ClusterConfig } from '@paceline/model';
import { initialState, membershipNodes, type MembershipEvent, type MembershipInput, type MembershipState, type Transport } from '@paceline/membership';
import { unboundedSignal, type Logger } from '@paceline/agent-api';
import { ExecutorEvents } from '@paceline/executor';
import type { PeerChannel } from './channel.js';
import { initialCoreState, scheduleBlocker, schedulerRetryDue, type CoreEvent, type CoreState } from './core.js';
import { CoreDriver } from './core-driver.js';
import { ActionRpc } from './action-rpc.js';
import { PeerRouter } from './peer-router.js';
import { MembershipDriver } from './membership-driver.js';
import { describeOverrides, nodesWithAddresses, resolveMembership } from './membership-settings.js';
import { Admin } from './admin.js';
import type { DaemonOptions } from './options.js';
import { openTransports } from './transports.js';
import type { ControlServer } from './control.js';
import { publishMembershipEvent, type DaemonEvents } from './events.js';
import { FreshnessGuard } from './freshness.js';
import { LocalNode, activeRoles } from './local.js';
import type { ClusterDoc } from './messages.js';
import { Reporter } from './reporter.js';
import { DurableState } from './durable.js';
import { fileDoc, type StartState } from './startup.js';
import type { PersistedStateInput } from './store.js';
import { docKey } from './updates.js';

const iso = (ms: number): string => new Date(ms).toISOString();

export class Incarnation {
  readonly boot: number;
  readonly driver: MembershipDriver;
  readonly coord: CoreDriver;
  readonly local: LocalNode;
  readonly reporter: Reporter;
  readonly durable: DurableState;
  readonly router: PeerRouter;
  readonly rpc: ActionRpc;
  readonly admin: Admin;
  /** Which daemon messages are fresh (this incarnation, the sender's newest, not seen before). */
  readonly freshness: FreshnessGuard;
  transport: Transport | undefined;
  channel: PeerChannel | undefined;
  /** Set once the end began (a clean shutdown's leave, or abandon): ticks, packets and core events are no longer taken. */
  halted = false;
  private control: ControlServer | undefined;
  private timer: unknown;
  private tickCount = 0;
  /** The witness's last answer, to log its changes. */
  private witnessReachable: boolean | undefined;
  private msgId = 0;
  private reqSeq = 0;
  private unclean: string | undefined;
  private shuttingDown = false;
  private readonly execEvents = new ExecutorEvents();
  /** Aborted when the daemon ends (dispose or abandon): fencing and the coordinator's executor stop waiting. */
  private readonly lifetime = unboundedSignal();

  constructor(
    private readonly o: DaemonOptions,
    private readonly log: Logger,
    private readonly events: DaemonEvents,
    start: StartState,
  ) {
    const config = start.config;
    this.boot = start.boot;
    this.unclean = start.unclean;
    this.durable = new DurableState({
      node: o.node,
      stateDir: o.stateDir,
      log,
      snapshot: (running) => this.savedState(running),
      // (The core's key when it is the core's document: canonical JSON of a large configuration is not free.)
      docKey: (doc) => (doc === this.coord?.state.doc ? this.coord.state.docKey : docKey(doc)),
    });
    const overridden = describeOverrides(config, o.membership);
    if (overridden !== undefined) log.info(overridden);
    const peerBoots = { ...start.peerBoots };
    this.freshness = new FreshnessGuard(
      o.node,
      this.boot,
      config.nodes.map((n) => n.name),
      peerBoots,
    );
    const nodes = membershipNodes(nodesWithAddresses(config, o.addresses));
    const settings = resolveMembership(config, { self: o.node, nodes, overrides: o.membership, arbiter: o.arbiter !== undefined });
    this.driver = this.membershipDriver(config, initialState(settings, { boot: this.boot, peerBoots }));
    this.coord = this.coreDriver(initialCoreState(o.node, start.doc, this.driver.view(), { scheduler: o.scheduler ?? 'auto' }));
    this.local = this.localNode(config, start);
    this.reporter = this.nodeReporter();
    this.router = this.peerRouter();
    this.rpc = this.actionRpc();
    this.admin = this.administration();
    this.execEvents.on('action-started', (e) => events.emit('action-started', e));
    this.execEvents.on('action-finished', (e) => events.emit('action-finished', e));
  }

  /** The coordinator core's state (the core driver holds it). */
  get core(): CoreState {
    return this.coord.state;
  }

  /** The membership state machine's state (the driver holds it). */
  get membership(): MembershipState {
    return this.driver.state;
  }

  /** Saves the state, opens the transports, starts ticking, then opens the control socket. */
  async open(openControl: () => Promise<ControlServer | undefined>): Promise<void> {
    const o = this.o;
    await this.durable.persist();
    ({ transport: this.transport, channel: this.channel } = await openTransports(o, nodesWithAddresses(this.core.config, o.addresses), {
      log: this.log,
      input: (i) => {
        if (!this.halted) this.stepMembership(i);
      },
      receive: (m) => this.router.receive(m),
      forged: (link, detail) => this.driver.warnForged(`channel/${link}`, `daemon messages on link ${link} fail authentication (${detail})`),
    }));
    const m = this.membership.config;
    this.log.info('daemon started', {
      boot: this.boot,
      epoch: this.core.doc.epoch,
      links: m.selfLinks,
      tickMs: m.tickMs,
      policy: m.partitionPolicy,
      ...(this.unclean ? { unclean: this.unclean } : {}),
    });
    this.feedCore({ type: 'report', node: o.node, report: this.reporter.report(), now: o.clock.now() });
    this.tickEvery(m.tickMs);
    this.control = await openControl();
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
        stopped: () => this.halted,
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
        ...(o.schedulerThread ? { thread: o.schedulerThread() } : {}),
        lifetime: this.lifetime.signal,
        stopped: () => this.halted,
        membership: () => this.membership,
        reportsChanged: () => this.driver.feedWeights(),
        dispatch: (txn, action) => this.rpc.dispatch(txn, action),
        send: (to, body) => this.router.send(to, body),
        broadcast: (body) => this.router.broadcast(body),
        answer: (reqId, r) => this.admin.answer(reqId, r),
        persist: () => void this.durable.persist(),
        replyWhenDurable: (c, deliver) => this.durable.replyWhenDurable(c, deliver),
        configChanged: (doc, from) => this.onConfigChanged(doc, from),
        transitionDone: (t) => this.events.emit('transition-done', t),
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

  /**
   * Witness policy: the ping target is checked at the first tick and then every second (a peer lost
   * before any answer counts as lost while the witness was unreachable), and each change is logged.
   */
  private checkWitness(): void {
    const witness = this.o.witness;
    if (witness === undefined || this.membership.config.partitionPolicy !== 'witness') return;
    void witness()
      .catch(() => false)
      .then((reachable) => {
        if (this.halted) return;
        if (reachable !== this.witnessReachable) {
          if (reachable) this.log.info('witness reachable');
          else this.log.warn('witness unreachable: this node may be cut off from the service network');
        }
        this.witnessReachable = reachable;
        this.stepMembership({ type: 'witness', reachable });
      });
  }

  private tick(): void {
    if (this.halted) return;
    this.tickCount += 1;
    // Heartbeats first: nothing else this tick does may delay them.
    this.stepMembership({ type: 'tick' });
    this.reporter.onTick();
    const ticksPerSecond = Math.max(1, Math.round(1000 / this.membership.config.tickMs));
    if (this.tickCount % Math.max(1, Math.round(ticksPerSecond / 2)) === 0) this.retransmit();
    if (this.tickCount % ticksPerSecond === 0) {
      // Anti-entropy: every second, peers get this node's report version (and what changed, if
      // anything did since the last message to them; report-outbox.ts); every 5 s its document's
      // digest (a peer whose copy differs gets the document itself, core-doc.ts onDigest).
      this.reporter.flush();
    }
    if (this.tickCount === 1 || this.tickCount % ticksPerSecond === 0) this.checkWitness();
    if (this.tickCount % (ticksPerSecond * 5) === 0) {
      this.router.broadcast({ type: 'doc-digest', key: this.core.docKey });
      this.durable.retryIfFailed(); // the space may be back
    }
    if (schedulerRetryDue(this.core, this.o.clock.now())) this.feedCore({ type: 'wake', now: this.o.clock.now() });
    const recheck = this.core.config.properties.clusterRecheckInterval;
    if (recheck > 0 && this.tickCount % Math.max(1, Math.round(recheck / this.membership.config.tickMs)) === 0)
      this.feedCore({ type: 'kick', reason: 'cluster-recheck-interval', now: this.o.clock.now() });
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
    publishMembershipEvent(this.events, e);
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

  feedCore(e: CoreEvent): void {
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
    this.events.emit('config-changed', { epoch: doc.epoch, from, doc });
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

  private peerRouter(): PeerRouter {
    return new PeerRouter({
      node: this.o.node,
      log: this.log,
      clock: this.o.clock,
      boot: () => this.boot,
      nextMessageId: () => ++this.msgId,
      membership: () => this.membership,
      core: () => this.core,
      durableKey: () => this.durable?.savedKey,
      channel: () => this.channel,
      freshness: () => this.freshness,
      stopped: () => this.halted,
      persist: () => void this.durable.persist(),
      feedCore: (e) => this.feedCore(e),
      answer: (reqId, r) => this.admin.answer(reqId, r),
      onResult: (from, boot, key, result) => this.rpc.onResult(from, boot, key, result),
      runAction: (key, action) => this.local.run(key, action),
      reportFor: (peer) => this.reporter.reportFor(peer),
      reportWanted: (peer, boot, ver) => this.reporter.outbox.want(peer, boot, ver),
      cleanupLocal: (resource) => this.local.cleanup(resource),
    });
  }

  private actionRpc(): ActionRpc {
    return new ActionRpc({
      node: this.o.node,
      log: this.log,
      clock: this.o.clock,
      boot: () => this.boot,
      epoch: () => this.core.doc.epoch,
      runLocal: (key, action) => this.local.run(key, action, true), // the transition's executor publishes its events
      isMember: (node) => this.membership.peers[node]?.member === true,
      peerBoot: (node) => this.router.peerBoot(node),
      envelope: (to, body) => this.router.envelope(to, body),
      transmit: (m) => this.router.transmit(m),
    });
  }

  private administration(): Admin {
    return new Admin({
      node: this.o.node,
      clock: this.o.clock,
      timers: this.o.timers,
      core: () => this.core,
      peers: () => Object.keys(this.membership.peers),
      nextRequestId: () => `${this.o.node}/${this.boot}/${++this.reqSeq}`,
      feedCore: (e) => this.feedCore(e),
      cleanupLocal: (resource) => this.local.cleanup(resource),
      send: (to, body) => this.router.send(to, body),
    });
  }

  // ---- the end ---------------------------------------------------------------------------------

  /**
   * Asks the cluster to move everything off this node (the coordinator schedules stops here and
   * starts elsewhere); if that cannot happen before `deadline`, stops what is left here directly —
   * unless `abandoned` says the daemon was killed meanwhile (tests' abandon()): a dead process does
   * nothing more.
   */
  async moveAway(deadline: number, abandoned: () => boolean): Promise<void> {
    const { clock, node } = this.o;
    this.shuttingDown = true;
    this.reporter.localChanged();
    const canMove = (): boolean => this.membership.mayRun && (this.core.view.coordinator !== node || scheduleBlocker(this.core) === undefined);
    while (activeRoles(this.local.history).length > 0 && clock.now() < deadline && canMove()) await clock.sleep(50);
    if (this.coord.running) {
      this.coord.abortTransition();
      while (this.coord.running && clock.now() < deadline) await clock.sleep(20);
    }
    if (abandoned()) return;
    await this.stopLocal('the node is shutting down').catch((e: Error) => this.log.error('stopping resources failed', { error: e.message }));
  }

  /** The end of a clean shutdown: tells the peers, closes everything, and saves the state as stopped. */
  async leave(): Promise<void> {
    this.durable.finishing();
    this.stepMembership({ type: 'leave' });
    this.halted = true;
    await this.close('the daemon is stopping');
    await this.durable.saveStopped();
  }

  /** Stops dead as `kill -9` would: no leave message, resources left as they are, the state still marked running. */
  async abandon(): Promise<void> {
    this.halted = true;
    this.coord.abortTransition();
    await this.close('abandoned');
    await this.durable.flush();
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
