/**
 * The peer router: the daemon channel's two directions. Outgoing, it puts each message in an
 * envelope addressed to one incarnation of its receiver (`envelope`, `send`, `broadcast`) and hands
 * it to the channel. Incoming, it passes what the channel decoded and validated (messages.ts)
 * through the freshness guard (freshness.ts), keeps only what comes from a member in the
 * incarnation membership knows, parses what the core needs with the model's schemas, and turns each
 * message into a core event, an answer to a request made here, an action to run, or a result for
 * the action RPC.
 */
import { ActionResult, formatIssues, zodIssues, type GraphAction } from '@paceline/model';
import type { Clock, Logger } from '@paceline/agent-api';
import { settledBoot, type MembershipState } from '@paceline/membership';
import type { PeerChannel } from './channel.js';
import { isDocSignal, type CoreEvent, type CoreState } from './core.js';
import type { FreshnessGuard } from './freshness.js';
import { MAX_BATCH_ITEMS, type DistOmit, type PeerMessage, type PeerMessageBody, type ReportDelta } from './messages.js';
import { ReportInbox } from './report-inbox.js';
import { UpdateRequest, docKey } from './updates.js';
import type { UpdateAnswer } from './admin.js';

/** What the router needs from the daemon. */
export interface PeerRouterPorts {
  readonly node: string;
  readonly log: Logger;
  readonly clock: Clock;
  boot(): number;
  nextMessageId(): number;
  membership(): MembershipState;
  core(): CoreState;
  /** The key (`docKey`) of the document last saved here, if any. */
  durableKey(): string | undefined;
  channel(): PeerChannel | undefined;
  freshness(): FreshnessGuard;
  /** The daemon has stopped: nothing is delivered. */
  stopped(): boolean;
  /** A new peer incarnation was seen: save it. */
  persist(): void;
  feedCore(e: CoreEvent): void;
  /** An answer to an update request made here (Admin). */
  answer(reqId: string, r: UpdateAnswer): void;
  /** A result for the action RPC. */
  onResult(from: string, boot: number, key: string, result: ActionResult): void;
  /** Runs an action the coordinator sent (each key once). */
  runAction(key: string, action: GraphAction): Promise<ActionResult>;
  /** This node's report for `peer`: what changed since the version it holds (report-outbox.ts). */
  reportFor(peer: string): ReportDelta;
  /** `peer` holds version `ver` of this node's incarnation `boot` of the report (absent: nothing usable). */
  reportWanted(peer: string, boot: number, ver: number | undefined): void;
  cleanupLocal(resource?: string): void;
}

export class PeerRouter {
  /** The peers' reports as received (report-inbox.ts). */
  readonly inbox = new ReportInbox();
  /** Keys of the actions running here whose result will be sent when they end. */
  private readonly answering = new Set<string>();
  /** Results waiting for the end of this turn, per peer (see queueResult). */
  private readonly results = new Map<string, { key: string; result: ActionResult }[]>();

  constructor(private readonly p: PeerRouterPorts) {}

  /**
   * A peer's report (or what changed in it): the core gets the report when the copy is whole; a
   * copy that misses something asks the peer for it. True when the copy holds at least the message's
   * version (so a result it carries may be taken: the core has seen its record).
   */
  private takeReport(from: string, d: ReportDelta, now: number): boolean {
    const r = this.inbox.accept(from, d, now);
    if (r.error !== undefined) this.p.log.warn(`invalid report from ${from}: ${r.error}`);
    if (r.report !== undefined) this.p.feedCore({ type: 'report', node: from, report: r.report, now });
    if (r.want !== undefined) this.send(from, { type: 'report-want', of: d.boot, ...(r.want.ver !== undefined ? { ver: r.want.ver } : {}) });
    return r.upToDate;
  }

  /** The incarnation of `peer` heard in this run (membership), or undefined. */
  peerBoot(peer: string): number | undefined {
    const s = this.p.membership().peers[peer];
    return s === undefined ? undefined : settledBoot(s);
  }

  /** A message to `to`'s current incarnation; undefined while none was heard (nothing is sent to it then). */
  envelope(to: string, body: PeerMessageBody): PeerMessage | undefined {
    const toBoot = this.peerBoot(to);
    if (toBoot === undefined) return undefined;
    return { ...body, v: 2, from: this.p.node, to, boot: this.p.boot(), id: this.p.nextMessageId(), toBoot } as PeerMessage;
  }

  send(to: string, body: DistOmit<PeerMessageBody, 'to'>): void {
    if (to === this.p.node) return;
    // Showing a document tells the coordinator this node holds it: a member shows only what it has
    // saved (the coordinator publishes at once; its own answers wait for its disk, see 'reply').
    if ((body.type === 'doc' || body.type === 'doc-digest') && this.p.membership().coordinator !== this.p.node) {
      const core = this.p.core();
      const key = body.type === 'doc-digest' ? body.key : body.doc === core.doc ? core.docKey : docKey(body.doc);
      if (this.p.durableKey() !== key) return;
    }
    const m = this.envelope(to, { ...body, to } as PeerMessageBody);
    if (m !== undefined) this.transmit(m);
  }

  /** Hands a message to the channel; false (logged) when it refused or failed to send it (e.g. over the size limit). */
  transmit(m: PeerMessage): boolean {
    let error: string | undefined;
    try {
      error = this.p.channel()?.send(m)?.refused;
    } catch (e) {
      error = (e as Error).message;
    }
    if (error !== undefined) this.p.log.error(`cannot send a ${m.type} message to ${m.to}`, { error });
    return error === undefined;
  }

  broadcast(body: DistOmit<PeerMessageBody, 'to'>): void {
    for (const peer of Object.keys(this.p.membership().peers)) this.send(peer, body);
  }

  /** Every message from the channel: delivered when fresh (freshness.ts), else dropped and counted. */
  receive(m: PeerMessage): void {
    if (this.p.stopped()) return;
    const v = this.p.freshness().accept(m);
    if (v.verdict === 'drop') this.p.log.debug('daemon message dropped', { reason: v.reason, detail: v.detail });
    if (v.verdict !== 'accept') return;
    if (v.newIncarnation) this.p.persist();
    this.deliver(m);
  }

  private deliver(m: PeerMessage): void {
    const p = this.p;
    // The one rule: only members count, in the incarnation membership knows. A peer that is lost (and
    // not back yet), restarted but not yet re-joined, or a second daemon under a member's name may be
    // acting on its own: nothing it sends is used (its reports and results could stand in for fencing,
    // its actions and updates could act twice). Members resend what matters.
    const membership = p.membership();
    const peer = membership.peers[m.from];
    if (peer === undefined || !peer.member || settledBoot(peer) !== m.boot) {
      p.log.debug(`ignoring a ${m.type} message from ${m.from}`, {
        boot: m.boot,
        reason:
          peer === undefined ? 'not a peer' : !peer.member ? 'not a member' : `incarnation ${m.boot} is not the member's (${settledBoot(peer) ?? 'unknown'})`,
      });
      return;
    }
    const now = p.clock.now();
    switch (m.type) {
      case 'doc':
        p.feedCore({ type: 'doc', from: m.from, doc: m.doc, now });
        break;
      case 'doc-digest':
        p.feedCore({ type: 'doc-digest', from: m.from, key: m.key, now });
        break;
      case 'report':
        this.takeReport(m.from, m.report, now);
        break;
      case 'report-want':
        p.reportWanted(m.from, m.of, m.ver);
        this.send(m.from, { type: 'report', report: p.reportFor(m.from) });
        break;
      case 'update': {
        const req = UpdateRequest.safeParse(m.request);
        if (!req.success)
          this.send(m.from, { type: 'update-reply', reqId: m.reqId, ok: false, message: `invalid request: ${formatIssues(zodIssues(req.error))}` });
        else p.feedCore({ type: 'update', request: req.data, reqId: m.reqId, replyTo: m.from, now });
        break;
      }
      case 'update-reply':
        if (isDocSignal(m.reqId)) p.feedCore({ type: 'doc-signal', from: m.from, reqId: m.reqId, ok: m.ok, message: m.message, now });
        else p.answer(m.reqId, { ok: m.ok, message: m.message });
        break;
      case 'action':
        this.runActions(m.from, m.epoch, [{ key: m.key, action: m.action }]);
        break;
      case 'actions':
        this.runActions(m.from, m.epoch, m.items);
        break;
      case 'result':
        // Taken only once the core has the report with its record (else the action is sent again,
        // and answered again, once the missing part of the report has come).
        if (this.takeReport(m.from, m.report, now)) p.onResult(m.from, m.boot, m.key, m.result);
        break;
      case 'results':
        if (this.takeReport(m.from, m.report, now)) for (const r of m.items) p.onResult(m.from, m.boot, r.key, r.result);
        break;
      case 'cleanup':
        p.cleanupLocal(m.resource);
        break;
    }
  }

  /** Actions from `from` (the coordinator, else ignored): each run once, its result sent when it ends. */
  private runActions(from: string, epoch: number, items: readonly { readonly key: string; readonly action: GraphAction }[]): void {
    const p = this.p;
    if (from !== p.membership().coordinator) {
      p.log.debug(`ignoring actions from ${from}, which is not the coordinator`, { keys: items.map((i) => i.key) });
      return;
    }
    const doc = p.core().doc;
    if (epoch > doc.epoch) {
      // Planned with a configuration this node has not adopted yet: running it now would use the
      // old definition (and record old parameters). Our older document makes the coordinator
      // answer with its own; the actions are sent again meanwhile.
      p.log.debug(`actions wait for configuration epoch ${epoch} (this node has ${doc.epoch})`, { keys: items.map((i) => i.key) });
      this.send(from, { type: 'doc', doc });
      return;
    }
    for (const { key, action } of items) {
      if (action.node !== p.node) continue;
      // A copy of an action still running here (the coordinator sends again what is unanswered)
      // adds nothing: its result goes out once, when it ends. A copy of one that has ended is
      // answered again (the first answer may have been lost).
      if (this.answering.has(key)) continue;
      this.answering.add(key);
      void p.runAction(key, action).then((result) => {
        this.answering.delete(key);
        this.queueResult(from, key, wireResult(result));
      });
    }
  }

  /**
   * Results to `to` are sent together at the end of this turn of the event loop (setImmediate,
   * after the I/O callbacks that ended the actions): one message with one report delta for every
   * action that ended meanwhile — in a burst on a busy node, dozens — rather than one each.
   */
  private queueResult(to: string, key: string, result: ActionResult): void {
    const queued = this.results.get(to);
    if (queued !== undefined) return void queued.push({ key, result });
    this.results.set(to, [{ key, result }]);
    if (this.results.size === 1) setImmediate(() => this.flushResults());
  }

  private flushResults(): void {
    const all = [...this.results];
    this.results.clear();
    if (this.p.stopped()) return;
    for (const [to, items] of all)
      for (let i = 0; i < items.length; i += MAX_BATCH_ITEMS) {
        const batch = items.slice(i, i + MAX_BATCH_ITEMS);
        const report = this.p.reportFor(to);
        if (batch.length === 1) this.send(to, { type: 'result', key: batch[0]!.key, result: batch[0]!.result, report });
        else this.send(to, { type: 'results', items: batch, report });
      }
  }
}

const WireResult = ActionResult.strip();

/** A result as the wire carries it: the model's fields only (an agent's extras dropped), or why it is not one. */
export function wireResult(r: ActionResult): ActionResult {
  const p = WireResult.safeParse(r);
  return p.success
    ? p.data
    : { execution: 'error', outcome: 'generic-error', reason: `the agent returned an invalid result (${formatIssues(zodIssues(p.error))})` };
}
