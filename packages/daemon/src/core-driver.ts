/**
 * The core driver, the shell around the coordinator core's pure `coordinatorStep()` (as the
 * membership driver is around membership's `step()`): it feeds the core its events and carries out
 * its commands — runs the scheduler off the event loop (scheduler-thread.ts), runs a transition
 * through the executor (each action dispatched to its node by the action RPC; fence actions here),
 * publishes the document, has it persisted, answers requests once what they confirm is durable,
 * and hands a new configuration to the daemon.
 */
import type { ActionResult, ClusterConfig, FenceType, GraphAction } from '@paceline/model';
import { explainPeerSafelyDown, type MembershipState } from '@paceline/membership';
import type { AgentResolver, Clock, CommandRunner, Logger } from '@paceline/agent-api';
import { executeTransition, type ExecutorEvents } from '@paceline/executor';
import type { UpdateAnswer } from './admin.js';
import { coordinatorStep, docRetransmitTargets, inline, type CoreCommand, type CoreEvent, type CoreState, type TransitionInfo } from './core.js';
import type { FenceHook } from './membership-driver.js';
import type { ClusterDoc, DistOmit, PeerMessageBody } from './messages.js';
import { ABANDONED, SchedulerThread, type ScheduleReply } from './scheduler-thread.js';
import { sameRun, speculatedRun } from './speculation.js';
import type { ScheduleInput } from '@paceline/scheduler';

const iso = (ms: number): string => new Date(ms).toISOString();

/** How long a scheduler run asked while a lost peer is being fenced waits for the result (see CoreDriver.schedule). */
export const FENCE_WAIT_MS = 500;

/** What the core driver needs from the daemon. */
export interface CoreDriverPorts {
  readonly node: string;
  readonly log: Logger;
  readonly clock: Clock;
  readonly agents: AgentResolver;
  readonly runner: CommandRunner;
  /** Where the executor keeps the resources' state directories. */
  readonly stateRoot: string;
  /** The executor's action events (the daemon republishes them). */
  readonly events: ExecutorEvents;
  readonly fence?: FenceHook | undefined;
  /** The scheduler's thread (default: a new one; tests give one whose worker they answer). */
  readonly thread?: SchedulerThread;
  /** Aborted when the daemon ends: fencing and the executor stop waiting. */
  readonly lifetime: AbortSignal;
  /** The daemon has stopped: events are no longer taken. */
  stopped(): boolean;
  membership(): MembershipState;
  /** Some node's report changed (the membership driver's fence-race weights). */
  reportsChanged(): void;
  /** Runs a graph action on its node (the action RPC). */
  dispatch(txn: number, action: GraphAction): Promise<ActionResult>;
  send(to: string, body: DistOmit<PeerMessageBody, 'to'>): void;
  broadcast(body: DistOmit<PeerMessageBody, 'to'>): void;
  /** The answer to a request made on this node (administration). */
  answer(reqId: string, r: UpdateAnswer): void;
  /** Has the state saved (durable.ts). */
  persist(): void;
  /** Delivers a reply once what it confirms is on disk (durable.ts). */
  replyWhenDurable(c: Extract<CoreCommand, { type: 'reply' }>, deliver: (ok: boolean, message: string) => void): void;
  /** A new configuration is in force (the core holds it). */
  configChanged(doc: ClusterDoc, from: string): void;
  /** A transition ended. */
  transitionDone(t: TransitionInfo): void;
}

export class CoreDriver {
  /** The transition running now, to abort when the core says so or the daemon stops. */
  private txn: { id: number; abort: AbortController } | undefined;
  private readonly thread: SchedulerThread;
  /** A scheduler run held while a lost peer is fenced, and until when runs may be held (see schedule). */
  private held: Extract<CoreCommand, { type: 'schedule' }> | undefined;
  private holdUntil: number | undefined;
  /** The failover's run computed while `node` is fenced (speculation.ts). */
  private speculated: { readonly node: string; readonly input: ScheduleInput; readonly reply: Promise<ScheduleReply> } | undefined;

  constructor(
    private readonly p: CoreDriverPorts,
    public state: CoreState,
  ) {
    this.thread = p.thread ?? new SchedulerThread();
    // The scheduler's thread starts with the daemon (on every node: any may have to coordinate a
    // failover), not with the first run: loading its modules is about 0.3 s of CPU, which then
    // overlaps the cluster forming instead of delaying the first placement or a new coordinator's
    // failover. (A configuration that grows past WORKER_FROM_PRIMITIVES later starts it then.)
    if (!inline(state)) this.thread.prestart();
  }

  /** Feeds the core one event and carries out its commands. */
  step(e: CoreEvent): void {
    if (this.p.stopped()) return;
    const before = this.state.reports;
    const r = coordinatorStep(this.state, e);
    this.state = r.state;
    if (this.state.reports !== before) this.p.reportsChanged();
    // A new configuration first: a transition planned on it may run local actions at once, and they
    // must run (and record their parameters) with the definition they were planned with.
    for (const c of r.commands) if (c.type === 'config-changed') this.command(c);
    for (const c of r.commands) if (c.type !== 'config-changed') this.command(c);
    if (this.held !== undefined && this.fencingLostPeers().length === 0) this.release(this.held);
  }

  private command(c: CoreCommand): void {
    switch (c.type) {
      case 'schedule':
        this.schedule(c);
        break;
      case 'abandon':
        this.held = undefined;
        this.thread.abandon();
        break;
      case 'run':
        void this.runTransition(c);
        break;
      case 'abort':
        if (this.txn?.id === c.id) this.txn.abort.abort();
        break;
      case 'publish':
        if (c.to !== undefined) this.p.send(c.to, { type: 'doc', doc: c.doc });
        else this.p.broadcast({ type: 'doc', doc: c.doc });
        break;
      case 'persist':
        this.p.persist();
        break;
      case 'forward':
        this.p.send(c.to, { type: 'update', request: c.request, reqId: c.reqId });
        break;
      case 'reply': {
        const deliver = (ok: boolean, message: string): void => {
          if (c.to === this.p.node) this.p.answer(c.reqId, { ok, message });
          else this.p.send(c.to, { type: 'update-reply', reqId: c.reqId, ok, message });
        };
        // "I hold this document" and "your change is done" are said only once it is on disk here.
        this.p.replyWhenDurable(c, deliver);
        break;
      }
      case 'config-changed':
        this.p.configChanged(c.doc, c.from);
        break;
      case 'log':
        this.p.log[c.level](c.message, c.fields);
        break;
    }
  }

  /**
   * Runs the scheduler in its thread. A run asked while a lost peer is to be fenced (membership
   * waits for the arbiter's vote, the fence delay or the result) is held until the result, at most FENCE_WAIT_MS from the
   * first one held: the confirmation changes the picture (the peer proven down, its resources
   * recovered), and the core would abandon the run — at a thousand resources a third of a second
   * of CPU on a thread that the failover's own run then waits behind. Holding a run never starts
   * anything; a fence that takes longer (a real device: seconds) lets it go after the wait.
   * Meanwhile the run the confirmation will ask for is computed ahead (`speculate`, speculation.ts)
   * and answers it if the confirmation leaves the picture as assumed.
   */
  private schedule(c: Extract<CoreCommand, { type: 'schedule' }>): void {
    const now = this.p.clock.now();
    if (this.fencingLostPeers().length === 0) this.holdUntil = undefined;
    else if (now < (this.holdUntil ??= now + FENCE_WAIT_MS)) {
      this.held = c;
      this.speculate(now);
      void this.p.clock.sleep(this.holdUntil - now, this.p.lifetime).then(
        () => this.release(c),
        () => undefined,
      );
      return;
    }
    void this.answer(c).then((r) =>
      this.step({ type: 'scheduled', id: c.id, ...(r.transition ? { transition: r.transition } : { error: r.error }), now: this.p.clock.now() }),
    );
  }

  /**
   * The run's answer: the one computed while the fencing ran when `c` is the run it assumed (and it
   * has a transition), else the thread's. The speculated run is dropped once its peer is no longer
   * being fenced and a run did not match it.
   *
   * Only the run the core waits for may go to the thread: a run asked there while another waits
   * for the thread replaces it, which is answered ABANDONED — and the core, for which that is a
   * failed run, would schedule nothing more until the next change (at worst the
   * cluster-recheck-interval, 15 minutes). After waiting for the speculated answer, `c` may no
   * longer be that run: the core may have abandoned it and asked another meanwhile (the steps
   * that follow the fencing's confirmation in the same turn: this node's report, the membership
   * view). Then nothing is asked for it (the core drops its answer).
   */
  private async answer(c: Extract<CoreCommand, { type: 'schedule' }>): Promise<ScheduleReply> {
    const spec = this.speculated;
    if (spec !== undefined && sameRun(spec.input, c.input, spec.node)) {
      this.speculated = undefined;
      const r = await spec.reply;
      if (r.transition !== undefined) {
        this.p.log.debug(`scheduler run ${c.id}: computed while ${spec.node} was being fenced`);
        return r;
      }
      if (this.state.scheduling?.id !== c.id) return { id: 0, error: ABANDONED };
    } else if (spec !== undefined && !this.fencingLostPeers().includes(spec.node)) this.speculated = undefined;
    return this.thread.run(c.input);
  }

  /** While one lost peer is being fenced: its failover's run, computed now on the state the confirmation will give (speculation.ts). */
  private speculate(now: number): void {
    const fencing = this.fencingLostPeers();
    if (fencing.length !== 1) return;
    const node = fencing[0]!;
    const input = speculatedRun(this.state, node, now);
    if (input === undefined || (this.speculated?.node === node && sameRun(this.speculated.input, input, node))) return;
    this.speculated = { node, input, reply: this.thread.speculate(input) };
  }

  /** The held run goes to the thread (the wait is over, or the fencing ended without a new run). */
  private release(c: Extract<CoreCommand, { type: 'schedule' }>): void {
    if (this.held !== c || this.p.stopped()) return;
    this.held = undefined;
    this.holdUntil = 0; // not held again
    this.schedule(c);
  }

  /**
   * The lost peers to be fenced (while this node asks the arbiter for its vote, or after the fence
   * delay) or being fenced, whose result is not in yet.
   */
  private fencingLostPeers(): string[] {
    const m = this.p.membership();
    const voting = m.vote?.phase === 'asking';
    return Object.entries(m.peers)
      .filter(([, p]) => !p.member && (p.fence.phase === 'pending' || p.fence.phase === 'requested' || (voting && p.fence.phase === 'none')))
      .map(([name]) => name);
  }

  private async runTransition(c: Extract<CoreCommand, { type: 'run' }>): Promise<void> {
    const abort = new AbortController();
    this.txn = { id: c.id, abort };
    const tlog = this.p.log.child({ transition: c.id });
    tlog.info(`transition ${c.id}: ${c.transition.summary.length ? this.state.last?.summary.join('; ') : 'probes and monitors'}`);
    const report = await executeTransition(
      c.transition,
      {
        agents: this.p.agents,
        config: c.config,
        node: '\u0000coordinator',
        runner: this.p.runner,
        clock: this.p.clock,
        logger: actionLinesAtDebug(tlog),
        stateRoot: this.p.stateRoot,
        events: this.p.events,
        transition: c.id,
        remote: (a) => this.p.dispatch(c.id, a),
        concurrency: transitionConcurrency(c.config),
        fence: (node, type) => this.fenceAction(node, type),
        killSignal: this.p.lifetime,
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
    const mine = this.state.last?.id === c.id ? this.state.last : undefined;
    this.step({
      type: 'transition-done',
      id: c.id,
      ran,
      succeeded: report?.succeeded ?? false,
      aborted: report?.aborted ?? false,
      failed,
      now: this.p.clock.now(),
    });
    // The event is about this transition, also when the core has planned the next one at once.
    const done =
      this.state.last?.id === c.id
        ? this.state.last
        : mine && {
            ...mine,
            state: report?.aborted ? ('aborted' as const) : report?.succeeded ? ('succeeded' as const) : ('failed' as const),
            ...(failed.length ? { failed } : {}),
          };
    if (done) this.p.transitionDone(done);
  }

  /** A graph fence action: a lost peer counts as fenced once membership confirmed it; a member is fenced now. */
  private async fenceAction(node: string, type: FenceType): Promise<ActionResult> {
    const m = this.p.membership();
    const peer = m.peers[node];
    if (peer !== undefined && !peer.member) {
      const safe = explainPeerSafelyDown(m, node);
      return safe.yes
        ? { execution: 'done', outcome: 'ok', reason: safe.reason }
        : { execution: 'error', outcome: 'generic-error', reason: `waiting for membership: ${safe.reason}` };
    }
    const fence = this.p.fence;
    if (!fence) return { execution: 'error', outcome: 'generic-error', reason: `cannot fence ${node}: no fencing is configured` };
    this.step({
      type: 'fenced',
      node,
      reason: `fenced at ${iso(this.p.clock.now())} because an action on it failed (e.g. a stop); check it, then run: paceline node clear ${node}`,
      now: this.p.clock.now(),
    });
    const r = await fence(node, this.p.lifetime, type).catch((e: Error) => ({ ok: false, detail: e.message }));
    return r.ok ? { execution: 'done', outcome: 'ok' } : { execution: 'error', outcome: 'generic-error', reason: r.detail ?? 'fencing failed' };
  }

  /** Every half second: the unconfirmed document again to the members that have not acknowledged it. */
  retransmitDoc(): void {
    for (const peer of docRetransmitTargets(this.state)) this.p.send(peer, { type: 'doc', doc: this.state.doc });
  }

  /** Whether a transition runs now. */
  get running(): boolean {
    return this.txn !== undefined;
  }

  /** Aborts the transition under way, if any (shutdown). */
  abortTransition(): void {
    this.txn?.abort.abort();
  }

  /** Ends the scheduler thread. */
  dispose(): Promise<void> {
    return this.thread.dispose();
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
