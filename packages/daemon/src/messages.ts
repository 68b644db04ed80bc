/**
 * Daemon-to-daemon messages (version 2): configuration replication, node reports, actions and
 * their results. Each message is JSON, deflated when large, split into fragments that are each
 * signed (HMAC-SHA256 over the cluster key; framing in fragments.ts), reassembled under strict
 * bounds and validated with zod after the signature checks. Pure; no I/O.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { z } from 'zod';
import { ActionResult, GraphAction } from '@paceline/model';
import { FLAG_DEFLATE, Reassembler, chunkCapacity, fragment, type DropReason, type Frame, type FrameLimits } from './fragments.js';

const Name = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9_.:@+-]+$/);
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
  /** Version 2: `toBoot` added (version 1 had none). */
  v: z.literal(2),
  from: Name,
  to: Name,
  /** Sender's incarnation (see membership `boot`). */
  boot: Counter,
  /**
   * Grows with every message the sender's incarnation sends (to any peer); receivers accept each id
   * once, within a window (freshness.ts): copies from the other links are duplicates, old ids replays.
   */
  id: Counter,
  /** The receiver's incarnation as the sender knows it: any other incarnation of the receiver drops the message. */
  toBoot: Counter,
};

/** "Here is my document" (sent on change, on join, and to a peer whose digest differs): the newer epoch wins. */
export const DocMessage = z.strictObject({ ...Base, type: z.literal('doc'), doc: ClusterDoc });
/**
 * "I hold the document with this key" (its epoch and hash, `docKey`): the periodic anti-entropy,
 * instead of the whole document every 5 s. A receiver whose copy differs answers with its document.
 */
export const DocDigestMessage = z.strictObject({ ...Base, type: z.literal('doc-digest'), key: z.string().max(100) });

/**
 * What a node knows about itself — its resource history and fail counts (it is the authority for
 * them) and a few facts — as the wire carries it: the history entries that changed since version
 * `base` of the sender's history (report-sync.ts), or all of them (`full`). Each entry carries the
 * version it changed at: a receiver keeps the newest of each, so lost, repeated and reordered
 * messages cannot roll an entry back. Entries are parsed with the model's schema by the receiver.
 */
export const ReportDelta = z.strictObject({
  boot: Counter,
  /** Increases whenever the history or the failures change in a way the scheduler plans from. */
  rev: Counter,
  /** The sender's history version this message brings a receiver to (it grows with every change of an entry). */
  ver: Counter,
  /** The entries changed after this version are here (a receiver that holds less asks again: `report-want`). */
  base: Counter,
  /** The entries are the whole history: a receiver replaces its copy. */
  full: z.boolean().optional(),
  /** Digest of the whole history at `ver` (order aside): a receiver whose copy differs asks for it all. */
  digest: z.string().max(64),
  changed: z.array(z.strictObject({ v: Counter, h: z.unknown() })).max(10_000),
  removed: z.array(z.strictObject({ v: Counter, r: z.string().min(1).max(600) })).max(10_000),
  failures: z.array(z.unknown()).max(10_000),
  /** The node came back after an unclean end (killed, crashed, fenced). */
  unclean: z.string().optional(),
  /** The node is shutting down cleanly: move everything off it. */
  shutdown: z.boolean().optional(),
  /** Peers this node has fenced (confirmed) and not heard from since. */
  fenced: z.array(Name).max(1024).optional(),
  /**
   * The sender's membership view when it made the report: a coordinator counts a report as made
   * since a member rejoined only if it names the coordinator (receive order proves nothing: the
   * channel and the heartbeats are separate sockets).
   */
  members: z.array(Name).max(1024).optional(),
  /**
   * The membership settings in effect on the sender (`clusterWideSettings`): the coordinator does
   * not schedule while members' differ. Absent from older versions (then not compared).
   */
  membership: z
    .record(z.string().max(100), z.union([z.string().max(255), z.number(), z.boolean()]))
    .refine((r) => Object.keys(r).length <= 256, 'at most 256 settings')
    .optional(),
});
export type ReportDelta = z.infer<typeof ReportDelta>;
/** A node's report (or what changed in it) — on change (at most once a tick), and every second as anti-entropy. */
export const ReportMessage = z.strictObject({ ...Base, type: z.literal('report'), report: ReportDelta });
/**
 * "Send me your report from version `ver` of incarnation `boot`" (absent: all of it): the receiver
 * of a report that misses changes (a lost message) or that holds nothing of the sender yet.
 */
export const ReportWantMessage = z.strictObject({ ...Base, type: z.literal('report-want'), of: Counter, ver: Counter.optional() });

/** An update request sent to the coordinator (admin commands issued on another node). */
export const UpdateMessage = z.strictObject({ ...Base, type: z.literal('update'), request: z.record(z.string(), z.unknown()), reqId: z.string().max(100) });
export const UpdateReplyMessage = z.strictObject({
  ...Base,
  type: z.literal('update-reply'),
  reqId: z.string().max(100),
  ok: z.boolean(),
  message: z.string().max(4000),
});

/** The coordinator asks a node to run one graph action. */
export const ActionMessage = z.strictObject({
  ...Base,
  type: z.literal('action'),
  /** `${coordinator}/${its boot}/${transition}/${action id}`: the node runs each key once and answers repeats from a cache. */
  key: z.string().max(600),
  epoch: Counter,
  /** Parsed with the model's schema: a receiver gets a GraphAction or drops the message as malformed. */
  action: GraphAction,
});
export const ResultMessage = z.strictObject({
  ...Base,
  type: z.literal('result'),
  key: z.string().max(600),
  /** The model's two-axis result; fields it does not know (an agent's extras) are dropped, not refused. */
  result: ActionResult.strip(),
  /** What changed in the sender's report since its last message to the coordinator (the result's own record among it). */
  report: ReportDelta,
});

/**
 * Actions and results travel in batches when there are several: the actions the coordinator's
 * executor starts for one node in one turn, the results of the actions that ended on a node in one
 * turn (with one report delta holding all their records). At most MAX_BATCH_ITEMS a message.
 */
export const MAX_BATCH_ITEMS = 128;
/** Several `action` messages in one (the epoch is the newest of theirs: the node waits for that document). */
export const ActionsMessage = z.strictObject({
  ...Base,
  type: z.literal('actions'),
  epoch: Counter,
  items: z
    .array(z.strictObject({ key: z.string().max(600), action: GraphAction }))
    .min(1)
    .max(MAX_BATCH_ITEMS),
});
/** Several `result` messages in one, with one report delta for them all. */
export const ResultsMessage = z.strictObject({
  ...Base,
  type: z.literal('results'),
  items: z
    .array(z.strictObject({ key: z.string().max(600), result: ActionResult.strip() }))
    .min(1)
    .max(MAX_BATCH_ITEMS),
  report: ReportDelta,
});

/** Forget the history and fail counts of a resource (all when absent) so that it is probed again. */
export const CleanupMessage = z.strictObject({ ...Base, type: z.literal('cleanup'), resource: Name.optional() });

export const PeerMessage = z.discriminatedUnion('type', [
  DocMessage,
  DocDigestMessage,
  ReportMessage,
  ReportWantMessage,
  UpdateMessage,
  UpdateReplyMessage,
  ActionMessage,
  ResultMessage,
  ActionsMessage,
  ResultsMessage,
  CleanupMessage,
]);
export type PeerMessage = z.infer<typeof PeerMessage>;
export type DistOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A message before the sender fills in the envelope. */
export type PeerMessageBody = DistOmit<PeerMessage, 'v' | 'from' | 'boot' | 'id' | 'toBoot'>;

/**
 * Limits of the daemon channel. A logical message (its JSON) may be up to MAX_PEER_MESSAGE_BYTES;
 * it travels deflate-compressed when that makes it smaller, split into signed fragments of at most
 * MAX_PEER_PACKET_BYTES each (one UDP datagram per fragment), at most MAX_PEER_FRAGMENTS of them.
 */
export const MAX_PEER_PACKET_BYTES = 60 * 1024;
export const MAX_PEER_MESSAGE_BYTES = 4 * 1024 * 1024;
export const MAX_PEER_FRAGMENTS = Math.ceil(MAX_PEER_MESSAGE_BYTES / chunkCapacity('x'.repeat(255), { maxPacketBytes: MAX_PEER_PACKET_BYTES }));
/** Messages whose JSON is smaller than this go uncompressed (not worth the CPU). */
export const COMPRESS_ABOVE_BYTES = 1024;

/** The channel's limits (receivers use the same numbers; tests may pass smaller ones). */
export const PEER_LIMITS: FrameLimits = {
  maxPacketBytes: MAX_PEER_PACKET_BYTES,
  maxPayloadBytes: MAX_PEER_MESSAGE_BYTES,
  maxFragments: MAX_PEER_FRAGMENTS,
  maxPartialsPerSender: 16,
  maxBufferedBytes: 4 * MAX_PEER_MESSAGE_BYTES,
  reassemblyTimeoutMs: 3000,
};

export interface PeerEncodeOptions {
  readonly limits?: FrameLimits;
  /** Deflate messages above COMPRESS_ABOVE_BYTES when that makes them smaller (default true). */
  readonly compress?: boolean;
}

export type PeerEncode =
  | { readonly packets: readonly Buffer[]; readonly bytes: number; readonly wireBytes: number; readonly error?: undefined }
  | { readonly packets?: undefined; readonly error: string };

/**
 * Serialises, compresses and fragments a message into signed packets. A message over the limit is
 * not sent: the result names its type, recipient, size and the limit. Never throws.
 */
export function encodePeer(m: PeerMessage, key: Uint8Array, options: PeerEncodeOptions = {}): PeerEncode {
  const limits = options.limits ?? PEER_LIMITS;
  const json = Buffer.from(JSON.stringify(m), 'utf8');
  if (json.length > limits.maxPayloadBytes)
    return {
      error: `a ${m.type} message to ${m.to} is ${json.length} bytes, over the ${limits.maxPayloadBytes}-byte limit of one daemon message; it was not sent`,
    };
  let payload = json;
  let flags = 0;
  if ((options.compress ?? true) && json.length > COMPRESS_ABOVE_BYTES) {
    const z = deflateRawSync(json, { level: 1 });
    if (z.length < json.length) {
      payload = z;
      flags = FLAG_DEFLATE;
    }
  }
  if (Math.ceil(payload.length / chunkCapacity(m.from, limits)) > limits.maxFragments)
    return { error: `a ${m.type} message to ${m.to} needs more than ${limits.maxFragments} fragments (${payload.length} bytes on the wire); it was not sent` };
  try {
    return { packets: fragment(m, flags, payload, key, limits), bytes: json.length, wireBytes: payload.length };
  } catch (e) {
    return { error: `cannot encode a ${m.type} message to ${m.to}: ${(e as Error).message}` };
  }
}

export type PeerDecode = { readonly ok: PeerMessage; readonly error?: undefined } | { readonly ok?: undefined; readonly error: string };

/** Decompresses (bounded), parses and validates a reassembled frame; never throws on bad input. */
export function decodePeerFrame(frame: Frame, limits: FrameLimits = PEER_LIMITS): PeerDecode {
  let json: Buffer = frame.payload;
  if ((frame.flags & ~FLAG_DEFLATE) !== 0) return { error: `malformed: unknown flags ${frame.flags}` };
  if (frame.flags & FLAG_DEFLATE) {
    try {
      json = inflateRawSync(frame.payload, { maxOutputLength: limits.maxPayloadBytes });
    } catch (e) {
      const tooBig = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError;
      return { error: tooBig ? `oversized: inflates beyond ${limits.maxPayloadBytes} bytes` : `malformed: ${(e as Error).message}` };
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(json.toString('utf8'));
  } catch (e) {
    return { error: `malformed: ${(e as Error).message}` };
  }
  const parsed = PeerMessage.safeParse(value);
  if (!parsed.success) return { error: `malformed: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}` };
  const m = parsed.data;
  if (m.from !== frame.from || m.boot !== frame.boot || m.id !== frame.id)
    return { error: 'malformed: the message does not match its signed envelope (sender, boot, id)' };
  return { ok: m };
}

/**
 * The receiving side of the channel in one object: reassembles packets (see `Reassembler`),
 * decodes complete messages and counts every drop by reason.
 */
export class PeerDecoder {
  readonly reassembler: Reassembler;
  constructor(
    key: Uint8Array,
    private readonly limits: FrameLimits = PEER_LIMITS,
    onDrop?: (reason: DropReason, detail: string) => void,
  ) {
    this.reassembler = new Reassembler(key, limits, onDrop);
  }

  /** A complete, valid message, or undefined (incomplete, duplicate or dropped and counted). */
  accept(packet: Uint8Array, now: number): PeerMessage | undefined {
    const frame = this.reassembler.accept(packet, now);
    if (!frame) return undefined;
    const d = decodePeerFrame(frame, this.limits);
    if (d.ok) return d.ok;
    this.reassembler.drop(d.error.startsWith('oversized') ? 'oversized' : 'malformed', `from ${frame.from}: ${d.error}`);
    return undefined;
  }
}
