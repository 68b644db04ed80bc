/**
 * Administration: the operator's changes (`update`: standby, move, ban, target role, replace …),
 * `cleanup` and the replicated document, as the control socket and embedders call them. A change
 * goes to the coordinator core (forwarded when this node is not the coordinator) and is answered
 * once it is confirmed, or after a timeout on the injected timers.
 */
import { listResourceIds } from '@paceline/model';
import type { Clock } from '@paceline/agent-api';
import type { CoreEvent, CoreState } from './core.js';
import type { ClusterDoc, DistOmit, PeerMessageBody } from './messages.js';
import type { Timers } from './timers.js';
import type { UpdateRequest } from './updates.js';

/** The answer to an administrative change. */
export interface UpdateAnswer {
  readonly ok: boolean;
  readonly message: string;
}

/** What administration needs from the daemon. */
export interface AdminPorts {
  readonly node: string;
  readonly clock: Clock;
  readonly timers: Timers;
  /** The coordinator core's current state. */
  core(): CoreState;
  /** The configured peers. */
  peers(): readonly string[];
  /** A request id unique to this incarnation (`NODE/BOOT/N`). */
  nextRequestId(): string;
  feedCore(e: CoreEvent): void;
  /** Forgets the history and fail counts of a resource (all when absent) on this node. */
  cleanupLocal(resource?: string): void;
  send(to: string, body: DistOmit<PeerMessageBody, 'to'>): void;
}

export class Admin {
  /** Requests made here waiting for their answer: request id → how to answer. */
  private readonly waiting = new Map<string, (r: UpdateAnswer) => void>();

  constructor(private readonly p: AdminPorts) {}

  /** Applies an administrative change (forwarded to the coordinator when this node is not it). */
  update(request: UpdateRequest, timeoutMs = 5000): Promise<UpdateAnswer> {
    const reqId = this.p.nextRequestId();
    return new Promise((resolve) => {
      const finish = (r: UpdateAnswer): void => {
        this.waiting.delete(reqId);
        this.p.timers.clearTimeout(timer);
        resolve(r);
      };
      this.waiting.set(reqId, finish);
      const timer = this.p.timers.setTimeout(
        () => finish({ ok: false, message: `no answer from the coordinator ${this.p.core().view.coordinator} within ${timeoutMs} ms` }),
        timeoutMs,
      );
      this.p.feedCore({ type: 'update', request, reqId, replyTo: this.p.node, now: this.p.clock.now() });
    });
  }

  /** The answer to a request made here (from this node's core, or a peer's `update-reply`); unknown ids are ignored. */
  answer(reqId: string, r: UpdateAnswer): void {
    this.waiting.get(reqId)?.(r);
  }

  /**
   * Why `cleanup(resource, node)` has nothing to act on (undefined: it has): a node that is not
   * configured, or a resource that is neither configured nor in any node's history (an orphan still
   * in a history may be cleaned up).
   */
  cleanupProblem(resource?: string, node?: string): string | undefined {
    const { config, reports } = this.p.core();
    if (node !== undefined && !config.nodes.some((n) => n.name === node))
      return `no node "${node}" in the configuration (nodes: ${config.nodes.map((n) => n.name).join(', ')})`;
    if (resource === undefined || listResourceIds(config).has(resource)) return undefined;
    const known = (id: string): boolean => id === resource || id.replace(/:\d+$/, '') === resource;
    const inHistory = Object.values(reports).some((r) => r.history.some((h) => known(h.resource)) || r.failures.some((f) => known(f.resource)));
    return inHistory ? undefined : `no resource "${resource}" in the configuration nor in any node's history: nothing to clean up`;
  }

  /** Forgets the history and fail counts of a resource on one node or all, so that it is probed again. */
  cleanup(resource?: string, node?: string): string {
    if (node === undefined || node === this.p.node) this.p.cleanupLocal(resource);
    for (const peer of this.p.peers())
      if (node === undefined || node === peer) this.p.send(peer, { type: 'cleanup', ...(resource !== undefined ? { resource } : {}) });
    this.p.feedCore({ type: 'kick', reason: 'cleanup', now: this.p.clock.now() });
    return `cleaned up ${resource ?? 'all resources'} on ${node ?? 'all nodes'}`;
  }

  /** The replicated document (configuration, epoch, quarantine). */
  document(): ClusterDoc {
    return this.p.core().doc;
  }
}
