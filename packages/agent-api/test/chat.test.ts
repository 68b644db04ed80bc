/**
 * openLineSession against small servers on loopback: replies split over packets and lines, the
 * socket errors runCheck classifies (refused, no such socket, closed by the server), and abort.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server, type Socket } from 'node:net';
import { ConnectionClosedError, openLineSession, runCheck } from '@paceline/agent-api/daemon';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function serve(onConnection: (sock: Socket) => void): Promise<number> {
  const srv = createServer(onConnection);
  servers.push(srv);
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve((srv.address() as { port: number }).port)));
}

describe('openLineSession', () => {
  it('reads multi-line replies split across packets and sends commands', async () => {
    const port = await serve((sock) => {
      sock.write('220-first\r\n220 sec');
      setTimeout(() => sock.write('ond\r\n'), 20);
      sock.on('data', (d) => {
        if (d.toString().startsWith('EHLO')) sock.write('250-one\r\n250 two\r\n');
      });
    });
    const ac = new AbortController();
    const s = await openLineSession({ host: '127.0.0.1', port }, ac.signal);
    expect(await s.readReply((l) => /^\d{3} /.test(l))).toEqual(['220-first', '220 second']);
    s.send('EHLO me');
    expect(await s.readReply((l) => /^\d{3} /.test(l))).toEqual(['250-one', '250 two']);
    expect(() => s.send('A\r\nB')).toThrow('CR or LF');
    expect(() => s.send('A\nB')).toThrow(expect.objectContaining({ code: 'LINE_SESSION' }));
    const first = s.readReply(() => true);
    await expect(s.readReply(() => true)).rejects.toMatchObject({ code: 'LINE_SESSION', message: expect.stringContaining('one reply at a time') });
    first.catch(() => undefined);
    s.close();
  });

  it('rejects with the socket error code: refused, no such socket', async () => {
    const port = await serve((sock) => sock.destroy());
    await new Promise((r) => servers.pop()!.close(r));
    await expect(openLineSession({ host: '127.0.0.1', port }, new AbortController().signal)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(openLineSession({ path: '/nonexistent/paceline.sock' }, new AbortController().signal)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a server that closes mid-reply is ECLOSED with the last lines, which runCheck calls failed', async () => {
    const port = await serve((sock) => sock.end('* BYE going away\r\n'));
    const v = await runCheck('IMAP test', 2000, new AbortController().signal, async (signal) => {
      const s = await openLineSession({ host: '127.0.0.1', port }, signal);
      try {
        await s.readReply((l) => l.startsWith('a1 '));
        return { ok: true, saw: '' };
      } finally {
        s.close();
      }
    });
    expect(v).toEqual({ verdict: 'failed', saw: 'IMAP test: ECLOSED connection closed by the server after: * BYE going away' });
    expect(new ConnectionClosedError([]).message).toBe('connection closed by the server');
  });

  it('a silent server is a hang; abort rejects a pending read', async () => {
    const port = await serve(() => undefined);
    const v = await runCheck('SMTP test', 150, new AbortController().signal, async (signal) => {
      const s = await openLineSession({ host: '127.0.0.1', port }, signal);
      try {
        await s.readReply(() => true);
        return { ok: true, saw: '' };
      } finally {
        s.close();
      }
    });
    expect(v).toEqual({ verdict: 'hung', saw: 'SMTP test: no answer within 150 ms' });
    const ac = new AbortController();
    const s = await openLineSession({ host: '127.0.0.1', port }, ac.signal);
    const pending = s.readReply(() => true);
    ac.abort(new Error('cancelled by test'));
    await expect(pending).rejects.toThrow('cancelled by test');
    s.close();
  });
});
