import { InMemoryNetwork, Prng } from '@paceline/testkit';

function net(seed = 1): { n: InMemoryNetwork<string>; got: string[] } {
  const n = new InMemoryNetwork<string>(['lan', 'crossover'], new Prng(seed));
  const got: string[] = [];
  for (const node of ['a', 'b', 'c']) n.attach(node, (link, from, p) => got.push(`${link}:${from}->${node}:${p}`));
  return { n, got };
}

describe('InMemoryNetwork', () => {
  it('delivers in send order, after the link delay', () => {
    const { n, got } = net();
    n.setDelay('lan', 2);
    n.send('lan', 'a', 'b', '1');
    n.send('crossover', 'a', 'b', '2');
    n.deliver();
    expect(got).toEqual(['crossover:a->b:2']);
    n.setTick(1);
    n.deliver();
    expect(got).toHaveLength(1);
    n.setTick(2);
    n.deliver();
    expect(got).toEqual(['crossover:a->b:2', 'lan:a->b:1']);
  });

  it('partitions one link between groups and heals', () => {
    const { n, got } = net();
    n.partition('lan', [['a'], ['b', 'c']]);
    n.send('lan', 'a', 'b', 'x');
    n.send('lan', 'b', 'c', 'y');
    n.send('crossover', 'a', 'b', 'z');
    n.deliver();
    expect(got).toEqual(['lan:b->c:y', 'crossover:a->b:z']);
    expect(n.stats.get('lan')).toMatchObject({ sent: 2, delivered: 1, blocked: 1 });
    n.heal('lan');
    n.send('lan', 'a', 'b', 'w');
    n.deliver();
    expect(got).toContain('lan:a->b:w');
  });

  it('loses packets with the configured probability, reproducibly', () => {
    const count = (seed: number): number => {
      const { n, got } = net(seed);
      n.setLoss('lan', 0.2);
      for (let i = 0; i < 10_000; i++) n.send('lan', 'a', 'b', String(i));
      n.deliver();
      return got.length;
    };
    expect(count(5)).toBe(count(5));
    expect(Math.abs(count(5) - 8000)).toBeLessThan(250);
  });

  it('drops packets to detached nodes and rejects unknown links and bad settings', () => {
    const { n, got } = net();
    n.detach('b');
    n.send('lan', 'a', 'b', 'x');
    n.deliver();
    expect(got).toEqual([]);
    expect(() => n.send('wifi', 'a', 'b', 'x')).toThrow(/unknown link "wifi"/);
    expect(() => n.setLoss('lan', 2)).toThrow(RangeError);
    expect(() => n.setDelay('lan', 1.5)).toThrow(RangeError);
  });

  it('jitter delays packets by up to N extra ticks, reorders them, reproducibly; no jitter draws nothing', () => {
    const arrivals = (seed: number): string[] => {
      const { n, got } = net(seed);
      n.setJitter('lan', 3);
      for (let i = 0; i < 20; i++) n.send('lan', 'a', 'b', String(i));
      for (let t = 0; t <= 3; t++) {
        n.setTick(t);
        n.deliver();
      }
      return got;
    };
    const got = arrivals(9);
    expect(got).toHaveLength(20);
    expect(got).not.toEqual(Array.from({ length: 20 }, (_x, i) => `lan:a->b:${i}`));
    expect(arrivals(9)).toEqual(got);
    // Jitter 0 takes no random draw: the loss pattern is the same as without any jitter setting.
    const lossPattern = (jitter: boolean): string[] => {
      const { n, got: g } = net(4);
      if (jitter) n.setJitter('lan', 0);
      n.setLoss('lan', 0.5);
      for (let i = 0; i < 50; i++) n.send('lan', 'a', 'b', String(i));
      n.deliver();
      return g;
    };
    expect(lossPattern(true)).toEqual(lossPattern(false));
    expect(() => n0().setJitter('lan', -1)).toThrow(RangeError);
  });
});

function n0(): InMemoryNetwork<string> {
  return new InMemoryNetwork<string>(['lan'], new Prng(1));
}
