/**
 * Action RPC, the coordinator's side of running a transition across nodes: each graph action goes
 * to the node that runs it (here directly; elsewhere in an `action` message bound to the
 * incarnation membership holds for that node — or, when the executor starts several for one node
 * in one turn, all of them in one `actions` message), is sent again until its `result` arrives, and
 * is given up as `timeout` past its deadline, or `cancelled` when its node is lost or restarts
 * meanwhile. The node that runs an action logs its result; this logs only where it starts and when
 * it is given up.
 */
import type { ActionResult, Clock, Logger } from '@paceline/agent-api';
import type { GraphAction } from '@paceline/model';
import { MAX_BATCH_ITEMS, type PeerMessage, type PeerMessageBody } from './messages.js';

/** What the action RPC needs from the daemon. */
export interface ActionRpcPorts {
  readonly node: string;
  readonly log: Logger;
  readonly clock: Clock;
  /** This daemon's incarnation. */
  boot(): number;
  /** The epoch of the document the transition was planned on (a node waits until it has it). */
  epoch(): number;
  /** Runs an action on this node (the transition's executor publishes its events). */
  runLocal(key: string, action: GraphAction): Promise<ActionResult>;
  /** Whether `node` is a member now, and its incarnation as membership holds it. */
  isMember(node: string): boolean;
  peerBoot(node: string): number | undefined;
  /** A message to `to`'s current incarnation (undefined while none is known), and sending it (false: refused, logged). */
  envelope(to: string, body: PeerMessageBody): PeerMessage | undefined;
  transmit(m: PeerMessage): boolean;
}

interface PendingAction {
  readonly node: string;
  readonly key: string;
  readonly action: GraphAction;
  readonly epoch: number;
  /** The incarnation of `node` it is bound to (another one drops it). */
  readonly toBoot: number;
  readonly deadline: number;
  readonly resolve: (r: ActionResult) => void;
  /** When it is sent again, and how long it waits after that. */
  next: number;
  gap: number;
}

/**
 * An action not answered is sent again after RETRANSMIT_FIRST_MS, then at gaps doubling up to
 * RETRANSMIT_MAX_MS. Most actions unanswered that long are not lost but waiting for a free slot on
 * their node (it runs at most NODE_ACTION_LIMIT at once, of up to 64 in flight) or for a core on a
 * loaded machine: a copy every half second of each — decoded, checked and dropped there — was more
 * work for both nodes the slower they went.
 */
export const RETRANSMIT_FIRST_MS = 500;
export const RETRANSMIT_MAX_MS = 2000;

export class ActionRpc {
  private readonly pending = new Map<string, PendingAction>();
  /** Actions dispatched in this turn, per node, sent together at its end (see flush). */
  private readonly outgoing = new Map<string, PendingAction[]>();

  constructor(private readonly p: ActionRpcPorts) {}

  /** Runs an action on its node: here directly, elsewhere through the channel (sent again until answered). */
  dispatch(txn: number, action: GraphAction): Promise<ActionResult> {
    const p = this.p;
    const node = action.node ?? '';
    // The coordinator's name is part of the key: two nodes may have the same boot (both started in
    // the same millisecond), and a node caches results by key (seed 161 of the simulated schedules).
    const key = `${p.node}/${p.boot()}/${txn}/${action.id}`;
    // One line here when the action starts; its result is logged by the node that runs it (LocalNode),
    // or below when the coordinator gives up on it (not a member, no answer, lost).
    const alog = p.log.child({ transition: txn, ...(action.resource !== undefined ? { resource: action.resource } : {}), action: action.kind });
    alog.info(`${action.kind} ${action.resource ?? ''} on ${node}`, { key });
    if (node === p.node) return p.runLocal(key, action);
    if (!p.isMember(node)) {
      alog.warn(`${action.kind} not sent: ${node} is not a member`);
      return Promise.resolve({ execution: 'cancelled', outcome: 'generic-error', reason: `${node} is not a member` });
    }
    // Bound to the incarnation of `node` that membership holds now: another one drops it.
    const toBoot = p.peerBoot(node);
    if (toBoot === undefined) return Promise.resolve({ execution: 'cancelled', outcome: 'generic-error', reason: `${node}'s incarnation is not known yet` });
    const now = p.clock.now();
    const timeout = (action.timeout ?? 20_000) + 5_000;
    return new Promise((resolve) => {
      const a: PendingAction = {
        node,
        key,
        action,
        epoch: p.epoch(),
        toBoot,
        deadline: now + timeout,
        resolve,
        next: now + RETRANSMIT_FIRST_MS,
        gap: RETRANSMIT_FIRST_MS,
      };
      this.pending.set(key, a);
      const queued = this.outgoing.get(node);
      if (queued !== undefined) queued.push(a);
      else {
        this.outgoing.set(node, [a]);
        // The executor starts every ready action in one synchronous pass: they leave together.
        if (this.outgoing.size === 1) queueMicrotask(() => this.flush());
      }
    });
  }

  /** Sends the actions dispatched in this turn: one message per node (several when over MAX_BATCH_ITEMS). */
  private flush(): void {
    for (const [node, actions] of this.outgoing) this.send(node, actions);
    this.outgoing.clear();
  }

  /**
   * Sends `actions` of `node` (a fresh envelope id each time: the receiver accepts each id once; the
   * key makes each action run once). One that is no longer pending is left out; one bound to another
   * incarnation than the one now known is cancelled (that incarnation drops it).
   */
  private send(node: string, actions: readonly PendingAction[]): void {
    const current = this.p.peerBoot(node);
    const live: PendingAction[] = [];
    for (const a of actions) {
      if (this.pending.get(a.key) !== a) continue;
      if (a.toBoot === current) live.push(a);
      else this.settle(a, { execution: 'cancelled', outcome: 'generic-error', reason: `${node} restarted before the action was sent` });
    }
    for (let i = 0; i < live.length; i += MAX_BATCH_ITEMS) {
      const batch = live.slice(i, i + MAX_BATCH_ITEMS);
      const first = batch[0]!;
      const body: PeerMessageBody =
        batch.length === 1
          ? { type: 'action', to: node, key: first.key, epoch: first.epoch, action: first.action }
          : { type: 'actions', to: node, epoch: Math.max(...batch.map((a) => a.epoch)), items: batch.map((a) => ({ key: a.key, action: a.action })) };
      const m = this.p.envelope(node, body);
      const failed: ActionResult | undefined =
        m === undefined
          ? { execution: 'cancelled', outcome: 'generic-error', reason: `${node}'s incarnation is not known yet` }
          : !this.p.transmit(m)
            ? { execution: 'error', outcome: 'generic-error', reason: `cannot send the action to ${node} (see the log)` }
            : undefined;
      if (failed !== undefined) for (const a of batch) this.settle(a, failed);
    }
  }

  private settle(a: PendingAction, r: ActionResult): void {
    if (this.pending.get(a.key) !== a) return;
    this.pending.delete(a.key);
    a.resolve(r);
  }

  /** Every half second: gives up on actions past their deadline, sends the others that are due again. */
  retransmit(): void {
    const now = this.p.clock.now();
    const due = new Map<string, PendingAction[]>();
    for (const a of this.pending.values()) {
      if (now > a.deadline) {
        this.p.log.warn(`no answer from ${a.node} for action ${a.key}`);
        this.settle(a, { execution: 'timeout', outcome: 'generic-error', reason: `no answer from ${a.node}` });
      } else if (now >= a.next) {
        a.gap = Math.min(RETRANSMIT_MAX_MS, a.gap * 2);
        a.next = now + a.gap;
        due.set(a.node, [...(due.get(a.node) ?? []), a]);
      }
    }
    for (const [node, actions] of due) this.send(node, actions);
  }

  /** After a membership change: actions on a node that was lost or restarted will never be answered. */
  failLost(): void {
    for (const a of this.pending.values()) {
      const lost = !this.p.isMember(a.node);
      // A restarted node drops the action (it was addressed to its previous incarnation) and knows nothing of it.
      if (!lost && this.p.peerBoot(a.node) === a.toBoot) continue;
      const what = lost ? 'was lost' : 'restarted';
      this.p.log.warn(`${a.node} ${what} while action ${a.key} ran`);
      this.settle(a, { execution: 'cancelled', outcome: 'generic-error', reason: `${a.node} ${what} while the action ran` });
    }
  }

  /** A `result` from a member: taken only from the node the action was sent to, in the incarnation it was sent to. */
  onResult(from: string, boot: number, key: string, result: ActionResult): void {
    const a = this.pending.get(key);
    if (a === undefined || a.node !== from || a.toBoot !== boot) return;
    this.settle(a, result);
  }

  /** The daemon stops: every action still out is cancelled with `reason`. */
  cancelAll(reason: string): void {
    for (const a of this.pending.values()) a.resolve({ execution: 'cancelled', outcome: 'generic-error', reason });
    this.pending.clear();
    this.outgoing.clear();
  }
}
