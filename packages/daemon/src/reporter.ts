/**
 * This node's report — its history, fail counts and a few facts (incarnation, unclean end,
 * shutdown, peers it fenced, its members, the membership settings in effect) — given to its own
 * core at every change and sent to every peer: at most one message per peer and tick, carrying what
 * changed since the version the peer holds (report-outbox.ts), and again every second as
 * anti-entropy. The fail counts are also saved at every change (the rest of a change is not).
 */
import { clusterWideSettings, type MembershipState } from '@paceline/membership';
import type { CoreEvent, NodeReportData } from './core.js';
import type { LocalNode } from './local.js';
import type { DistOmit, PeerMessageBody } from './messages.js';
import { ReportOutbox } from './report-outbox.js';

/** What the reporter needs from the daemon. */
export interface ReporterPorts {
  readonly node: string;
  readonly boot: number;
  readonly clock: { now(): number };
  membership(): MembershipState;
  local(): LocalNode;
  /** Why the last run ended uncleanly, until the cluster has recorded it. */
  unclean(): string | undefined;
  shuttingDown(): boolean;
  /** The daemon's tick count (one report message per peer and tick). */
  tick(): number;
  feedCore(e: CoreEvent): void;
  /** The incarnation of `peer` this node knows (undefined: none yet, nothing is sent). */
  peerBoot(peer: string): number | undefined;
  send(to: string, body: DistOmit<PeerMessageBody, 'to'>): void;
  persist(): void;
}

export class Reporter {
  /** This node's report as its peers hold it: what each is sent. */
  readonly outbox: ReportOutbox;
  /** The tick of the last report broadcast, and whether a newer report waits for the next tick. */
  private sentTick = -1;
  private dirty = false;
  /** The fail counts last saved (JSON). */
  private savedFailures: string | undefined;

  constructor(private readonly p: ReporterPorts) {
    this.outbox = new ReportOutbox(p.boot);
  }

  /** The report as it is now. */
  report(): NodeReportData {
    const m = this.p.membership();
    const local = this.p.local();
    const fenced = Object.values(m.peers)
      .filter((p) => p.fence.phase === 'confirmed')
      .map((p) => p.name);
    const unclean = this.p.unclean();
    return {
      boot: this.p.boot,
      rev: local.rev,
      history: local.history,
      failures: local.failures,
      ...(unclean ? { unclean } : {}),
      ...(this.p.shuttingDown() ? { shutdown: true } : {}),
      ...(fenced.length ? { fenced } : {}),
      members: [...m.members],
      membership: clusterWideSettings(m.config),
    };
  }

  /** The message with this node's report for `peer`: what changed since the version it holds. */
  reportFor(peer: string): ReturnType<ReportOutbox['for']> {
    this.outbox.observe(this.p.local().history);
    return this.outbox.for(peer, this.report());
  }

  /** Sends `peer` its report message (only when its incarnation is known: else the outbox must not count it as sent). */
  send(peer: string): void {
    if (this.p.peerBoot(peer) !== undefined) this.p.send(peer, { type: 'report', report: this.reportFor(peer) });
  }

  /** A peer joined or restarted: it may hold nothing of this node's report, so it gets it whole. */
  resend(peer: string): void {
    this.outbox.reset(peer);
    this.send(peer);
  }

  /** The report changed: the core gets it now, the peers at most once per tick. */
  publish(): void {
    this.p.feedCore({ type: 'report', node: this.p.node, report: this.report(), now: this.p.clock.now() });
    // A burst of changes (hundreds of actions) is sent once per tick, all changes since the last
    // message together (results carry theirs meanwhile).
    if (this.sentTick === this.p.tick()) this.dirty = true;
    else this.flush();
  }

  /** Sends every peer its message now. */
  flush(): void {
    this.dirty = false;
    this.sentTick = this.p.tick();
    for (const peer of Object.keys(this.p.membership().peers)) this.send(peer);
  }

  /** At every tick: what a burst left waiting goes out. */
  onTick(): void {
    if (this.dirty) this.flush();
  }

  /**
   * This node's history or fail counts changed: publish, and save the fail counts when they changed
   * (not the whole state at every result of a burst: the state holds the whole document).
   */
  localChanged(): void {
    this.publish();
    const failures = JSON.stringify(this.p.local().failures);
    if (failures === this.savedFailures && !this.p.shuttingDown()) return;
    this.savedFailures = failures;
    this.p.persist();
  }
}
