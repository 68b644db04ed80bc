/**
 * Test helpers for running the scheduler's stages one by one (as schedule.ts chains them) and for
 * freezing a stage's input deeply, Maps and Sets included, so that a later stage that writes into
 * it throws instead of passing silently.
 */
import { ClusterConfig, ClusterStatus, type ClusterConfigInput, type ClusterStatusInput } from '@paceline/model';
import { buildNodeViews } from '../src/nodes.js';
import { buildResourceTree } from '../src/resources.js';
import { indexFailCounts } from '../src/failcounts.js';
import { effectiveQuorumPolicy, unpackStatus } from '../src/unpack.js';
import { assignOptions } from '../src/schedule.js';
import { applyNodeCriteria } from '../src/locations.js';
import { buildColocations } from '../src/colocations.js';
import { assignResources, type AssignOptions } from '../src/assign/index.js';
import { inhibitUnpairedInstances } from '../src/inhibit.js';
import { createActions } from '../src/actions.js';

export const NOW = Date.UTC(2026, 0, 1);

/** The inputs of the assign stage for a cluster (no orphans, no second unpack). */
export function upToAssign(configInput: ClusterConfigInput, statusInput: ClusterStatusInput, now = NOW) {
  const config = ClusterConfig.parse(configInput);
  const status = ClusterStatus.parse(statusInput);
  const baseNodes = buildNodeViews(config, status);
  const fails = indexFailCounts(status, now);
  const tree = buildResourceTree(config, config.nodes.length, []);
  const unpacked = unpackStatus(config, status, tree, baseNodes, fails, now);
  const nodes = unpacked.nodes;
  const criteria = applyNodeCriteria(config, tree, nodes, unpacked, fails, now);
  const colocations = buildColocations(config, tree).index;
  const opts: AssignOptions = assignOptions(config, status, tree, criteria);
  return { config, status, tree, nodes, unpacked, criteria, colocations, opts };
}

/** The stages up to the create-actions stage's output (as runPipeline chains them), with their inputs. */
export function upToActions(configInput: ClusterConfigInput, statusInput: ClusterStatusInput, now = NOW) {
  const s = upToAssign(configInput, statusInput, now);
  const assigned = assignResources(s.tree, s.nodes, s.unpacked, s.criteria.book, s.colocations, s.opts);
  const runsThere = (id: string, n: string) => s.unpacked.resources.get(id)?.runningOn.includes(n) ?? false;
  const assignment = inhibitUnpairedInstances(s.config, s.tree, assigned, runsThere);
  const created = createActions({
    config: s.config,
    tree: s.tree,
    nodes: s.nodes,
    unpacked: s.unpacked,
    assignment,
    criteria: s.criteria,
    quorum: s.status.quorum,
    canFence: s.config.properties.stonithEnabled && s.tree.hasFencingResource,
    quorumPolicy: effectiveQuorumPolicy(s.config, s.status),
  });
  const roles = new Map([...s.unpacked.resources].map(([id, st]) => [id, st.role as string]));
  return { ...s, assigned, assignment, created, roles };
}

const refuse = (what: string) => () => {
  throw new TypeError(`a later stage tried to change a frozen ${what}`);
};

/** Freezes a value and everything reachable from it; Maps and Sets refuse set/add/delete/clear. */
export function deepFreeze<T>(value: T, seen = new Set<unknown>()): T {
  if (value === null || typeof value !== 'object' || seen.has(value) || Object.isFrozen(value)) return value;
  seen.add(value);
  if (value instanceof Map) {
    for (const [k, v] of value) {
      deepFreeze(k, seen);
      deepFreeze(v, seen);
    }
    Object.defineProperties(value, { set: { value: refuse('Map') }, delete: { value: refuse('Map') }, clear: { value: refuse('Map') } });
  } else if (value instanceof Set) {
    for (const v of value) deepFreeze(v, seen);
    Object.defineProperties(value, { add: { value: refuse('Set') }, delete: { value: refuse('Set') }, clear: { value: refuse('Set') } });
  } else {
    for (const v of Object.values(value as object)) deepFreeze(v, seen);
  }
  return Object.freeze(value);
}
