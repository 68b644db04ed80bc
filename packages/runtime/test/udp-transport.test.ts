import { createSocket } from 'node:dgram';
import { encode, initialState, step, type MembershipState, type TransportInput } from '@paceline/membership';
import { UdpTransport, parseEndpoint, TransportError } from '@paceline/runtime';

const key = Buffer.alloc(32, 9);
const LINKS = ['crossover', 'lan'];
const nodes = [
  { name: 'serv1', addresses: { crossover: '127.0.0.1:0', lan: '127.0.0.1:0' } },
  { name: 'serv2', addresses: { crossover: '127.0.0.1:0', lan: '127.0.0.1:0' } },
];
const membership = (self: string): MembershipState =>
  initialState({ self, nodes: nodes.map((n) => ({ name: n.name, links: LINKS })), twoNode: true }, { boot: 1 });

/** A node: a transport plus its membership state, fed by the transport. */
class Node {
  state: MembershipState;
  inputs: TransportInput[] = [];
  transport!: UdpTransport;
  private waiters: (() => void)[] = [];

  constructor(readonly name: string) {
    this.state = membership(name);
  }

  async open(): Promise<void> {
    this.transport = await UdpTransport.open({
      self: this.name,
      nodes,
      key,
      onInput: (input) => {
        this.inputs.push(input);
        this.state = step(this.state, input).state;
        for (const w of this.waiters.splice(0)) w();
      },
    });
  }

  tick(): void {
    const r = step(this.state, { type: 'tick' });
    this.state = r.state;
    for (const o of r.outbox) this.transport.send(o);
  }

  async waitFor(pred: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50).unref();
      });
    }
  }
}

describe('UDP transport on loopback', () => {
  const a = new Node('serv1');
  const b = new Node('serv2');

  beforeAll(async () => {
    await a.open();
    await b.open();
    for (const link of LINKS) {
      a.transport.setEndpoint('serv2', link, b.transport.localEndpoint(link));
      b.transport.setEndpoint('serv1', link, a.transport.localEndpoint(link));
    }
  });
  afterAll(async () => {
    await a.transport.dispose();
    await b.transport.dispose();
  });

  it('exchanges signed heartbeats on both links and forms a membership', async () => {
    a.tick();
    b.tick();
    await b.waitFor(() => b.inputs.filter((i) => i.type === 'message').length >= 2, 'two heartbeats at serv2');
    await a.waitFor(() => a.inputs.filter((i) => i.type === 'message').length >= 2, 'two heartbeats at serv1');
    expect(b.state.members).toEqual(['serv1', 'serv2']);
    expect(Object.values(b.state.peers['serv1']?.links ?? {}).map((l) => l.up)).toEqual([true, true]);
    a.tick();
    b.tick();
    await a.waitFor(() => a.state.quorate, 'quorum at serv1');
    await b.waitFor(() => b.state.quorate, 'quorum at serv2');
    await a.waitFor(() => a.transport.stats().received === 4, 'all four heartbeats at serv1');
    await b.waitFor(() => b.transport.stats().received === 4, 'all four heartbeats at serv2');
    expect(a.transport.stats()).toMatchObject({ sent: 4, sendErrors: 0, received: 4 });
    const m = b.inputs.find((i) => i.type === 'message');
    expect(m).toMatchObject({ from: expect.stringMatching(/^127\.0\.0\.1:\d+$/), message: { from: 'serv1', sentAt: expect.any(Number) } });
  });

  it('drops and counts forged and garbage packets from a raw socket, without changing membership', async () => {
    const raw = createSocket('udp4');
    const before = b.state;
    const target = b.transport.localEndpoint('lan');
    const send = (buf: Buffer): Promise<void> =>
      new Promise((resolve, reject) => raw.send(buf, target.port, target.host, (err) => (err ? reject(err) : resolve())));
    const forged = encode(
      {
        v: 1,
        type: 'heartbeat',
        from: 'serv1',
        to: 'serv2',
        link: 'lan',
        boot: 99,
        seq: 1,
        membershipId: 50,
        members: ['serv1'],
        coordinator: 'serv1',
        term: 9,
      },
      Buffer.alloc(32, 1),
    );
    await send(forged);
    await send(Buffer.from('hello'));
    await send(Buffer.alloc(20_000, 0));
    await b.waitFor(() => b.transport.stats().dropped.forged === 1 && b.transport.stats().dropped.truncated === 1, 'drops at serv2');
    await b.waitFor(() => b.transport.stats().dropped.malformed === 1, 'the garbage packet');
    raw.close();
    expect(b.state.drops).toMatchObject({ forged: 1, truncated: 1, malformed: 1 });
    expect(b.state.members).toEqual(before.members);
    expect(b.state.peers['serv1']?.replay).toEqual(before.peers['serv1']?.replay);
    expect(b.inputs.filter((i) => i.type === 'dropped').map((i) => i.type === 'dropped' && i.reason)).toEqual(['forged', 'truncated', 'malformed']);
  });

  it('rejects a replayed genuine packet', async () => {
    const raw = createSocket('udp4');
    const target = b.transport.localEndpoint('crossover');
    // Re-send what serv1 sent: sign it as serv1 would, with a sequence number already seen.
    const seen = b.state.peers['serv1']?.replay;
    const replay = encode(
      {
        v: 1,
        type: 'heartbeat',
        from: 'serv1',
        to: 'serv2',
        link: 'crossover',
        boot: seen?.boot ?? 1,
        seq: seen?.highest ?? 1,
        sentAt: Date.now(),
        membershipId: 2,
        members: ['serv1', 'serv2'],
        coordinator: 'serv1',
        term: 0,
      },
      key,
    );
    await new Promise<void>((resolve) => raw.send(replay, target.port, target.host, () => resolve()));
    await b.waitFor(() => b.state.drops.replayed === 1, 'the replay to be rejected');
    raw.close();
  });

  it('stops delivering after dispose, and dispose is idempotent', async () => {
    const udp = (): number => process.getActiveResourcesInfo().filter((r) => r === 'UDPWRAP').length;
    const before = udp();
    const c = await UdpTransport.open({
      self: 'serv1',
      nodes,
      key,
      onInput: () => {
        throw new Error('no input expected');
      },
    });
    const ep = c.localEndpoint('lan');
    await c.dispose();
    await c.dispose();
    c.send({ link: 'lan', to: 'serv2', message: { v: 1, type: 'leave', from: 'serv1', to: 'serv2', link: 'lan', boot: 1, seq: 1 } });
    expect(c.stats().sent).toBe(0);
    // The port is free again.
    const again = await UdpTransport.open({
      self: 'serv1',
      nodes: [{ name: 'serv1', addresses: { lan: `127.0.0.1:${ep.port}` } }],
      key,
      onInput: () => undefined,
    });
    await again.dispose();
    expect(udp()).toBe(before);
  });

  it('reports a peer whose port is closed (ICMP port unreachable) as unreachable on each link', async () => {
    const got: TransportInput[] = [];
    const c = await UdpTransport.open({ self: 'serv1', nodes, key, onInput: (i) => got.push(i) });
    const d = await UdpTransport.open({ self: 'serv2', nodes, key, onInput: () => undefined });
    try {
      for (const link of LINKS) c.setEndpoint('serv2', link, d.localEndpoint(link));
      await d.dispose(); // serv2's daemon is gone; its host (loopback) still answers
      const heartbeat = (link: string, seq: number) => ({
        link,
        to: 'serv2',
        message: {
          v: 1 as const,
          type: 'heartbeat' as const,
          from: 'serv1',
          to: 'serv2',
          link,
          boot: 1,
          seq,
          membershipId: 1,
          members: ['serv1'],
          coordinator: 'serv1',
          term: 0,
        },
      });
      for (let seq = 1; seq <= 50 && new Set(got.map((i) => i.type === 'unreachable' && i.link)).size < 2; seq++) {
        for (const link of LINKS) c.send(heartbeat(link, seq));
        await new Promise((r) => setTimeout(r, 20));
      }
      const refused = got.filter((i) => i.type === 'unreachable');
      expect([...new Set(refused.map((i) => `${i.type === 'unreachable' ? i.node : ''}@${i.link}`))].sort()).toEqual(['serv2@crossover', 'serv2@lan']);
      expect(c.stats().refused).toBe(refused.length);
      expect(c.stats().sendErrors).toBe(0);
    } finally {
      await c.dispose();
      await d.dispose();
    }
  });

  it('fails to open with an error naming the link and address', async () => {
    const bad = [{ name: 'serv1', addresses: { lan: '192.0.2.77:0' } }];
    await expect(UdpTransport.open({ self: 'serv1', nodes: bad, key, onInput: () => undefined })).rejects.toThrow(
      /cannot bind the lan heartbeat socket to 192\.0\.2\.77:0/,
    );
    await expect(UdpTransport.open({ self: 'serv9', nodes, key, onInput: () => undefined })).rejects.toThrow(TransportError);
  });

  it.each([
    ['10.0.0.1', { host: '10.0.0.1', port: 5420 }],
    ['10.0.0.1:7000', { host: '10.0.0.1', port: 7000 }],
    ['fe80::1', { host: 'fe80::1', port: 5420 }],
    ['[fe80::1]:7000', { host: 'fe80::1', port: 7000 }],
  ])('parses the endpoint %s', (text, expected) => expect(parseEndpoint(text, 5420)).toEqual(expected));
});
