/**
 * The ip agent and link state, without root: the agent runs against a small in-memory model of one
 * interface (administrative state, carrier, operational state, addresses) behind the injected
 * command runner, with a stepping clock. Every command the agent runs is recorded, so the tests
 * can say what it did not do (it never sets a link up unless `bringLinkUp`).
 */
import { describe, expect, it } from '@jest/globals';
import { BackgroundTaskSet, invokeAgent, silentLogger, validateParams } from '@paceline/agent-api';
import { SimulatedClock } from '@paceline/testkit';
import type { ActionResult, AgentContext, Clock, CommandResult, CommandRunner } from '@paceline/agent-api';
import { ipAgent, linkState } from '@paceline/agent-ip';
import type { IpParams, LinkInfo } from '@paceline/agent-ip';

const IF = 'lan0';
const VIP = '192.0.2.10';

/** Time moves only when the agent sleeps. */
class SteppingClock implements Clock {
  constructor(public time = 1_000_000) {}
  now(): number {
    return this.time;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(new Error('aborted'));
    this.time += ms;
    return Promise.resolve();
  }
}

interface Addr {
  readonly family: 'inet' | 'inet6';
  readonly local: string;
  readonly prefixlen: number;
}

/**
 * One interface as the kernel shows it through `ip -j addr show`. `cable` is the carrier the
 * interface has while administratively up; `carrierDelayMs` is how long after `ip link set up`
 * the carrier appears (autonegotiation); `operstate` overrides the operational state of an up
 * link with carrier (e.g. DORMANT).
 */
class FakeLink implements CommandRunner {
  readonly calls: string[] = [];
  adminUp = true;
  cable = true;
  carrierDelayMs = 0;
  operstate: string | undefined;
  addrs: Addr[] = [];
  private upAt = 0;

  constructor(private readonly clock: Clock) {}

  private carrier(): boolean {
    return this.adminUp && this.cable && this.clock.now() >= this.upAt + this.carrierDelayMs;
  }

  info(): LinkInfo {
    const carrier = this.carrier();
    const flags = ['BROADCAST', 'MULTICAST', ...(this.adminUp ? ['UP'] : []), ...(carrier ? ['LOWER_UP'] : this.adminUp ? ['NO-CARRIER'] : [])];
    const operstate = !this.adminUp ? 'DOWN' : !carrier ? 'LOWERLAYERDOWN' : (this.operstate ?? 'UP');
    return { ifname: IF, flags, operstate, addr_info: this.addrs.map((a) => ({ ...a, scope: 'global' })) } as LinkInfo;
  }

  run(file: string, args: readonly string[]): Promise<CommandResult> {
    this.calls.push([file, ...args].join(' '));
    const done = (exitCode: number, stdout = '', stderr = ''): Promise<CommandResult> =>
      Promise.resolve({ exitCode, stdout, stderr, timedOut: false, notFound: false });
    const a = args.join(' ');
    if (file === 'arping' || file === 'sysctl') return done(0);
    if (file !== 'ip') throw new Error(`unexpected command ${file} ${a}`);
    if (a === `-j addr show dev ${IF}`) return done(0, JSON.stringify([this.info()]));
    if (a === `link set dev ${IF} up`) {
      if (!this.adminUp) this.upAt = this.clock.now();
      this.adminUp = true;
      return done(0);
    }
    const add = /^-(4|6) addr add (\S+)\/(\d+) (?:broadcast \+ )?dev (\S+)/.exec(a);
    if (add && add[4] === IF) {
      if (this.addrs.some((x) => x.local === add[2])) return done(2, '', 'RTNETLINK answers: File exists');
      this.addrs.push({ family: add[1] === '4' ? 'inet' : 'inet6', local: add[2]!, prefixlen: Number(add[3]) });
      return done(0);
    }
    const del = /^-(4|6) addr del (\S+)\/(\d+) dev (\S+)$/.exec(a);
    if (del && del[4] === IF) {
      const before = this.addrs.length;
      this.addrs = this.addrs.filter((x) => x.local !== del[2]);
      return this.addrs.length < before ? done(0) : done(2, '', 'RTNETLINK answers: Cannot assign requested address');
    }
    throw new Error(`unexpected command ip ${a}`);
  }

  /** What changed the kernel's state (queries left out). */
  changes(): string[] {
    return this.calls.filter((c) => !c.startsWith('ip -j ') && !c.startsWith('arping '));
  }
}

function setup(raw: Record<string, unknown> = {}): {
  clock: SteppingClock;
  link: FakeLink;
  call: (action: 'start' | 'stop' | 'monitor') => Promise<ActionResult>;
} {
  const checked = validateParams(ipAgent, { address: VIP, cidrNetmask: 24, interface: IF, arpCount: 1, ...raw });
  if (!checked.ok) throw new Error(checked.message);
  const p: IpParams = checked.params;
  const clock = new SteppingClock();
  const link = new FakeLink(clock);
  const call = (action: 'start' | 'stop' | 'monitor'): Promise<ActionResult> => {
    const ctx: AgentContext = {
      node: 'n1',
      instance: 'vip',
      stateDir: '/nonexistent',
      run: link,
      log: silentLogger,
      clock,
      signal: new AbortController().signal,
      deadline: clock.now() + 20_000,
      op: { name: action, interval: 0, timeout: 20_000 },
    };
    return ipAgent[action](p, ctx);
  };
  return { clock, link, call };
}

const info = (flags: string[], operstate?: string): LinkInfo => ({ ifname: IF, flags, ...(operstate ? { operstate } : {}) });

describe('linkState', () => {
  it.each([
    [info(['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], 'UP'), { up: true }],
    [info(['LOOPBACK', 'UP', 'LOWER_UP'], 'UNKNOWN'), { up: true }],
    [info(['UP', 'LOWER_UP']), { up: true }],
    [info(['BROADCAST', 'MULTICAST'], 'DOWN'), { up: false, why: 'admin-down', operstate: 'DOWN' }],
    // An administrator's down wins over everything else the link says.
    [info(['BROADCAST', 'MULTICAST', 'LOWER_UP'], 'UP'), { up: false, why: 'admin-down', operstate: 'UP' }],
    [info(['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP'], 'DOWN'), { up: false, why: 'no-carrier', operstate: 'DOWN' }],
    [info(['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP', 'M-DOWN'], 'LOWERLAYERDOWN'), { up: false, why: 'no-carrier', operstate: 'LOWERLAYERDOWN' }],
    [info(['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], 'DORMANT'), { up: false, why: 'oper-down', operstate: 'DORMANT' }],
    [info(['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], 'lowerlayerdown'), { up: false, why: 'oper-down', operstate: 'LOWERLAYERDOWN' }],
  ])('%j → %j', (link, want) => {
    expect(linkState(link)).toEqual(want);
  });
});

describe('ip agent and a link that is down', () => {
  it('monitor: the address on an administratively down link is a failure naming the interface and its state', async () => {
    const { link, call } = setup();
    expect(await call('start')).toMatchObject({ outcome: 'ok' });
    link.adminUp = false;
    const r = await call('monitor');
    expect(r.outcome).toBe('generic-error');
    expect(r.reason).toBe(`${VIP} is on ${IF} but the link is down: interface ${IF} is administratively down (operstate DOWN)`);
  });

  it('monitor: no carrier and a dormant link are failures too', async () => {
    const { link, call } = setup();
    expect(await call('start')).toMatchObject({ outcome: 'ok' });
    link.cable = false;
    expect(await call('monitor')).toMatchObject({
      outcome: 'generic-error',
      reason: expect.stringContaining(`interface ${IF} is up but has no carrier (operstate LOWERLAYERDOWN`),
    });
    link.cable = true;
    link.operstate = 'DORMANT';
    expect(await call('monitor')).toMatchObject({ outcome: 'generic-error', reason: expect.stringContaining('not operational (operstate DORMANT)') });
    link.operstate = undefined;
    expect((await call('monitor')).outcome).toBe('ok');
  });

  it('monitor: no address on a down link is not running', async () => {
    const { link, call } = setup();
    link.adminUp = false;
    expect((await call('monitor')).outcome).toBe('not-running');
  });

  it('start: fails on an administratively down link, says how to allow it, and changes nothing', async () => {
    const { link, call } = setup();
    link.adminUp = false;
    const r = await call('start');
    expect(r.outcome).toBe('generic-error');
    expect(r.reason).toContain(`not starting ${VIP}: interface ${IF} is administratively down (operstate DOWN)`);
    expect(r.reason).toContain(`ip link set dev ${IF} up`);
    expect(r.reason).toContain('bringLinkUp: true');
    expect(link.changes()).toEqual([]);
    expect(link.adminUp).toBe(false);
    expect(link.addrs).toEqual([]);
  });

  it('start: fails on a link without carrier, with or without bringLinkUp', async () => {
    for (const bringLinkUp of [false, true]) {
      const { link, call } = setup({ bringLinkUp });
      link.cable = false;
      const r = await call('start');
      expect(r.outcome).toBe('generic-error');
      expect(r.reason).toContain(`interface ${IF} is up but has no carrier`);
      expect(link.changes()).toEqual([]);
    }
  });

  it('start: an address already on a down link is not "already started"', async () => {
    const { link, call } = setup();
    expect(await call('start')).toMatchObject({ outcome: 'ok' });
    link.adminUp = false;
    expect(await call('start')).toMatchObject({ outcome: 'generic-error', reason: expect.stringContaining('administratively down') });
    expect(link.adminUp).toBe(false);
  });

  it('start with bringLinkUp: sets the link up, waits for carrier, adds the address', async () => {
    const { clock, link, call } = setup({ bringLinkUp: true });
    link.adminUp = false;
    link.carrierDelayMs = 350;
    const t0 = clock.now();
    expect(await call('start')).toMatchObject({ outcome: 'ok' });
    expect(link.changes()).toEqual([`ip link set dev ${IF} up`, `ip -4 addr add ${VIP}/24 broadcast + dev ${IF}`]);
    expect(clock.now() - t0).toBeGreaterThanOrEqual(350);
    expect((await call('monitor')).outcome).toBe('ok');
  });

  it('start with bringLinkUp: a link that never gets carrier fails after the wait, naming the state', async () => {
    const { clock, link, call } = setup({ bringLinkUp: true });
    link.adminUp = false;
    link.cable = false;
    const t0 = clock.now();
    const r = await call('start');
    expect(r.outcome).toBe('generic-error');
    expect(r.reason).toBe(
      `not starting ${VIP}: set ${IF} up (bringLinkUp), but interface ${IF} is up but has no carrier (operstate LOWERLAYERDOWN: cable, switch port or peer down)`,
    );
    expect(clock.now() - t0).toBeGreaterThanOrEqual(5000);
    expect(clock.now() - t0).toBeLessThan(6000);
    expect(link.addrs).toEqual([]);
  });

  it('stop: removes the address from a down link, and stopping again is ok', async () => {
    const { link, call } = setup();
    expect(await call('start')).toMatchObject({ outcome: 'ok' });
    link.adminUp = false;
    expect((await call('stop')).outcome).toBe('ok');
    expect(link.addrs).toEqual([]);
    expect((await call('stop')).outcome).toBe('ok');
    expect((await call('monitor')).outcome).toBe('not-running');
    expect(link.changes()).not.toContain(`ip link set dev ${IF} up`);
  });
});

describe('bringLinkUp parameter', () => {
  it('defaults to false and takes only a boolean', () => {
    const r = validateParams(ipAgent, { address: VIP, interface: IF });
    expect(r.ok && r.params.bringLinkUp).toBe(false);
    const bad = validateParams(ipAgent, { address: VIP, interface: IF, bringLinkUp: 'yes' }, 'vip');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.message).toContain('parameter "bringLinkUp"');
  });
});

describe('the gratuitous-ARP series', () => {
  it('goes on after start returns, and a stop of the address ends it: no arping after the stop', async () => {
    const clock = new SimulatedClock(1_000_000);
    const link = new FakeLink(clock);
    const background = new BackgroundTaskSet();
    const checked = validateParams(ipAgent, { address: VIP, cidrNetmask: 24, interface: IF, arpCount: 5, arpInterval: 200, dadTimeout: 0 });
    if (!checked.ok) throw new Error(checked.message);
    const invoke = async (action: 'start' | 'stop'): Promise<ActionResult> => {
      const pending = invokeAgent(ipAgent, {
        action,
        params: checked.params,
        node: 'n1',
        instance: 'vip',
        stateDir: '/nonexistent',
        run: link,
        log: silentLogger,
        clock,
        timeoutMs: 20_000,
        background,
      });
      let done: ActionResult | undefined;
      void pending.then((r) => (done = r));
      for (let i = 0; i < 100 && !done; i++) await clock.advanceAsync(10);
      return pending;
    };
    const garps = (): number => link.calls.filter((c) => c.startsWith('arping -U')).length;
    expect(await invoke('start')).toMatchObject({ outcome: 'ok' });
    expect(background.running('n1/vip')).toEqual(['gratuitous ARP']);
    const before = garps();
    expect(before).toBeGreaterThanOrEqual(1);
    expect(before).toBeLessThan(5);
    expect(await invoke('stop')).toMatchObject({ outcome: 'ok' });
    expect(background.running('n1/vip')).toEqual([]);
    const atStop = garps();
    await clock.advanceAsync(5000);
    expect(garps()).toBe(atStop);
    expect(clock.pending()).toBe(0);
  });

  it('without a stop, sends all arpCount packets, spaced by arpInterval, and ends by itself', async () => {
    const clock = new SimulatedClock(1_000_000);
    const link = new FakeLink(clock);
    const background = new BackgroundTaskSet();
    const checked = validateParams(ipAgent, { address: VIP, cidrNetmask: 24, interface: IF, arpCount: 5, arpInterval: 200, dadTimeout: 0 });
    if (!checked.ok) throw new Error(checked.message);
    const pending = invokeAgent(ipAgent, {
      action: 'start',
      params: checked.params,
      node: 'n1',
      instance: 'vip',
      stateDir: '/nonexistent',
      run: link,
      log: silentLogger,
      clock,
      timeoutMs: 20_000,
      background,
    });
    await clock.advanceAsync(2000);
    expect(await pending).toMatchObject({ outcome: 'ok' });
    expect(link.calls.filter((c) => c.startsWith('arping -U'))).toHaveLength(5);
    expect(background.running('n1/vip')).toEqual([]);
  });
});
