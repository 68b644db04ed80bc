/**
 * A minimal client for line-based text protocols (SMTP, LMTP, IMAP, POP3): connect, read the
 * server's lines until one ends a reply, send a command line. Enough for a monitor's "greeting,
 * one or two commands, goodbye" exchange, with the socket errors left intact (ECONNREFUSED,
 * ETIMEDOUT ...) so `runCheck` can tell "nobody there" from "no answer". No TLS, no literals.
 */
import { connect, type Socket } from 'node:net';

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
    let buffer = '';
    const lines: string[] = [];
    let failure: unknown;
    let closed = false;
    let connected = false;
    let waiter: { done: (l: string) => boolean; got: string[]; resolve: (l: string[]) => void; reject: (e: unknown) => void } | undefined;

    const pump = (): void => {
      if (!waiter) return;
      while (lines.length > 0) {
        const line = lines.shift()!;
        waiter.got.push(line);
        if (waiter.done(line)) {
          const w = waiter;
          waiter = undefined;
          w.resolve(w.got);
          return;
        }
      }
      if (failure !== undefined || closed) {
        const w = waiter;
        waiter = undefined;
        w.reject(failure ?? new ConnectionClosedError(w.got.slice(-3)));
      }
    };
    const onAbort = (): void => {
      failure ??= signal.reason;
      if (!connected) reject(signal.reason);
      sock.destroy();
      pump();
    };
    signal.addEventListener('abort', onAbort, { once: true });

    sock.setEncoding('latin1');
    sock.on('data', (chunk: string) => {
      buffer += chunk;
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        lines.push(buffer.slice(0, i).replace(/\r$/, ''));
        buffer = buffer.slice(i + 1);
      }
      pump();
    });
    sock.on('close', () => {
      closed = true;
      signal.removeEventListener('abort', onAbort);
      pump();
    });
    sock.on('error', (e) => {
      failure ??= e;
      if (!connected) reject(e);
      pump();
    });
    sock.once('connect', () => {
      connected = true;
      resolve({
        readReply: (done) =>
          new Promise<string[]>((res, rej) => {
            if (waiter) {
              rej(new Error('one reply at a time'));
              return;
            }
            waiter = { done, got: [], resolve: res, reject: rej };
            pump();
          }),
        send: (line) => {
          if (/[\r\n]/.test(line)) throw new Error('a command line must not contain CR or LF');
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
