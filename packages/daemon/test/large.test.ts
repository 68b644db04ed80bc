/**
 * A large cluster over real UDP on 127.0.0.1: two in-process daemons with 300 dummy resources (no
 * recurring monitors), half at home on each node. Node reports, results and the replicated
 * document are far beyond one 60 KiB datagram; they travel as signed fragments (compression off,
 * so that fragmentation itself is exercised) or deflated (the default). Start, place everything,
 * ban one resource from serv2 on serv2 (the coordinator serv1 replicates the new document back),
 * kill serv2 (as kill -9 would; fenced by a stub) → all 300 run on serv1.
 *
 * The machine may be loaded (other suites, other work): the daemons detect a loss after 2 s instead
 * of 0.3 s (a starved process must not lose its peer: this test is about the messages, not about
 * detection), and every wait is generous. The figures it prints are for a look, not a bound.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { AgentRegistry } from '@paceline/agent-api';
import { dummyAgents } from '@paceline/agent-dummy';
import { ExecaCommandRunner, createLogger, systemClock } from '@paceline/runtime';
import { Daemon, systemTimers, type DaemonStatus } from '@paceline/daemon';
import { UdpPeerChannel, type PeerChannelStats } from '../src/channel.js';
import { MAX_PEER_PACKET_BYTES, PEER_LIMITS } from '../src/messages.js';
import { freePorts, twoNodeConfig, waitFor, testbed } from './helpers.js';

const N = 300;
/** Detection after 40 ticks of 50 ms (see above). */
const MEMBERSHIP = { deadTicks: 40, warnTicks: 20 };
/** Placement, a move, a failover: each within this (the quiet machine needs a tenth of it). */
const WAIT_MS = 120_000;
const { root, key, daemons } = testbed('large');
const errors: string[] = [];
const logger = createLogger({
  stream: new Writable({
    write(c, _e, cb) {
      const s = String(c);
      if (/ (ERROR|WARN) /.test(s)) errors.push(s);
      cb();
    },
  }),
});

function largeConfig(base: number): Record<string, unknown> {
  const ids = Array.from({ length: N }, (_, i) => `r${String(i).padStart(3, '0')}`);
  return twoNodeConfig(base, {
    resources: ids.map((id) => ({
      type: 'primitive',
      id,
      agent: 'paceline:dummy',
      params: { fake: `a value of ${id} that makes the document larger: ${'x'.repeat(80)}` },
    })),
    constraints: ids.map((id, i) => ({ type: 'location', id: `${id}-home`, resource: id, node: i % 2 === 0 ? 'serv1' : 'serv2', score: 100 })),
  });
}

/** status() reads the status once per change (never the scheduler): polled slowly all the same, the daemons share this process. */
const poll = <T>(what: string, check: () => T | undefined | false, timeoutMs = WAIT_MS): Promise<T> =>
  waitFor(
    what,
    async () => {
      await new Promise((r) => setTimeout(r, 200));
      return check();
    },
    timeoutMs,
  );

const placed = (s: DaemonStatus): Record<string, number> => {
  const count: Record<string, number> = {};
  for (const r of s.resources) if (r.role !== 'Stopped' && r.node) count[r.node] = (count[r.node] ?? 0) + 1;
  return count;
};

test.each([
  { compress: false, what: 'uncompressed, in fragments' },
  { compress: true, what: 'deflated (the default)' },
])(
  `${N} resources: start, place all, fail over after kill -9 — messages $what`,
  async ({ compress }) => {
    const config = largeConfig(await freePorts(8));
    const nodes = config['nodes'] as { name: string; addresses: Record<string, string> }[];
    const stats = new Map<string, () => PeerChannelStats>();
    const dir = join(root, compress ? 'deflate' : 'plain');
    const make = (node: string): Daemon => {
      const d = new Daemon({
        node,
        config,
        stateDir: join(dir, node),
        key,
        agents: new AgentRegistry([...dummyAgents]),
        runner: new ExecaCommandRunner(),
        clock: systemClock,
        timers: systemTimers,
        logger,
        controlSocket: false,
        membership: MEMBERSHIP,
        fence: async () => ({ ok: true }),
        channel: async (onMessage) => {
          const c = await UdpPeerChannel.open({
            self: node,
            nodes,
            key,
            portOffset: 1,
            onMessage,
            now: () => systemClock.now(),
            timers: systemTimers,
            compress,
          });
          stats.set(node, () => c.stats());
          return c;
        },
      });
      daemons.push(d);
      return d;
    };
    const t0 = Date.now();
    const s1 = make('serv1');
    const s2 = make('serv2');
    await Promise.all([s1.start(), s2.start()]);
    await poll(
      'all resources placed at home, both quorate',
      () => {
        const st = s1.status();
        const p = placed(st);
        return p['serv1'] === N / 2 && p['serv2'] === N / 2 && st.mayRun && st.lastTransition?.state !== 'running' && s2.status().mayRun;
      },
      WAIT_MS,
    );
    const placedMs = Date.now() - t0;
    // serv2 sees the same: serv1's reports reached it.
    await poll('serv2 agrees', () => placed(s2.status())['serv1'] === N / 2);

    // A change made on serv2 goes to the coordinator serv1, which replicates the (large) new document.
    expect(s1.status().coordinator).toBe('serv1');
    expect(await s2.update({ op: 'ban', resource: 'r001', node: 'serv2' })).toMatchObject({ ok: true });
    await waitFor('serv2 adopted epoch 1', () => s2.document().epoch === 1, WAIT_MS);
    const docBytes = Buffer.byteLength(JSON.stringify(s2.document()));
    expect(docBytes).toBeGreaterThan(MAX_PEER_PACKET_BYTES);
    await poll('r001 moved to serv1', () => {
      const st = s1.status();
      return placed(st)['serv1'] === N / 2 + 1 && st.lastTransition?.state !== 'running';
    });

    const t1 = Date.now();
    await s2.abandon();
    await poll(`all ${N} on serv1`, () => placed(s1.status())['serv1'] === N);
    const failoverMs = Date.now() - t1;

    const a = stats.get('serv1')!();
    const b = stats.get('serv2')!();
    const largest = [a.largest, b.largest].sort((x, y) => (y?.bytes ?? 0) - (x?.bytes ?? 0))[0]!;
    process.stderr.write(
      `${N} resources, compress=${compress}: placed in ${placedMs} ms, failover in ${failoverMs} ms; document ${docBytes} bytes; largest message: ${largest.type} ` +
        `${largest.bytes} bytes of JSON, ${largest.wireBytes} on the wire in ${largest.fragments} packet(s); ` +
        `serv1 sent ${a.sent.messages} messages in ${a.sent.packets} packets, reassembled ${a.reassembled}, dropped ${JSON.stringify(a.dropped)}\n`,
    );
    expect(largest.bytes).toBeGreaterThan(MAX_PEER_PACKET_BYTES);
    if (!compress) expect(largest.fragments).toBeGreaterThan(1);
    expect(a.sent.refused + b.sent.refused).toBe(0);
    expect(a.dropped['forged'] ?? 0).toBe(0);
    expect(errors.filter((e) => /cannot send/.test(e))).toEqual([]);
  },
  4 * WAIT_MS,
);

test('a message over the channel limit is refused with a logged error naming its type, size and limit; nothing throws', async () => {
  const config = largeConfig(await freePorts(8));
  const nodes = config['nodes'] as { name: string; addresses: Record<string, string> }[];
  const lines: string[] = [];
  const log = createLogger({
    stream: new Writable({
      write(c, _e, cb) {
        lines.push(String(c));
        cb();
      },
    }),
  });
  const limits = { ...PEER_LIMITS, maxPayloadBytes: 40_000 };
  const make = (node: string): Daemon => {
    const d = new Daemon({
      node,
      config,
      stateDir: join(root, 'limit', node),
      key,
      agents: new AgentRegistry([...dummyAgents]),
      runner: new ExecaCommandRunner(),
      clock: systemClock,
      timers: systemTimers,
      logger: log,
      controlSocket: false,
      stopOnShutdown: false,
      channel: (onMessage) =>
        UdpPeerChannel.open({ self: node, nodes, key, portOffset: 1, onMessage, now: () => systemClock.now(), timers: systemTimers, limits, compress: false }),
    });
    daemons.push(d);
    return d;
  };
  const s1 = make('serv1');
  const s2 = make('serv2');
  await Promise.all([s1.start(), s2.start()]);
  // The document (87 KB of JSON) cannot go out: each side logs why, and keeps running.
  await waitFor('the refusal logged', () => lines.find((l) => / ERROR .*cannot send a doc message to serv\d/.test(l)));
  const line = lines.find((l) => / ERROR .*cannot send a doc message/.test(l))!;
  process.stderr.write(`over the limit: ${line}`);
  expect(line).toMatch(/a doc message to serv\d is \d{5,} bytes, over the 40000-byte limit of one daemon message; it was not sent/);
  expect(s1.status().node).toBe('serv1');
  await s1.dispose();
  await s2.dispose();
}, 30_000);
