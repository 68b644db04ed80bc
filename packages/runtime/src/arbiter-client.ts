/**
 * `ArbiterClient`: the daemon's side of the witness arbiter (the `Arbiter` port of
 * @paceline/membership over UDP). A claim goes out up to `tries` times, spread over `timeoutMs`,
 * each time as a new request (new `seq` and `sentAt`, the same nonce); the first signed reply that
 * echoes the nonce, this node and its incarnation answers it. No valid answer in time — silence,
 * a closed port, no route, only forged or unmatched packets — is `unreachable` with the reason.
 * Nothing here throws from `claim` or `release`.
 *
 * The socket is connected to the witness, so the kernel passes on only datagrams from that address
 * and reports ICMP errors (port unreachable: no witness listening). Connecting is retried on every
 * request while it fails (e.g. no route while the service LAN is down), so a daemon can start
 * without the witness in reach.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import {
  ARBITER_DEFAULTS,
  checkKey,
  decodeArbiterReply,
  encodeArbiter,
  type Arbiter,
  type ArbiterReply,
  type ArbiterRequest,
  type FrameError,
  type VoteAnswer,
} from '@paceline/membership';
import { TransportError, parseEndpoint, type Endpoint } from './udp-transport.js';
import { DEFAULT_WITNESS_PORT } from './witness-server.js';

/** Timer functions the client uses (the global ones by default; tests may inject others). */
export interface ClientTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemTimers: ClientTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface ArbiterClientOptions {
  /** This node's name. */
  readonly self: string;
  /** This node's incarnation (grows from one start to the next), or a function returning it (read at every request). */
  readonly boot: number | (() => number);
  /** The witness: "HOST[:PORT]" (default port 5430) or an endpoint. */
  readonly address: string | Endpoint;
  readonly key: Uint8Array;
  /** The configuration's clusterName, when it has one (the witness may require it). */
  readonly cluster?: string;
  /** Budget of one claim or release (ms). Default 150. */
  readonly timeoutMs?: number;
  /** Requests sent per claim or release, spread evenly over the budget. Default 3. */
  readonly tries?: number;
  /** Wall clock (ms) for `sentAt`. */
  readonly now?: () => number;
  /** A clock that never jumps (ms), on which the granted lease is counted. Default: performance.now(). */
  readonly monotonic?: () => number;
  readonly timers?: ClientTimers;
  /** Called for every datagram the client drops (bad signature or framing, or answering no pending request). */
  readonly onDrop?: (reason: ClientDropReason, detail: string) => void;
}

export type ClientDropReason = FrameError | 'unmatched';

export interface ArbiterClientStats {
  claims: number;
  granted: number;
  refused: number;
  unreachable: number;
  releases: number;
  /** Releases the witness acknowledged. */
  released: number;
  /** Requests sent (retries included) and those the socket refused (no route, port closed). */
  sent: number;
  sendErrors: number;
  dropped: Record<ClientDropReason, number>;
}

interface Pending {
  readonly kind: 'claim' | 'release';
  readonly boot: number;
  /** Monotonic time of the first request: the lease is counted from here. */
  readonly start: number;
  readonly finish: (reply: ArbiterReply | undefined) => void;
}

export class ArbiterClient implements Arbiter {
  private readonly socket: Socket;
  private readonly target: Endpoint;
  private readonly timers: ClientTimers;
  private readonly monotonic: () => number;
  private readonly pending = new Map<string, Pending>();
  private connected = false;
  private connecting: Promise<Error | undefined> | undefined;
  private lastError: string | undefined;
  private seqBoot = -1;
  private seq = 0;
  private disposed = false;
  private readonly counters: ArbiterClientStats = {
    claims: 0,
    granted: 0,
    refused: 0,
    unreachable: 0,
    releases: 0,
    released: 0,
    sent: 0,
    sendErrors: 0,
    dropped: { oversized: 0, truncated: 0, malformed: 0, forged: 0, unmatched: 0 },
  };

  private constructor(private readonly options: ArbiterClientOptions) {
    this.target = typeof options.address === 'string' ? parseEndpoint(options.address, DEFAULT_WITNESS_PORT) : options.address;
    if (!Number.isInteger(this.target.port) || this.target.port < 1 || this.target.port > 65535)
      throw new TransportError('TRANSPORT_CONFIG', `witness address ${this.describe()}: the port must be 1 to 65535`);
    const timeoutMs = options.timeoutMs ?? ARBITER_DEFAULTS.timeoutMs;
    const tries = options.tries ?? ARBITER_DEFAULTS.tries;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
      throw new TransportError('TRANSPORT_CONFIG', `witness client: timeoutMs must be a positive integer, not ${timeoutMs}`);
    if (!Number.isInteger(tries) || tries < 1) throw new TransportError('TRANSPORT_CONFIG', `witness client: tries must be a positive integer, not ${tries}`);
    this.timers = options.timers ?? systemTimers;
    this.monotonic = options.monotonic ?? (() => performance.now());
    this.socket = createSocket({ type: isIPv6(this.target.host) ? 'udp6' : 'udp4' });
    this.socket.on('message', (msg) => this.receive(msg));
    this.socket.on('error', (err: NodeJS.ErrnoException) => this.noteError(err));
  }

  /**
   * A client of the witness at `address`. Throws TransportError for an address that is not one,
   * MembershipError for a bad key. The witness need not be reachable yet.
   */
  static async open(options: ArbiterClientOptions): Promise<ArbiterClient> {
    checkKey(options.key);
    const client = new ArbiterClient(options);
    void client.connect();
    return client;
  }

  stats(): ArbiterClientStats {
    return { ...this.counters, dropped: { ...this.counters.dropped } };
  }

  async claim(lost: readonly string[], signal?: AbortSignal): Promise<VoteAnswer> {
    this.counters.claims += 1;
    const answer = await this.ask('claim', lost, signal);
    this.counters[answer.vote] += 1;
    return answer;
  }

  async release(): Promise<void> {
    this.counters.releases += 1;
    await this.ask('release', [], undefined);
  }

  /** Closes the socket; claims under way answer `unreachable`. Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of [...this.pending.values()]) p.finish(undefined);
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private describe(): string {
    return isIPv6(this.target.host) ? `[${this.target.host}]:${this.target.port}` : `${this.target.host}:${this.target.port}`;
  }

  /** Connects the socket to the witness if it is not yet; resolves with the error when that fails (tried again next time). */
  private connect(): Promise<Error | undefined> {
    if (this.connected || this.disposed) return Promise.resolve(undefined);
    this.connecting ??= new Promise<Error | undefined>((resolve) => {
      try {
        this.socket.connect(this.target.port, this.target.host, (err?: Error) => {
          this.connecting = undefined;
          if (err) {
            this.noteError(err);
            resolve(err);
          } else {
            this.connected = true;
            resolve(undefined);
          }
        });
      } catch (e) {
        this.connecting = undefined;
        this.noteError(e as Error);
        resolve(e as Error);
      }
    });
    return this.connecting;
  }

  private noteError(err: NodeJS.ErrnoException): void {
    if (this.disposed) return;
    this.lastError =
      err.code === 'ECONNREFUSED'
        ? `the witness's port is closed (ICMP port unreachable: its host is up, no witness listens)`
        : `${err.code ?? 'error'}: ${err.message}`;
  }

  private nextSeq(boot: number): number {
    if (boot !== this.seqBoot) {
      this.seqBoot = boot;
      this.seq = 0;
    }
    return ++this.seq;
  }

  /** Sends a claim or release up to `tries` times within the timeout; resolves with the answer (never rejects). */
  private ask(kind: 'claim' | 'release', lost: readonly string[], signal: AbortSignal | undefined): Promise<VoteAnswer> {
    const timeoutMs = this.options.timeoutMs ?? ARBITER_DEFAULTS.timeoutMs;
    const tries = this.options.tries ?? ARBITER_DEFAULTS.tries;
    if (this.disposed) return Promise.resolve({ vote: 'unreachable', detail: 'the witness client is closed' });
    if (signal?.aborted) return Promise.resolve({ vote: 'unreachable', detail: 'the claim was aborted' });
    let boot: number;
    try {
      boot = typeof this.options.boot === 'function' ? this.options.boot() : this.options.boot;
    } catch (e) {
      return Promise.resolve({ vote: 'unreachable', detail: `this node's incarnation is not known: ${(e as Error).message}` });
    }
    const nonce = randomBytes(16).toString('hex');
    const start = this.monotonic();
    this.lastError = undefined;
    return new Promise<VoteAnswer>((resolve) => {
      const timers: unknown[] = [];
      let sent = 0;
      let done = false;
      const onAbort = (): void => finish(undefined, 'the claim was aborted');
      const finish = (reply: ArbiterReply | undefined, why?: string): void => {
        if (done) return;
        done = true;
        this.pending.delete(nonce);
        for (const t of timers) this.timers.clearTimeout(t);
        signal?.removeEventListener('abort', onAbort);
        resolve(
          reply !== undefined
            ? this.answer(reply, start)
            : {
                vote: 'unreachable',
                detail:
                  why ??
                  (this.disposed
                    ? 'the witness client is closed'
                    : `no answer from the witness at ${this.describe()} within ${timeoutMs} ms (${sent} ${sent === 1 ? 'try' : 'tries'})${this.lastError ? `; ${this.lastError}` : ''}`),
              },
        );
      };
      this.pending.set(nonce, { kind, boot, start, finish });
      signal?.addEventListener('abort', onAbort, { once: true });
      const send = (): void => {
        if (done) return;
        void this.connect().then((err) => {
          if (done || err) return;
          const sentAt = Math.floor((this.options.now ?? Date.now)());
          const base = {
            v: 1 as const,
            node: this.options.self,
            boot,
            seq: this.nextSeq(boot),
            sentAt,
            nonce,
            ...(this.options.cluster !== undefined ? { cluster: this.options.cluster } : {}),
          };
          const request: ArbiterRequest = kind === 'claim' ? { ...base, type: 'claim', lost: [...lost] } : { ...base, type: 'release' };
          sent += 1;
          this.counters.sent += 1;
          this.socket.send(encodeArbiter(request, this.options.key), (e) => {
            if (e) {
              this.counters.sendErrors += 1;
              this.noteError(e);
            }
          });
        });
      };
      const interval = timeoutMs / tries;
      send();
      for (let i = 1; i < tries; i++) timers.push(this.timers.setTimeout(send, Math.round(i * interval)));
      timers.push(this.timers.setTimeout(() => finish(undefined), timeoutMs));
    });
  }

  private answer(reply: ArbiterReply, start: number): VoteAnswer {
    switch (reply.vote) {
      case 'granted':
        // Counted from the first request, which the witness cannot have read earlier than it was sent.
        return { vote: 'granted', holder: this.options.self, leaseMs: Math.max(0, Math.floor(reply.leaseMs - (this.monotonic() - start))) };
      case 'refused':
        return { vote: 'refused', holder: reply.holder, leaseMs: reply.leaseMs };
      case 'unavailable':
        return {
          vote: 'unreachable',
          detail: `the witness at ${this.describe()} started recently and grants nothing for another ${reply.retryInMs} ms (a vote it granted before may still be in use)`,
        };
      case 'released':
        return { vote: 'unreachable', detail: 'released' };
    }
  }

  private receive(msg: Buffer): void {
    if (this.disposed) return;
    const d = decodeArbiterReply(msg, this.options.key);
    if (d.ok === undefined) return this.drop(d.error, d.detail);
    const reply = d.ok;
    const p = this.pending.get(reply.nonce);
    if (p === undefined) return this.drop('unmatched', `a ${reply.vote} reply answers no request under way`);
    if (reply.node !== this.options.self || reply.boot !== p.boot)
      return this.drop('unmatched', `a reply for ${reply.node} (incarnation ${reply.boot}), not this node's incarnation ${p.boot}`);
    if ((p.kind === 'release') !== (reply.vote === 'released')) return this.drop('unmatched', `a ${reply.vote} reply to a ${p.kind}`);
    if (p.kind === 'release') this.counters.released += 1;
    p.finish(reply);
  }

  private drop(reason: ClientDropReason, detail: string): void {
    this.counters.dropped[reason] += 1;
    this.options.onDrop?.(reason, detail);
  }
}
