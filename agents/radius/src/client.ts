/**
 * One RADIUS exchange over UDP from this process: no fork per monitor. The socket is connected to
 * the server, so an ICMP port-unreachable (nobody listens) surfaces as ECONNREFUSED; the request
 * is resent unchanged (same identifier and authenticator, as RFC 2865 asks) every `retryMs`
 * until an answer with our identifier comes back or the signal aborts (the check's timeout).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { Attr, Code, codeName, decodeResponse, encodeRequest, hidePassword, type Attribute } from './packet.js';

export type Probe = { readonly kind: 'status-server' } | { readonly kind: 'access-request'; readonly user: string; readonly password: string };

export interface Exchange {
  readonly address: string;
  readonly port: number;
  readonly secret: string;
  readonly probe: Probe;
  /** Resend after this many ms without an answer. */
  readonly retryMs: number;
}

export interface Answer {
  readonly ok: boolean;
  readonly saw: string;
}

function requestOf(x: Exchange, identifier: number, authenticator: Buffer): Buffer {
  const nas: Attribute = { type: Attr.NasIdentifier, value: Buffer.from('paceline-monitor') };
  if (x.probe.kind === 'status-server') return encodeRequest({ code: Code.StatusServer, identifier, authenticator, secret: x.secret, attributes: [nas] });
  return encodeRequest({
    code: Code.AccessRequest,
    identifier,
    authenticator,
    secret: x.secret,
    attributes: [
      { type: Attr.UserName, value: Buffer.from(x.probe.user, 'utf8') },
      { type: Attr.UserPassword, value: hidePassword(x.probe.password, x.secret, authenticator) },
      nas,
    ],
  });
}

/**
 * Sends the probe and waits for a verified answer. Resolves with what came back (Access-Accept is
 * ok; Access-Reject or a challenge is not); rejects with the socket's error (ECONNREFUSED when
 * nobody listens) or with the signal's reason when it aborts first.
 */
export function exchange(x: Exchange, signal: AbortSignal): Promise<Answer> {
  const identifier = randomInt(256);
  const authenticator = randomBytes(16);
  const packet = requestOf(x, identifier, authenticator);
  const sent = x.probe.kind === 'status-server' ? 'Status-Server' : `Access-Request for "${x.probe.user}"`;
  return new Promise<Answer>((resolve, reject) => {
    const socket = createSocket(isIPv6(x.address) ? 'udp6' : 'udp4');
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (fn: () => void): void => {
      if (done) return;
      done = true;
      if (timer) clearInterval(timer);
      signal.removeEventListener('abort', onAbort);
      socket.close();
      fn();
    };
    const onAbort = (): void => finish(() => reject(signal.reason));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (e) => finish(() => reject(e)));
    socket.on('message', (msg) => {
      if (msg[1] !== identifier) return; // a late answer to someone else's request
      const r = decodeResponse(msg, authenticator, x.secret);
      // The socket is connected: only the server's address and port reach it, so an answer that
      // does not verify is the server's, under another secret.
      if (!r.ok) return finish(() => resolve({ ok: false, saw: `${sent} answered with ${r.problem}` }));
      const said = `${sent} → ${codeName(r.code)}${r.replyMessage ? ` ("${r.replyMessage}")` : ''}`;
      finish(() => resolve({ ok: r.code === Code.AccessAccept, saw: said }));
    });
    socket.connect(x.port, x.address, () => {
      if (done) return; // aborted while connecting: the socket is closed
      const send = (): void => {
        if (!done)
          socket.send(packet, (e) => {
            if (e) finish(() => reject(e));
          });
      };
      send();
      timer = setInterval(send, Math.max(50, x.retryMs));
    });
  });
}
