/**
 * The simulated cluster: real Daemons on the testkit's SimulatedClock and in-memory networks
 * (heartbeats with the real codec or as objects; the daemon channel as plain objects, whose
 * freshness — incarnations, duplicates, replays — the daemon itself checks), an in-memory agent whose state
 * is a shared "world" of hosts (world.ts), and fencing that powers the target off (its daemon stops
 * dead, its resources vanish). `runSchedule` plays one seeded fault schedule (see schedule.ts) and
 * checks:
 *
 * - at every start and every tick: no resource is active on two hosts, from the resources' own
 *   state (the agent's per-host running set), whatever any coordinator believes (fencing powers the
 *   target off at once, so there is no fencing window to allow for);
 * - at the end, with everything healed and every node up: all nodes hold the same document (epoch
 *   and content); no acknowledged update is lost (see `checkUpdates`); every rejected update has a
 *   clear message; after the quarantines are cleared, every resource that some node may host runs
 *   on exactly one such node, and the others run nowhere.
 *
 * The optional fault classes (schedule.ts) add: isolated nodes whose resources fail and whose
 * fencing fails (the power switch is on the LAN they lost), separate delays and jitter for the
 * channel and the heartbeats with a random delivery order between them, an attacker replaying
 * recorded packets (fabric.ts), and a cloned machine running a second daemon under a node's name.
 */
import { cpSync, existsSync, mkdtempSync, promises as fsp, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentRegistry, type Logger } from '@paceline/agent-api';
import type { ClusterConfigInput } from '@paceline/model';
import { InMemoryNetwork, InMemoryObjectTransport, InMemoryTransport, Prng, SimulatedClock, type TimerHandle } from '@paceline/testkit';
import type { WireMessage } from '@paceline/membership';
import { Daemon, type ClusterDoc, type UpdateRequest } from '@paceline/daemon';
import { type PeerChannel } from '../../src/channel.js';
import { type PeerMessage } from '../../src/messages.js';
import { LINKS, RESOURCES, describeStep, formatSchedule, type Net, type ReplayKind, type Schedule, type Step } from './schedule.js';
import { World, memAgent } from './world.js';
import { Fabric, type Recorded } from './fabric.js';
import { SimArbiter } from './arbiter.js';
import { simulatedThread } from './thread.js';

export { World } from './world.js';

export const TICK_MS = 50;
/** The witness's place in the LAN's partition groups (policy `witness`). */
const WITNESS = '(witness)';
/** The host of a node's clone (a second machine under the same name). */
const cloneHost = (node: string): string => `${node}(clone)`;

/** Documents compare by content, key order aside. */
export function docKey(doc: ClusterDoc): string {
  return JSON.stringify(doc, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([p], [q]) => (p < q ? -1 : 1))) : x,
  );
}

/** File requests (and handle closes) in flight in this process. */
const fsBusy = (): boolean => process.getActiveResourcesInfo().some((r) => r.startsWith('FSReq') || r === 'CloseReq');

/** Log lines name the host (a clone logs as "serv2(clone)", whatever node fields the daemon adds). */
function debugLogger(out: (line: string) => void, host: string): Logger {
  const line =
    (level: string) =>
    (message: string, f?: Record<string, unknown>): void =>
      out(`${level} ${host} ${message}${f ? ` ${JSON.stringify(f)}` : ''}`);
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error'), child: () => debugLogger(out, host) };
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

export interface UpdateRecord {
  readonly node: string;
  readonly request: UpdateRequest;
  readonly tick: number;
  result?: { ok: boolean; message: string; tick: number };
}

export type UpdateClass = 'acked' | 'refused' | 'indeterminate';

/** An answer that says the outcome is unknown (it may or may not have been applied). */
export function classify(r: { ok: boolean; message: string }): UpdateClass {
  if (r.ok) return 'acked';
  return /no answer from|may or may not/.test(r.message) ? 'indeterminate' : 'refused';
}

/** Refusals name their reason; anything else is a violation. */
const CLEAR_REFUSAL =
  /cannot change the configuration now: (.+ is lost and not proven down \(.+\).*retry when|this node has no quorum|.+ (has|have) not shown .+ (its|their) configuration since .+ started \(.+\); retry once)|no resource "|no node "|no move or ban constraints|is not quarantined|already quarantined|the coordinator changed \(now .+\) before this change could be applied|too many configuration changes/;

export interface SimResult {
  readonly seed: number;
  readonly schedule: Schedule;
  /** What was carried out (steps that did not apply are marked skipped). */
  readonly log: readonly string[];
  readonly faults: number;
  readonly updates: Readonly<Record<UpdateClass, number>>;
  readonly refusals: Readonly<Record<string, number>>;
  readonly violations: readonly string[];
  readonly ticks: number;
  readonly finalEpoch: number;
}

export interface SimOptions {
  /** Heartbeats through the real codec (signed, encoded, decoded); default: as objects, about a third faster. */
  readonly codec?: boolean;
  /** Receives every daemon log line (for SIM_DEBUG). */
  readonly debug?: (line: string) => void;
  /** A fencing hook that lies (says ok without powering off): the harness must then find double activity. */
  readonly lyingFence?: boolean;
  /** Where state directories go (default /dev/shm when it exists, where fsync is cheap; else the OS temp dir). */
  readonly tmpRoot?: string;
}

type ElemMap = Map<string, string>;

/** The administrative state an update can touch, as element → value. */
export function adminState(doc: ClusterDoc, nodes: readonly string[]): ElemMap {
  const m: ElemMap = new Map();
  const cfg = doc.config as {
    nodes?: { name: string; standby?: boolean }[];
    constraints?: { id: string; node?: string }[];
    resources?: { id: string; meta?: { targetRole?: string } }[];
  };
  for (const n of nodes) m.set(`standby:${n}`, String(cfg.nodes?.find((x) => x.name === n)?.standby === true));
  const ids = new Map((cfg.constraints ?? []).map((c) => [c.id, c]));
  for (const r of RESOURCES) {
    m.set(`prefer:${r}`, ids.get(`cli-prefer-${r}`)?.node ?? 'none');
    for (const n of nodes) m.set(`ban:${r}:${n}`, String(ids.has(`cli-ban-${r}-on-${n}`)));
    m.set(`role:${r}`, cfg.resources?.find((x) => x.id === r)?.meta?.targetRole ?? 'default');
  }
  return m;
}

/** What an applied update sets. */
export function effects(req: UpdateRequest, nodes: readonly string[]): ElemMap {
  const m: ElemMap = new Map();
  switch (req.op) {
    case 'standby':
      m.set(`standby:${req.node}`, String(req.on));
      break;
    case 'move':
      m.set(`prefer:${req.resource}`, req.node);
      break;
    case 'ban':
      m.set(`ban:${req.resource}:${req.node}`, 'true');
      break;
    case 'clear':
      m.set(`prefer:${req.resource}`, 'none');
      for (const n of req.node === undefined ? nodes : [req.node]) m.set(`ban:${req.resource}:${n}`, 'false');
      break;
    case 'target-role':
      m.set(`role:${req.resource}`, req.role ?? 'default');
      break;
    default:
      break;
  }
  return m;
}

/**
 * No lost update: for every element, take the acknowledged updates that set it in the order of the
 * epochs they were acknowledged at; the final document must hold the last one's value — or, since
 * an update whose answer was lost ("indeterminate") may or may not have been applied at any time,
 * the value one of those set. With no acknowledged update, the initial value (or an indeterminate
 * one). Also: every acknowledged epoch is at most the final epoch.
 */
export function checkUpdates(initial: ClusterDoc, final: ClusterDoc, nodes: readonly string[], updates: readonly UpdateRecord[]): string[] {
  const out: string[] = [];
  const start = adminState(initial, nodes);
  const end = adminState(final, nodes);
  const acked: { epoch: number; u: UpdateRecord }[] = [];
  for (const u of updates) {
    if (u.result === undefined || classify(u.result) !== 'acked') continue;
    const m = /\(epoch (\d+)\)/.exec(u.result.message);
    if (!m) {
      out.push(`acknowledged update without an epoch: ${JSON.stringify(u.request)}: ${u.result.message}`);
      continue;
    }
    const epoch = Number(m[1]);
    if (epoch > final.epoch) out.push(`acknowledged at epoch ${epoch} but the final epoch is ${final.epoch}: ${JSON.stringify(u.request)}`);
    acked.push({ epoch, u });
  }
  acked.sort((a, b) => a.epoch - b.epoch);
  for (let i = 1; i < acked.length; i++)
    if (acked[i]!.epoch === acked[i - 1]!.epoch)
      out.push(
        `two updates acknowledged at the same epoch ${acked[i]!.epoch}: ${JSON.stringify(acked[i - 1]!.u.request)} and ${JSON.stringify(acked[i]!.u.request)}`,
      );
  const indeterminate = updates.filter((u) => u.result === undefined || classify(u.result) === 'indeterminate');
  for (const [elem, value] of end) {
    let expected = start.get(elem)!;
    let by = 'the initial configuration';
    for (const a of acked) {
      const v = effects(a.u.request, nodes).get(elem);
      if (v !== undefined) {
        expected = v;
        by = `${a.u.node}'s ${JSON.stringify(a.u.request)} acknowledged at epoch ${a.epoch} (t=${a.u.result!.tick})`;
      }
    }
    if (value === expected) continue;
    if (indeterminate.some((u) => effects(u.request, nodes).get(elem) === value)) continue;
    out.push(`lost update: ${elem} is ${value} at epoch ${final.epoch}, expected ${expected} from ${by}`);
  }
  return out;
}

/** Runs one schedule; never throws for a violation (they are returned). */
export async function runSchedule(schedule: Schedule, options: SimOptions = {}): Promise<SimResult> {
  const nodes = schedule.nodes;
  const classes = new Set(schedule.classes ?? []);
  const prng = new Prng(schedule.seed);
  const clock = new SimulatedClock(1_800_000_000_000);
  const hb = new InMemoryNetwork<Buffer>([...LINKS], prng.fork());
  const ch = new InMemoryNetwork<PeerMessage>([...LINKS], prng.fork());
  const hbo = new InMemoryNetwork<WireMessage>([...LINKS], prng.fork());
  // The fault classes' own randomness (delivery order, clones' packets, the attacker's picks).
  const fprng = new Prng((schedule.seed ^ 0x2545f491) >>> 0);
  const hbNet: InMemoryNetwork<unknown> = (options.codec ? hb : hbo) as InMemoryNetwork<unknown>;
  const nets: InMemoryNetwork<unknown>[] = [hbNet, ch as InMemoryNetwork<unknown>];
  const hbf = new Fabric<Buffer>(hb, fprng.fork());
  const hbof = new Fabric<WireMessage>(hbo, fprng.fork());
  const chf = new Fabric<PeerMessage>(ch, fprng.fork());
  const hbFabric = (options.codec ? hbf : hbof) as Fabric<unknown>;
  const fabrics: Fabric<unknown>[] = [hbFabric, chf as Fabric<unknown>];
  const attacker = fprng.fork();
  const orderPrng = fprng.fork();
  if (classes.has('replay')) for (const f of fabrics) f.recording = true;
  const arbiterPrng = fprng.fork();
  const world = new World();
  world.slowTicks = schedule.slowActions ?? 0;
  world.startTicks = schedule.startTicks ?? 0;
  const tmpRoot = options.tmpRoot ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
  const root = mkdtempSync(join(tmpRoot, `paceline-sim-${process.pid}-${schedule.seed}-`));
  const key = Buffer.alloc(32, 7);
  const config: ClusterConfigInput = {
    properties: { stonithEnabled: false },
    defaults: { resource: { stickiness: 0 } },
    nodes: nodes.map((name) => ({ name, addresses: { crossover: `${name}-x`, lan: `${name}-l` } })),
    resources: RESOURCES.map((id) => ({
      type: 'primitive',
      id,
      agent: 'paceline:mem',
      ops: [{ name: 'monitor', interval: schedule.monitorInterval ?? '2s' }],
    })),
    constraints: RESOURCES.map((id, i) => ({ type: 'location', id: `${id}-home`, resource: id, node: nodes[i % nodes.length]!, score: 100 })),
  };
  const initialDoc: ClusterDoc = { epoch: 0, config: { ...config, epoch: 0 }, quarantine: {} };
  /** host → its running daemon (a node's own host is named after it; its clone's is cloneHost(node)). */
  const up = new Map<string, Daemon>();
  const nodeOf = new Map<string, string>(nodes.map((n) => [n, n]));
  const stopping = new Map<string, Promise<void>>();
  const log: string[] = [];
  const updates: UpdateRecord[] = [];
  const violations: string[] = [];
  const cloned = new Set<string>();
  let faults = 0;
  let tick = 0;
  const timers = {
    setTimeout: (fn: () => void, ms: number): unknown => clock.setTimeout(fn, ms),
    clearTimeout: (h: unknown): void => clock.clearTimeout(h as TimerHandle),
    setInterval: (fn: () => void, ms: number): unknown => clock.setInterval(fn, ms),
    clearInterval: (h: unknown): void => clock.clearInterval(h as TimerHandle),
  };
  /** host → its killed daemon's last writes (a restart waits for them). */
  const dying = new Map<string, Promise<void>>();
  /** Power off a host: the daemon stops dead at once (its last state write finishes in the background). */
  const kill = (host: string): void => {
    const d = up.get(host);
    up.delete(host);
    world.powerOff(host);
    if (d !== undefined) dying.set(host, d.abandon());
  };

  // Partitions: the last partition step's groups per link, with every isolated node cut out of
  // its group on its isolated links (alone; the witness stays with the others).
  const partitions = new Map<string, readonly (readonly string[])[]>();
  const applyPartitions = (): void => {
    for (const l of LINKS) {
      const base = partitions.get(l);
      const alone = nodes.filter((n) => world.impaired.get(n)?.links.includes(l));
      if (base === undefined && alone.length === 0) {
        for (const n of nets) n.heal(l);
        continue;
      }
      let groups = (base ?? [nodes]).map((g, i) => (l === 'lan' && i === 0 ? [...g, WITNESS] : [...g]));
      if (alone.length > 0) {
        groups = groups.map((g) => g.filter((n) => !alone.includes(n)));
        if (base === undefined && l !== 'lan') groups = groups.filter((g) => g.length > 0);
        groups.push(...alone.map((n) => [n]));
      }
      for (const n of nets) n.partition(l, groups);
    }
  };

  // The witness arbiter (schedules with `arbiter`): on the LAN, where the witness is.
  const arbiter = schedule.arbiter
    ? new SimArbiter(
        nodes,
        () => clock.now(),
        arbiterPrng,
        (e) => {
          if (e.type === 'granted' && !e.renewal)
            log.push(`t=${tick}   the witness grants its vote to ${e.node}${e.previous ? ` (${e.previous.node}'s lease ran out)` : ''}`);
        },
      )
    : undefined;
  const reachesWitness = (host: string, node: string): boolean =>
    up.get(host) !== undefined && !hbo.blocked('lan', node, WITNESS) && !hb.blocked('lan', node, WITNESS);
  const start = async (host: string): Promise<void> => {
    const node = nodeOf.get(host)!;
    await dying.get(host);
    dying.delete(host);
    // eslint-disable-next-line prefer-const -- read by the agent's liveness callback, set once the daemon exists
    let self: Daemon | undefined;
    const d = new Daemon({
      node,
      config,
      stateDir: join(root, host),
      key,
      agents: new AgentRegistry([memAgent(world, host, node, TICK_MS, () => self !== undefined && up.get(host) === self)]),
      runner: { run: async () => ({ exitCode: 0, stdout: '', stderr: '', timedOut: false, notFound: false }) } as never,
      clock,
      timers,
      logger: options.debug ? debugLogger((m) => options.debug!(`t=${tick} ${m}`), host) : silent,
      controlSocket: false,
      // Inline: within the step that asks. Class `thread`: in the daemon's scheduler thread, whose
      // answer comes on the simulated clock some ticks later. Either way replayable.
      ...(schedule.schedulerTicks
        ? { scheduler: 'worker' as const, schedulerThread: simulatedThread(timers, schedule.schedulerTicks * TICK_MS) }
        : { scheduler: 'inline' as const }),
      shutdownTimeoutMs: 5000,
      membership: { partitionPolicy: schedule.policy },
      // The witness sits on the LAN with the first group of a LAN partition (everyone reaches it
      // while the LAN is whole); a node that is down reaches nothing. Under `fence` it is the ping
      // target checked before fencing, unless the schedule has none.
      ...(schedule.policy !== 'fence' || schedule.pingTarget !== false ? { witness: async () => reachesWitness(host, node) } : {}),
      ...(arbiter
        ? {
            arbiter: arbiter.client(
              node,
              () => self?.incarnation ?? 0,
              () => self !== undefined && up.get(host) === self && reachesWitness(host, node),
            ),
          }
        : {}),
      fence: async (target) => {
        // The power switch is on the LAN: a node that lost it cannot reach the switch.
        if (world.impaired.get(node)?.links.includes('lan')) {
          log.push(`t=${tick} ${host} fails to fence ${target} (unreachable)`);
          return { ok: false, detail: 'unreachable: the power switch is on the LAN, which this node has lost' };
        }
        // Class `thread`: the switch takes some ticks, during which the target still runs (a real
        // switch takes seconds): the survivor's runs are held meanwhile, the failover's run computed ahead.
        if (schedule.fenceTicks) await clock.sleep(schedule.fenceTicks * TICK_MS);
        log.push(`t=${tick} ${host} fences ${target}`);
        // The switch powers off the machine wired to it: the node's own host, never a clone.
        if (!options.lyingFence) kill(target);
        return { ok: true };
      },
      transport: async (onInput) =>
        options.codec
          ? new InMemoryTransport({ network: hbf.port(host), self: node, key, onInput, now: () => clock.now() })
          : new InMemoryObjectTransport({ network: hbof.port(host), self: node, onInput, now: () => clock.now() }),
      channel: async (onMessage) => {
        // Copies from the other link reach the daemon, which accepts each message once (freshness.ts).
        const port = chf.port(host);
        port.attach(node, (_link, _from, m) => {
          if (m.to === node) onMessage(structuredClone(m));
        });
        const channel: PeerChannel = {
          send: (m) => {
            for (const l of LINKS) port.send(l, node, m.to, m);
          },
          dispose: async () => {
            port.detach(node);
          },
        };
        return channel;
      },
    });
    self = d;
    up.set(host, d);
    await d.start();
  };
  const yieldIo = (): Promise<void> => new Promise((r) => setImmediate(r));
  const step = async (): Promise<void> => {
    tick += 1;
    world.tick = tick;
    clock.advance(TICK_MS);
    for (const n of nets) n.setTick(tick);
    for (const f of fabrics) f.tick = tick;
    // With `skew`, the channel may be delivered before the heartbeats of the same tick.
    for (const n of classes.has('skew') && orderPrng.chance(0.5) ? [...nets].reverse() : nets) n.deliver();
    await yieldIo();
    // State writes (real file I/O) finish within the tick: a node acknowledges a document or answers
    // a change only once it is saved, and a node that stops cleanly is down once its last write is
    // done — so the tick at which each happens, and so the seed, replays exactly.
    for (let i = 0; i < 10_000 && fsBusy(); i++) await yieldIo();
    world.check(tick);
  };
  const run = async (ticks: number): Promise<void> => {
    for (let i = 0; i < ticks; i++) await step();
  };
  const issue = (node: string, request: UpdateRequest): UpdateRecord | undefined => {
    const d = up.get(node);
    if (d === undefined) return undefined;
    const rec: UpdateRecord = { node, request, tick };
    updates.push(rec);
    void d.update(request).then((r) => {
      rec.result = { ...r, tick };
    });
    return rec;
  };
  const cloneRuns = (node: string): boolean => up.has(cloneHost(node)) || stopping.has(cloneHost(node));
  const cleanStop = (host: string): boolean => {
    const d = up.get(host);
    if (d === undefined || stopping.has(host)) return false;
    stopping.set(
      host,
      d.dispose().then(() => {
        if (up.get(host) === d) {
          up.delete(host);
          world.powerOff(host);
        }
        stopping.delete(host);
      }),
    );
    return true;
  };
  const kindOf = (net: Net, payload: unknown): string => {
    if (net === 'channel') return (payload as PeerMessage).type;
    if (Buffer.isBuffer(payload)) {
      try {
        return String((JSON.parse(payload.subarray(42).toString('utf8')) as { type?: unknown }).type);
      } catch {
        return '?';
      }
    }
    return (payload as WireMessage).type;
  };
  const replayMatches = (what: ReplayKind, net: Net, kind: string): boolean => {
    switch (what) {
      case 'any':
        return true;
      case 'channel':
        return net === 'channel';
      case 'heartbeat':
        return net === 'heartbeat' && kind === 'heartbeat';
      case 'leave':
        return net === 'heartbeat' && kind === 'leave';
      default:
        return net === 'channel' && kind === what;
    }
  };
  const replay = (s: Extract<Step, { type: 'replay' }>): boolean => {
    const pool: { net: Net; r: Recorded<unknown> }[] = [];
    for (const [net, f] of [
      ['heartbeat', hbFabric],
      ['channel', chf],
    ] as const)
      for (const r of f.recorded as Recorded<unknown>[])
        if (tick - r.tick >= s.minAge && (s.to === undefined || r.to === s.to) && replayMatches(s.what, net, kindOf(net, r.payload))) pool.push({ net, r });
    if (pool.length === 0) return false;
    const picked: string[] = [];
    for (let i = 0; i < s.count; i++) {
      const { net, r } = attacker.pick(pool);
      const f = (net === 'channel' ? chf : hbFabric) as Fabric<unknown>;
      if (f.replay(r)) picked.push(`${kindOf(net, r.payload)} ${r.from}->${r.to} of t=${r.tick}`);
    }
    log.push(`t=${tick}   replayed: ${picked.join(', ') || 'nothing (receivers down)'}`);
    return true;
  };
  const apply = async (s: Step): Promise<boolean> => {
    switch (s.type) {
      case 'partition':
        for (const l of s.links) partitions.set(l, s.groups);
        applyPartitions();
        return true;
      case 'heal':
        partitions.clear();
        world.impaired.clear();
        applyPartitions();
        return true;
      case 'loss':
        for (const n of nets) n.setLoss(s.link, s.p);
        return true;
      case 'delay':
        for (const n of nets) n.setDelay(s.link, s.ticks);
        return true;
      case 'calm':
        for (const l of LINKS)
          for (const n of nets) {
            n.setLoss(l, 0);
            n.setDelay(l, 0);
            n.setJitter(l, 0);
          }
        return true;
      // While a clone of the node runs, the schedule leaves the node itself alone (only fencing
      // touches it): a copy that runs alone is the node as far as anyone can tell.
      case 'power-off':
        if (!up.has(s.node) || cloneRuns(s.node)) return false;
        kill(s.node);
        return true;
      case 'stop':
        return !cloneRuns(s.node) && cleanStop(s.node);
      case 'start':
        if (up.has(s.node) || cloneRuns(s.node)) return false;
        await start(s.node);
        return true;
      case 'update':
        return !stopping.has(s.node) && issue(s.node, s.request) !== undefined;
      case 'isolate':
        world.impaired.set(s.node, { links: s.links, monitorsFail: s.monitorsFail, startFails: s.startFails });
        applyPartitions();
        return true;
      case 'reconnect':
        if (!world.impaired.delete(s.node)) return false;
        applyPartitions();
        return true;
      case 'net-delay':
        (s.net === 'channel' ? ch : hbNet).setDelay(s.link, s.ticks);
        return true;
      case 'jitter':
        (s.net === 'channel' ? ch : hbNet).setJitter(s.link, s.ticks);
        return true;
      case 'net-loss':
        (s.net === 'channel' ? ch : hbNet).setLoss(s.link, s.p);
        return true;
      case 'replay':
        return replay(s);
      case 'clone': {
        const host = cloneHost(s.node);
        // A clone of a running node (two daemons at once under one name).
        if (up.has(host) || stopping.has(host) || !up.has(s.node) || stopping.has(s.node)) return false;
        // A copy of the machine's disk as it is now (the state directory, if it has one yet). The
        // node's daemon may be writing its state (a temporary file, then a rename): the copy leaves
        // temporary files out, and is taken again if a file vanished while it was taken.
        for (let attempt = 0; ; attempt++) {
          rmSync(join(root, host), { recursive: true, force: true });
          try {
            if (existsSync(join(root, s.node))) cpSync(join(root, s.node), join(root, host), { recursive: true, filter: (src) => !src.endsWith('.tmp') });
            break;
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw e;
          }
        }
        nodeOf.set(host, s.node);
        for (const f of fabrics) f.setDelivery(s.node, s.delivery);
        cloned.add(s.node);
        await start(host);
        return true;
      }
      case 'arbiter-restart':
        if (arbiter === undefined) return false;
        arbiter.restart();
        return true;
      case 'clone-stop': {
        const host = cloneHost(s.node);
        if (!up.has(host)) return false;
        if (s.clean) return cleanStop(host);
        kill(host);
        return true;
      }
    }
  };
  const allDocs = (): ClusterDoc[] =>
    nodes.flatMap((n) => {
      const d = up.get(n);
      return d ? [d.document()] : [];
    });
  const converged = (): boolean => {
    const docs = allDocs();
    if (docs.length !== nodes.length) return false;
    const k = docKey(docs[0]!);
    return docs.every((d) => docKey(d) === k);
  };
  const quarantined = (): string[] => {
    const d = allDocs()[0];
    return d ? nodes.filter((n) => d.quarantine[n] !== undefined) : [];
  };
  const expectedPlacement = (doc: ClusterDoc): Map<string, string[]> => {
    const s = adminState(doc, nodes);
    const m = new Map<string, string[]>();
    for (const r of RESOURCES) {
      if (s.get(`role:${r}`) === 'Stopped') {
        m.set(r, []);
        continue;
      }
      m.set(
        r,
        nodes.filter((n) => s.get(`standby:${n}`) !== 'true' && doc.quarantine[n] === undefined && s.get(`ban:${r}:${n}`) !== 'true'),
      );
    }
    return m;
  };
  const placementProblems = (): string[] => {
    const doc = allDocs()[0];
    if (doc === undefined) return ['no node is up'];
    const out: string[] = [];
    for (const [r, eligible] of expectedPlacement(doc)) {
      const on = [...(world.running.get(r) ?? [])].sort();
      if (eligible.length === 0 && on.length > 0) out.push(`${r} runs on ${on.join(', ')} but no node may host it`);
      if (eligible.length > 0 && (on.length !== 1 || !eligible.includes(on[0]!)))
        out.push(`${r} runs on [${on.join(', ')}], expected on one of ${eligible.join(', ')}`);
    }
    return out;
  };

  // Each action makes its state directory first (fs.promises.mkdir, real I/O whose completion
  // order would make runs differ); the in-memory agent needs none, so under this run's root it
  // resolves at once. Everything else the daemons do in a tick is then microtasks, and a seed
  // replays exactly.
  const realMkdir = fsp.mkdir;
  fsp.mkdir = ((path: Parameters<typeof fsp.mkdir>[0], opts?: Parameters<typeof fsp.mkdir>[1]) =>
    String(path).startsWith(join(root, '')) && String(path).includes('/resources/') ? Promise.resolve(undefined) : realMkdir(path, opts)) as typeof fsp.mkdir;
  try {
    for (const n of nodes) await start(n);
    const byTick = new Map<number, Step[]>();
    for (const t of schedule.steps) byTick.set(t.tick, [...(byTick.get(t.tick) ?? []), t.step]);
    while (tick < schedule.ticks) {
      for (const s of byTick.get(tick) ?? []) {
        const done = await apply(s);
        if (done && s.type !== 'update') faults += 1;
        log.push(`t=${tick} ${describeStep(s)}${done ? '' : ' (skipped)'}`);
      }
      await step();
    }
    for (const f of fabrics) f.recording = false;
    // A clone still running is killed; then the administrator, alarmed by the identity conflict,
    // reboots the real node (until it restarts, its peers may ignore it as an older incarnation).
    for (const n of cloned) {
      if (up.has(cloneHost(n))) {
        log.push(`t=${tick} kill the clone of ${n}`);
        kill(cloneHost(n));
      }
      for (let i = 0; i < 400 && stopping.has(cloneHost(n)); i++) await step();
      if (up.has(n)) {
        log.push(`t=${tick} reboot ${n} (it was cloned)`);
        kill(n);
      }
    }
    // A daemon that learned another runs under its own name says "stop the other daemon, then
    // restart this one": the administrator does (a reboot, too).
    for (const n of nodes) {
      const d = up.get(n);
      if (d !== undefined && !cloned.has(n) && (d.status().conflicts ?? []).some((c) => c.startsWith(`${n} (`))) {
        log.push(`t=${tick} reboot ${n} (it reports another daemon under its name)`);
        kill(n);
        cloned.add(n);
      }
    }
    // A reboot takes a while (the node is started again below).
    if (cloned.size > 0) await run(20);
    // Heal everything, bring every node up, and let the cluster settle.
    log.push(`t=${tick} heal, calm, start every node`);
    await apply({ type: 'heal' });
    await apply({ type: 'calm' });
    for (let i = 0; i < 400 && stopping.size > 0; i++) await step();
    // A node that is down is started again (a fenced node reboots; it may be fenced again while
    // the others have not yet seen it back).
    const revive = async (): Promise<void> => {
      for (const n of nodes)
        if (!up.has(n) && !stopping.has(n)) {
          log.push(`t=${tick} start ${n}`);
          await start(n);
        }
    };
    const settle = async (min: number, max: number, done: () => boolean): Promise<void> => {
      for (let i = 0; i < min || (i < max && !done()); i++) {
        if (i % 20 === 0) await revive();
        await step();
      }
    };
    await settle(20, 600, () => converged() && updates.every((u) => u.result !== undefined));
    if (!converged()) violations.push(`the nodes did not converge on one document: ${[...up].map(([n, d]) => `${n} epoch ${d.document().epoch}`).join(', ')}`);
    const pendingUpdates = updates.filter((u) => u.result === undefined);
    if (pendingUpdates.length)
      violations.push(`${pendingUpdates.length} updates never answered: ${pendingUpdates.map((u) => JSON.stringify(u.request)).join('; ')}`);
    const final = allDocs()[0]!;
    violations.push(...checkUpdates(initialDoc, final, nodes, updates));
    for (const u of updates)
      if (u.result && classify(u.result) === 'refused' && !CLEAR_REFUSAL.test(u.result.message))
        violations.push(`unclear refusal of ${JSON.stringify(u.request)}: "${u.result.message}"`);
    // Clear quarantines (as the administrator would), then everything that may run must run once.
    for (let attempt = 0; attempt < 5 && quarantined().length > 0; attempt++) {
      for (const n of quarantined()) {
        const rec = issue(
          nodes.find((x) => up.has(x))!,
          { op: 'clear-node', node: n },
        );
        await settle(1, 200, () => rec?.result !== undefined);
        log.push(`t=${tick} clear-node ${n}: ${rec?.result?.message ?? 'no answer'}`);
      }
    }
    if (quarantined().length) violations.push(`could not clear the quarantine of ${quarantined().join(', ')}`);
    // Failed starts and monitors (e.g. of an isolated node) leave fail counts that keep resources
    // off nodes: the administrator cleans them up too.
    const failing = nodes.flatMap((n) => (up.get(n)?.status().nodes ?? []).filter((x) => x.failures.length > 0).map((x) => x.name));
    const admin = nodes.find((x) => up.has(x));
    if (failing.length > 0 && admin !== undefined)
      log.push(`t=${tick} ${up.get(admin)!.cleanup()} (fail counts on ${[...new Set(failing)].sort().join(', ')})`);
    // Settled: placed as expected, with no start or stop under way, for 20 ticks in a row (a
    // placement can be right for a moment, just before the coordinator moves something, whose new
    // start may take longer than the final run below).
    let calm = 0;
    await settle(20, 800, () => {
      calm = placementProblems().length === 0 && world.busy.size === 0 ? calm + 1 : 0;
      return calm >= 20;
    });
    await run(10);
    violations.push(...placementProblems().map((p) => `not placed as expected after settling: ${p}`));
    if (!converged()) violations.push('the nodes disagree on the document at the end');
    violations.unshift(...world.violations.slice(0, 10));
    const counts: Record<UpdateClass, number> = { acked: 0, refused: 0, indeterminate: 0 };
    const refusals: Record<string, number> = {};
    for (const u of updates) {
      if (!u.result) continue;
      const c = classify(u.result);
      counts[c] += 1;
      if (c === 'refused') {
        const kind = /is lost and not proven down/.test(u.result.message)
          ? 'peer unaccounted'
          : /no quorum/.test(u.result.message)
            ? 'no quorum'
            : /(has|have) not shown .+ configuration/.test(u.result.message)
              ? 'peer document unknown'
              : /coordinator changed/.test(u.result.message)
                ? 'coordinator changed'
                : /no move or ban|not quarantined|already quarantined/.test(u.result.message)
                  ? 'nothing to do'
                  : 'other';
        refusals[kind] = (refusals[kind] ?? 0) + 1;
      }
    }
    return { seed: schedule.seed, schedule, log, faults, updates: counts, refusals, violations, ticks: tick, finalEpoch: final.epoch };
  } finally {
    fsp.mkdir = realMkdir;
    for (const d of up.values()) await d.abandon();
    await Promise.all(dying.values());
    clock.dispose();
    // An abandoned daemon (a crash) may still be finishing a state write (seed 857 once met ENOTEMPTY).
    rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  }
}

/** A failure report that replays: the schedule, what happened, and the violations. */
export function explainFailure(r: SimResult): string {
  return [
    `simulated schedule failed — replay with SIM_SEED=${r.seed}`,
    ...r.violations.map((v) => `  VIOLATION ${v}`),
    formatSchedule(r.schedule),
    'what happened:',
    ...r.log.map((l) => `  ${l}`),
  ].join('\n');
}
