/**
 * Seeded random fault schedules for the simulated cluster: a pure function of the seed, so a
 * failing seed replays exactly (SIM_SEED=N). A schedule is a cluster shape (nodes, partition
 * policy) plus timed steps: partitions of one or all links, packet loss and delay per link,
 * healing, power losses, clean stops, restarts, and administrative updates issued on random nodes.
 */
import { Prng } from '@paceline/testkit';
import type { UpdateRequest } from '@paceline/daemon';

export const LINKS = ['crossover', 'lan'] as const;
export const RESOURCES = ['web', 'mail', 'dns'] as const;

export type Step =
  | { readonly type: 'partition'; readonly links: readonly string[]; readonly groups: readonly (readonly string[])[] }
  | { readonly type: 'heal' }
  | { readonly type: 'loss'; readonly link: string; readonly p: number }
  | { readonly type: 'delay'; readonly link: string; readonly ticks: number }
  | { readonly type: 'calm' }
  | { readonly type: 'power-off'; readonly node: string }
  | { readonly type: 'stop'; readonly node: string }
  | { readonly type: 'start'; readonly node: string }
  | { readonly type: 'update'; readonly node: string; readonly request: UpdateRequest };

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
}

export function describeStep(s: Step): string {
  switch (s.type) {
    case 'partition': return `partition ${s.links.join('+')} ${s.groups.map((g) => `[${g.join(' ')}]`).join(' | ')}`;
    case 'heal': return 'heal partitions';
    case 'loss': return `loss ${Math.round(s.p * 100)}% on ${s.link}`;
    case 'delay': return `delay ${s.ticks} ticks on ${s.link}`;
    case 'calm': return 'no loss, no delay';
    case 'power-off': return `power off ${s.node}`;
    case 'stop': return `clean stop ${s.node}`;
    case 'start': return `start ${s.node}`;
    case 'update': return `${s.node}: update ${JSON.stringify(s.request)}`;
  }
}

export function formatSchedule(s: Schedule): string {
  return [`seed ${s.seed}: ${s.nodes.length} nodes, policy ${s.policy}, ${s.ticks} ticks`, ...s.steps.map((t) => `  t=${t.tick} ${describeStep(t.step)}`)].join('\n');
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

/** The schedule for `seed` (deterministic). */
export function makeSchedule(seed: number): Schedule {
  const prng = new Prng(seed * 2654435761);
  const nodes = prng.chance(0.25) ? ['serv1', 'serv2', 'serv3'] : ['serv1', 'serv2'];
  const drawn = prng.chance(0.2) ? 'stop-all' as const : 'fence' as const;
  // Seeds ending in 3 use the witness policy (chosen apart from the random stream, so that the other
  // seeds keep their schedules). The witness is a ping target on the LAN: it tells the two sides of
  // a partition apart, which packet loss does not (both sides may lose each other and still reach
  // it — the policy's documented assumption), so these schedules partition but add no loss or delay.
  const witness = seed % 10 === 3;
  const policy = witness ? 'witness' as const : drawn;
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
  for (let i = 0; i < n; i++) steps.push({ tick: 30 + prng.int(ticks - 30), step: { type: 'update', node: prng.pick(nodes), request: randomRequest(prng, nodes) } });
  steps.sort((a, b) => a.tick - b.tick);
  return { seed, nodes, policy, ticks, steps };
}

/** Parses "1-5000", "7", "1-10,42" into seeds. */
export function parseSeeds(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`bad seed range "${part}" (expected N or A-B, comma-separated)`);
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    if (b < a) throw new Error(`bad seed range "${part}": ${b} < ${a}`);
    for (let s = a; s <= b; s++) out.push(s);
  }
  return out;
}
