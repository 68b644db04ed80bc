/**
 * The scheduler: a pure function of (configuration, status, now) to a transition. It reads like
 * its pipeline; every stage returns a new value and later stages never change earlier ones.
 *
 *   nodes → resources → unpack status → node criteria (scores) → colocations → assign → inhibit
 *         → create actions → orderings → propagation → summary, placement, explanation
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
import { buildResourceTree, type Resource, type ResourceTree } from './resources.js';
import { indexFailCounts, type FailCountIndex } from './failcounts.js';
import { effectiveQuorumPolicy, unpackStatus, type UnpackResult } from './unpack.js';
import { applyNodeCriteria } from './locations.js';
import { buildColocations } from './colocations.js';
import { assignResources, type AssignOptions } from './assign/index.js';
import { addNotifications, edgesThroughPseudo, type EdgeLike } from './clone/index.js';
import { inhibitUnpairedInstances } from './inhibit.js';
import { createActions } from './actions.js';
import { actionKey, formatWhy, type Action, type ActionSet } from './action-set.js';
import { buildOrderings, propagate, type Ordering } from './orderings/index.js';
import { extraStopLines, summarize } from './summary.js';
import { currentPlacement, finalPlacement } from './placement.js';
import { buildExplanation } from './explain.js';

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

  const { graphActions, edges } = buildGraph(actions, orderings);
  // Clones with notify=true get pre/post notifications around their instance actions (clone/notify.ts).
  const { explanation: _none, ...transition } = addNotifications(config, {
    current: currentPlacement(tree, unpacked),
    placement: finalPlacement(tree, unpacked, assignment, actions),
    actions: graphActions,
    edges,
    summary,
    explanation: NOT_YET_EXPLAINED,
    warnings: scheduleWarnings(config, tree, unpacked, criteria.warnings, colocWarnings),
  });
  // The explanation (a score with its contributions per resource and node, a sentence per decision)
  // is most of the work on a large cluster and many callers never read it: it is built the first
  // time it is read, from this run's stage outputs, and kept.
  let explanation: Explanation | undefined;
  return {
    ...transition,
    get explanation(): Explanation {
      return (explanation ??= buildExplanation(tree, nodes, criteria.book, assignment, summary, config.properties.placementStrategy));
    },
  };
}

/**
 * The graph: the required actions and monitors of primitives, and fencing, and the orderings
 * between them, those that run through group/clone pseudo actions made direct (clone/graph.ts).
 * A primitive's probes stand where its ProbeBlock does; each runnable one precedes its starts.
 */
function buildGraph(actions: ActionSet, orderings: readonly Ordering[]): { graphActions: GraphAction[]; edges: OrderEdge[] } {
  const graphActions: GraphAction[] = [];
  const list = actions.list;
  // Each action's position in the graph, by its position in the set (-1: not in the graph).
  const position = new Array<number>(list.length).fill(-1);
  // The graph actions of each primitive's runnable probes (the firsts of its "probe before start" edges).
  const probeEnds = new Map<string, GraphAction[]>();
  const blocks = [...actions.probes.values()];
  let next = 0;
  const addProbesAt = (i: number): void => {
    for (; next < blocks.length && blocks[next]!.at === i; next++) {
      const { rsc, nodes, runnable, at } = blocks[next]!;
      const ends: GraphAction[] = [];
      let held = at; // the probes that cannot run are actions at at, at + 1, …
      for (let j = 0; j < nodes.length; j++) {
        if (runnable[j]) {
          const g = probeGraphAction(rsc, nodes[j]!);
          ends.push(g);
          graphActions.push(g);
        } else {
          position[held] = graphActions.length;
          graphActions.push(toGraphAction(list[held++]!));
        }
      }
      probeEnds.set(rsc.id, ends);
    }
  };
  for (let i = 0; i < list.length; i++) {
    addProbesAt(i);
    const a = list[i]!;
    if (position[i]! >= 0) continue; // a probe, listed with its block
    if ((!a.optional || a.task === 'monitor') && (a.rsc?.kind === 'primitive' || a.task === 'fence')) {
      position[i] = graphActions.length;
      graphActions.push(toGraphAction(a));
    }
  }
  addProbesAt(list.length);
  const indexOf = (a: Action): number | undefined => {
    const i = a.seq;
    if (i === undefined || list[i] !== a) return undefined;
    const p = position[i]!;
    return p < 0 ? undefined : p;
  };
  const edges: OrderEdge[] = edgesThroughPseudo(
    orderings,
    indexOf,
    graphActions.length,
    (a) => a.rsc !== undefined && a.rsc.kind !== 'primitive',
    probeEdges(actions, probeEnds, (a) => indexOf(a) !== undefined),
  ).map((o) => ({ before: o.first.id, after: o.then.id, reason: o.reason }));
  return { graphActions, edges };
}

/** "Probe before start": each runnable probe of a primitive before each of its starts in the graph. */
function probeEdges(
  actions: ActionSet,
  probeEnds: ReadonlyMap<string, readonly GraphAction[]>,
  inGraph: (a: Action) => boolean,
): EdgeLike<GraphAction | Action>[] {
  const out: EdgeLike<GraphAction | Action>[] = [];
  for (const [id, list] of actions.byRsc) {
    const ends = probeEnds.get(id);
    if (ends === undefined || ends.length === 0) continue;
    const starts = list.filter((a) => a.task === 'start' && inGraph(a));
    const reason = `${id}: probe before start`;
    for (const probe of ends) for (const start of starts) out.push({ first: probe, then: start, reason });
  }
  return out;
}

/** A runnable probe's graph action: what toGraphAction makes of a probe action, without one. */
function probeGraphAction(rsc: Resource, node: string): GraphAction {
  const out: { -readonly [K in keyof GraphAction]: GraphAction[K] } = {
    id: actionKey(rsc.id, 'probe', node),
    kind: 'probe',
    interval: 0,
    reason: `state of ${rsc.id} on ${node} is unknown`,
    runnable: true,
    resource: rsc.id,
    primitive: rsc.baseId,
    node,
  };
  const definition = rsc.definitions?.get(node);
  if (definition !== undefined) out.definition = definition;
  return out;
}

/** Stands in for the explanation until schedule() attaches the one built on first read. */
const NOT_YET_EXPLAINED: Explanation = Object.freeze({ scores: [], decisions: [] });

function toGraphAction(a: Action): GraphAction {
  if (a.task === 'fence') {
    return { id: a.id, kind: 'fence', node: a.node!, interval: 0, fenceType: a.fenceType ?? 'reboot', reason: a.reason ?? '', runnable: a.runnable };
  }
  const reason = a.reason ?? (a.why !== undefined ? formatWhy(a.why) : defaultReason(a));
  const out: { -readonly [K in keyof GraphAction]: GraphAction[K] } = {
    id: a.id,
    kind: a.pseudo ? 'pseudo' : (a.task as GraphAction['kind']),
    interval: a.interval,
    reason,
    runnable: a.runnable,
  };
  if (a.rsc) {
    out.resource = a.rsc.id;
    out.primitive = a.rsc.baseId;
  }
  if (a.node) out.node = a.node;
  const definition = a.node !== undefined ? a.rsc?.definitions?.get(a.node) : undefined;
  if (definition !== undefined) out.definition = definition;
  if (a.pseudo) out.pseudo = `${a.task} implied by fencing`;
  return out;
}

function defaultReason(a: Action): string {
  switch (a.task) {
    case 'start':
      return `start ${a.rsc?.id} on ${a.node}`;
    case 'stop':
      return `stop ${a.rsc?.id} on ${a.node}`;
    case 'probe':
      return `state of ${a.rsc?.id} on ${a.node} is unknown`;
    case 'monitor':
      return `recurring monitor every ${a.interval} ms`;
    default:
      return `${a.task} ${a.rsc?.id ?? ''}`.trim();
  }
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
      const base = h.resource.includes(':') ? h.resource.replace(/:\d+$/, '') : h.resource;
      if (known.has(h.resource) || known.has(base) || h.ops.length === 0) continue;
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
