/**
 * Framing of the daemon channel: one logical message (its payload bytes) is split into fragments
 * that each fit in one UDP datagram, and each fragment is signed on its own (HMAC-SHA256 over the
 * cluster key), so a forged or corrupted fragment is dropped before it can touch a partial message.
 * The receiver (`Reassembler`) puts fragments back together under strict bounds and drops — and
 * counts — everything else. Pure apart from the injected time (`now` arguments); no I/O, no timers.
 *
 * Packet (big-endian), version 2:
 * ```
 *  0  magic "PCLD"          4
 *  4  version = 2           u8
 *  5  flags                 u8   bit 0: payload is deflate-compressed (see messages.ts)
 *  6  sender name length    u8   1..255
 *  7  reserved = 0          u8
 *  8  sender boot           u64  the sender's incarnation
 * 16  message id            u64  unique per sender incarnation
 * 24  fragment index        u16  0..count-1
 * 26  fragment count        u16  1..maxFragments
 * 28  payload length        u32  of the whole message (all fragments' chunks together)
 * 32  chunk length          u32  of this fragment's chunk
 * 36  sender name           (length above, ASCII)
 *  …  HMAC-SHA256           32   over every other byte of the packet
 *  …  chunk
 * ```
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { DaemonError } from './errors.js';

export const FRAME_MAGIC = Buffer.from('PCLD', 'ascii');
export const FRAME_VERSION = 2;
const FIXED = 36;
const MAC = 32;
/** Flag bit: the payload is deflate-compressed. */
export const FLAG_DEFLATE = 1;

export interface FrameLimits {
  /** Largest datagram sent or accepted. */
  readonly maxPacketBytes: number;
  /** Largest payload of one logical message (the sum of its fragments' chunks). */
  readonly maxPayloadBytes: number;
  /** Most fragments one message may have. */
  readonly maxFragments: number;
  /** Most messages being reassembled at once per sender (the oldest is evicted beyond). */
  readonly maxPartialsPerSender: number;
  /** Most bytes held in partial messages, all senders together (the oldest are evicted beyond). */
  readonly maxBufferedBytes: number;
  /** A partial message not completed within this many ms is evicted. */
  readonly reassemblyTimeoutMs: number;
}

/** Identifies a logical message: who sent it, in which incarnation, under which id. */
export interface FrameId {
  readonly from: string;
  readonly boot: number;
  readonly id: number;
}

/** One verified fragment. */
export interface Fragment extends FrameId {
  readonly flags: number;
  readonly index: number;
  readonly count: number;
  readonly total: number;
  readonly chunk: Buffer;
}

/** A reassembled (or single-packet) message payload, its signature checked fragment by fragment. */
export interface Frame extends FrameId {
  readonly flags: number;
  readonly payload: Buffer;
}

/** Why a packet or a partial message was dropped (the counters' names). */
export type DropReason =
  'oversized' | 'truncated' | 'malformed' | 'forged' | 'stale' | 'out-of-bounds' | 'inconsistent' | 'evicted' | 'timeout' | 'misdirected';

/** Bytes a fragment's chunk may hold when sent by `from`. */
export function chunkCapacity(from: string, limits: Pick<FrameLimits, 'maxPacketBytes'>): number {
  return limits.maxPacketBytes - FIXED - Buffer.byteLength(from, 'ascii') - MAC;
}

const sign = (key: Uint8Array, head: Buffer, chunk: Buffer): Buffer => createHmac('sha256', key).update(head).update(chunk).digest();

/**
 * Splits a payload into signed packets. The caller checks the payload against `maxPayloadBytes`;
 * this throws only on a programming error (a bad sender name or a payload over the limits).
 */
export function fragment(
  id: FrameId,
  flags: number,
  payload: Buffer,
  key: Uint8Array,
  limits: Pick<FrameLimits, 'maxPacketBytes' | 'maxFragments' | 'maxPayloadBytes'>,
): Buffer[] {
  const name = Buffer.from(id.from, 'ascii');
  if (name.length < 1 || name.length > 255 || name.toString('ascii') !== id.from) throw new DaemonError('WIRE_LIMIT', `bad sender name "${id.from}"`);
  const capacity = chunkCapacity(id.from, limits);
  const count = Math.max(1, Math.ceil(payload.length / capacity));
  if (payload.length > limits.maxPayloadBytes || count > limits.maxFragments)
    throw new DaemonError(
      'WIRE_LIMIT',
      `a payload of ${payload.length} bytes exceeds the limits (${limits.maxPayloadBytes} bytes, ${limits.maxFragments} fragments)`,
    );
  const packets: Buffer[] = [];
  for (let index = 0; index < count; index++) {
    const chunk = payload.subarray(index * capacity, Math.min(payload.length, (index + 1) * capacity));
    const head = Buffer.alloc(FIXED + name.length);
    FRAME_MAGIC.copy(head, 0);
    head.writeUInt8(FRAME_VERSION, 4);
    head.writeUInt8(flags, 5);
    head.writeUInt8(name.length, 6);
    head.writeBigUInt64BE(BigInt(id.boot), 8);
    head.writeBigUInt64BE(BigInt(id.id), 16);
    head.writeUInt16BE(index, 24);
    head.writeUInt16BE(count, 26);
    head.writeUInt32BE(payload.length, 28);
    head.writeUInt32BE(chunk.length, 32);
    name.copy(head, FIXED);
    packets.push(Buffer.concat([head, sign(key, head, chunk), chunk]));
  }
  return packets;
}

export type FragmentRead = { readonly ok: Fragment } | { readonly ok?: undefined; readonly reason: DropReason; readonly detail: string };

const NAME = /^[A-Za-z0-9_.:@+-]+$/;

/** Checks one packet's size, framing, signature and bounds; never throws on bad input. */
export function readFragment(
  packet: Uint8Array,
  key: Uint8Array,
  limits: Pick<FrameLimits, 'maxPacketBytes' | 'maxFragments' | 'maxPayloadBytes'>,
): FragmentRead {
  const buf = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  const bad = (reason: DropReason, detail: string): FragmentRead => ({ reason, detail });
  if (buf.length > limits.maxPacketBytes) return bad('oversized', `a ${buf.length}-byte packet (limit ${limits.maxPacketBytes})`);
  if (buf.length < FIXED) return bad('truncated', `${buf.length} bytes, shorter than the header`);
  if (!buf.subarray(0, 4).equals(FRAME_MAGIC)) return bad('malformed', 'bad magic');
  if (buf.readUInt8(4) !== FRAME_VERSION) return bad('malformed', `packet version ${buf.readUInt8(4)}, expected ${FRAME_VERSION}`);
  const nameLength = buf.readUInt8(6);
  const chunkLength = buf.readUInt32BE(32);
  if (nameLength === 0) return bad('malformed', 'empty sender name');
  if (buf.length < FIXED + nameLength + MAC) return bad('truncated', `${buf.length} bytes, shorter than the header and signature`);
  if (FIXED + nameLength + MAC + chunkLength !== buf.length)
    return bad('truncated', `the header announces a ${chunkLength}-byte chunk, the packet holds ${buf.length - FIXED - nameLength - MAC}`);
  const head = buf.subarray(0, FIXED + nameLength);
  const chunk = buf.subarray(FIXED + nameLength + MAC);
  if (!timingSafeEqual(sign(key, head, chunk), buf.subarray(FIXED + nameLength, FIXED + nameLength + MAC)))
    return bad('forged', 'HMAC does not match the cluster key');
  // Signed by a key holder from here on; still checked, as a bug elsewhere must not crash us.
  const from = head.subarray(FIXED).toString('latin1');
  if (!NAME.test(from)) return bad('malformed', 'bad sender name');
  const boot = buf.readBigUInt64BE(8);
  const id = buf.readBigUInt64BE(16);
  if (boot > BigInt(Number.MAX_SAFE_INTEGER) || id > BigInt(Number.MAX_SAFE_INTEGER)) return bad('malformed', 'boot or id beyond 2^53');
  const index = buf.readUInt16BE(24);
  const count = buf.readUInt16BE(26);
  const total = buf.readUInt32BE(28);
  if (buf.readUInt8(7) !== 0) return bad('malformed', 'reserved byte set');
  if (count < 1 || count > limits.maxFragments) return bad('out-of-bounds', `${count} fragments (limit ${limits.maxFragments})`);
  if (index >= count) return bad('out-of-bounds', `fragment ${index} of ${count}`);
  if (total > limits.maxPayloadBytes) return bad('out-of-bounds', `a ${total}-byte message (limit ${limits.maxPayloadBytes})`);
  if (chunkLength > total || (count > 1 && chunkLength === 0))
    return bad('out-of-bounds', `a ${chunkLength}-byte chunk of a ${total}-byte message in ${count} fragments`);
  return { ok: { from, boot: Number(boot), id: Number(id), flags: buf.readUInt8(5), index, count, total, chunk } };
}

interface Partial {
  readonly key: string;
  readonly from: string;
  readonly boot: number;
  readonly id: number;
  readonly flags: number;
  readonly count: number;
  readonly total: number;
  readonly chunks: (Buffer | undefined)[];
  readonly startedAt: number;
  received: number;
  bytes: number;
}

export interface ReassemblerStats {
  /** Drops by reason (packets, and partial messages given up). */
  readonly dropped: Readonly<Partial_<Record<DropReason, number>>>;
  /** Copies of fragments already held or of messages already completed (normal: every link carries one). */
  readonly duplicates: number;
  /** Partial messages held now, and their bytes. */
  readonly partials: number;
  readonly bufferedBytes: number;
  /** Messages completed from more than one fragment. */
  readonly reassembled: number;
}
type Partial_<T> = { [K in keyof T]?: T[K] };

/**
 * Reassembles fragments into messages. Every packet goes through `accept(packet, now)`, which
 * returns a complete frame or undefined (incomplete, duplicate or dropped; drops are counted and
 * reported to `onDrop`). Bounds: see `FrameLimits`. A sender's fragments from an older incarnation
 * than one it already used are stale. Call `sweep(now)` now and then to evict timed-out partials
 * (`accept` sweeps too).
 */
export class Reassembler {
  private readonly partials = new Map<string, Partial>();
  private readonly latestBoot = new Map<string, number>();
  private readonly completed = new Set<string>();
  private readonly completedOrder: string[] = [];
  private readonly drops: Partial_<Record<DropReason, number>> = {};
  private duplicates = 0;
  private reassembled = 0;
  private buffered = 0;

  constructor(
    private readonly key: Uint8Array,
    readonly limits: FrameLimits,
    private readonly onDrop?: (reason: DropReason, detail: string) => void,
    private readonly completedCapacity = 1024,
  ) {}

  drop(reason: DropReason, detail: string): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
    this.onDrop?.(reason, detail);
  }

  stats(): ReassemblerStats {
    return {
      dropped: { ...this.drops },
      duplicates: this.duplicates,
      partials: this.partials.size,
      bufferedBytes: this.buffered,
      reassembled: this.reassembled,
    };
  }

  accept(packet: Uint8Array, now: number): Frame | undefined {
    this.sweep(now);
    const r = readFragment(packet, this.key, this.limits);
    if (r.ok === undefined) {
      this.drop(r.reason, r.detail);
      return undefined;
    }
    const f = r.ok;
    if (!this.current(f)) return undefined;
    const key = `${f.from}|${f.boot}|${f.id}`;
    if (this.completed.has(key)) {
      this.duplicates += 1;
      return undefined;
    }
    if (f.count === 1) {
      if (f.chunk.length !== f.total) {
        this.drop('inconsistent', `a single fragment of ${f.chunk.length} bytes announces ${f.total}`);
        return undefined;
      }
      this.complete(key);
      return { from: f.from, boot: f.boot, id: f.id, flags: f.flags, payload: f.chunk };
    }
    const p = this.partialFor(f, key, now);
    return p && this.add(p, f);
  }

  /**
   * Whether `f` comes from its sender's newest incarnation (else it is dropped as stale). A newer
   * incarnation than any seen makes the sender's older partial messages stale.
   */
  private current(f: Fragment): boolean {
    const latest = this.latestBoot.get(f.from);
    if (latest !== undefined && f.boot < latest) {
      this.drop('stale', `from ${f.from}'s incarnation ${f.boot}, it has since restarted (${latest})`);
      return false;
    }
    if (latest === undefined || f.boot > latest) {
      this.latestBoot.set(f.from, f.boot);
      for (const p of [...this.partials.values()]) if (p.from === f.from && p.boot < f.boot) this.evict(p, 'stale', 'the sender restarted');
    }
    return true;
  }

  /**
   * The partial message `f` belongs to, begun now if it is the first fragment (evicting the sender's
   * oldest beyond its limit); undefined when `f` disagrees with the fragments held or repeats one.
   */
  private partialFor(f: Fragment, key: string, now: number): Partial | undefined {
    const p = this.partials.get(key);
    if (p && (p.count !== f.count || p.total !== f.total || p.flags !== f.flags)) {
      this.evict(p, 'inconsistent', `fragments of message ${key} disagree on count, length or flags`);
      return undefined;
    }
    if (p?.chunks[f.index] !== undefined) {
      this.duplicates += 1;
      return undefined;
    }
    if (p) return p;
    const mine = [...this.partials.values()].filter((x) => x.from === f.from);
    if (mine.length >= this.limits.maxPartialsPerSender)
      this.evict(mine[0]!, 'evicted', `${f.from} has more than ${this.limits.maxPartialsPerSender} partial messages`);
    const fresh: Partial = {
      key,
      from: f.from,
      boot: f.boot,
      id: f.id,
      flags: f.flags,
      count: f.count,
      total: f.total,
      chunks: new Array<Buffer | undefined>(f.count).fill(undefined),
      startedAt: now,
      received: 0,
      bytes: 0,
    };
    this.partials.set(key, fresh);
    return fresh;
  }

  /** Adds `f` to `p` within the byte bounds; the message once it is complete. */
  private add(p: Partial, f: Fragment): Frame | undefined {
    if (p.bytes + f.chunk.length > p.total) {
      this.evict(p, 'inconsistent', `fragments of message ${p.key} hold more than the announced ${p.total} bytes`);
      return undefined;
    }
    while (this.buffered + f.chunk.length > this.limits.maxBufferedBytes) {
      const oldest = this.partials.values().next().value!;
      this.evict(oldest, 'evicted', `more than ${this.limits.maxBufferedBytes} bytes in partial messages`);
      if (oldest === p) return undefined;
    }
    p.chunks[f.index] = Buffer.from(f.chunk); // a copy: the packet buffer is not ours to keep
    p.received += 1;
    p.bytes += f.chunk.length;
    this.buffered += f.chunk.length;
    if (p.received < p.count) return undefined;
    this.forget(p);
    if (p.bytes !== p.total) {
      this.drop('inconsistent', `message ${p.key} reassembled to ${p.bytes} bytes, announced ${p.total}`);
      return undefined;
    }
    this.complete(p.key);
    this.reassembled += 1;
    return { from: p.from, boot: p.boot, id: p.id, flags: p.flags, payload: Buffer.concat(p.chunks as Buffer[], p.total) };
  }

  /** Evicts partial messages older than the reassembly timeout; returns how many. */
  sweep(now: number): number {
    let n = 0;
    for (const p of [...this.partials.values()])
      if (now - p.startedAt > this.limits.reassemblyTimeoutMs) {
        this.evict(p, 'timeout', `message ${p.key}: ${p.received} of ${p.count} fragments within ${this.limits.reassemblyTimeoutMs} ms`);
        n += 1;
      }
    return n;
  }

  private evict(p: Partial, reason: DropReason, detail: string): void {
    this.forget(p);
    this.drop(reason, detail);
  }

  private forget(p: Partial): void {
    if (!this.partials.delete(p.key)) return;
    this.buffered -= p.bytes;
  }

  private complete(key: string): void {
    this.completed.add(key);
    this.completedOrder.push(key);
    if (this.completedOrder.length > this.completedCapacity) this.completed.delete(this.completedOrder.shift()!);
  }
}
