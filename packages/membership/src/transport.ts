import type { MembershipInput, Outgoing } from './state.js';

/**
 * The port through which the membership layer reaches its peers. Adapters: the UDP transport in
 * @paceline/runtime, and the in-memory network in @paceline/testkit.
 */
export interface Transport {
  /** Encodes, signs and sends one message; never throws on network errors (heartbeats are best effort). */
  send(out: Outgoing): void;
  /** Closes sockets and stops delivering input. Idempotent. */
  dispose(): Promise<void>;
}

/**
 * What a transport delivers: decoded messages, packets it dropped (for counting), and peers whose
 * port refused a packet (where the transport can tell, e.g. UDP's ICMP port unreachable).
 */
export type TransportInput = Extract<MembershipInput, { type: 'message' } | { type: 'dropped' } | { type: 'unreachable' }>;
