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

/** The score book under construction, with the discovery modes the location constraints set. */
interface CriteriaWork {
  readonly book: ScoreBook;
  readonly discovery: Map<string, Map<string, Discovery>>;
  /** Primitives with a resource-discovery=exclusive location somewhere. */
  readonly exclusive: Set<string>;
}

type NodeScores = readonly [string, number][];

/** The stage: each step below adds its contributions to the book, in Pacemaker's order. */
export function applyNodeCriteria(
  config: ClusterConfig,
  tree: ResourceTree,
  nodes: readonly NodeView[],
  unpacked: UnpackResult,
  fails: FailCountIndex,
  now: number,
): NodeCriteria {
  const work: CriteriaWork = { book: newScoreBook(), discovery: new Map(), exclusive: new Set() };
  symmetricDefaults(work, config, tree, nodes);
  historyAdjustments(work, tree, nodes, unpacked);
  nodeHealth(work, config, tree, nodes);
  const { promotedLocations, warnings } = locationConstraints(work, config, tree, nodes, now);
  stickiness(work, config, tree, unpacked);
  failCountBans(work, tree, nodes, unpacked, fails);
  exclusiveDiscoveryBans(work);
  return { book: work.book, discovery: work.discovery, promotedLocations, warnings };
}

/** A symmetric cluster allows every primitive on every node (score 0); an opt-in one starts empty. */
function symmetricDefaults(work: CriteriaWork, config: ClusterConfig, tree: ResourceTree, nodes: readonly NodeView[]): void {
  for (const p of tree.primitives) {
    const table = tableOf(work.book, p.id);
    if (config.properties.symmetricCluster) for (const n of nodes) table.set(n.name, 0);
  }
}

/** Bans and pins the unpack stage found in the status (on one node, or on all without one). */
function historyAdjustments(work: CriteriaWork, tree: ResourceTree, nodes: readonly NodeView[], unpacked: UnpackResult): void {
  for (const a of unpacked.adjustments) {
    const target = tree.byId.get(a.rsc);
    if (!target) continue;
    for (const p of leaves(target)) {
      const targets = a.node === undefined ? nodes.map((n) => n.name) : [a.node];
      for (const n of targets)
        addNodeScore(
          work.book,
          p.id,
          n,
          a.score,
          a.score < 0 ? { kind: 'ban', ban: { kind: 'history', what: a.reason } } : { kind: 'history', what: a.reason },
        );
    }
  }
}

/**
 * Scores for a resource: a group passes them to its first member (its other members get 0 on the
 * same nodes), a clone to every instance; each primitive also takes the discovery mode.
 */
function applyTo(work: CriteriaWork, r: Resource, list: NodeScores, cause: Cause, mode: Discovery): void {
  if (r.kind === 'primitive') applyToPrimitive(work, r, list, cause, mode);
  else if (r.kind === 'group') {
    r.children.forEach((m, i) => applyTo(work, m, i === 0 ? list : list.map(([n]) => [n, 0] as [string, number]), cause, mode));
  } else for (const c of r.children) applyTo(work, c, list, cause, mode);
}

function applyToPrimitive(work: CriteriaWork, p: Resource, list: NodeScores, cause: Cause, mode: Discovery): void {
  for (const [node, score] of list) {
    addNodeScore(work.book, p.id, node, score, cause);
    const d = work.discovery.get(p.id) ?? new Map<string, Discovery>();
    if (DISCOVERY_RANK[d.get(node) ?? 'always'] < DISCOVERY_RANK[mode]) {
      d.set(node, mode);
      if (mode === 'exclusive') work.exclusive.add(p.id);
    }
    work.discovery.set(p.id, d);
  }
}

/** Node health (#health-* attributes) as a location score for every resource (node-health-strategy). */
function nodeHealth(work: CriteriaWork, config: ClusterConfig, tree: ResourceTree, nodes: readonly NodeView[]): void {
  const strategy = config.properties.nodeHealthStrategy;
  if (strategy === 'none') return;
  const colours = healthColours(config);
  for (const n of nodes) {
    let health = colours.base;
    for (const [k, v] of n.attributes) {
      if (!k.startsWith('#health')) continue;
      const lv = v.toLowerCase();
      const score = lv === 'red' ? colours.red : lv === 'yellow' ? colours.yellow : lv === 'green' ? colours.green : (parseScore(v) ?? 0);
      health = addScores(health, score);
    }
    if (health === 0) continue;
    for (const r of tree.top) if (health > 0 || !r.meta.allowUnhealthyNodes) applyTo(work, r, [[n.name, health]], { kind: 'node-health', strategy }, 'always');
  }
}

/** What red, yellow and green count for under the strategy, and the progressive strategy's base. */
function healthColours(config: ClusterConfig): { red: number; yellow: number; green: number; base: number } {
  const strategy = config.properties.nodeHealthStrategy;
  const custom = strategy === 'progressive' || strategy === 'custom';
  const props = config.properties as { nodeHealthRed?: number; nodeHealthYellow?: number; nodeHealthGreen?: number; nodeHealthBase?: number };
  return {
    red: custom ? (props.nodeHealthRed ?? 0) : -INFINITY,
    yellow: custom ? (props.nodeHealthYellow ?? 0) : strategy === 'only-green' ? -INFINITY : 0,
    green: custom ? (props.nodeHealthGreen ?? 0) : 0,
    base: strategy === 'progressive' ? (props.nodeHealthBase ?? 0) : 0,
  };
}

/**
 * Location constraints (a fixed node, or rules) on the resources they name or match; ones limited
 * to the Promoted role are kept aside for promotion. A constraint that matches nothing is a warning.
 */
function locationConstraints(
  work: CriteriaWork,
  config: ClusterConfig,
  tree: ResourceTree,
  nodes: readonly NodeView[],
  now: number,
): Pick<NodeCriteria, 'promotedLocations' | 'warnings'> {
  const promotedLocations: { rsc: Resource; node: string; score: number; id: string }[] = [];
  const warnings: string[] = [];
  for (const c of config.constraints) {
    if (c.type !== 'location') continue;
    const targets = locationTargets(c, tree);
    if (targets.length === 0) warnings.push(`location ${c.id}: no resource matches`);
    for (const r of targets) {
      for (const { list, role } of locationNodeLists(c, r, nodes, now)) {
        if (role === 'Promoted') {
          for (const [node, score] of list) promotedLocations.push({ rsc: r, node, score, id: c.id });
          continue;
        }
        applyTo(work, r, list, { kind: 'location', constraint: c.id }, c.resourceDiscovery);
      }
    }
  }
  return { promotedLocations, warnings };
}

/** Stickiness on the one node where a managed primitive is active (in an opt-in cluster, only where it is allowed). */
function stickiness(work: CriteriaWork, config: ClusterConfig, tree: ResourceTree, unpacked: UnpackResult): void {
  for (const p of tree.primitives) {
    const st = unpacked.resources.get(p.id);
    if (!st || !st.managed || p.meta.stickiness < 1 || st.runningOn.length !== 1) continue;
    const node = st.runningOn[0]!;
    if (!config.properties.symmetricCluster && !tableOf(work.book, p.id).has(node)) continue;
    addNodeScore(work.book, p.id, node, p.meta.stickiness, { kind: 'stickiness' });
  }
}

/** migration-threshold reached on a node: the primitive is banned there (an anonymous clone's every instance). */
function failCountBans(work: CriteriaWork, tree: ResourceTree, nodes: readonly NodeView[], unpacked: UnpackResult, fails: FailCountIndex): void {
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
      for (const b of banned) addNodeScore(work.book, b.id, n.name, -INFINITY, { kind: 'ban', ban: { kind: 'fail-count', count, threshold } });
    }
  }
}

/** A primitive with resource-discovery=exclusive somewhere is banned from every node not so marked. */
function exclusiveDiscoveryBans(work: CriteriaWork): void {
  for (const id of work.exclusive) {
    const table = tableOf(work.book, id);
    const d = work.discovery.get(id);
    for (const node of table.keys())
      if (d?.get(node) !== 'exclusive') addNodeScore(work.book, id, node, -INFINITY, { kind: 'ban', ban: { kind: 'discovery-exclusive' } });
  }
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
