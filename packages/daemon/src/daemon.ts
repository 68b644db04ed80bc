/**
 * The node daemon: the thin imperative shell around the pure cores. It feeds ticks (from the
 * injected timers) and packets (from the transports) to the membership state machine, turns the
 * membership state into a view for the coordinator core, carries out the core's commands (run a
 * transition through the executor, with each action dispatched to the node that runs it; publish
 * and persist the replicated document), runs this node's actions, and publishes typed events.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { MembershipSettings, formatIssues, zodIssues, type ActionResult, type ClusterConfig, type ClusterConfigInput, type FenceType } from '@paceline/model';
import {
  clusterWideSettings,
  explainPeerSafelyDown,
  initialState,
  membershipNodes,
  resolveConfig,
  type MembershipEvent,
  type MembershipInput,
  type MembershipState,
  type ResolvedConfig,
  type Transport,
  type TransportInput,
} from '@paceline/membership';
import { unboundedSignal, type AgentResolver, type Clock, type CommandRunner, type Logger } from '@paceline/agent-api';
import { ExecutorEvents, executeTransition } from '@paceline/executor';
import { UdpTransport } from '@paceline/runtime';
import { UdpPeerChannel, type PeerChannel, type PeerReceiver } from './channel.js';
import {
  DOC_ACK,
  coordinatorStep,
  docRetransmitTargets,
  initialCoreState,
  scheduleBlocker,
  type CoreCommand,
  type CoreEvent,
  type CoreState,
  type NodeReportData,
} from './core.js';
import { ActionRpc } from './action-rpc.js';
import { PeerRouter } from './peer-router.js';
import { MembershipDriver, type DaemonArbiter, type FenceHook } from './membership-driver.js';
import { Admin, type UpdateAnswer } from './admin.js';
import { DaemonError } from './errors.js';
import type { Timers } from './timers.js';
import { ControlServer, type ControlTarget } from './control.js';
import { DaemonEvents } from './events.js';
import { FreshnessGuard } from './freshness.js';
import { LocalNode, activeRoles, toStop } from './local.js';
import type { ClusterDoc } from './messages.js';
import { ReportOutbox } from './report-outbox.js';
import { STATE_FILE, StateWriter, checkStateDir, loadState, lockStateDir, type PersistedState, type StateLock } from './store.js';
import { docKey, parseDocConfig, type UpdateRequest } from './updates.js';
import { PlacementViews } from './view.js';
import { daemonStatus, type DaemonStatus } from './status.js';

export type { DaemonStatus } from './status.js';

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
  /** Serve the control socket STATE_DIR/control.sock (default true). */
  readonly controlSocket?: boolean;
  readonly signal?: AbortSignal;
}

/** Counters of what this daemon sent and received (see `Daemon.messageStats`). */
export interface DaemonMessageStats {
  readonly heartbeats?: { readonly sent: number; readonly received: number; readonly sendErrors: number };
  readonly messages?: { readonly sent: number; readonly packets: number; readonly refused: number };
}

const iso = (ms: number): string => new Date(ms).toISOString();

export class Daemon extends DaemonEvents implements ControlTarget {
  private driver!: MembershipDriver;
  private core!: CoreState;
  private local!: LocalNode;
  private transport: Transport | undefined;
  private channel: PeerChannel | undefined;
  private timer: unknown;
  private writer!: StateWriter;
  /** Which daemon messages are fresh (this incarnation, the sender's newest, not seen before). */
  private freshness!: FreshnessGuard;
  private boot = 0;
  private msgId = 0;
  /** The fail counts last given to the state writer (JSON). */
  private savedFailures: string | undefined;
  /** This node's report as its peers hold it: what each is sent (report-outbox.ts). */
  private outbox!: ReportOutbox;
  private unclean: string | undefined;
  private txn: { id: number; abort: AbortController } | undefined;
  private readonly rpc: ActionRpc;
  private readonly router: PeerRouter;
  private readonly admin: Admin;
  private readonly log: Logger;
  private readonly execEvents = new ExecutorEvents();
  private started = false;
  private disposed = false;
  private disposing: Promise<void> | undefined;
  private tickCount = 0;
  /** The tick of the last report broadcast, and whether a newer report waits for the next tick. */
  private reportTick = -1;
  private reportDirty = false;
  /** The resource view `status` shows (never computed by running the scheduler). */
  private readonly views = new PlacementViews();
  private shuttingDown = false;
  /** abandon() was called (perhaps while a clean shutdown waited): the shutdown must not carry on. */
  private abandoned = false;
  private final = false;
  private control: ControlServer | undefined;
  private reqSeq = 0;
  /** The document in the last state file written and synced (epoch and docKey). */
  private durable: { epoch: number; key: string } | undefined;
  /** Why the last state write failed (cleared by the next that succeeds). */
  private saveError: string | undefined;
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
      durableKey: () => this.durable?.key,
      channel: () => this.channel,
      freshness: () => this.freshness,
      stopped: () => this.disposed,
      persist: () => void this.persist(true),
      feedCore: (e) => this.feedCore(e),
      answer: (reqId, r) => this.admin.answer(reqId, r),
      onResult: (from, boot, key, result) => this.rpc.onResult(from, boot, key, result),
      runAction: (key, action) => this.local.run(key, action),
      reportFor: (peer) => this.reportFor(peer),
      reportWanted: (peer, boot, ver) => this.outbox.want(peer, boot, ver),
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
      nextMessageId: () => ++this.msgId,
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
    const overrides = MembershipSettings.safeParse(o.membership ?? {});
    if (!overrides.success) throw new DaemonError('DAEMON_CONFIG', formatIssues(zodIssues(overrides.error), "this node's membership overrides"));
    const persisted = await loadState(o.stateDir);
    const statePath = join(o.stateDir, STATE_FILE);
    const fileDoc = this.fileDoc();
    let doc = fileDoc;
    if (persisted && persisted.doc.epoch >= fileDoc.epoch) doc = persisted.doc;
    else if (persisted) doc = { ...fileDoc, quarantine: persisted.doc.quarantine };
    let parsed = parseDocConfig(doc);
    if (!parsed.ok) {
      if (doc !== persisted?.doc) throw new DaemonError('CONFIG_INVALID', parsed.message);
      throw new DaemonError(
        'STATE_CORRUPT',
        `${statePath}: the saved configuration is invalid: ${parsed.message}; move ${statePath} away to start from the configuration file`,
      );
    }
    if (doc === persisted?.doc && !parsed.config.nodes.some((n) => n.name === o.node)) {
      // A configuration applied with --force dropped this node: start from the file (which names it)
      // rather than refuse to start; the cluster's newer document follows once it is reachable.
      const fromFile = parseDocConfig(fileDoc);
      if (fromFile.ok && fromFile.config.nodes.some((n) => n.name === o.node)) {
        this.log.warn(
          `the saved configuration (epoch ${doc.epoch}, in ${statePath}) does not include ${o.node}: starting from the configuration file (epoch ${fileDoc.epoch})`,
        );
        doc = { ...fileDoc, quarantine: persisted.doc.quarantine };
        parsed = fromFile;
      }
    }
    const config = parsed.config;
    if (!config.nodes.some((n) => n.name === o.node))
      throw new DaemonError('DAEMON_CONFIG', `node "${o.node}" is not in the configuration (nodes: ${config.nodes.map((n) => n.name).join(', ')})`);
    this.unclean = persisted?.running
      ? `${o.node} stopped without a clean shutdown (daemon started ${iso(persisted.lastBoot)} was killed, crashed or the node lost power)`
      : persisted?.unclean;
    this.boot = Math.max(Math.floor(o.clock.now()), (persisted?.lastBoot ?? 0) + 1);
    this.outbox = new ReportOutbox(this.boot);
    this.writer = new StateWriter(
      o.stateDir,
      (e) => {
        // Said once per distinct error (a full disk fails every retry the same way), debug after.
        if (this.saveError !== e.message) this.log.error('cannot persist the state', { error: e.message });
        else this.log.debug('cannot persist the state (again)', { error: e.message });
        this.saveError = e.message;
      },
      (st) => {
        if (this.saveError !== undefined) this.log.info('the state is saved again');
        this.saveError = undefined;
        // (The core's key when it is the core's document: canonical JSON of a large configuration is not free.)
        this.durable = { epoch: st.doc.epoch, key: st.doc === this.core?.doc ? this.core.docKey : docKey(st.doc as ClusterDoc) };
      },
    );

    const nodes = this.nodesWithAddresses(config);
    const mcfg = this.membershipConfig(config);
    const overridden = Object.entries(o.membership ?? {}).filter(
      ([k, v]) => JSON.stringify((config.membership as Record<string, unknown> | undefined)?.[k]) !== JSON.stringify(v),
    );
    if (overridden.length > 0)
      this.log.info(
        `membership settings overridden on this node: ${overridden.map(([k, v]) => `${k}=${JSON.stringify(v)} (configuration: ${JSON.stringify((config.membership as Record<string, unknown> | undefined)?.[k]) ?? 'unset'})`).join(', ')}; every node must run with the same settings`,
      );
    // The newest incarnation of each peer seen in earlier runs: older ones are refused from the start.
    const peerBoots = Object.fromEntries(Object.entries(persisted?.peerBoots ?? {}).filter(([n]) => n !== o.node && config.nodes.some((x) => x.name === n)));
    this.freshness = new FreshnessGuard(
      o.node,
      this.boot,
      config.nodes.map((n) => n.name),
      peerBoots,
    );
    this.driver = new MembershipDriver(
      {
        node: o.node,
        log: this.log,
        clock: o.clock,
        fence: o.fence,
        witness: o.witness,
        arbiter: o.arbiter,
        lifetime: this.lifetime.signal,
        transport: () => this.transport,
        stopped: () => this.disposed,
        config: () => this.core?.config ?? config,
        nodes: () => this.nodesWithAddresses(this.core?.config ?? config),
        reports: () => this.core?.reports ?? {},
        onEvent: (e) => this.onMembershipEvent(e),
        onView: (view) => {
          this.feedCore({ type: 'membership', view, now: this.o.clock.now() });
          this.rpc.failLost();
        },
      },
      initialState(mcfg, { boot: this.boot, peerBoots }),
    );
    this.core = initialCoreState(o.node, doc, this.driver.view());
    this.local = new LocalNode(
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
        onChange: () => this.onLocalChange(),
        onReport: () => this.publishReport(),
        onMonitorFailure: (instance, reason) => {
          this.log.warn('monitor failed', { resource: instance, reason });
          this.sendToCoordinatorKick(`monitor of ${instance} failed`);
        },
      },
      config,
      persisted?.failures ?? [],
    );
    await this.persist(true, persisted);

    this.transport = o.transport
      ? await o.transport((i) => this.input(i))
      : await UdpTransport.open({ self: o.node, nodes, key: o.key, onInput: (i) => this.input(i), now: () => o.clock.now() });
    try {
      this.channel = o.channel
        ? await o.channel((m) => this.router.receive(m))
        : await UdpPeerChannel.open({
            self: o.node,
            nodes,
            key: o.key,
            portOffset: o.portOffset ?? 1,
            onMessage: (m) => this.router.receive(m),
            now: () => o.clock.now(),
            timers: o.timers,
            onDrop: (link, reason, detail) => {
              this.log.debug('daemon message dropped', { link, reason, detail });
              if (reason === 'forged') this.driver.warnForged(`channel/${link}`, `daemon messages on link ${link} fail authentication (${detail})`);
            },
          });
    } catch (e) {
      await this.transport.dispose();
      throw e;
    }
    this.log.info('daemon started', {
      boot: this.boot,
      epoch: doc.epoch,
      links: mcfg.selfLinks,
      tickMs: mcfg.tickMs,
      policy: mcfg.partitionPolicy,
      ...(this.unclean ? { unclean: this.unclean } : {}),
    });
    this.feedCore({ type: 'report', node: o.node, report: this.report(), now: o.clock.now() });
    this.timer = o.timers.setInterval(() => this.tick(), mcfg.tickMs);
    if (o.controlSocket ?? true) this.control = await ControlServer.open(this, o.stateDir);
    o.signal?.addEventListener('abort', () => void this.dispose(), { once: true });
  }

  private fileDoc(): ClusterDoc {
    const written = structuredClone(this.o.config);
    const epoch = written.epoch ?? 0;
    return { epoch, config: { ...written, epoch }, quarantine: {} };
  }

  /**
   * The membership settings in effect: the configuration's `membership` section under this node's
   * overrides; two-node mode unless said otherwise when the configuration has two nodes. The nodes
   * and links are the ones this daemon started with (changing them takes a restart).
   */
  private membershipConfig(config: ClusterConfig): ResolvedConfig {
    const nodes = this.driver?.state.config.nodes ?? membershipNodes(this.nodesWithAddresses(config));
    return resolveConfig({
      twoNode: nodes.length === 2,
      ...config.membership,
      ...this.o.membership,
      arbiter: this.o.arbiter !== undefined,
      self: this.o.node,
      nodes,
    });
  }

  private nodesWithAddresses(config: ClusterConfig): { name: string; addresses: Record<string, string> }[] {
    return config.nodes.map((n) => ({ name: n.name, addresses: { ...n.addresses, ...this.o.addresses?.[n.name] } }));
  }

  // ---- membership ----------------------------------------------------------------------------

  private tick(): void {
    if (this.disposed) return;
    this.tickCount += 1;
    // Heartbeats first: nothing else this tick does may delay them.
    this.stepMembership({ type: 'tick' });
    if (this.reportDirty) this.flushReport();
    const ticksPerSecond = Math.max(1, Math.round(1000 / this.membership.config.tickMs));
    if (this.tickCount % Math.max(1, Math.round(ticksPerSecond / 2)) === 0) this.retransmit();
    if (this.tickCount % ticksPerSecond === 0) {
      // Anti-entropy: every second, peers get this node's report version (and what changed, if
      // anything did since the last message to them; report-outbox.ts) and its document again.
      this.flushReport();
      if (this.o.witness && this.membership.config.partitionPolicy === 'witness')
        void this.o.witness().then(
          (reachable) => this.stepMembership({ type: 'witness', reachable }),
          () => this.stepMembership({ type: 'witness', reachable: false }),
        );
    }
    if (this.tickCount % (ticksPerSecond * 5) === 0) {
      this.router.broadcast({ type: 'doc', doc: this.core.doc });
      if (this.saveError !== undefined) void this.persist(true); // the space may be back
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
    switch (e.type) {
      case 'node-joined':
      case 'node-restarted':
        if (this.freshness.observe(e.node, e.boot)) void this.persist(true);
        this.outbox.reset(e.node); // it may hold nothing of this node's report: send it whole
        this.sendReport(e.node);
        this.emit('node-joined', { node: e.node, boot: e.boot });
        break;
      case 'node-lost':
        this.emit('node-lost', { node: e.node, clean: false });
        break;
      case 'node-left':
        this.emit('node-lost', { node: e.node, clean: true });
        break;
      case 'link-down':
        this.emit('link-down', { node: e.node, link: e.link });
        break;
      case 'link-up':
        this.emit('link-up', { node: e.node, link: e.link });
        break;
      case 'quorum-changed':
        this.emit('quorum-changed', { quorate: e.quorate, reason: e.reason });
        break;
      case 'coordinator-changed':
        this.emit('coordinator-changed', { coordinator: e.coordinator, term: e.term });
        break;
      case 'fence-confirmed':
        this.emit('fenced', { node: e.node, ok: true });
        this.feedCore({
          type: 'fenced',
          node: e.node,
          reason: `fenced at ${iso(this.o.clock.now())} by ${this.o.node} after it was lost on every link; check it, then run: paceline node clear ${e.node}`,
          now: this.o.clock.now(),
        });
        this.publishReport();
        break;
      case 'fence-failed':
        this.emit('fenced', { node: e.node, ok: false, ...(e.detail ? { detail: e.detail } : {}) });
        break;
      case 'may-run-changed':
        if (!e.mayRun) void this.stopLocalIfForbidden();
        break;
      case 'identity-conflict':
        this.emit('identity-conflict', { node: e.node, boots: e.boots, detail: e.detail });
        break;
      case 'vote-changed':
        this.emit('vote-changed', {
          result: e.result,
          ...(e.holder !== undefined ? { holder: e.holder } : {}),
          ...(e.detail !== undefined ? { detail: e.detail } : {}),
        });
        break;
      default:
        break;
    }
  }

  // ---- the coordinator core ------------------------------------------------------------------

  private feedCore(e: CoreEvent): void {
    if (this.disposed || this.core === undefined) return;
    const before = this.core.reports;
    const r = coordinatorStep(this.core, e);
    this.core = r.state;
    if (this.core.reports !== before) this.driver.feedWeights();
    // A new configuration first: a transition planned on it may run local actions at once, and they
    // must run (and record their parameters) with the definition they were planned with.
    for (const c of r.commands) if (c.type === 'config-changed') this.command(c);
    for (const c of r.commands) if (c.type !== 'config-changed') this.command(c);
  }

  private command(c: CoreCommand): void {
    switch (c.type) {
      case 'run':
        void this.runTransition(c);
        break;
      case 'abort':
        if (this.txn?.id === c.id) this.txn.abort.abort();
        break;
      case 'publish':
        if (c.to !== undefined) this.router.send(c.to, { type: 'doc', doc: c.doc });
        else this.router.broadcast({ type: 'doc', doc: c.doc });
        break;
      case 'persist':
        void this.persist(true);
        break;
      case 'forward':
        this.router.send(c.to, { type: 'update', request: c.request, reqId: c.reqId });
        break;
      case 'reply': {
        const deliver = (ok: boolean, message: string): void => {
          if (c.to === this.o.node) this.admin.answer(c.reqId, { ok, message });
          else this.router.send(c.to, { type: 'update-reply', reqId: c.reqId, ok, message });
        };
        // "I hold this document" and "your change is done" are said only once it is on disk here
        // (file and directory synced): acknowledged changes survive a power loss of every node.
        if (c.reqId.startsWith(DOC_ACK)) {
          // That document, or a newer one made from it here meanwhile (the writes coalesce).
          const key = c.reqId.slice(DOC_ACK.length);
          const epoch = Number.parseInt(key, 10);
          void this.whenDurable((d) => d.key === key || d.epoch > epoch).then((error) => deliver(error === undefined, error ?? c.message));
        } else if (c.ok && c.epoch !== undefined) {
          const epoch = c.epoch;
          void this.whenDurable((d) => d.epoch >= epoch).then((error) =>
            deliver(
              error === undefined,
              error === undefined
                ? c.message
                : `${c.message} is in effect, but ${this.o.node} could not save it (${error}): a power loss there would lose it; free the space there, then check \`paceline config show\``,
            ),
          );
        } else deliver(c.ok, c.message);
        break;
      }
      case 'config-changed': {
        this.local.setConfig(this.core.config);
        this.applyMembershipSettings();
        if (this.unclean !== undefined && this.core.doc.quarantine[this.o.node] !== undefined) {
          this.unclean = undefined; // the cluster has recorded it: do not quarantine again after `node clear`
          void this.persist(true);
        }
        this.log.info(`configuration epoch ${c.doc.epoch}`, { from: c.from });
        this.emit('config-changed', { epoch: c.doc.epoch, from: c.from, doc: c.doc });
        break;
      }
      case 'log':
        this.log[c.level](c.message, c.fields);
        break;
    }
  }

  /** A changed `membership` section takes effect at once (its nodes and links only at a restart). */
  private applyMembershipSettings(): void {
    let next: ResolvedConfig;
    try {
      next = this.membershipConfig(this.core.config);
    } catch (e) {
      this.log.error(`the configuration's membership settings cannot be used here: ${(e as Error).message}; this node keeps its current ones`);
      return;
    }
    const before = clusterWideSettings(this.membership.config);
    const after = clusterWideSettings(next);
    const changed = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => before[k] !== after[k]);
    if (changed.length === 0) return;
    const tickMs = this.membership.config.tickMs;
    this.driver.reconfigure(next);
    this.log.info(`membership settings changed: ${changed.map((k) => `${k} ${String(before[k] ?? 'unset')} -> ${String(after[k] ?? 'unset')}`).join(', ')}`);
    if (next.tickMs !== tickMs) {
      this.o.timers.clearInterval(this.timer);
      this.timer = this.o.timers.setInterval(() => this.tick(), next.tickMs);
    }
    this.publishReport();
  }

  private async runTransition(c: Extract<CoreCommand, { type: 'run' }>): Promise<void> {
    const abort = new AbortController();
    this.txn = { id: c.id, abort };
    const tlog = this.log.child({ transition: c.id });
    tlog.info(`transition ${c.id}: ${c.transition.summary.length ? this.core.last?.summary.join('; ') : 'probes and monitors'}`);
    const report = await executeTransition(
      c.transition,
      {
        agents: this.o.agents,
        config: c.config,
        node: '\u0000coordinator',
        runner: this.o.runner,
        clock: this.o.clock,
        logger: actionLinesAtDebug(tlog),
        stateRoot: join(this.o.stateDir, 'resources'),
        events: this.execEvents,
        transition: c.id,
        remote: (a) => this.rpc.dispatch(c.id, a),
        concurrency: transitionConcurrency(c.config),
        fence: (node, type) => this.fenceAction(node, type),
        killSignal: this.lifetime.signal,
      },
      abort.signal,
    ).catch((e: Error) => {
      tlog.error('the executor failed', { error: e.message });
      return undefined;
    });
    if (this.txn?.id === c.id) this.txn = undefined;
    const failed = report?.results.filter((r) => r.state === 'failed').map((r) => `${r.id}: ${r.reason ?? 'failed'}`) ?? ['executor error'];
    const ran = report?.results.filter((r) => r.result !== undefined && r.result.execution !== 'cancelled').length ?? 0;
    tlog.info(`transition ${c.id} ${report?.aborted ? 'aborted' : report?.succeeded ? 'done' : 'done with failures'}`, {
      ran,
      ...(failed.length ? { failed } : {}),
    });
    const mine = this.core.last?.id === c.id ? this.core.last : undefined;
    this.feedCore({
      type: 'transition-done',
      id: c.id,
      ran,
      succeeded: report?.succeeded ?? false,
      aborted: report?.aborted ?? false,
      failed,
      now: this.o.clock.now(),
    });
    // The event is about this transition, also when the core has planned the next one at once.
    const done =
      this.core.last?.id === c.id
        ? this.core.last
        : mine && {
            ...mine,
            state: report?.aborted ? ('aborted' as const) : report?.succeeded ? ('succeeded' as const) : ('failed' as const),
            ...(failed.length ? { failed } : {}),
          };
    if (done) this.emit('transition-done', done);
  }

  /** A graph fence action: a lost peer counts as fenced once membership confirmed it; a member is fenced now. */
  private async fenceAction(node: string, type: FenceType): Promise<ActionResult> {
    const p = this.membership.peers[node];
    if (p !== undefined && !p.member) {
      const safe = explainPeerSafelyDown(this.membership, node);
      return safe.yes
        ? { execution: 'done', outcome: 'ok', reason: safe.reason }
        : { execution: 'error', outcome: 'generic-error', reason: `waiting for membership: ${safe.reason}` };
    }
    if (!this.o.fence) return { execution: 'error', outcome: 'generic-error', reason: `cannot fence ${node}: no fencing is configured` };
    this.feedCore({
      type: 'fenced',
      node,
      reason: `fenced at ${iso(this.o.clock.now())} because an action on it failed (e.g. a stop); check it, then run: paceline node clear ${node}`,
      now: this.o.clock.now(),
    });
    const r = await this.o.fence(node, this.lifetime.signal, type).catch((e: Error) => ({ ok: false, detail: e.message }));
    return r.ok ? { execution: 'done', outcome: 'ok' } : { execution: 'error', outcome: 'generic-error', reason: r.detail ?? 'fencing failed' };
  }

  /** Every half second: the unconfirmed document to the members that have not acknowledged it, and actions not yet answered. */
  private retransmit(): void {
    for (const peer of docRetransmitTargets(this.core)) this.router.send(peer, { type: 'doc', doc: this.core.doc });
    this.rpc.retransmit();
  }

  // ---- this node -----------------------------------------------------------------------------

  private report(): NodeReportData {
    const fenced = Object.values(this.membership.peers)
      .filter((p) => p.fence.phase === 'confirmed')
      .map((p) => p.name);
    return {
      boot: this.boot,
      rev: this.local.rev,
      history: this.local.history,
      failures: this.local.failures,
      ...(this.unclean ? { unclean: this.unclean } : {}),
      ...(this.shuttingDown ? { shutdown: true } : {}),
      ...(fenced.length ? { fenced } : {}),
      members: [...this.membership.members],
      membership: clusterWideSettings(this.membership.config),
    };
  }

  /** The message with this node's report for `peer`: what changed since the version it holds. */
  private reportFor(peer: string): ReturnType<ReportOutbox['for']> {
    this.outbox.observe(this.local.history);
    return this.outbox.for(peer, this.report());
  }

  private sendReport(peer: string): void {
    // Only to a peer whose incarnation is known (else nothing is sent, and the outbox must not count it as sent).
    if (this.router.peerBoot(peer) !== undefined) this.router.send(peer, { type: 'report', report: this.reportFor(peer) });
  }

  private onLocalChange(): void {
    this.publishReport();
    // Of what a local change touches, only the fail counts are saved (not the whole state at every
    // result of a burst: the state holds the whole document).
    const failures = JSON.stringify(this.local.failures);
    if (failures === this.savedFailures && !this.shuttingDown) return;
    this.savedFailures = failures;
    void this.persist(true);
  }

  private publishReport(): void {
    this.feedCore({ type: 'report', node: this.o.node, report: this.report(), now: this.o.clock.now() });
    // At most one message per peer and tick: a burst of changes (hundreds of actions) is sent once
    // per tick, all changes since the last message together (results carry theirs meanwhile).
    if (this.reportTick === this.tickCount) this.reportDirty = true;
    else this.flushReport();
  }

  private flushReport(): void {
    this.reportDirty = false;
    this.reportTick = this.tickCount;
    for (const peer of Object.keys(this.membership.peers)) this.sendReport(peer);
  }

  private sendToCoordinatorKick(reason: string): void {
    // The report carrying the failure reaches every node; the coordinator reschedules on it.
    this.feedCore({ type: 'kick', reason, now: this.o.clock.now() });
  }

  /**
   * Waits for the state writes under way; undefined when the saved document then satisfies `ok`,
   * else why not (the last write error). Writes again first when the last one failed (the space may
   * be back), so that a retransmitted document is acknowledged once it can be saved.
   */
  private async whenDurable(ok: (saved: { epoch: number; key: string }) => boolean): Promise<string | undefined> {
    if (this.saveError !== undefined) void this.persist(true);
    await this.writer.flush();
    if (this.durable !== undefined && ok(this.durable)) return undefined;
    return this.saveError ?? 'it was not saved';
  }

  private persist(running: boolean, _previous?: PersistedState): Promise<void> {
    if (this.final && running) return this.writer.flush();
    return this.writer.save({
      version: 1,
      doc: this.core?.doc ?? this.fileDoc(),
      failures: this.local ? [...this.local.failures] : [],
      lastBoot: this.boot,
      running,
      peerBoots: this.freshness?.incarnations() ?? {},
      ...(this.unclean !== undefined ? { unclean: this.unclean } : {}),
    });
  }

  /** Without permission to run (no quorum, stop-all policy, ...), this node stops what it runs. */
  private async stopLocalIfForbidden(): Promise<void> {
    if (this.membership.mayRun || this.membership.leaving) return;
    await this.stopLocal('this node may not run resources');
  }

  private async stopLocal(reason: string): Promise<void> {
    // What to stop includes the starts and promotes under way (pending), whose stops queue behind
    // them; giving those up makes the stops run now rather than once the starts have finished.
    const targets = toStop(this.local.history);
    const givenUp = this.local.abortStarts(reason);
    if (givenUp.length > 0) this.log.warn('giving up actions under way to stop everything', { reason, instances: givenUp });
    for (const t of targets) {
      const base = { resource: t.instance, node: this.o.node, interval: 0, reason, runnable: true } as const;
      if (t.role === 'Promoted')
        await this.local.run(`local/${this.boot}/${t.instance}/demote/${++this.reqSeq}`, {
          ...base,
          id: `${t.instance}_demote_0 ${this.o.node}`,
          kind: 'demote',
        });
      await this.local.run(`local/${this.boot}/${t.instance}/stop/${++this.reqSeq}`, { ...base, id: `${t.instance}_stop_0 ${this.o.node}`, kind: 'stop' });
    }
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
    const t = (this.transport as { stats?: () => { sent: number; received: number; sendErrors: number } } | undefined)?.stats?.();
    const c = this.channel?.stats?.();
    return {
      ...(t ? { heartbeats: { sent: t.sent, received: t.received, sendErrors: t.sendErrors } } : {}),
      ...(c ? { messages: { sent: c.sent.messages, packets: c.sent.packets, refused: c.sent.refused } } : {}),
    };
  }

  /**
   * For tests: stops dead as `kill -9` would — no leave message, resources left as they are, the
   * state still marked running (so the next start knows the end was unclean).
   */
  async abandon(): Promise<void> {
    this.abandoned = true;
    if (this.disposed) return;
    this.disposed = true;
    this.disposing = Promise.resolve();
    this.o.timers.clearInterval(this.timer);
    this.lifetime.abort();
    this.txn?.abort.abort();
    this.rpc.cancelAll('abandoned');
    await this.control?.dispose();
    await this.local.dispose();
    await this.transport?.dispose();
    await this.channel?.dispose();
    await this.o.arbiter?.dispose().catch(() => undefined);
    await this.writer.flush();
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
    if (this.o.stopOnShutdown ?? true) {
      // Ask the cluster to move everything off this node (the coordinator schedules stops here
      // and starts elsewhere); if that cannot happen soon, stop what is left here directly.
      this.shuttingDown = true;
      this.onLocalChange();
      const deadline = this.o.clock.now() + (this.o.shutdownTimeoutMs ?? 30_000);
      const canMove = (): boolean => this.membership.mayRun && (this.core.view.coordinator !== this.o.node || scheduleBlocker(this.core) === undefined);
      while (activeRoles(this.local.history).length > 0 && this.o.clock.now() < deadline && canMove()) await this.o.clock.sleep(50);
      if (this.txn) {
        this.txn.abort.abort();
        while (this.txn && this.o.clock.now() < deadline) await this.o.clock.sleep(20);
      }
      // Killed while waiting (tests' abandon()): a dead process does nothing more — above all it
      // must not write "stopped cleanly" into a state directory a next incarnation may already use.
      if (this.abandoned) return;
      await this.stopLocal('the node is shutting down').catch((e: Error) => this.log.error('stopping resources failed', { error: e.message }));
    }
    if (this.abandoned) return;
    this.final = true;
    this.stepMembership({ type: 'leave' });
    this.disposed = true;
    this.o.timers.clearInterval(this.timer);
    this.lifetime.abort();
    this.rpc.cancelAll('the daemon is stopping');
    await this.control?.dispose();
    await this.local.dispose();
    await this.transport?.dispose();
    await this.channel?.dispose();
    await this.o.arbiter?.dispose().catch(() => undefined);
    await this.persist(false);
    await this.writer.flush();
    await this.lock?.release();
    this.removeAllListeners();
  }
}

/**
 * Actions of a transition in flight at once: the configuration's batchLimit, else DEFAULT_IN_FLIGHT
 * per node (the coordinator only dispatches them; each node bounds what it runs, NODE_ACTION_LIMIT).
 */
function transitionConcurrency(config: ClusterConfig): number {
  return config.properties.batchLimit > 0 ? config.properties.batchLimit : DEFAULT_IN_FLIGHT * config.nodes.length;
}
const DEFAULT_IN_FLIGHT = 64;

/**
 * The coordinator's executor only dispatches; the node that runs an action logs its result. Its
 * per-action lines (loggers carrying an `action` field) would repeat those, so they go to debug.
 */
function actionLinesAtDebug(l: Logger, inAction = false): Logger {
  return {
    debug: (m, f) => l.debug(m, f),
    info: (m, f) => (inAction ? l.debug(m, f) : l.info(m, f)),
    warn: (m, f) => (inAction ? l.debug(m, f) : l.warn(m, f)),
    error: (m, f) => l.error(m, f),
    child: (fields) => actionLinesAtDebug(l.child(fields), inAction || fields['action'] !== undefined),
  };
}
