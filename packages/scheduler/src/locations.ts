/**
 * Stage "node criteria": the starting score of every primitive on every node. Applies, in
 * Pacemaker's order, the symmetric-cluster default, bans and pins found while unpacking the
 * status, location constraints (fixed node or rules; groups pass them to their first member,
 * clones to every instance), stickiness where a resource is active on one node, migration-
 * threshold bans and exclusive resource discovery.
 */
import type { ClusterConfig, LocationConstraint } from '@paceline/model';
import { INFINITY, addScores, compileResourcePattern, parseScore } from '@paceline/model';
import type { NodeView } from './nodes.js';
import type { ResourceTree, Resource } from './resources.js';
import { cloneOf, leaves } from './resources.js';
import type { UnpackResult } from './unpack.js';
import type { FailCountIndex } from './failcounts.js';
import { evaluateRule } from './rules.js';
import { addNodeScore, newScoreBook, tableOf, type ScoreBook } from './scores.js';
import type { Cause } from './reasons.js';

export type Discovery = 'always' | 'never' | 'exclusive';

export interface NodeCriteria {
  readonly book: ScoreBook;
  /** Resource-discovery mode per primitive and node (absent = always). */
  readonly discovery: ReadonlyMap<string, ReadonlyMap<string, Discovery>>;
  /** Location constraints limited to the Promoted role, kept for promotion. */
  readonly promotedLocations: readonly { readonly rsc: Resource; readonly node: string; readonly score: number; readonly id: string }[];
  readonly warnings: readonly string[];
}

const DISCOVERY_RANK: Record<Discovery, number> = { always: 0, never: 1, exclusive: 2 };

export function applyNodeCriteria(
  config: ClusterConfig,
  tree: ResourceTree,
  nodes: readonly NodeView[],
  unpacked: UnpackResult,
  fails: FailCountIndex,
  now: number,
): NodeCriteria {
  const book = newScoreBook();
  const discovery = new Map<string, Map<string, Discovery>>();
  const exclusive = new Set<string>();
  const promotedLocations: { rsc: Resource; node: string; score: number; id: string }[] = [];
  const warnings: string[] = [];
  const nodeByName = new Map(nodes.map((n) => [n.name, n]));

  for (const p of tree.primitives) {
    const t = tableOf(book, p.id);
    if (config.properties.symmetricCluster) for (const n of nodes) t.set(n.name, 0);
  }

  for (const a of unpacked.adjustments) {
    const target = tree.byId.get(a.rsc);
    if (!target) continue;
    for (const p of leaves(target)) {
      const targets = a.node === undefined ? nodes.map((n) => n.name) : [a.node];
      for (const n of targets)
        addNodeScore(book, p.id, n, a.score, a.score < 0 ? { kind: 'ban', ban: { kind: 'history', what: a.reason } } : { kind: 'history', what: a.reason });
    }
  }

  const applyToPrimitive = (p: Resource, list: readonly [string, number][], cause: Cause, mode: Discovery): void => {
    for (const [node, score] of list) {
      addNodeScore(book, p.id, node, score, cause);
      const d = discovery.get(p.id) ?? new Map<string, Discovery>();
      if (DISCOVERY_RANK[d.get(node) ?? 'always'] < DISCOVERY_RANK[mode]) {
        d.set(node, mode);
        if (mode === 'exclusive') exclusive.add(p.id);
      }
      discovery.set(p.id, d);
    }
  };
  const applyTo = (r: Resource, list: readonly [string, number][], cause: Cause, mode: Discovery): void => {
    if (r.kind === 'primitive') applyToPrimitive(r, list, cause, mode);
    else if (r.kind === 'group') {
      r.children.forEach((m, i) => applyTo(m, i === 0 ? list : list.map(([n]) => [n, 0] as [string, number]), cause, mode));
    } else for (const c of r.children) applyTo(c, list, cause, mode);
  };

  // Node health (#health-* attributes) as a location score for every resource.
  const strategy = config.properties.nodeHealthStrategy;
  if (strategy !== 'none') {
    const custom = strategy === 'progressive' || strategy === 'custom';
    const props = config.properties as { nodeHealthRed?: number; nodeHealthYellow?: number; nodeHealthGreen?: number; nodeHealthBase?: number };
    const red = custom ? (props.nodeHealthRed ?? 0) : -INFINITY;
    const yellow = custom ? (props.nodeHealthYellow ?? 0) : strategy === 'only-green' ? -INFINITY : 0;
    const green = custom ? (props.nodeHealthGreen ?? 0) : 0;
    const base = strategy === 'progressive' ? (props.nodeHealthBase ?? 0) : 0;
    for (const n of nodes) {
      let health = base;
      for (const [k, v] of n.attributes) {
        if (!k.startsWith('#health')) continue;
        const lv = v.toLowerCase();
        const score = lv === 'red' ? red : lv === 'yellow' ? yellow : lv === 'green' ? green : (parseScore(v) ?? 0);
        health = addScores(health, score);
      }
      if (health === 0) continue;
      for (const r of tree.top) if (health > 0 || !r.meta.allowUnhealthyNodes) applyTo(r, [[n.name, health]], { kind: 'node-health', strategy }, 'always');
    }
  }

  for (const c of config.constraints) {
    if (c.type !== 'location') continue;
    const targets = locationTargets(c, tree);
    if (targets.length === 0) warnings.push(`location ${c.id}: no resource matches`);
    for (const r of targets) {
      const lists = locationNodeLists(c, r, nodes, now);
      for (const { list, role } of lists) {
        if (role === 'Promoted') {
          for (const [node, score] of list) promotedLocations.push({ rsc: r, node, score, id: c.id });
          continue;
        }
        applyTo(r, list, { kind: 'location', constraint: c.id }, c.resourceDiscovery);
      }
    }
  }

  for (const p of tree.primitives) {
    const st = unpacked.resources.get(p.id);
    if (!st || !st.managed || p.meta.stickiness < 1 || st.runningOn.length !== 1) continue;
    const node = st.runningOn[0]!;
    if (!config.properties.symmetricCluster && !tableOf(book, p.id).has(node)) continue;
    addNodeScore(book, p.id, node, p.meta.stickiness, { kind: 'stickiness' });
  }

  for (const n of nodes) {
    if (!fails.nodesWithFailures.has(n.name)) continue;
    for (const p of tree.primitives) {
      const st = unpacked.resources.get(p.id);
      const threshold = p.meta.migrationThreshold;
      if (threshold === 0 || st?.failureIgnored) continue;
      const count = fails.effective(p, n.name);
      if (count <= 0 || threshold - count > 0) continue;
      const clone = cloneOf(p);
      const banned = clone && !clone.clone?.meta.globallyUnique ? leaves(clone) : [p];
      for (const b of banned) addNodeScore(book, b.id, n.name, -INFINITY, { kind: 'ban', ban: { kind: 'fail-count', count, threshold } });
    }
  }

  for (const id of exclusive) {
    const t = tableOf(book, id);
    const d = discovery.get(id);
    for (const node of t.keys())
      if (d?.get(node) !== 'exclusive') addNodeScore(book, id, node, -INFINITY, { kind: 'ban', ban: { kind: 'discovery-exclusive' } });
  }
  void nodeByName;
  return { book, discovery, promotedLocations, warnings };
}

function locationTargets(c: LocationConstraint, tree: ResourceTree): Resource[] {
  if (c.resource !== undefined) {
    const r = tree.byId.get(c.resource);
    return r ? [r] : [];
  }
  // Pacemaker matches rsc-pattern against top-level resources; a leading "!" inverts the match.
  // Linear-time matching (re2js): a user's pattern cannot block the scheduler. The schema refuses
  // patterns that do not compile, so `ok` is false only for unvalidated input: it matches nothing.
  const pattern = compileResourcePattern(c.resourcePattern ?? '');
  if (!pattern.ok) return [];
  return tree.top.filter((r) => !r.orphan && pattern.test(r.id));
}

function locationNodeLists(
  c: LocationConstraint,
  r: Resource,
  nodes: readonly NodeView[],
  now: number,
): { list: [string, number][]; role: string | undefined }[] {
  if (c.rules === undefined) {
    if (!nodes.some((n) => n.name === c.node)) return [];
    return [{ list: [[c.node!, c.score ?? 0]], role: c.role }];
  }
  const out: { list: [string, number][]; role: string | undefined }[] = [];
  for (const rule of c.rules) {
    const list: [string, number][] = [];
    for (const n of nodes) {
      const params = r.primitive?.paramsByNode?.[n.name] ?? r.primitive?.params ?? {};
      const ok = evaluateRule(rule, { attributes: n.attributes, now, params, meta: (r.primitive?.meta ?? {}) as Record<string, unknown> });
      if (!ok) continue;
      let score = rule.score ?? c.score ?? 0;
      if (rule.scoreAttribute !== undefined) score = parseScore(n.attributes.get(rule.scoreAttribute) ?? '') ?? 0;
      list.push([n.name, score]);
    }
    if (list.length) out.push({ list, role: rule.role ?? c.role });
  }
  return out;
}
