/**
 * The doorbell: after each journaled batch, the Promoted node's tracker sends the replica's worker
 * one UDP datagram (to the peer's mirror address, the mirror's port number) carrying the journal's
 * state and the batch's lines, signed with the shared secret (HMAC-SHA256 with the rsync password
 * both nodes derived at start). The worker appends the lines to its copy of the peer's journal and
 * pulls the changed paths at once: a round is then one connection (the pull), not two (the journal,
 * then the pull), and no process is spawned to ring.
 *
 * Only a hint, never trusted beyond what it proves: a datagram from another address, with a bad
 * signature or an offset that does not continue the local copy exactly is ignored (the worker then
 * fetches the journal itself, as without a doorbell), a lost one costs latency (the next ring or
 * intervalMs), never data. Without a shared secret (auth: none) a ring carries no lines and only
 * wakes the worker.
 */
import { spawn } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import type { JournalState } from './journal.js';
import type { Layout, MirrorParams } from './params.js';

/** What a ring carries: the sender, the journal's state and the bytes appended at `offset` (absent: too many for one datagram). */
export interface Ring {
  readonly v: 1;
  readonly node: string;
  readonly state: JournalState;
  readonly offset: number;
  readonly lines?: string;
}

/** Lines above this size are not sent (the worker fetches them): a datagram stays well under 64 KiB. */
export const MAX_RING_LINES = 48 * 1024;

/** The shared secret's rsync password (client.secret, written at start), the key rings are signed with; undefined without one. */
export function ringKey(l: Layout): string | undefined {
  try {
    return readFileSync(`${l.stateDir}/client.secret`, 'utf8').trim() || undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

const mac = (key: string, payload: string): string => createHmac('sha256', key).update(payload).digest('hex');

/** The datagram: "HMAC-HEX\nJSON" (an empty signature without a key; such a ring carries no lines). */
export function encodeRing(ring: Ring, key: string | undefined): Buffer {
  const { lines, ...rest } = ring;
  const payload = JSON.stringify(key !== undefined && lines !== undefined && Buffer.byteLength(lines) <= MAX_RING_LINES ? ring : rest);
  return Buffer.from(`${key !== undefined ? mac(key, payload) : ''}\n${payload}`);
}

/**
 * A datagram as the worker reads it: undefined when it does not come from `from` (the peer's node
 * name in it), is malformed, or (with a key) is not signed with it. Without a key, lines are dropped.
 */
export function decodeRing(datagram: Buffer, key: string | undefined, from: string): Ring | undefined {
  const text = datagram.toString('utf8');
  const nl = text.indexOf('\n');
  if (nl < 0) return undefined;
  const sig = text.slice(0, nl);
  const payload = text.slice(nl + 1);
  if (key !== undefined) {
    const want = Buffer.from(mac(key, payload), 'hex');
    const got = Buffer.from(sig, 'hex');
    if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
  }
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch (e) {
    void e;
    return undefined;
  }
  const r = v as Partial<Ring>;
  const s = r.state as Partial<JournalState> | undefined;
  if (r.v !== 1 || r.node !== from || typeof r.offset !== 'number' || !Number.isSafeInteger(r.offset) || r.offset < 0) return undefined;
  if (typeof s?.id !== 'string' || typeof s.gen !== 'number' || typeof s.at !== 'number' || typeof s.startedAt !== 'number' || typeof s.ready !== 'boolean')
    return undefined;
  if (r.lines !== undefined && typeof r.lines !== 'string') return undefined;
  const ring = r as Ring;
  if (key === undefined && ring.lines !== undefined) {
    const { lines: _dropped, ...rest } = ring;
    void _dropped;
    return rest;
  }
  return ring;
}

/**
 * Appends the rings' lines to a local copy of the peer's journal (`buf`): each ring continues the
 * copy exactly (its offset is the copy's length, or its bytes overlap the copy's end identically).
 * Returns the grown copy and the newest state, or undefined when the rings cannot vouch for it (a
 * gap, another journal, a ring without lines): the caller fetches the journal instead.
 */
export function applyRings(buf: Buffer, journalIdOfBuf: string | undefined, rings: readonly Ring[]): { buf: Buffer; state: JournalState } | undefined {
  if (rings.length === 0 || journalIdOfBuf === undefined) return undefined;
  let out = buf;
  let state: JournalState | undefined;
  for (const r of [...rings].sort((a, b) => a.offset - b.offset)) {
    if (r.state.id !== journalIdOfBuf || r.lines === undefined) return undefined;
    const bytes = Buffer.from(r.lines);
    const end = r.offset + bytes.length;
    if (r.offset > out.length) return undefined; // a ring was lost: a gap
    if (end > out.length) {
      if (!out.subarray(r.offset).equals(bytes.subarray(0, out.length - r.offset))) return undefined;
      out = Buffer.concat([out, bytes.subarray(out.length - r.offset)]);
    } else if (!out.subarray(r.offset, end).equals(bytes)) return undefined;
    if (state === undefined || r.state.gen >= state.gen) state = r.state;
  }
  return state === undefined ? undefined : { buf: out, state };
}

/**
 * The ringing side (the tracker): after each batch journaled on the Promoted node, one signed UDP datagram
 * to the replica's worker with the journal's state and the batch's lines, so it pulls the changed
 * paths at once without fetching the journal first; when nothing was journaled for a second, a
 * heartbeat (the state, no lines), so that an idle replica knows without asking that nothing changed.
 * Only a hint: the replica polls whenever no ring came for intervalMs, so a lost ring costs latency,
 * never data. Where no UDP socket can be opened (or
 * PACELINE_MIRROR_DOORBELL=connect, to compare), the former ring: one connection to the peer's
 * rsync daemon (a module listing), whose log the worker watches — one at a time, changes during it
 * ring again when it ends.
 */
export class Doorbell {
  private ringing = false;
  private again = false;
  private socket: Socket | undefined;
  private readonly key: string | undefined;
  constructor(
    private readonly p: MirrorParams,
    private readonly l: Layout,
  ) {
    this.key = ringKey(l);
    try {
      this.socket = createSocket(isIPv6(l.remote.address) ? 'udp6' : 'udp4');
      this.socket.on('error', () => {
        this.socket?.close();
        this.socket = undefined;
      });
      this.socket.unref();
    } catch (e) {
      void e;
      this.socket = undefined;
    }
  }

  private promoted(): boolean {
    try {
      return (JSON.parse(readFileSync(this.l.statusFile, 'utf8')) as { role?: string }).role === 'promoted';
    } catch (e) {
      void e;
      return false;
    }
  }

  /** Rings (while this node publishes `promoted`); resolves once the datagram is sent. */
  ring(state: JournalState, offset: number, lines: string): Promise<void> {
    if (!this.promoted()) return Promise.resolve();
    const datagrams = this.socket !== undefined && process.env['PACELINE_MIRROR_DOORBELL'] !== 'connect';
    // A heartbeat (no lines) says "nothing new" only when signed, and only over UDP: without a key it
    // would merely wake the replica, and a connection a second would cost more than the poll it saves.
    if (lines === '' && (!datagrams || this.key === undefined)) return Promise.resolve();
    const socket = this.socket;
    if (socket && datagrams) {
      const ring: Ring = { v: 1, node: this.l.node, state, offset, lines };
      return new Promise((resolve) =>
        socket.send(encodeRing(ring, this.key), this.l.remote.port, this.l.remote.address, (e) => {
          if (e && lines !== '') this.connect();
          resolve();
        }),
      );
    }
    this.connect();
    return Promise.resolve();
  }

  close(): void {
    this.socket?.close();
    this.socket = undefined;
  }

  private connect(): void {
    if (this.ringing) {
      this.again = true;
      return;
    }
    this.ringing = true;
    const c = spawn(this.p.rsync, ['--contimeout=2', '--timeout=5', '--list-only', `rsync://${this.l.remote.authority}/`], { stdio: 'ignore' });
    const done = (): void => {
      this.ringing = false;
      if (this.again) {
        this.again = false;
        this.connect();
      }
    };
    c.once('error', done);
    c.once('exit', done);
  }
}

/**
 * At promotion: one heartbeat ring at once (this node's journal state, no lines), so that the peer's
 * worker — demoted, polling every intervalMs for a Promoted node — follows now rather than at its next poll.
 */
export async function ringOnce(p: MirrorParams, l: Layout, state: JournalState, offset: number): Promise<void> {
  const bell = new Doorbell(p, l);
  try {
    await bell.ring(state, offset, '');
  } finally {
    bell.close();
  }
}
