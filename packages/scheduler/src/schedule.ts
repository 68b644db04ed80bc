/**
 * The scheduler: a pure function of (configuration, status, now) to a transition. It reads like
 * its pipeline; every stage returns a new value and later stages never change earlier ones.
 *
 *   nodes → resources → unpack status → node criteria (scores) → colocations → assign → inhibit
 *         → create actions → orderings → propagation → summary, placement, graph, explanation
 *
 * The graph (graph.ts) and the explanation are built the first time they are read.
 */
import {
  NO_FENCING_DEVICE,
  type ClusterConfig,
  type ClusterStatus,
  type GraphAction,
  type Explanation,
  type OrderEdge,
  type OrphanDefinition,
  type Transition,
} from '@paceline/model';
import { scheduleInput, type ScheduleInput } from './input.js';
import { buildNodeViews } from './nodes.js';
import { buildResourceTree, type ResourceTree } from './resources.js';
import { indexFailCounts, type FailCountIndex } from './failcounts.js';
import { effectiveQuorumPolicy, unpackStatus, type UnpackResult } from './unpack.js';
import { applyNodeCriteria } from './locations.js';
import { buildColocations } from './colocations.js';
import { assignResources, type AssignOptions } from './assign/index.js';
import { inhibitUnpairedInstances } from './inhibit.js';
import { createActions } from './actions.js';
import { buildOrderings, propagate } from './orderings/index.js';
import { extraStopLines, summarize } from './summary.js';
import { currentPlacement, finalPlacement } from './placement.js';
import { buildExplanation } from './explain.js';
import { LazyGraph } from './graph.js';

export type { ScheduleInput } from './input.js';

/**
 * One scheduling run. Parsed input (the builder's, validateConfig's, the loaders') is used as it
 * is; anything else is parsed first (scheduleInput), so a JavaScript caller's raw configuration
 * works or fails with a ConfigError naming each problem.
 */
export function schedule(input: ScheduleInput): Transition {
  return runPipeline(scheduleInput(input), (_stage, value) => value);
}

/**
 * What the pipeline does with each stage's output before the next stage reads it: nothing in
 * `schedule`; tests deep-freeze it, so a stage that writes into an earlier stage's output throws.
 */
export type StageSeal = <T>(stage: string, value: T) => T;

/** The first stages: the status as the scheduler reads it (node views, the resource tree, fail counts, each resource's state). */
function readStatus(input: ScheduleInput, seal: StageSeal): { readonly tree: ResourceTree; readonly unpacked: UnpackResult; readonly fails: FailCountIndex } {
  const { config, status, now } = input;
  const baseNodes = seal('nodes', buildNodeViews(config, status));
  const orphans = seal('orphans', findOrphans(config, status));
  const fails = seal('fail counts', indexFailCounts(status, now));
  let tree = seal('resources', buildResourceTree(config, config.nodes.length, orphans));
  let unpacked = seal('unpack', unpackStatus(config, status, tree, baseNodes, fails, now));
  if ([...unpacked.orphanInstances.values()].some((l) => l.length > 0)) {
    // The history holds more clone instances than clone-max: add them as orphans and read again.
    tree = seal('resources', buildResourceTree(config, config.nodes.length, orphans, unpacked.orphanInstances));
    unpacked = seal('unpack', unpackStatus(config, status, tree, baseNodes, fails, now));
  }
  return { tree, unpacked, fails };
}

/**
 * Where every instance is now and the warnings about the configuration in force, as schedule()
 * reads them (its `current` and `warnings`), without placing, creating actions or ordering them:
 * what a status display needs.
 */
export function readPlacement(raw: ScheduleInput): Pick<Transition, 'current' | 'warnings'> {
  const input = scheduleInput(raw);
  const { config, now } = input;
  const same: StageSeal = (_stage, value) => value;
  const { tree, unpacked, fails } = readStatus(input, same);
  const criteria = applyNodeCriteria(config, tree, unpacked.nodes, unpacked, fails, now);
  const { warnings: colocWarnings } = buildColocations(config, tree);
  return { current: currentPlacement(tree, unpacked), warnings: scheduleWarnings(config, tree, unpacked, criteria.warnings, colocWarnings) };
}

function scheduleWarnings(
  config: ClusterConfig,
  tree: ResourceTree,
  unpacked: UnpackResult,
  criteria: readonly string[],
  colocations: readonly string[],
): string[] {
  return [
    ...(config.properties.stonithEnabled && !tree.hasFencingResource && config.resources.length > 0 ? [NO_FENCING_DEVICE] : []),
    ...unpacked.warnings,
    ...criteria,
    ...colocations,
  ];
}

/** The pipeline, stage by stage (exported for the stage-purity test; `schedule` is the API). */
export function runPipeline(input: ScheduleInput, seal: StageSeal): Transition {
  const { config, status, now } = seal('input', input);
  const { tree, unpacked, fails } = readStatus({ config, status, now }, seal);
  const nodes = unpacked.nodes;
  const criteria = seal('node criteria', applyNodeCriteria(config, tree, nodes, unpacked, fails, now));
  const { index: colocs, warnings: colocWarnings } = seal('colocations', buildColocations(config, tree));
  const canFence = config.properties.stonithEnabled && tree.hasFencingResource;
  const assigned = seal('assign', assignResources(tree, nodes, unpacked, criteria.book, colocs, assignOptions(config, status, tree, criteria)));
  const assignment = seal(
    'inhibit',
    inhibitUnpairedInstances(config, tree, assigned, (id, n) => unpacked.resources.get(id)?.runningOn.includes(n) ?? false),
  );
  const created = seal(
    'create actions',
    createActions({
      config,
      tree,
      nodes,
      unpacked,
      assignment,
      criteria,
      quorum: status.quorum,
      canFence,
      quorumPolicy: effectiveQuorumPolicy(config, status),
    }),
  );
  const ordered = seal('orderings', buildOrderings(config, tree, created, new Map([...unpacked.resources].map(([id, st]) => [id, st.role]))));
  const { actions, orderings } = seal('propagation', propagate(ordered, colocs, tree));
  const lines = summarize(tree, unpacked, assignment, actions);
  const summary = [...lines, ...extraStopLines(tree, unpacked, assignment, actions, lines)];

  const current = currentPlacement(tree, unpacked);
  const placement = finalPlacement(tree, unpacked, assignment, actions);
  // The graph (graph.ts) and the explanation (a score with its contributions per resource and
  // node, a sentence per decision) are most of the work on a large cluster and many callers never
  // read them: each is built the first time it is read, from this run's stage outputs, and kept.
  const graph = new LazyGraph({ config, actions, orderings, current, placement });
  let explanation: Explanation | undefined;
  const transition: Transition = {
    current,
    placement,
    get actions(): readonly GraphAction[] {
      return graph.actions;
    },
    get edges(): readonly OrderEdge[] {
      return graph.edges;
    },
    summary,
    warnings: scheduleWarnings(config, tree, unpacked, criteria.warnings, colocWarnings),
    get explanation(): Explanation {
      return (explanation ??= buildExplanation(tree, nodes, criteria.book, assignment, summary, config.properties.placementStrategy));
    },
  };
  graphs.set(transition, graph);
  return transition;
}

/** The graph behind each transition schedule() returned, for graphFencing. */
const graphs = new WeakMap<Transition, LazyGraph>();

/**
 * A transition's fencing (and unfencing) actions, as `transition.actions` lists them: for one that
 * schedule() returned, without building the rest of its graph if nothing read it yet (the whole
 * graph of a large cold cluster is mostly probes, and a Pacemaker-style result reads only these).
 */
export function graphFencing(transition: Transition): readonly GraphAction[] {
  return graphs.get(transition)?.fencing ?? transition.actions.filter((a) => a.kind === 'fence');
}

/** Resources with history but no configuration (deleted): they must be stopped. */
function findOrphans(config: ClusterConfig, status: ClusterStatus): { id: string; agent?: string; definitions?: Map<string, OrphanDefinition> }[] {
  const known = new Set<string>();
  const walk = (r: ClusterConfig['resources'][number]): void => {
    known.add(r.id);
    if (r.type === 'group') r.members.forEach(walk);
    if (r.type === 'clone') walk(r.child);
  };
  config.resources.forEach(walk);
  const out = new Map<string, { id: string; agent?: string; definitions?: Map<string, OrphanDefinition> }>();
  for (const n of status.nodes) {
    for (const h of n.history) {
      // Most histories are of a configured resource: asked first, before the instance number is cut off.
      if (h.ops.length === 0 || known.has(h.resource)) continue;
      if (h.resource.includes(':') && known.has(h.resource.replace(/:\d+$/, ''))) continue;
      let o = out.get(h.resource);
      if (o === undefined) {
        o = { id: h.resource, ...(h.agent ? { agent: h.agent } : {}) };
        out.set(h.resource, o);
      }
      // What it last ran with on this node: its stop there uses that (the configuration has nothing).
      if (h.agent !== undefined && h.params !== undefined) (o.definitions ??= new Map()).set(n.name, { agent: h.agent, params: h.params });
    }
  }
  return [...out.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** What the assign stage takes from the configuration, the status and the node criteria. */
export function assignOptions(
  config: ClusterConfig,
  status: ClusterStatus,
  tree: ResourceTree,
  criteria: { readonly promotedLocations: AssignOptions['promotedLocations'] },
): AssignOptions {
  return {
    quorum: status.quorum,
    noQuorumPolicy: effectiveQuorumPolicy(config, status),
    stopAll: config.properties.stopAllResources,
    unmanageAll: config.properties.stonithEnabled && !tree.hasFencingResource,
    defaults: config.defaults.resource,
    promotedLocations: criteria.promotedLocations,
    placementStrategy: config.properties.placementStrategy,
  };
}
