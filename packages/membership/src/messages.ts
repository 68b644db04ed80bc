/**
 * Wire messages (version 1). Parsed with zod at the trust boundary (the codec) only after the
 * HMAC has been checked. Every message names its sender, receiver and link, and carries the
 * sender's incarnation (`boot`) and a per-sender sequence number, so the state machine can reject
 * replays, cross-link replays and packets meant for another node.
 */
import { z } from 'zod';

const Name = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9_.:@+-]+$/);
const Counter = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

const Envelope = {
  v: z.literal(1),
  from: Name,
  to: Name,
  link: Name,
  /** The sender's incarnation: increases every time the sender starts (e.g. its start time in ms). */
  boot: Counter,
  /** Increases by one for every packet the sender sends during this incarnation. */
  seq: Counter,
  /** Sender's wall clock when sent (ms), stamped by the transport; checked against `maxSkewMs`. */
  sentAt: z.number().int().nonnegative().optional(),
};

export const Heartbeat = z.strictObject({
  ...Envelope,
  type: z.literal('heartbeat'),
  /** The sender's view: its membership version and members. */
  membershipId: Counter,
  members: z.array(Name).max(1024),
  /** The coordinator the sender follows, and the term of that election. */
  coordinator: Name,
  term: Counter,
  /**
   * The receiver's incarnation as the sender knows it. A receiver told of an incarnation newer
   * than its own learns that another daemon runs under its name (a cloned machine).
   */
  peerBoot: Counter.optional(),
  /**
   * The receiver's name is in an identity conflict here: two daemons run under it, with these
   * incarnations. A receiver whose own incarnation is listed learns it is one of them.
   */
  conflict: z.array(Counter).max(2).optional(),
});
export type Heartbeat = z.infer<typeof Heartbeat>;

/** Sent when a node shuts down cleanly, after it has stopped its resources. */
export const Leave = z.strictObject({ ...Envelope, type: z.literal('leave') });
export type Leave = z.infer<typeof Leave>;

export const WireMessage = z.discriminatedUnion('type', [Heartbeat, Leave]);
export type WireMessage = z.infer<typeof WireMessage>;
