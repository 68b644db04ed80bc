/**
 * Replayed daemon-channel datagrams (issue 8, item 2): two real Daemons on a SimulatedClock, the
 * daemon channel carried as the real signed datagrams (encodePeer → in-memory links → PeerDecoder,
 * what UdpPeerChannel does minus the sockets), heartbeats as objects. Every datagram sent is
 * captured; the tests put captured ones back on the wire later, as an attacker on the network can.
 *
 * - a coordinator's `action` ("start web on serv2") replayed after serv2 restarted must not run;
 * - an admin `update` (standby) replayed after the coordinator restarted must not apply;
 * - the same update replayed after 5 000 further messages from its sender must not apply.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { AgentRegistry, defineAgent, ok, notRunning, type ActionResult, type AgentContext, type Logger } from '@paceline/agent-api';
import { InMemoryNetwork, InMemoryObjectTransport, Prng, SimulatedClock, type TimerHandle } from '@paceline/testkit';
import type { WireMessage } from '@paceline/membership';
import { Daemon, loadState, type UpdateRequest } from '@paceline/daemon';
import { type PeerChannel } from '../src/channel.js';
import { PeerDecoder, encodePeer, type PeerMessage } from '../src/messages.js';

const LINKS = ['lan', 'crossover'] as const;
const TICK_MS = 50;
/** File requests (and handle closes) in flight in this process. */
const fsBusy = (): boolean => process.getActiveResourcesInfo().some((r) => r.startsWith('FSReq') || r === 'CloseReq');
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

interface Captured {
  readonly link: string;
  readonly from: string;
  readonly to: string;
  readonly packet: Buffer;
  readonly message: PeerMessage;
}

/** Two nodes on two links, one in-memory resource; the daemons, the wire and what runs where. */
class Lab {
  readonly clock = new SimulatedClock(1_800_000_000_000);
  readonly hb = new InMemoryNetwork<WireMessage>([...LINKS], new Prng(1));
  readonly ch = new InMemoryNetwork<Buffer>([...LINKS], new Prng(2));
  /** Every daemon-channel datagram sent, in order. */
  readonly wire: Captured[] = [];
  /** resource → nodes where it runs */
  readonly running = new Map<string, Set<string>>();
  /** Every start an agent ran: node and resource. */
  readonly starts: string[] = [];
  readonly daemons = new Map<string, Daemon>();
  readonly root = mkdtempSync(join(tmpdir(), `paceline-replay-${process.pid}-`));
  readonly key = Buffer.alloc(32, 9);
  private readonly registry: AgentRegistry;
  private readonly timers = {
    setTimeout: (fn: () => void, ms: number): unknown => this.clock.setTimeout(fn, ms),
    clearTimeout: (h: unknown): void => this.clock.clearTimeout(h as TimerHandle),
    setInterval: (fn: () => void, ms: number): unknown => this.clock.setInterval(fn, ms),
    clearInterval: (h: unknown): void => this.clock.clearInterval(h as TimerHandle),
  };

  constructor(readonly config: Record<string, unknown>) {
    const set = (ctx: AgentContext): Set<string> => {
      let s = this.running.get(ctx.instance);
      if (s === undefined) this.running.set(ctx.instance, (s = new Set()));
      return s;
    };
    const starts = this.starts;
    this.registry = new AgentRegistry([
      defineAgent({
        meta: { name: 'mem', version: '1.0.0', description: 'in-memory test agent' },
        params: z.object({}),
        async start(_p: object, ctx: AgentContext): Promise<ActionResult> {
          starts.push(`${ctx.node} ${ctx.instance}`);
          set(ctx).add(ctx.node);
          return ok();
        },
        async stop(_p: object, ctx: AgentContext): Promise<ActionResult> {
          set(ctx).delete(ctx.node);
          return ok();
        },
        async monitor(_p: object, ctx: AgentContext): Promise<ActionResult> {
          return set(ctx).has(ctx.node) ? ok() : notRunning();
        },
      }),
    ]);
  }

  where(resource: string): string[] {
    return [...(this.running.get(resource) ?? [])].sort();
  }

  /** The daemon channel of `node`: signed datagrams on every link, reassembled and decoded on arrival. */
  private channel(node: string, onMessage: (m: PeerMessage) => void): PeerChannel {
    const decoder = new PeerDecoder(this.key);
    this.ch.attach(node, (_link, _from, packet) => {
      const m = decoder.accept(packet, this.clock.now());
      if (m !== undefined && m.to === node) onMessage(m);
    });
    return {
      send: (m) => {
        const e = encodePeer(m, this.key);
        if (e.error !== undefined) return { refused: e.error };
        for (const link of LINKS)
          for (const packet of e.packets) {
            this.wire.push({ link, from: node, to: m.to, packet, message: m });
            this.ch.send(link, node, m.to, packet);
          }
      },
      dispose: async () => {
        this.ch.detach(node);
      },
      stats: () => {
        const r = decoder.reassembler.stats();
        return { dropped: { ...r.dropped }, duplicates: r.duplicates, reassembled: r.reassembled, sent: { messages: 0, packets: 0, refused: 0 } };
      },
    };
  }

  async start(node: string): Promise<Daemon> {
    const d = new Daemon({
      node,
      config: this.config,
      stateDir: join(this.root, node),
      key: this.key,
      agents: this.registry,
      runner: { run: async () => ({ exitCode: 0, stdout: '', stderr: '', timedOut: false, notFound: false }) } as never,
      clock: this.clock,
      timers: this.timers,
      logger: silent,
      controlSocket: false,
      scheduler: 'inline', // runs within the step that asks: replayable on the simulated clock
      shutdownTimeoutMs: 5000,
      transport: async (onInput) => new InMemoryObjectTransport({ network: this.hb, self: node, onInput }),
      channel: async (onMessage) => this.channel(node, onMessage),
    });
    this.daemons.set(node, d);
    await d.start();
    return d;
  }

  get(node: string): Daemon {
    const d = this.daemons.get(node);
    if (d === undefined) throw new Error(`${node} is not running`);
    return d;
  }

  /** Power off: the daemon stops dead (kill -9), what it ran is gone. */
  async kill(node: string): Promise<void> {
    const d = this.get(node);
    this.daemons.delete(node);
    for (const s of this.running.values()) s.delete(node);
    await d.abandon();
  }

  /** A clean stop (`paceline` shutdown: resources moved off first), driven by the simulated clock. */
  async stop(node: string): Promise<void> {
    const d = this.get(node);
    let done = false;
    const p = d.dispose().then(() => {
      done = true;
    });
    await this.until(`${node} stopped`, () => done, 400);
    await p;
    this.daemons.delete(node);
  }

  async step(ticks = 1): Promise<void> {
    for (let i = 0; i < ticks; i++) {
      this.tick += 1;
      this.clock.advance(TICK_MS);
      for (const n of [this.hb, this.ch]) {
        n.setTick(this.tick);
        n.deliver();
      }
      // Let promise chains and the daemons' state writes (real file I/O) settle within the tick.
      await new Promise((r) => setImmediate(r));
      for (let j = 0; j < 10_000 && fsBusy(); j++) await new Promise((r) => setImmediate(r));
    }
  }

  private tick = 0;

  /** Steps until `cond` holds; fails after `maxTicks`. */
  async until(what: string, cond: () => boolean, maxTicks = 600): Promise<void> {
    for (let i = 0; i < maxTicks; i++) {
      if (cond()) return;
      await this.step();
    }
    if (!cond()) throw new Error(`not reached within ${maxTicks} ticks: ${what}`);
  }

  /** An admin change issued on `node` (forwarded to the coordinator when `node` is not it). */
  async update(node: string, request: UpdateRequest): Promise<{ ok: boolean; message: string }> {
    let result: { ok: boolean; message: string } | undefined;
    void this.get(node)
      .update(request)
      .then((r) => {
        result = r;
      });
    await this.until(`the answer to ${JSON.stringify(request)}`, () => result !== undefined);
    return result!;
  }

  /** Puts captured datagrams back on the wire, as sent by their sender. */
  replay(captured: readonly Captured[]): void {
    for (const c of captured) this.ch.inject(c.link, c.from, c.to, c.packet);
  }

  /** The datagrams of the first captured message that matches. */
  capturedMessage(match: (m: PeerMessage) => boolean): Captured[] {
    const first = this.wire.find((c) => match(c.message));
    if (first === undefined) throw new Error('no such message was sent');
    return this.wire.filter((c) => c.message === first.message);
  }

  async dispose(): Promise<void> {
    for (const d of this.daemons.values()) await d.abandon();
    this.clock.dispose();
    rmSync(this.root, { recursive: true, force: true });
  }
}

function labConfig(home: string): Record<string, unknown> {
  return {
    properties: { stonithEnabled: false },
    defaults: { resource: { stickiness: 0 } },
    nodes: ['serv1', 'serv2'].map((name) => ({ name, addresses: { lan: `${name}-l`, crossover: `${name}-x` } })),
    resources: [{ type: 'primitive', id: 'web', agent: 'paceline:mem', ops: [{ name: 'monitor', interval: '2s' }] }],
    constraints: [{ type: 'location', id: 'web-home', resource: 'web', node: home, score: 100 }],
  };
}

const labs: Lab[] = [];
afterAll(async () => {
  for (const l of labs) await l.dispose();
});
async function lab(home: string): Promise<Lab> {
  const l = new Lab(labConfig(home));
  labs.push(l);
  await l.start('serv1');
  await l.start('serv2');
  await l.until('both members, web placed', () => l.get('serv1').status().members.length === 2 && l.where('web').length === 1);
  return l;
}

const standby = (l: Lab, node: string): boolean | undefined =>
  l
    .get('serv1')
    .status()
    .nodes.find((n) => n.name === node)?.standby;

test('a captured action replayed after its receiver restarted does not run', async () => {
  const l = await lab('serv2');
  await l.until('web on serv2', () => l.where('web').join() === 'serv2');
  expect(l.get('serv1').status().coordinator).toBe('serv1');
  const action = l.capturedMessage((m) => m.type === 'action' && m.to === 'serv2' && m.action['kind'] === 'start');
  const sent = action[0]!.message;
  expect(sent.type === 'action' && sent.action['resource']).toBe('web');

  // serv2 loses power and comes straight back (a new incarnation); it returns unclean, so the
  // coordinator quarantines it (standby) and web moves to serv1.
  await l.kill('serv2');
  const serv2 = await l.start('serv2');
  await l.until(
    'serv2 back, quarantined; web on serv1',
    () => serv2.status().coordinator === 'serv1' && serv2.status().members.length === 2 && standby(l, 'serv2') === true && l.where('web').join() === 'serv1',
  );
  const startsBefore = l.starts.filter((s) => s === 'serv2 web').length;

  l.replay(action);
  await l.step(40);
  expect(l.starts.filter((s) => s === 'serv2 web').length).toBe(startsBefore);
  expect(l.where('web')).toEqual(['serv1']);
  // It arrived, and was refused as addressed to serv2's previous incarnation.
  expect(serv2.status().dropped['message other-incarnation']).toBeGreaterThanOrEqual(1);

  // serv1 keeps serv2's new incarnation in its state file, and refuses what the old one sent.
  expect((await loadState(join(l.root, 'serv1')))?.peerBoots).toEqual({ serv2: serv2.status().boot });
  const oldReport = l.capturedMessage((m) => m.type === 'report' && m.from === 'serv2' && m.boot < serv2.status().boot);
  const stale = l.get('serv1').status().dropped['message stale'] ?? 0;
  l.replay(oldReport.filter((c) => c.link === 'lan'));
  await l.step(2);
  expect(l.get('serv1').status().dropped['message stale']).toBe(stale + 1);
});

/** On serv2, which forwards it to the coordinator serv1: standby on, then off again; returns the captured request. */
async function standbyOnAndOff(l: Lab): Promise<Captured[]> {
  expect(await l.update('serv2', { op: 'standby', node: 'serv2', on: true })).toMatchObject({ ok: true });
  const update = l.capturedMessage((m) => m.type === 'update' && m.to === 'serv1');
  expect(await l.update('serv2', { op: 'standby', node: 'serv2', on: false })).toMatchObject({ ok: true });
  await l.until('serv2 out of standby everywhere', () => standby(l, 'serv2') === false && l.get('serv2').document().epoch === l.get('serv1').document().epoch);
  return update;
}

test('a captured admin update replayed after 5 000 further messages from its sender does not apply', async () => {
  const l = await lab('serv1');
  const update = await standbyOnAndOff(l);
  const epoch = l.get('serv1').document().epoch;
  // More than the old 4 096-entry duplicate filter held.
  for (let i = 0; i < 5000; i++) l.get('serv2').cleanup('nothing', 'serv1');
  await l.step(2);
  l.replay(update);
  await l.step(40);
  expect(l.get('serv1').document().epoch).toBe(epoch);
  expect(standby(l, 'serv2')).toBe(false);
  expect(l.get('serv1').status().dropped['message replayed']).toBeGreaterThanOrEqual(1);
});

test('a captured admin update replayed after the coordinator restarted does not apply', async () => {
  const l = await lab('serv1');
  const update = await standbyOnAndOff(l);
  // A clean stop and start of the coordinator.
  await l.stop('serv1');
  const serv1 = await l.start('serv1');
  await l.until(
    'serv1 back, both agree',
    () =>
      serv1.status().members.length === 2 &&
      l.get('serv2').status().members.length === 2 &&
      serv1.document().epoch === l.get('serv2').document().epoch &&
      serv1.status().mayRun,
  );
  await l.step(20);
  const epoch = serv1.document().epoch;
  l.replay(update);
  await l.step(40);
  expect(serv1.document().epoch).toBe(epoch);
  expect(l.get('serv2').document().epoch).toBe(epoch);
  expect(standby(l, 'serv2')).toBe(false);
  expect(serv1.status().dropped['message other-incarnation']).toBeGreaterThanOrEqual(1);
});
