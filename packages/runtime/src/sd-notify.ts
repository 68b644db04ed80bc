/**
 * systemd's readiness protocol (sd_notify): when systemd starts a `Type=notify` service it sets
 * NOTIFY_SOCKET, a unix datagram socket to which the service sends `READY=1`, `STATUS=…`,
 * `STOPPING=1` and — when the unit has `WatchdogSec=` (WATCHDOG_USEC in the environment) —
 * `WATCHDOG=1` pings. Node.js has no unix datagram sockets, so this uses `unix-dgram` (a small,
 * widely used native addon, an optional dependency); where it could not be built, it falls back to
 * the `systemd-notify` program (which then needs `NotifyAccess=all` in the unit).
 */
import { createRequire } from 'node:module';
import { execFile } from 'node:child_process';

interface DgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, cb?: (err?: Error) => void): void;
  on(event: 'error', fn: (e: Error) => void): void;
  close(): void;
}
interface UnixDgram {
  createSocket(type: 'unix_dgram'): DgramSocket;
}

/** The unix-dgram addon, or undefined when it is not installed or not built for this machine. */
function loadUnixDgram(): UnixDgram | undefined {
  try {
    return createRequire(import.meta.url)('unix-dgram') as UnixDgram;
  } catch {
    return undefined;
  }
}

export interface SystemdNotifier {
  /** How the messages go: `socket` (directly) or `systemd-notify` (the program). */
  readonly via: 'socket' | 'systemd-notify';
  /** Ping every this many ms (half the watchdog timeout), or undefined when the unit has no watchdog. */
  readonly watchdogIntervalMs: number | undefined;
  /** Sends `KEY=VALUE` lines; resolves false (never throws) when they could not be sent. */
  notify(lines: Readonly<Record<string, string | number>>): Promise<boolean>;
  dispose(): void;
}

export interface NotifierOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly pid?: number;
  /** Use the systemd-notify program even when the socket could be written directly. */
  readonly forceProgram?: boolean;
}

/** A notifier when this process was started by systemd as a notify service (NOTIFY_SOCKET set), else undefined. */
export function systemdNotifier(o: NotifierOptions = {}): SystemdNotifier | undefined {
  const env = o.env ?? process.env;
  const pid = o.pid ?? process.pid;
  const path = env['NOTIFY_SOCKET'];
  if (path === undefined || path === '') return undefined;
  const usec = Number(env['WATCHDOG_USEC']);
  const forPid = env['WATCHDOG_PID'] === undefined || Number(env['WATCHDOG_PID']) === pid;
  const watchdogIntervalMs = Number.isFinite(usec) && usec > 0 && forPid ? Math.max(1, Math.floor(usec / 2000)) : undefined;
  const text = (lines: Readonly<Record<string, string | number>>): string =>
    Object.entries(lines)
      .map(([k, v]) => `${k}=${String(v).replace(/\n/g, ' ')}`)
      .join('\n');

  // An abstract socket ("@name") is not reachable through unix-dgram's path API: use the program.
  const dgram = o.forceProgram || path.startsWith('@') ? undefined : loadUnixDgram();
  if (dgram !== undefined) {
    const socket = dgram.createSocket('unix_dgram');
    socket.on('error', () => undefined); // reported through notify()'s result
    return {
      via: 'socket',
      watchdogIntervalMs,
      notify: (lines) =>
        new Promise((resolve) => {
          const buf = Buffer.from(text(lines));
          try {
            socket.send(buf, 0, buf.length, path, (err) => resolve(err === undefined || err === null));
          } catch {
            resolve(false);
          }
        }),
      dispose: () => socket.close(),
    };
  }
  return {
    via: 'systemd-notify',
    watchdogIntervalMs,
    notify: (lines) =>
      new Promise((resolve) => {
        const args = [`--pid=${pid}`, ...Object.entries(lines).map(([k, v]) => `${k}=${String(v).replace(/\n/g, ' ')}`)];
        // systemd-notify waits (a "barrier") until systemd has read the message, so that it is
        // still alive to be attributed to this service; a receiver that is not systemd cannot
        // answer that wait, but has the message.
        execFile('systemd-notify', args, { env: { ...env, NOTIFY_SOCKET: path }, timeout: 5000 }, (err, _out, stderr) =>
          resolve(err === null || /barrier/i.test(String(stderr))),
        );
      }),
    dispose: () => undefined,
  };
}
