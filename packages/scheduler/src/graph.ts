/**
 * The transition graph: the required actions and monitors of primitives, and fencing, and the
 * orderings between them, those that run through group/clone pseudo actions made direct
 * (clone/graph.ts), and clone notifications (clone/notify.ts). Built from the propagated action
 * set the first time it is read, actions first, edges when asked for: at 32 nodes × 5,000
 * resources they are 176,000 actions and 167,000 edges, and `paceline simulate --cib F --format
 * json` (a Pacemaker-style result) reads neither, only the fencing actions (`graphFencing`).
 */
import type { ClusterConfig, GraphAction, InstancePlacement, OrderEdge } from '@paceline/model';
import { addNotifications, edgesThroughPseudo, type EdgeLike } from './clone/index.js';
import { actionKey, formatWhy, type Action, type ActionSet } from './action-set.js';
import type { Ordering } from './orderings/index.js';
import type { Resource } from './resources.js';

/** What the graph is built from; held until both parts are built, then let go. */
export interface GraphSource {
  readonly config: Pick<ClusterConfig, 'resources'>;
  readonly actions: ActionSet;
  readonly orderings: readonly Ordering[];
  readonly current: readonly InstancePlacement[];
  readonly placement: readonly InstancePlacement[];
}

/** The graph's actions with what its edges need to find them. */
interface GraphNodes {
  readonly list: GraphAction[];
  /** Each action's position in the graph, by its position in the set (-1: not in the graph). */
  readonly position: number[];
  /** The graph actions of each primitive's runnable probes (the firsts of its "probe before start" edges). */
  readonly probeEnds: Map<string, GraphAction[]>;
}

/** A transition's graph, built on first read (see the module comment). */
export class LazyGraph {
  private source: GraphSource | undefined;
  private nodes: GraphNodes | undefined;
  private built: { actions: readonly GraphAction[]; edges: readonly OrderEdge[] } | undefined;
  private readonly notifies: boolean;

  constructor(source: GraphSource) {
    this.source = source;
    this.notifies = source.config.resources.some((r) => r.type === 'clone' && r.meta.notify === true);
  }

  get actions(): readonly GraphAction[] {
    if (this.built !== undefined) return this.built.actions;
    if (this.notifies) return this.build().actions;
    return (this.nodes ??= graphNodes(this.source!.actions)).list;
  }

  get edges(): readonly OrderEdge[] {
    return (this.built ?? this.build()).edges;
  }

  /** The fencing (and unfencing) actions of the graph, in its order, without building the rest. */
  get fencing(): readonly GraphAction[] {
    const built = this.built?.actions ?? this.nodes?.list;
    if (built !== undefined) return built.filter((a) => a.kind === 'fence');
    return this.source!.actions.list.filter((a) => a.task === 'fence' && !a.optional).map(toGraphAction);
  }

  private build(): { actions: readonly GraphAction[]; edges: readonly OrderEdge[] } {
    const source = this.source!;
    const nodes = (this.nodes ??= graphNodes(source.actions));
    const edges = graphEdges(source.actions, source.orderings, nodes);
    // Clones with notify=true get pre/post notifications around their instance actions.
    const { actions, edges: all } = addNotifications(source.config, { current: source.current, placement: source.placement, actions: nodes.list, edges });
    this.built = { actions, edges: all };
    this.source = undefined;
    this.nodes = undefined;
    return this.built;
  }
}

/**
 * The actions in the graph, in the set's order; a primitive's probes stand where its ProbeBlock
 * does (the ones that cannot run are also actions there, listed once).
 */
function graphNodes(actions: ActionSet): GraphNodes {
  const out: GraphAction[] = [];
  const list = actions.list;
  const position = new Array<number>(list.length).fill(-1);
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
          out.push(g);
        } else {
          position[held] = out.length;
          out.push(toGraphAction(list[held++]!));
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
      position[i] = out.length;
      out.push(toGraphAction(a));
    }
  }
  addProbesAt(list.length);
  return { list: out, position, probeEnds };
}

/** The orderings between actions in the graph, made direct through pseudo actions, and "probe before start". */
function graphEdges(actions: ActionSet, orderings: readonly Ordering[], nodes: GraphNodes): OrderEdge[] {
  const { position, probeEnds } = nodes;
  const indexOf = (a: Action): number | undefined => {
    const i = a.seq;
    if (i === undefined || actions.list[i] !== a) return undefined;
    const p = position[i]!;
    return p < 0 ? undefined : p;
  };
  return edgesThroughPseudo(
    orderings,
    indexOf,
    nodes.list.length,
    (a) => a.rsc !== undefined && a.rsc.kind !== 'primitive',
    probeEdges(actions, probeEnds, (a) => indexOf(a) !== undefined),
  ).map((o) => ({ before: o.first.id, after: o.then.id, reason: o.reason }));
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
