import { createSocket, type Socket } from 'node:dgram';
import { MembershipError, decodeArbiterRequest, encodeArbiter, type ArbiterClaim, type ArbiterReply, type ArbiterRequest } from '@paceline/membership';
import { ArbiterClient, TransportError, WitnessServer, type WitnessEvent } from '@paceline/runtime';

const key = Buffer.alloc(32, 7);
const NODES = ['serv1', 'serv2'];
const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A server whose lease clock the test moves; it starts past its startup hold unless told otherwise. */
async function server(extra: { cluster?: string; hold?: boolean } = {}) {
  const clock = { mono: 0 };
  const events: WitnessEvent[] = [];
  const s = await WitnessServer.open({
    listen: '127.0.0.1:0',
    key,
    nodes: NODES,
    monotonic: () => clock.mono,
    onEvent: (e) => events.push(e),
    ...(extra.cluster !== undefined ? { cluster: extra.cluster } : {}),
  });
  if (!extra.hold) clock.mono = s.config.startupHoldMs;
  const a = s.address();
  return { s, clock, events, address: `${a.host}:${a.port}` };
}

/** One request per claim by default (a slow machine's late answer would otherwise meet a retry and count twice). */
const client = (self: string, address: string, extra: Partial<Parameters<typeof ArbiterClient.open>[0]> = {}) =>
  ArbiterClient.open({ self, boot: 100, address, key, timeoutMs: 1000, tries: 1, ...extra });

/** A raw UDP socket standing in for a client or a witness. */
async function raw(): Promise<{ socket: Socket; port: number; received: Buffer[]; next: () => Promise<Buffer> }> {
  const socket = createSocket('udp4');
  const received: Buffer[] = [];
  const waiters: ((b: Buffer) => void)[] = [];
  socket.on('message', (m) => {
    const w = waiters.shift();
    if (w) w(m);
    else received.push(m);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return {
    socket,
    port: socket.address().port,
    received,
    next: () =>
      new Promise<Buffer>((resolve, reject) => {
        const b = received.shift();
        if (b) return resolve(b);
        const t = setTimeout(() => reject(new Error('no datagram within 2 s')), 2000);
        waiters.push((m) => {
          clearTimeout(t);
          resolve(m);
        });
      }),
  };
}
const closeRaw = (s: Socket): Promise<void> => new Promise((r) => s.close(() => r()));

describe('witness server and client on loopback', () => {
  it('grants one node, refuses the other naming the holder, frees the vote on release', async () => {
    const { s, events, address } = await server();
    const c1 = await client('serv1', address);
    const c2 = await client('serv2', address, { boot: 200 });
    try {
      const g = await c1.claim(['serv2']);
      expect(g).toMatchObject({ vote: 'granted', holder: 'serv1' });
      expect(g.vote === 'granted' && g.leaseMs <= 3000 && g.leaseMs > 2500).toBe(true);
      expect(await c2.claim(['serv1'])).toEqual({ vote: 'refused', holder: 'serv1', leaseMs: 3000 });
      expect(s.holder()).toEqual({ node: 'serv1', boot: 100, remainingMs: 3000 });
      expect(await c1.claim(['serv2'])).toMatchObject({ vote: 'granted' });
      await c1.release();
      expect(s.holder()).toBeUndefined();
      expect(await c2.claim(['serv1'])).toMatchObject({ vote: 'granted', holder: 'serv2' });
      expect(s.stats()).toMatchObject({ granted: 3, renewals: 1, refused: 1, released: 1, unavailable: 0 });
      expect(c1.stats()).toMatchObject({ claims: 2, granted: 2, releases: 1, released: 1 });
      expect(c2.stats()).toMatchObject({ claims: 2, granted: 1, refused: 1 });
      expect(events.map((e) => e.type)).toEqual(['granted', 'refused', 'granted', 'released', 'granted']);
      expect(events[0]).toMatchObject({ node: 'serv1', boot: 100, lost: ['serv2'], from: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    } finally {
      await Promise.all([c1.dispose(), c2.dispose(), s.dispose()]);
    }
  });

  it('grants nothing during the startup hold: the client reports the witness unreachable, saying why', async () => {
    const { s, clock, address } = await server({ hold: true });
    const c = await client('serv1', address);
    try {
      clock.mono = 1000;
      const a = await c.claim(['serv2']);
      expect(a).toMatchObject({ vote: 'unreachable', detail: expect.stringContaining('grants nothing for another 6000 ms') });
      clock.mono = 7000;
      expect(await c.claim(['serv2'])).toMatchObject({ vote: 'granted' });
    } finally {
      await Promise.all([c.dispose(), s.dispose()]);
    }
  });

  it('counts a newer incarnation of the holder as the holder, and sequence numbers start again', async () => {
    const { s, address } = await server();
    let boot = 100;
    const c = await client('serv1', address, { boot: () => boot });
    const other = await client('serv2', address, { boot: 5 });
    try {
      expect(await c.claim(['serv2'])).toMatchObject({ vote: 'granted' });
      boot = 101;
      expect(await c.claim(['serv2'])).toMatchObject({ vote: 'granted' });
      expect(await other.claim(['serv1'])).toMatchObject({ vote: 'refused', holder: 'serv1' });
      expect(s.holder()).toMatchObject({ node: 'serv1', boot: 101 });
    } finally {
      await Promise.all([c.dispose(), other.dispose(), s.dispose()]);
    }
  });

  it("drops a replayed, a forged, a stale and an unknown node's request without answering", async () => {
    const { s, events, address } = await server();
    const r = await raw();
    const port = s.address().port;
    const send = (b: Buffer): void => r.socket.send(b, port, '127.0.0.1');
    try {
      const claim: ArbiterClaim = { v: 1, type: 'claim', node: 'serv1', boot: 1, seq: 1, sentAt: Date.now(), nonce: 'ab'.repeat(16), lost: ['serv2'] };
      const packet = encodeArbiter(claim, key);
      send(packet);
      const reply = await r.next();
      expect(reply.length).toBeGreaterThan(0);
      send(packet); // the same datagram again
      send(encodeArbiter({ ...claim, seq: 2 }, Buffer.alloc(32, 8)));
      send(encodeArbiter({ ...claim, seq: 3, sentAt: Date.now() - 60_000 }, key));
      send(encodeArbiter({ ...claim, node: 'mallory' }, key));
      send(Buffer.from('hello'));
      const until = Date.now() + 2000;
      while (s.stats().received < 6 && Date.now() < until) await wait(5);
      await wait(20);
      expect(r.received).toEqual([]);
      expect(s.stats()).toMatchObject({
        received: 6,
        granted: 1,
        dropped: expect.objectContaining({ replayed: 1, forged: 1, stale: 1, 'unknown-node': 1, truncated: 1 }),
      });
      expect(
        events
          .filter((e) => e.type === 'dropped')
          .map((e) => e.reason)
          .sort(),
      ).toEqual(['forged', 'replayed', 'stale', 'truncated', 'unknown-node']);
      expect(address).toContain(':');
    } finally {
      await Promise.all([closeRaw(r.socket), s.dispose()]);
    }
  });

  it('drops requests for another cluster', async () => {
    const { s, address } = await server({ cluster: 'web' });
    const c = await client('serv1', address, { cluster: 'db', timeoutMs: 60, tries: 3 });
    try {
      expect(await c.claim(['serv2'])).toMatchObject({ vote: 'unreachable', detail: expect.stringContaining('no answer') });
      const until = Date.now() + 2000;
      while (s.stats().dropped['wrong-cluster'] < 3 && Date.now() < until) await wait(5);
      expect(s.stats()).toMatchObject({ received: 3, granted: 0, dropped: expect.objectContaining({ 'wrong-cluster': 3 }) });
    } finally {
      await Promise.all([c.dispose(), s.dispose()]);
    }
  });
});

describe('ArbiterClient against a scripted witness', () => {
  /** A fake witness: `answer` decides, per request, what (if anything) to send back. */
  async function fake(answer: (req: ArbiterRequest, n: number) => (ArbiterReply | Buffer)[]) {
    const w = await raw();
    const requests: ArbiterRequest[] = [];
    w.socket.removeAllListeners('message');
    w.socket.on('message', (m, rinfo) => {
      const d = decodeArbiterRequest(m, key);
      if (d.ok === undefined) return;
      requests.push(d.ok);
      for (const out of answer(d.ok, requests.length)) w.socket.send(Buffer.isBuffer(out) ? out : encodeArbiter(out, key), rinfo.port, rinfo.address);
    });
    return { w, requests, address: `127.0.0.1:${w.port}` };
  }
  const granted = (req: ArbiterRequest, over: Partial<ArbiterReply> = {}): ArbiterReply =>
    ({ v: 1, type: 'reply', node: req.node, boot: req.boot, nonce: req.nonce, vote: 'granted', leaseMs: 3000, ...over }) as ArbiterReply;

  it('retries within its timeout with new sequence numbers and one nonce, and takes the first valid answer', async () => {
    const { w, requests, address } = await fake((req, n) => (n < 3 ? [] : [granted(req)]));
    const c = await client('serv1', address, { timeoutMs: 150, tries: 3 });
    try {
      const t0 = performance.now();
      expect(await c.claim(['serv2'])).toMatchObject({ vote: 'granted' });
      expect(performance.now() - t0).toBeGreaterThanOrEqual(90);
      expect(requests.map((r) => r.seq)).toEqual([1, 2, 3]);
      expect(new Set(requests.map((r) => r.nonce)).size).toBe(1);
      expect(requests[0]).toMatchObject({ type: 'claim', node: 'serv1', boot: 100, lost: ['serv2'] });
      await c.claim(['serv2']);
      expect(requests[3]?.seq).toBe(4);
      expect(requests[3]?.nonce).not.toBe(requests[0]?.nonce);
    } finally {
      await Promise.all([c.dispose(), closeRaw(w.socket)]);
    }
  });

  it('ignores forged replies and replies to another nonce, node or incarnation', async () => {
    const { w, address } = await fake((req) => [
      encodeArbiter(granted(req), Buffer.alloc(32, 9)),
      granted(req, { nonce: 'cd'.repeat(16) }),
      granted(req, { node: 'serv2' }),
      granted(req, { boot: req.boot + 1 }),
      { v: 1, type: 'reply', node: req.node, boot: req.boot, nonce: req.nonce, vote: 'refused', holder: 'serv2', holderBoot: 9, leaseMs: 1234 },
    ]);
    const c = await client('serv1', address);
    try {
      expect(await c.claim(['serv2'])).toEqual({ vote: 'refused', holder: 'serv2', leaseMs: 1234 });
      await wait(20);
      expect(c.stats().dropped).toMatchObject({ forged: 1, unmatched: 3 });
    } finally {
      await Promise.all([c.dispose(), closeRaw(w.socket)]);
    }
  });

  it('counts the lease from its first request, not from the answer', async () => {
    const { w, address } = await fake((req, n) => (n < 2 ? [] : [granted(req, { leaseMs: 1000 })]));
    const c = await client('serv1', address, { timeoutMs: 200, tries: 2 });
    try {
      const a = await c.claim(['serv2']);
      expect(a.vote).toBe('granted');
      expect(a.vote === 'granted' && a.leaseMs <= 900).toBe(true);
    } finally {
      await Promise.all([c.dispose(), closeRaw(w.socket)]);
    }
  });

  it('is unreachable, within its timeout, when nothing answers or the port is closed', async () => {
    const closed = await raw();
    const port = closed.port;
    await closeRaw(closed.socket);
    const c = await client('serv1', `127.0.0.1:${port}`, { timeoutMs: 150, tries: 3 });
    try {
      const t0 = performance.now();
      const a = await c.claim(['serv2']);
      const took = performance.now() - t0;
      expect(a).toMatchObject({
        vote: 'unreachable',
        detail: expect.stringMatching(/no answer from the witness at 127\.0\.0\.1:\d+ within 150 ms \(3 tries\); the witness's port is closed/),
      });
      expect(took).toBeGreaterThanOrEqual(145);
      expect(took).toBeLessThan(1000);
      await c.release(); // best effort: resolves, never throws
    } finally {
      await c.dispose();
    }
  });

  it('answers unreachable when aborted, when closed under way and after dispose', async () => {
    const { w, address } = await fake(() => []);
    const c = await client('serv1', address, { timeoutMs: 5000 });
    try {
      const ac = new AbortController();
      const p = c.claim(['serv2'], ac.signal);
      ac.abort();
      expect(await p).toEqual({ vote: 'unreachable', detail: 'the claim was aborted' });
      const q = c.claim(['serv2']);
      await wait(10);
      await c.dispose();
      expect(await q).toEqual({ vote: 'unreachable', detail: 'the witness client is closed' });
      expect(await c.claim(['serv2'])).toEqual({ vote: 'unreachable', detail: 'the witness client is closed' });
      await c.release();
    } finally {
      await Promise.all([c.dispose(), closeRaw(w.socket)]);
    }
  });

  it('refuses a bad address or key with a clear error; a name that does not resolve is unreachable, not fatal', async () => {
    await expect(ArbiterClient.open({ self: 'serv1', boot: 1, address: 'a:b:c', key })).rejects.toThrow(TransportError);
    await expect(ArbiterClient.open({ self: 'serv1', boot: 1, address: '127.0.0.1:70000', key })).rejects.toThrow(/port 70000 is out of range/);
    await expect(ArbiterClient.open({ self: 'serv1', boot: 1, address: '127.0.0.1:9', key: Buffer.alloc(4) })).rejects.toThrow(MembershipError);
    await expect(WitnessServer.open({ listen: 'x:y:z', key, nodes: NODES })).rejects.toThrow(TransportError);
    await expect(WitnessServer.open({ listen: '127.0.0.1:0', key, nodes: ['a', 'a'] })).rejects.toThrow(/listed twice/);
    await expect(WitnessServer.open({ listen: '192.0.2.77:0', key, nodes: NODES })).rejects.toThrow(/cannot listen for witness requests on 192\.0\.2\.77:0/);
    const c = await client('serv1', 'witness.invalid:5430', { timeoutMs: 100 });
    try {
      expect(await c.claim(['serv2'])).toMatchObject({
        vote: 'unreachable',
        detail: expect.stringContaining('no answer from the witness at witness.invalid:5430 within 100 ms'),
      });
    } finally {
      await c.dispose();
    }
  });
});
