/**
 * A minimal client for line-based text protocols (SMTP, LMTP, IMAP, POP3): connect, read the
 * server's lines until one ends a reply, send a command line. Enough for a monitor's "greeting,
 * one or two commands, goodbye" exchange, with the socket errors left intact (ECONNREFUSED,
 * ETIMEDOUT ...) so `runCheck` can tell "nobody there" from "no answer". No TLS, no literals.
 */
import { connect, type Socket } from 'node:net';
import { PacelineError } from '@paceline/model';

/** The server closed the connection before the reply ended (`code` 'ECLOSED'). */
export class ConnectionClosedError extends Error {
  readonly code = 'ECLOSED';
  constructor(readonly lastLines: readonly string[]) {
    super(`connection closed by the server${lastLines.length ? ` after: ${lastLines.join(' | ')}` : ''}`);
  }
}

export interface LineSession {
  /** Reads lines (without CRLF) until `done(line)` is true for one; returns them all, that one last. */
  readReply(done: (line: string) => boolean): Promise<string[]>;
  /** Sends one line (CRLF added). */
  send(line: string): void;
  /** Closes the connection (idempotent). */
  close(): void;
}

type Waiter = { done: (l: string) => boolean; got: string[]; resolve: (l: string[]) => void; reject: (e: unknown) => void };

/** The lines a session has received and the one read waiting for them: the socket's events feed it, readReply drains it. */
class ReplyReader {
  private buffer = '';
  private readonly lines: string[] = [];
  private failure: unknown;
  private closed = false;
  private waiter: Waiter | undefined;

  /** Text from the socket (latin1): each complete line is queued without its CRLF. */
  data(chunk: string): void {
    this.buffer += chunk;
    for (let i = this.buffer.indexOf('\n'); i >= 0; i = this.buffer.indexOf('\n')) {
      this.lines.push(this.buffer.slice(0, i).replace(/\r$/, ''));
      this.buffer = this.buffer.slice(i + 1);
    }
    this.pump();
  }

  /** The socket failed or the session was aborted: a pending read rejects with the first cause. */
  fail(cause: unknown): void {
    this.failure ??= cause;
    this.pump();
  }

  /** The socket closed: a read the queued lines do not end rejects with ConnectionClosedError. */
  end(): void {
    this.closed = true;
    this.pump();
  }

  read(done: (line: string) => boolean): Promise<string[]> {
    return new Promise<string[]>((resolve, reject) => {
      if (this.waiter) {
        reject(new PacelineError('LINE_SESSION', 'readReply: one reply at a time (await the pending readReply first)'));
        return;
      }
      this.waiter = { done, got: [], resolve, reject };
      this.pump();
    });
  }

  private pump(): void {
    const w = this.waiter;
    if (!w) return;
    while (this.lines.length > 0) {
      const line = this.lines.shift()!;
      w.got.push(line);
      if (w.done(line)) {
        this.waiter = undefined;
        w.resolve(w.got);
        return;
      }
    }
    if (this.failure !== undefined || this.closed) {
      this.waiter = undefined;
      w.reject(this.failure ?? new ConnectionClosedError(w.got.slice(-3)));
    }
  }
}

/**
 * Opens a TCP connection (`port` > 0) or a Unix socket (`path`) and returns a session once
 * connected. `signal` aborts everything: the socket is destroyed and pending reads reject with
 * the signal's reason. The caller must `close()` the session.
 */
export function openLineSession(target: { host: string; port: number } | { path: string }, signal: AbortSignal): Promise<LineSession> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const sock: Socket = 'path' in target ? connect({ path: target.path }) : connect({ host: target.host, port: target.port });
    sock.setNoDelay(true);
    const reader = new ReplyReader();
    let connected = false;
    const onAbort = (): void => {
      if (!connected) reject(signal.reason);
      sock.destroy();
      reader.fail(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });

    sock.setEncoding('latin1');
    sock.on('data', (chunk: string) => reader.data(chunk));
    sock.on('close', () => {
      signal.removeEventListener('abort', onAbort);
      reader.end();
    });
    sock.on('error', (e) => {
      if (!connected) reject(e);
      reader.fail(e);
    });
    sock.once('connect', () => {
      connected = true;
      resolve({
        readReply: (done) => reader.read(done),
        send: (line) => {
          if (/[\r\n]/.test(line))
            throw new PacelineError('LINE_SESSION', 'send: a command line must not contain CR or LF (it would send more than one command)');
          if (!sock.destroyed) sock.write(`${line}\r\n`, 'latin1');
        },
        close: () => {
          signal.removeEventListener('abort', onAbort);
          sock.destroy();
        },
      });
    });
  });
}
