/**
 * Seeded random fault schedules for the simulated cluster: a pure function of the seed (and of the
 * fault classes enabled), so a failing seed replays exactly (SIM_SEED=N, with SIM_FAULTS as it
 * ran). A schedule is a cluster shape (nodes, partition policy) plus timed steps: partitions of one
 * or all links, packet loss and delay per link, healing, power losses, clean stops, restarts, and
 * administrative updates issued on random nodes.
 *
 * Optional fault classes add elements drawn from a separate random stream (each class its own), so
 * the base steps of a seed are the same whichever classes are on:
 * - `isolate`: a node loses every link (or only the LAN), one-sidedly — it cannot send or receive,
 *   the witness and the power switch stay with the others — and keeps running: its resources'
 *   monitors may fail (as a VIP's does when its link is down), their restarts may fail, and its
 *   fencing fails ("unreachable") while the others' works; it reconnects later;
 * - `flap`: every link of a node, or between two groups, is cut for a few ticks less than the fence
 *   delay, then heals;
 * - `skew`: the daemon channel and the heartbeats get different delays and jitter (reordering), and
 *   which of the two is delivered first within a tick is random;
 * - `replay`: an attacker on the wire records channel and heartbeat packets and replays some later
 *   (also to a node that has just restarted, and after many further messages);
 * - `clone`: a second daemon with a node's name and key (a cloned machine, with a copy of its disk)
 *   starts beside the running real one and runs for a while, then stops cleanly or is killed
 *   (meanwhile the schedule does not stop, power off or start the real node; fencing may);
 * - `arbiter`: half the `fence` clusters get the witness arbiter (the recommended setup: a node fences
 *   only while it holds the arbiter's vote), reached over the LAN; the arbiter may restart.
 * - `slow`: half the clusters get agents whose starts and stops take 1-3 ticks, as real daemons do
 *   (a stop kills the service first, then waits for it; a start launches the service, which runs
 *   from then on, and answers once it is ready), and a monitor of a resource that runs while its
 *   host starts or stops it is a violation (found in the live lab: a replica's monitor ran during
 *   its promote and got it banned from its last node). A third of those get starts of 45-84 ticks,
 *   longer than the `witness` grace (found in namespaces: a node that lost the right to run let its
 *   start finish before stopping, while the peer had already taken the resource over); a start
 *   whose signal aborts stops what it launched, as a real agent does.
 * - `drop`: the daemon channel alone loses messages for a while (reports and what changed in them,
 *   results, requests for a report) while the heartbeats get through: the nodes stay members, and
 *   what a lost report delta carried must come back (report-inbox.ts) before anything is planned on it.
 */
import { Prng } from '@paceline/testkit';
import type { UpdateRequest } from '@paceline/daemon';

export const LINKS = ['crossover', 'lan'] as const;
export const RESOURCES = ['web', 'mail', 'dns'] as const;
/** The membership default the `flap` class stays under. */
export const FENCE_DELAY_TICKS = 20;

export const FAULT_CLASSES = ['isolate', 'flap', 'skew', 'replay', 'clone', 'arbiter', 'slow', 'drop', 'thread'] as const;
export type FaultClass = (typeof FAULT_CLASSES)[number];

/** Parses "isolate,skew", "all" or "" (none) into fault classes. */
export function parseFaultClasses(spec: string | undefined): FaultClass[] {
  const parts = (spec ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  if (parts.includes('all')) return [...FAULT_CLASSES];
  for (const p of parts)
    if (!(FAULT_CLASSES as readonly string[]).includes(p)) throw new Error(`unknown fault class "${p}" (classes: ${FAULT_CLASSES.join(', ')}, or all)`);
  return FAULT_CLASSES.filter((c) => parts.includes(c));
}

/** Which network a `net-delay` or `jitter` step changes. */
export type Net = 'channel' | 'heartbeat';
/** What a replay step replays: channel messages of one type (or any), heartbeats, leave messages, or anything. */
export type ReplayKind = 'action' | 'update' | 'report' | 'channel' | 'heartbeat' | 'leave' | 'any';

export type Step =
  | { readonly type: 'partition'; readonly links: readonly string[]; readonly groups: readonly (readonly string[])[] }
  | { readonly type: 'heal' }
  | { readonly type: 'loss'; readonly link: string; readonly p: number }
  | { readonly type: 'delay'; readonly link: string; readonly ticks: number }
  | { readonly type: 'calm' }
  | { readonly type: 'power-off'; readonly node: string }
  | { readonly type: 'stop'; readonly node: string }
  | { readonly type: 'start'; readonly node: string }
  | { readonly type: 'update'; readonly node: string; readonly request: UpdateRequest }
  | { readonly type: 'isolate'; readonly node: string; readonly links: readonly string[]; readonly monitorsFail: boolean; readonly startFails: boolean }
  | { readonly type: 'reconnect'; readonly node: string }
  | { readonly type: 'net-delay'; readonly net: Net; readonly link: string; readonly ticks: number }
  | { readonly type: 'jitter'; readonly net: Net; readonly link: string; readonly ticks: number }
  | { readonly type: 'net-loss'; readonly net: Net; readonly link: string; readonly p: number }
  | { readonly type: 'replay'; readonly what: ReplayKind; readonly count: number; readonly minAge: number; readonly to?: string }
  | { readonly type: 'clone'; readonly node: string; readonly delivery: 'both' | 'split' }
  | { readonly type: 'clone-stop'; readonly node: string; readonly clean: boolean }
  | { readonly type: 'arbiter-restart' };

export interface TimedStep {
  readonly tick: number;
  readonly step: Step;
}

export interface Schedule {
  readonly seed: number;
  readonly nodes: readonly string[];
  readonly policy: 'fence' | 'stop-all' | 'witness';
  /** Ticks of the random phase (then everything heals and settles). */
  readonly ticks: number;
  readonly steps: readonly TimedStep[];
  /** The optional fault classes whose elements are mixed in (default none). */
  readonly classes?: readonly FaultClass[];
  /** Interval of the resources' recurring monitors (default 2s). */
  readonly monitorInterval?: string;
  /**
   * Policy `fence`: the nodes check a ping target on the LAN before fencing (the witness, as the
   * daemon's `witness` option; default true). Without one, only the fencing device's own failure
   * keeps a node that lost the LAN from shooting.
   */
  readonly pingTarget?: boolean;
  /** Policy `fence` with the witness arbiter (sim/arbiter.ts) on the LAN. */
  readonly arbiter?: boolean;
  /** Ticks a start or a stop takes (class `slow`; default 0: instant). */
  readonly slowActions?: number;
  /** Ticks a start takes, when longer than `slowActions` (class `slow`). */
  readonly startTicks?: number;
  /**
   * Class `thread`: the scheduler runs in its thread (the daemon's SchedulerThread, CoreDriver's
   * hold, speculation and abandon), whose answer comes this many ticks after a run is posted,
   * instead of within the step that asks (`inline`).
   */
  readonly schedulerTicks?: number;
  /** Class `thread`: ticks the power switch takes to power a node off (default 0: at once). */
  readonly fenceTicks?: number;
}

export function describeStep(s: Step): string {
  switch (s.type) {
    case 'partition':
      return `partition ${s.links.join('+')} ${s.groups.map((g) => `[${g.join(' ')}]`).join(' | ')}`;
    case 'heal':
      return 'heal partitions';
    case 'loss':
      return `loss ${Math.round(s.p * 100)}% on ${s.link}`;
    case 'delay':
      return `delay ${s.ticks} ticks on ${s.link}`;
    case 'calm':
      return 'no loss, no delay';
    case 'power-off':
      return `power off ${s.node}`;
    case 'stop':
      return `clean stop ${s.node}`;
    case 'start':
      return `start ${s.node}`;
    case 'update':
      return `${s.node}: update ${JSON.stringify(s.request)}`;
    case 'isolate':
      return `isolate ${s.node} (${s.links.join('+')} down on its side${s.monitorsFail ? ', its monitors fail' : ''}${s.startFails ? ', its starts fail' : ''}, its fencing fails)`;
    case 'reconnect':
      return `reconnect ${s.node}`;
    case 'net-delay':
      return `delay ${s.ticks} ticks on ${s.link}, ${s.net} only`;
    case 'jitter':
      return `jitter up to ${s.ticks} ticks on ${s.link}, ${s.net} only`;
    case 'net-loss':
      return `loss ${Math.round(s.p * 100)}% on ${s.link}, ${s.net} only`;
    case 'replay':
      return `replay ${s.count} recorded ${s.what} packet(s)${s.to !== undefined ? ` to ${s.to}` : ''}${s.minAge > 0 ? ` at least ${s.minAge} ticks old` : ''}`;
    case 'clone':
      return `start a clone of ${s.node} (same name and key, copy of its disk; packets to ${s.node} reach ${s.delivery === 'both' ? 'both' : 'one of the two at random'})`;
    case 'clone-stop':
      return `${s.clean ? 'clean stop' : 'kill'} the clone of ${s.node}`;
    case 'arbiter-restart':
      return 'restart the witness arbiter';
  }
}

export function formatSchedule(s: Schedule): string {
  const extra = s.classes?.length
    ? `, faults ${s.classes.join(',')}, monitors every ${s.monitorInterval ?? '2s'}${s.pingTarget === false ? ', no ping target' : ''}${s.arbiter ? ', witness arbiter' : ''}${s.slowActions ? `, starts and stops take ${s.slowActions} ticks` : ''}${s.startTicks ? `, starts ${s.startTicks} ticks` : ''}${s.schedulerTicks ? `, scheduler answers after ${s.schedulerTicks} ticks` : ''}${s.fenceTicks ? `, fencing takes ${s.fenceTicks} ticks` : ''}`
    : '';
  return [
    `seed ${s.seed}: ${s.nodes.length} nodes, policy ${s.policy}, ${s.ticks} ticks${extra}`,
    ...s.steps.map((t) => `  t=${t.tick} ${describeStep(t.step)}`),
  ].join('\n');
}

function randomRequest(prng: Prng, nodes: readonly string[]): UpdateRequest {
  const node = prng.pick(nodes);
  const resource = prng.pick(RESOURCES);
  const r = prng.next();
  if (r < 0.25) return { op: 'standby', node, on: prng.chance(0.4) };
  if (r < 0.45) return { op: 'move', resource, node };
  if (r < 0.6) return { op: 'ban', resource, node };
  if (r < 0.8) return prng.chance(0.5) ? { op: 'clear', resource } : { op: 'clear', resource, node };
  const role = prng.pick(['Started', 'Stopped', undefined] as const);
  return role === undefined ? { op: 'target-role', resource } : { op: 'target-role', resource, role };
}

function split(prng: Prng, nodes: readonly string[]): string[][] {
  if (nodes.length === 2) return [[nodes[0]!], [nodes[1]!]];
  const alone = prng.pick(nodes);
  return [[alone], nodes.filter((n) => n !== alone)];
}

/** The schedule for `seed` with the optional fault `classes` (deterministic). */
export function makeSchedule(seed: number, classes: readonly FaultClass[] = []): Schedule {
  const prng = new Prng(seed * 2654435761);
  const nodes = prng.chance(0.25) ? ['serv1', 'serv2', 'serv3'] : ['serv1', 'serv2'];
  const drawn = prng.chance(0.2) ? ('stop-all' as const) : ('fence' as const);
  // Seeds ending in 3 use the witness policy (chosen apart from the random stream, so that the other
  // seeds keep their schedules). The witness is a ping target on the LAN: it tells the two sides of
  // a partition apart, which packet loss does not (both sides may lose each other and still reach
  // it — the policy's documented assumption), so these schedules partition but add no loss or delay.
  const witness = seed % 10 === 3;
  const policy = witness ? ('witness' as const) : drawn;
  const ticks = 220 + prng.int(120);
  const steps: TimedStep[] = [];
  // Faults: one every 15..60 ticks after the cluster formed.
  for (let t = 40 + prng.int(20); t < ticks - 10; t += 12 + prng.int(36)) {
    const r = prng.next();
    const link = prng.pick(LINKS);
    let step: Step;
    if (r < 0.14) step = { type: 'partition', links: [link], groups: split(prng, nodes) };
    else if (r < 0.28) step = { type: 'partition', links: [...LINKS], groups: split(prng, nodes) };
    else if (r < 0.42) step = { type: 'heal' };
    else if (r < 0.52) step = { type: 'loss', link, p: prng.pick([0.1, 0.2, 0.4, 0.7]) };
    else if (r < 0.6) step = { type: 'delay', link, ticks: 1 + prng.int(4) };
    else if (r < 0.66) step = { type: 'calm' };
    else if (r < 0.78) step = { type: 'power-off', node: prng.pick(nodes) };
    else if (r < 0.83) step = { type: 'stop', node: prng.pick(nodes) };
    else step = { type: 'start', node: prng.pick(nodes) };
    steps.push({ tick: t, step: witness && (step.type === 'loss' || step.type === 'delay') ? { type: 'calm' } : step });
  }
  // Administrative updates: 4..12 of them at random times, on random nodes (dead ones skip).
  const n = 4 + prng.int(9);
  for (let i = 0; i < n; i++)
    steps.push({ tick: 30 + prng.int(ticks - 30), step: { type: 'update', node: prng.pick(nodes), request: randomRequest(prng, nodes) } });
  let monitorInterval: string | undefined;
  let pingTarget: boolean | undefined;
  let arbiter: boolean | undefined;
  let slowActions: number | undefined;
  let startTicks: number | undefined;
  let schedulerTicks: number | undefined;
  let fenceTicks: number | undefined;
  if (classes.length > 0) {
    // Every class draws from its own stream, forked in a fixed order whether it is on or not.
    const faults = new Prng(((seed * 2654435761) ^ 0x5bd1e995) >>> 0);
    for (const c of FAULT_CLASSES) {
      const p = faults.fork();
      if (!classes.includes(c)) continue;
      const extra = FAULT_ELEMENTS[c](p, { nodes, policy, ticks });
      steps.push(...extra.steps);
      monitorInterval ??= extra.monitorInterval;
      pingTarget ??= extra.pingTarget;
      arbiter ??= extra.arbiter;
      slowActions ??= extra.slowActions;
      startTicks ??= extra.startTicks;
      schedulerTicks ??= extra.schedulerTicks;
      fenceTicks ??= extra.fenceTicks;
    }
  }
  steps.sort((a, b) => a.tick - b.tick);
  return {
    seed,
    nodes,
    policy,
    ticks,
    steps,
    ...(classes.length ? { classes: [...classes] } : {}),
    ...(monitorInterval ? { monitorInterval } : {}),
    ...(pingTarget === false && policy === 'fence' ? { pingTarget } : {}),
    ...(arbiter === true && policy === 'fence' ? { arbiter } : {}),
    ...(slowActions ? { slowActions } : {}),
    ...(startTicks ? { startTicks } : {}),
    ...(schedulerTicks ? { schedulerTicks } : {}),
    ...(fenceTicks ? { fenceTicks } : {}),
  };
}

interface Shape {
  readonly nodes: readonly string[];
  readonly policy: Schedule['policy'];
  readonly ticks: number;
}

const FAULT_ELEMENTS: Record<
  FaultClass,
  (
    p: Prng,
    shape: Shape,
  ) => {
    steps: TimedStep[];
    monitorInterval?: string;
    pingTarget?: boolean;
    arbiter?: boolean;
    slowActions?: number;
    startTicks?: number;
    schedulerTicks?: number;
    fenceTicks?: number;
  }
> = {
  drop(p, { ticks }) {
    const steps: TimedStep[] = [];
    for (let i = 0, n = 1 + p.int(3); i < n; i++) {
      const tick = 1 + p.int(Math.max(1, ticks - 40));
      const lasts = 5 + p.int(60);
      for (const link of LINKS) {
        steps.push({ tick, step: { type: 'net-loss', net: 'channel', link, p: p.pick([0.2, 0.5, 0.8, 1]) } });
        steps.push({ tick: Math.min(ticks - 1, tick + lasts), step: { type: 'net-loss', net: 'channel', link, p: 0 } });
      }
    }
    return { steps };
  },
  // The scheduler's answer takes 1-12 ticks (50-600 ms: a run at a thousand resources on a loaded
  // machine), and mostly the power switch 1-15 ticks, so that losses, fencing and failures land while
  // a run is out, and the failover's run is held and computed ahead while the peer is fenced.
  thread(p) {
    return { steps: [], schedulerTicks: 1 + p.int(12), ...(p.chance(0.7) ? { fenceTicks: 1 + p.int(15) } : {}) };
  },
  slow(p) {
    if (!p.chance(0.5)) return { steps: [] };
    const slowActions = 1 + p.int(3);
    const monitorInterval = p.pick(['500ms', '1s']);
    return { steps: [], slowActions, monitorInterval, ...(p.chance(1 / 3) ? { startTicks: 45 + p.int(40) } : {}) };
  },
  isolate(p, { nodes, ticks }) {
    const steps: TimedStep[] = [];
    for (let i = 0, n = 1 + p.int(2); i < n; i++) {
      const tick = 40 + p.int(Math.max(1, ticks - 80));
      const node = p.pick(nodes);
      const links = p.chance(0.7) ? [...LINKS] : ['lan'];
      steps.push({ tick, step: { type: 'isolate', node, links, monitorsFail: p.chance(0.8), startFails: p.chance(0.5) } });
      const lasts = p.chance(0.5) ? 8 + p.int(25) : 30 + p.int(120);
      if (tick + lasts < ticks - 5) steps.push({ tick: tick + lasts, step: { type: 'reconnect', node } });
    }
    // VIP-like monitors that notice a dead link within their interval; half the clusters without a
    // ping target, where the isolated node does call its (failing) fencing device.
    return { steps, monitorInterval: p.pick(['500ms', '1s', '2s']), pingTarget: p.chance(0.5) };
  },
  flap(p, { nodes, ticks }) {
    const steps: TimedStep[] = [];
    for (let i = 0, n = 1 + p.int(3); i < n; i++) {
      const tick = 40 + p.int(Math.max(1, ticks - 70));
      const lasts = FENCE_DELAY_TICKS - 1 - p.int(5);
      if (p.chance(0.5)) {
        const node = p.pick(nodes);
        steps.push({ tick, step: { type: 'isolate', node, links: [...LINKS], monitorsFail: p.chance(0.7), startFails: p.chance(0.5) } });
        steps.push({ tick: tick + lasts, step: { type: 'reconnect', node } });
      } else {
        steps.push({ tick, step: { type: 'partition', links: [...LINKS], groups: split(p, nodes) } });
        steps.push({ tick: tick + lasts, step: { type: 'heal' } });
      }
    }
    return { steps };
  },
  skew(p, { policy, ticks }) {
    const steps: TimedStep[] = [];
    // With the witness policy the heartbeats stay well inside the dead time (a late link would be a
    // loss, which that policy assumes away).
    const maxHb = policy === 'witness' ? 2 : 4;
    const set = (tick: number): void => {
      for (const link of LINKS) {
        steps.push({ tick, step: { type: 'net-delay', net: 'heartbeat', link, ticks: p.int(maxHb + 1) } });
        steps.push({ tick, step: { type: 'net-delay', net: 'channel', link, ticks: p.int(4) } });
        steps.push({ tick, step: { type: 'jitter', net: 'heartbeat', link, ticks: p.int(policy === 'witness' ? 2 : 3) } });
        steps.push({ tick, step: { type: 'jitter', net: 'channel', link, ticks: p.int(4) } });
      }
    };
    set(1 + p.int(40));
    for (let i = 0, n = p.int(3); i < n; i++) set(40 + p.int(Math.max(1, ticks - 50)));
    return { steps };
  },
  replay(p, { nodes, ticks }) {
    const steps: TimedStep[] = [];
    const kinds: ReplayKind[] = ['action', 'update', 'report', 'channel', 'heartbeat', 'leave', 'any'];
    for (let i = 0, n = 2 + p.int(4); i < n; i++) {
      const what = p.pick(kinds);
      const count = 1 + p.int(30);
      const minAge = p.pick([0, 0, 50, 150]);
      if (p.chance(0.5)) {
        // To a node that has just restarted (its in-memory duplicate filters are empty).
        const node = p.pick(nodes);
        const tick = 40 + p.int(Math.max(1, ticks - 100));
        const back = tick + 3 + p.int(40);
        steps.push({ tick, step: p.chance(0.5) ? { type: 'power-off', node } : { type: 'stop', node } });
        steps.push({ tick: back, step: { type: 'start', node } });
        steps.push({ tick: back + 1 + p.int(40), step: { type: 'replay', what, count, minAge, to: node } });
      } else {
        steps.push({ tick: 40 + p.int(Math.max(1, ticks - 45)), step: { type: 'replay', what, count, minAge } });
      }
    }
    return { steps };
  },
  arbiter(p, { policy, ticks }) {
    if (policy !== 'fence' || !p.chance(0.5)) return { steps: [] };
    return { steps: p.chance(0.3) ? [{ tick: 40 + p.int(Math.max(1, ticks - 60)), step: { type: 'arbiter-restart' } }] : [], arbiter: true };
  },
  clone(p, { nodes, ticks }) {
    const node = p.pick(nodes);
    const tick = 40 + p.int(Math.max(1, ticks - 120));
    const stop = Math.min(ticks - 20, tick + 20 + p.int(130));
    return {
      steps: [
        { tick, step: { type: 'clone', node, delivery: p.chance(0.5) ? 'both' : 'split' } },
        { tick: stop, step: { type: 'clone-stop', node, clean: p.chance(0.5) } },
      ],
    };
  },
};

/** Parses "1-5000", "7", "1-10,42" into seeds. */
export function parseSeeds(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`bad seed range "${part}" (expected N or A-B, comma-separated)`);
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    if (b < a) throw new Error(`bad seed range "${part}": ${b} < ${a}`);
    for (let s = a; s <= b; s++) out.push(s);
  }
  return out;
}
