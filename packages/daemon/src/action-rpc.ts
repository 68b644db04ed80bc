/**
 * Action RPC, the coordinator's side of running a transition across nodes: each graph action goes
 * to the node that runs it (here directly; elsewhere as an `action` message bound to the
 * incarnation membership holds for that node), is retransmitted every half second until its
 * `result` arrives, and is given up as `timeout` past its deadline, or `cancelled` when its node is
 * lost or restarts meanwhile. The node that runs an action logs its result; this logs only where
 * it starts and when it is given up.
 */
import type { ActionResult, Clock, Logger } from '@paceline/agent-api';
import type { GraphAction } from '@paceline/model';
import type { PeerMessage, PeerMessageBody } from './messages.js';

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
  /** A fresh envelope id (a retransmission is a new message to the receiver's freshness guard). */
  nextMessageId(): number;
}

interface PendingAction {
  readonly node: string;
  readonly message: PeerMessage;
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

  constructor(private readonly p: ActionRpcPorts) {}

  /** Runs an action on its node: here directly, elsewhere through the channel (retransmitted until answered). */
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
    const timeout = (action.timeout ?? 20_000) + 5_000;
    return new Promise((resolve) => {
      // Bound to the incarnation of `node` that membership holds now: another one drops it.
      const message = p.envelope(node, { type: 'action', to: node, key, epoch: p.epoch(), action });
      if (message === undefined) return resolve({ execution: 'cancelled', outcome: 'generic-error', reason: `${node}'s incarnation is not known yet` });
      if (!p.transmit(message)) return resolve({ execution: 'error', outcome: 'generic-error', reason: `cannot send the action to ${node} (see the log)` });
      const now = p.clock.now();
      this.pending.set(key, { node, message, deadline: now + timeout, resolve, next: now + RETRANSMIT_FIRST_MS, gap: RETRANSMIT_FIRST_MS });
    });
  }

  /** Every half second: gives up on actions past their deadline, sends the others that are due again. */
  retransmit(): void {
    const now = this.p.clock.now();
    for (const [key, a] of this.pending) {
      if (now > a.deadline) {
        this.pending.delete(key);
        this.p.log.warn(`no answer from ${a.node} for action ${key}`);
        a.resolve({ execution: 'timeout', outcome: 'generic-error', reason: `no answer from ${a.node}` });
      } else if (now >= a.next) {
        // A fresh envelope id (the receiver accepts each id once; the key makes the action run once),
        // the same toBoot: the action stays bound to the incarnation it was sent to.
        this.p.transmit({ ...a.message, id: this.p.nextMessageId() });
        a.gap = Math.min(RETRANSMIT_MAX_MS, a.gap * 2);
        a.next = now + a.gap;
      }
    }
  }

  /** After a membership change: actions on a node that was lost or restarted will never be answered. */
  failLost(): void {
    for (const [key, a] of this.pending) {
      const lost = !this.p.isMember(a.node);
      // A restarted node drops the action (it was addressed to its previous incarnation) and knows nothing of it.
      if (!lost && this.p.peerBoot(a.node) === a.message.toBoot) continue;
      this.pending.delete(key);
      const what = lost ? 'was lost' : 'restarted';
      this.p.log.warn(`${a.node} ${what} while action ${key} ran`);
      a.resolve({ execution: 'cancelled', outcome: 'generic-error', reason: `${a.node} ${what} while the action ran` });
    }
  }

  /** A `result` from a member: taken only from the node the action was sent to, in the incarnation it was sent to. */
  onResult(from: string, boot: number, key: string, result: ActionResult): void {
    const a = this.pending.get(key);
    if (a === undefined || a.node !== from || a.message.toBoot !== boot) return;
    this.pending.delete(key);
    a.resolve(result);
  }

  /** The daemon stops: every action still out is cancelled with `reason`. */
  cancelAll(reason: string): void {
    for (const [, a] of this.pending) a.resolve({ execution: 'cancelled', outcome: 'generic-error', reason });
    this.pending.clear();
  }
}
