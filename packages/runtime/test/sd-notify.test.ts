/**
 * sd_notify without systemd: a unix datagram socket stands in for systemd's NOTIFY_SOCKET and
 * receives what the notifier sends — directly (unix-dgram) and through the systemd-notify program.
 */
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemdNotifier } from '@paceline/runtime';

interface Sock {
  bind(p: string): void;
  close(): void;
}
const dgram = createRequire(import.meta.url)('unix-dgram') as { createSocket(t: 'unix_dgram', cb: (b: Buffer) => void): Sock };
const dir = mkdtempSync(join(tmpdir(), `paceline-sdnotify-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function listen(name: string): { path: string; got: string[]; close: () => void } {
  const path = join(dir, name);
  const got: string[] = [];
  const s = dgram.createSocket('unix_dgram', (b) => got.push(b.toString()));
  s.bind(path);
  return { path, got, close: () => s.close() };
}

const until = async (f: () => boolean, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('no NOTIFY_SOCKET: not under systemd, nothing to do', () => {
  expect(systemdNotifier({ env: {} })).toBeUndefined();
});

test('READY, STATUS and WATCHDOG go straight to the socket; the watchdog interval is half WATCHDOG_USEC', async () => {
  const sock = listen('direct.sock');
  const n = systemdNotifier({ env: { NOTIFY_SOCKET: sock.path, WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, pid: 42 })!;
  expect(n.via).toBe('socket');
  expect(n.watchdogIntervalMs).toBe(15_000);
  expect(await n.notify({ READY: 1, STATUS: 'coordinator,\nquorate' })).toBe(true);
  expect(await n.notify({ WATCHDOG: 1 })).toBe(true);
  await until(() => sock.got.length === 2);
  expect(sock.got).toEqual(['READY=1\nSTATUS=coordinator, quorate', 'WATCHDOG=1']);
  n.dispose();
  sock.close();
  // The watchdog is another process's (WATCHDOG_PID): no pings from this one.
  const other = systemdNotifier({ env: { NOTIFY_SOCKET: sock.path, WATCHDOG_USEC: '30000000', WATCHDOG_PID: '1' }, pid: 42 })!;
  expect(other.watchdogIntervalMs).toBeUndefined();
  other.dispose(); // its socket would keep the test process alive
});

const maybe = existsSync('/usr/bin/systemd-notify') || existsSync('/bin/systemd-notify') ? test : test.skip;
maybe('the systemd-notify program as the fallback (it names this process as the main one)', async () => {
  const sock = listen('program.sock');
  const n = systemdNotifier({ env: { ...process.env, NOTIFY_SOCKET: sock.path }, forceProgram: true, pid: 4242 })!;
  expect(n.via).toBe('systemd-notify');
  expect(await n.notify({ READY: 1, STATUS: 'up' })).toBe(true);
  await until(() => sock.got.length >= 1);
  expect(sock.got[0]).toMatch(/^MAINPID=4242\nREADY=1\nSTATUS=up/);
  sock.close();
});
