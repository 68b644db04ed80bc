/**
 * A test stand-in for the core's clone port (clone/stage.ts's `CloneAssignPort`), so that the clone
 * stage's steps can be tested without the rest of the scheduler: one score table per instance, and
 * a simple node choice (`chooseNode`) in place of the core's ranker chain (assign/node-choice.ts).
 */
import { Clone, INFINITY, type Role, type Score } from '@paceline/model';
import { cloneSettings } from '../src/clone/settings.js';
import type { CloneAssignPort } from '../src/clone/stage.js';

export interface Inst {
  id: string;
  n: number;
  running: string[];
  role: Role;
  table: Map<string, number>;
  next?: Role;
  node?: string | null;
  known: Set<string>;
}

/** A port over `opts.clone` on `opts.nodes` (the ones in `down` unavailable), one instance per clone-max. */
export function fakePort(opts: {
  clone: unknown;
  nodes: string[];
  running?: Record<string, string[]>;
  roles?: Record<string, Role>;
  attrs?: Record<string, Record<string, string>>;
  promotedLoc?: Record<string, number>;
  cloneBan?: string[];
  stickiness?: number;
  down?: string[];
}): { port: CloneAssignPort<Inst>; insts: Inst[] } {
  const c = Clone.parse(opts.clone);
  const s = cloneSettings(c, opts.nodes.length);
  const insts: Inst[] = [];
  const load = new Map<string, number>();
  for (let n = 0; n < s.cloneMax; n++) {
    const id = `${s.childId}:${n}`;
    const running = opts.running?.[id] ?? [];
    const table = new Map(opts.nodes.map((x) => [x, opts.cloneBan?.includes(x) ? -INFINITY : 0]));
    for (const r of running) table.set(r, (table.get(r) ?? 0) + (opts.stickiness ?? s.stickiness));
    insts.push({ id, n, running, role: opts.roles?.[id] ?? (running.length ? 'Started' : 'Stopped'), table, known: new Set(running) });
  }
  const up = (name: string) => !opts.down?.includes(name);
  const nodeMap = new Map(opts.nodes.map((name) => [name, { name, available: up(name) }]));
  const port: CloneAssignPort<Inst> = {
    settings: s,
    instances: insts,
    nodes: opts.nodes.map((name) => ({ name, available: up(name) })),
    instanceId: (r) => r.id,
    instanceNumber: (r) => r.n,
    orphan: (r) => r.n >= s.cloneMax,
    runningOn: (r) => r.running,
    failed: () => false,
    managed: () => true,
    priority: () => 0,
    currentRole: (r) => r.role,
    roleLimit: () => undefined,
    cloneScores: () => new Map(opts.nodes.map((x) => [x, opts.cloneBan?.includes(x) ? -INFINITY : 0])),
    instanceScores: (r) => r.table,
    addPromotionScore: (r, node, score) => r.table.set(node, (r.table.get(node) ?? 0) + score),
    limitInstanceScore: (r, node, score) => r.table.set(node, Math.min(r.table.get(node) ?? 0, score)),
    assign: (r, prefer) => {
      const chosen = chooseNode(r.table, nodeMap, { current: r.running[0], prefer, unique: s.unique, load: (x) => load.get(x) ?? 0 });
      if (prefer !== undefined && chosen !== prefer) return null;
      r.node = chosen;
      if (chosen) load.set(chosen, (load.get(chosen) ?? 0) + 1);
      return chosen;
    },
    stop: (r) => {
      r.node = null;
    },
    setNextRole: (r, role) => {
      r.next = role;
    },
    nodeAttribute: (node, name) => opts.attrs?.[node]?.[name],
    knownOn: (r) => r.known,
    promotedLocationScore: (node) => opts.promotedLoc?.[node] ?? 0,
  };
  return { port, insts };
}

/**
 * Picks the best node from weights (Pacemaker's node choice for one primitive): highest weight
 * among available nodes, ties broken by fewer placed resources, then the current node, then name.
 * For anonymous clone instances (and plain primitives), when several nodes share the best positive
 * weight the current node wins. Returns null when no node has a weight >= 0.
 */
export function chooseNode(
  scores: ReadonlyMap<string, Score>,
  nodes: ReadonlyMap<string, { readonly available: boolean }>,
  opts: { readonly current?: string | undefined; readonly prefer?: string | undefined; readonly unique: boolean; readonly load: (node: string) => number },
): string | null {
  const list: { name: string; w: Score }[] = [];
  for (const [name, w] of scores) {
    const n = nodes.get(name);
    list.push({ name, w: n?.available === true ? w : -INFINITY });
  }
  list.sort((x, y) => {
    if (x.w !== y.w) return y.w - x.w;
    const lx = opts.load(x.name);
    const ly = opts.load(y.name);
    if (lx !== ly) return lx - ly;
    if (opts.current !== undefined) {
      if (x.name === opts.current) return -1;
      if (y.name === opts.current) return 1;
    }
    return x.name < y.name ? -1 : x.name > y.name ? 1 : 0;
  });
  const best = list[0];
  if (best === undefined) return null;
  let chosen: { name: string; w: Score } | undefined;
  if (opts.prefer !== undefined) {
    const p = list.find((e) => e.name === opts.prefer);
    if (p !== undefined && p.w >= best.w && p.w >= 0) chosen = p;
  }
  if (chosen === undefined) {
    chosen = best;
    if (!opts.unique && chosen.w > 0 && opts.current !== undefined) {
      const cur = list.find((e) => e.name === opts.current && e.w === best.w);
      if (cur !== undefined) chosen = cur;
    }
  }
  return chosen.w < 0 ? null : chosen.name;
}
