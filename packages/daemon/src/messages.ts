/**
 * Daemon-to-daemon messages (version 1): configuration replication, node reports, actions and
 * their results. Framed and signed like membership packets (HMAC-SHA256 over the cluster key) with
 * their own magic, and validated with zod after the HMAC check. Pure; no I/O.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

const Name = z.string().min(1).max(255).regex(/^[A-Za-z0-9_.:@+-]+$/);
const Counter = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** The replicated cluster document: the configuration, its epoch, and quarantined nodes with their reasons. */
export const ClusterDoc = z.strictObject({
  epoch: Counter,
  /** The configuration as written (ClusterConfigInput); validated again by every receiver. */
  config: z.record(z.string(), z.unknown()),
  /** node → why it is quarantined (kept in standby until `paceline node clear`). */
  quarantine: z.record(Name, z.string().max(1000)).default({}),
});
export type ClusterDoc = z.infer<typeof ClusterDoc>;

const Base = {
  v: z.literal(1),
  from: Name,
  to: Name,
  /** Sender's incarnation (see membership `boot`). */
  boot: Counter,
  /** Unique per sender incarnation; receivers drop duplicates (messages go out on every link). */
  id: Counter,
};

/** "Here is my document" (sent on change, on join, and periodically): the newer epoch wins. */
export const DocMessage = z.strictObject({ ...Base, type: z.literal('doc'), doc: ClusterDoc });

/** What a node knows about itself: its resource history and fail counts (it is the authority for them). */
export const NodeReport = z.strictObject({
  boot: Counter,
  /** Increases whenever the history or the failures change. */
  rev: Counter,
  history: z.array(z.unknown()).max(10_000),
  failures: z.array(z.unknown()).max(10_000),
  /** The node came back after an unclean end (killed, crashed, fenced). */
  unclean: z.string().optional(),
  /** The node is shutting down cleanly: move everything off it. */
  shutdown: z.boolean().optional(),
  /** Peers this node has fenced (confirmed) and not heard from since. */
  fenced: z.array(Name).max(1024).optional(),
});
export type NodeReport = z.infer<typeof NodeReport>;
export const ReportMessage = z.strictObject({ ...Base, type: z.literal('report'), report: NodeReport });

/** An update request sent to the coordinator (admin commands issued on another node). */
export const UpdateMessage = z.strictObject({ ...Base, type: z.literal('update'), request: z.record(z.string(), z.unknown()), reqId: z.string().max(100) });
export const UpdateReplyMessage = z.strictObject({ ...Base, type: z.literal('update-reply'), reqId: z.string().max(100), ok: z.boolean(), message: z.string().max(4000) });

/** The coordinator asks a node to run one graph action. */
export const ActionMessage = z.strictObject({
  ...Base,
  type: z.literal('action'),
  /** `${coordinator boot}/${transition}/${action id}`: the node runs each key once and answers repeats from a cache. */
  key: z.string().max(600),
  epoch: Counter,
  action: z.record(z.string(), z.unknown()),
});
export const ResultMessage = z.strictObject({
  ...Base,
  type: z.literal('result'),
  key: z.string().max(600),
  result: z.strictObject({
    execution: z.enum(['done', 'timeout', 'cancelled', 'error', 'not-installed', 'not-supported']),
    outcome: z.string().max(64),
    reason: z.string().max(4000).optional(),
    durationMs: z.number().optional(),
  }).loose(),
  report: NodeReport,
});

/** Forget the history and fail counts of a resource (all when absent) so that it is probed again. */
export const CleanupMessage = z.strictObject({ ...Base, type: z.literal('cleanup'), resource: Name.optional() });

export const PeerMessage = z.discriminatedUnion('type', [DocMessage, ReportMessage, UpdateMessage, UpdateReplyMessage, ActionMessage, ResultMessage, CleanupMessage]);
export type PeerMessage = z.infer<typeof PeerMessage>;
export type DistOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A message before the sender fills in the envelope. */
export type PeerMessageBody = DistOmit<PeerMessage, 'v' | 'from' | 'boot' | 'id'>;

const MAGIC = Buffer.from('PCLD', 'ascii');
const HEADER = 10;
const MAC = 32;
export const MAX_PEER_PACKET_BYTES = 60 * 1024;

/** Signs a message (header: magic, version, flags, body length; then HMAC-SHA256; then JSON). */
export function encodePeer(m: PeerMessage, key: Uint8Array): Buffer {
  const body = Buffer.from(JSON.stringify(m), 'utf8');
  if (HEADER + MAC + body.length > MAX_PEER_PACKET_BYTES) throw new Error(`a ${m.type} message of ${body.length} bytes exceeds the ${MAX_PEER_PACKET_BYTES}-byte limit`);
  const header = Buffer.alloc(HEADER);
  MAGIC.copy(header, 0);
  header.writeUInt8(1, 4);
  header.writeUInt32BE(body.length, 6);
  const mac = createHmac('sha256', key).update(header).update(body).digest();
  return Buffer.concat([header, mac, body]);
}

export type PeerDecode = { readonly ok: PeerMessage } | { readonly ok?: undefined; readonly error: string };

/** Checks size, framing, HMAC, JSON and schema; never throws on bad input. */
export function decodePeer(packet: Uint8Array, key: Uint8Array): PeerDecode {
  const buf = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  if (buf.length > MAX_PEER_PACKET_BYTES) return { error: 'oversized' };
  if (buf.length < HEADER + MAC) return { error: 'truncated' };
  if (!buf.subarray(0, 4).equals(MAGIC) || buf.readUInt8(4) !== 1) return { error: 'malformed: bad magic or version' };
  const len = buf.readUInt32BE(6);
  if (HEADER + MAC + len !== buf.length) return { error: 'truncated or trailing bytes' };
  const body = buf.subarray(HEADER + MAC);
  const mac = createHmac('sha256', key).update(buf.subarray(0, HEADER)).update(body).digest();
  if (!timingSafeEqual(mac, buf.subarray(HEADER, HEADER + MAC))) return { error: 'forged: HMAC does not match the cluster key' };
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (e) {
    return { error: `malformed: ${(e as Error).message}` };
  }
  const parsed = PeerMessage.safeParse(json);
  if (!parsed.success) return { error: `malformed: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}` };
  return { ok: parsed.data };
}
