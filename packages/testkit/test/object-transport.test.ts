import type { TransportInput, WireMessage } from '@paceline/membership';
import { InMemoryNetwork, InMemoryObjectTransport, Prng } from '@paceline/testkit';

const hb = (from: string, to: string, seq: number): WireMessage => ({
  v: 1,
  type: 'heartbeat',
  from,
  to,
  link: 'lan',
  boot: 1,
  seq,
  membershipId: 1,
  members: [from],
  coordinator: from,
  term: 0,
});

test('InMemoryObjectTransport delivers messages as objects, through partitions and loss, until disposed', async () => {
  const net = new InMemoryNetwork<WireMessage>(['lan'], new Prng(1));
  const got: TransportInput[] = [];
  const a = new InMemoryObjectTransport({ network: net, self: 'a', onInput: () => undefined });
  const b = new InMemoryObjectTransport({ network: net, self: 'b', onInput: (i) => got.push(i) });
  a.send({ link: 'lan', to: 'b', message: hb('a', 'b', 1) });
  net.deliver();
  expect(got).toEqual([{ type: 'message', link: 'lan', from: 'a', message: hb('a', 'b', 1) }]);
  net.partition('lan', [['a'], ['b']]);
  a.send({ link: 'lan', to: 'b', message: hb('a', 'b', 2) });
  net.deliver();
  expect(got).toHaveLength(1);
  net.heal();
  net.setLoss('lan', 1);
  a.send({ link: 'lan', to: 'b', message: hb('a', 'b', 3) });
  net.deliver();
  expect(net.stats.get('lan')).toMatchObject({ sent: 3, delivered: 1, lost: 1, blocked: 1 });
  net.setLoss('lan', 0);
  await b.dispose();
  a.send({ link: 'lan', to: 'b', message: hb('a', 'b', 4) });
  net.deliver();
  expect(got).toHaveLength(1);
  expect(net.isAttached('b')).toBe(false);
  await a.dispose();
});

test('InMemoryObjectTransport stamps sentAt from its clock when given one, as the UDP transport does', () => {
  const net = new InMemoryNetwork<WireMessage>(['lan'], new Prng(1));
  const got: TransportInput[] = [];
  const a = new InMemoryObjectTransport({ network: net, self: 'a', onInput: () => undefined, now: () => 1234.7 });
  new InMemoryObjectTransport({ network: net, self: 'b', onInput: (i) => got.push(i) });
  a.send({ link: 'lan', to: 'b', message: hb('a', 'b', 1) });
  net.deliver();
  expect(got).toEqual([{ type: 'message', link: 'lan', from: 'a', message: { ...hb('a', 'b', 1), sentAt: 1234 } }]);
});
