/**
 * Stage "resources": the configured resources as a tree of typed nodes with their effective
 * meta attributes (own value, else the parent's, else the resource defaults, else Pacemaker's
 * default). Clones are expanded into instances `child:0..n-1` here so every later stage sees
 * concrete primitives.
 */
import type { ClusterConfig, Clone, Group, Operation, OrphanDefinition, Primitive, Resource as ConfiguredResource, ResourceMeta, Role } from '@paceline/model';
import { INFINITY } from '@paceline/model';

export type ResourceKind = 'primitive' | 'group' | 'clone';
export type Requires = 'nothing' | 'quorum' | 'fencing' | 'unfencing';

export interface EffectiveMeta {
  readonly priority: number;
  readonly stickiness: number;
  readonly migrationThreshold: number;
  /** Milliseconds, 0 = never. */
  readonly failureTimeout: number;
  readonly managed: boolean;
  readonly targetRole: Role | undefined;
  readonly requires: Requires;
  readonly multipleActive: 'stop_start' | 'stop_only' | 'block' | 'stop_unexpected';
  readonly critical: boolean;
  readonly allowMigrate: boolean;
  /** Deprecated restart-type=restart: optional orderings with this as 'then' imply its restart. */
  readonly restartOnOrder: boolean;
  readonly allowUnhealthyNodes: boolean;
}

export interface Resource {
  readonly id: string;
  readonly kind: ResourceKind;
  readonly parent: Resource | undefined;
  readonly children: readonly Resource[];
  /** Order of appearance (for stable iteration). */
  readonly index: number;
  readonly meta: EffectiveMeta;
  /** Primitives only. */
  readonly primitive?: Primitive;
  readonly ops: readonly Operation[];
  readonly isFencing: boolean;
  /** Only in the status section (deleted from the configuration). */
  readonly orphan: boolean;
  /** An orphan's last known definition per node, from the nodes' histories (where they recorded one). */
  readonly definitions?: ReadonlyMap<string, OrphanDefinition>;
  /** For clones. */
  readonly clone?: Clone;
  /** For groups: members ordered / colocated (Pacemaker's deprecated ordered/collocated, default true). */
  readonly ordered?: boolean;
  readonly collocated?: boolean;
  /** For clone instances: the configured id without ":N". */
  readonly baseId: string;
  readonly instance?: number;
}

export interface ResourceTree {
  /** Top-level resources in configuration order. */
  readonly top: readonly Resource[];
  /** Every resource (any variant) by id; clone instances by "id:N". */
  readonly byId: ReadonlyMap<string, Resource>;
  /** Every primitive (including clone instances), in tree order. */
  readonly primitives: readonly Resource[];
  readonly hasFencingResource: boolean;
}

interface Mutable {
  id: string;
  kind: ResourceKind;
  parent: Resource | undefined;
  children: Resource[];
  index: number;
  meta: EffectiveMeta;
  primitive?: Primitive;
  ops: Operation[];
  isFencing: boolean;
  orphan: boolean;
  definitions?: ReadonlyMap<string, OrphanDefinition>;
  clone?: Clone;
  ordered?: boolean;
  collocated?: boolean;
  baseId: string;
  instance?: number;
}

/** What effective meta attributes fall back to beyond the parent: the resource defaults and cluster properties. */
interface MetaDefaults {
  readonly defaults: ResourceMeta;
  readonly props: ClusterConfig['properties'];
  readonly unfencing: boolean;
}

/** A resource's effective meta: its own value, else the parent's, else the resource defaults, else Pacemaker's default. */
function effectiveMeta(own: ResourceMeta, parent: EffectiveMeta | undefined, isFencing: boolean, isClone: boolean, d: MetaDefaults): EffectiveMeta {
  const { defaults, props } = d;
  const pick = <K extends keyof ResourceMeta>(k: K): ResourceMeta[K] => own[k] ?? undefined;
  const stick = pick('stickiness') ?? (parent ? undefined : defaults.stickiness);
  const requires: Requires =
    own.requires ??
    defaults.requires ??
    (isFencing ? 'quorum' : props.stonithEnabled ? (d.unfencing ? 'unfencing' : 'fencing') : props.noQuorumPolicy === 'ignore' ? 'nothing' : 'quorum');
  return {
    priority: pick('priority') ?? parent?.priority ?? defaults.priority ?? 0,
    stickiness: stick ?? parent?.stickiness ?? defaults.stickiness ?? (isClone ? 1 : 0),
    migrationThreshold: pick('migrationThreshold') ?? parent?.migrationThreshold ?? defaults.migrationThreshold ?? INFINITY,
    failureTimeout: pick('failureTimeout') ?? parent?.failureTimeout ?? defaults.failureTimeout ?? 0,
    managed:
      (pick('isManaged') ?? parent?.managed ?? defaults.isManaged ?? true) && !(own.maintenance ?? defaults.maintenance ?? false) && !props.maintenanceMode,
    targetRole: pick('targetRole') ?? parent?.targetRole ?? defaults.targetRole,
    requires: isFencing && requires === 'unfencing' ? 'quorum' : requires,
    multipleActive: pick('multipleActive') ?? parent?.multipleActive ?? defaults.multipleActive ?? 'stop_start',
    critical: pick('critical') ?? parent?.critical ?? defaults.critical ?? true,
    allowMigrate: pick('allowMigrate') ?? parent?.allowMigrate ?? defaults.allowMigrate ?? false,
    restartOnOrder: (pick('restartType') ?? (parent?.restartOnOrder ? 'restart' : undefined) ?? defaults.restartType) === 'restart',
    allowUnhealthyNodes: pick('allowUnhealthyNodes') ?? parent?.allowUnhealthyNodes ?? defaults.allowUnhealthyNodes ?? false,
  };
}

export function buildResourceTree(
  config: ClusterConfig,
  nodeCount: number,
  orphans: readonly { id: string; agent?: string; definitions?: ReadonlyMap<string, OrphanDefinition> }[] = [],
  /** Clone instance numbers found in the history beyond clone-max (orphan instances), per clone id. */
  orphanInstances: ReadonlyMap<string, readonly number[]> = new Map(),
): ResourceTree {
  const builder = new TreeBuilder(
    { defaults: config.defaults.resource, props: config.properties, unfencing: unfencingEnabled(config) },
    nodeCount,
    orphanInstances,
  );
  const top = config.resources.map((r) => builder.add(r, undefined, ''));
  for (const o of orphans) if (!builder.byId.has(o.id)) top.push(builder.addOrphan(o));
  const primitives = builder.primitives;
  return { top, byId: builder.byId, primitives, hasFencingResource: primitives.some((p) => p.isFencing && !p.orphan) };
}

/** The tree under construction: resources are numbered in the order they are added (pre-order). */
class TreeBuilder {
  readonly byId = new Map<string, Resource>();
  readonly primitives: Resource[] = [];
  private counter = 0;

  constructor(
    private readonly meta: MetaDefaults,
    private readonly nodeCount: number,
    private readonly orphanInstances: ReadonlyMap<string, readonly number[]>,
  ) {}

  /** A configured resource and everything under it; `suffix` is ":N" inside clone instance N. */
  add(r: ConfiguredResource, parent: Resource | undefined, suffix: string, orphan = false): Resource {
    const isFencing = r.type === 'primitive' && r.agent.startsWith('stonith:');
    const m: Mutable = {
      id: r.id + suffix,
      kind: r.type,
      parent,
      children: [],
      index: this.counter++,
      meta: effectiveMeta(r.meta, parent?.meta, isFencing, r.type === 'clone', this.meta),
      ops: r.type === 'primitive' ? r.ops : [],
      isFencing,
      orphan,
      baseId: r.id,
      ...(suffix ? { instance: Number(suffix.slice(1)) } : {}),
    };
    if (r.type === 'primitive') m.primitive = r;
    if (r.type === 'clone') m.clone = r;
    if (r.type === 'group') {
      const gm = r.meta as { ordered?: boolean; collocated?: boolean };
      m.ordered = gm.ordered ?? true;
      m.collocated = gm.collocated ?? true;
    }
    const rsc = m as Resource;
    this.byId.set(rsc.id, rsc);
    if (r.type === 'primitive') this.primitives.push(rsc);
    if (r.type === 'group') for (const member of (r as Group).members) m.children.push(this.add(member, rsc, suffix, orphan));
    if (r.type === 'clone') m.children.push(...this.cloneInstances(r as Clone, rsc));
    return rsc;
  }

  /**
   * A clone's instances child:0 … child:N-1 (N = clone-max, default the node count), then the
   * instances the history names beyond clone-max, as orphans. clone-max=0 still has instance 0
   * (an orphan) so that history naming it can be stopped.
   */
  private cloneInstances(clone: Clone, rsc: Resource): Resource[] {
    const max = clone.meta.cloneMax ?? this.nodeCount;
    const out: Resource[] = [];
    for (let i = 0; i < Math.max(1, max); i++) out.push(this.add(clone.child, rsc, `:${i}`, i >= max));
    for (const n of this.orphanInstances.get(clone.id) ?? []) if (n >= Math.max(1, max)) out.push(this.add(clone.child, rsc, `:${n}`, true));
    return out;
  }

  /** A primitive found only in the status (deleted from the configuration): stopped, managed only with stop-orphan-resources. */
  addOrphan(o: { id: string; agent?: string; definitions?: ReadonlyMap<string, OrphanDefinition> }): Resource {
    const { props } = this.meta;
    const agent = o.agent ?? 'ocf:heartbeat:Dummy';
    const isFencing = agent.startsWith('stonith:');
    const prim = { type: 'primitive', id: o.id, agent, params: {}, meta: {}, ops: [], utilization: {} } as unknown as Primitive;
    const rsc: Resource = {
      id: o.id,
      kind: 'primitive',
      parent: undefined,
      children: [],
      index: this.counter++,
      meta: {
        ...effectiveMeta({}, undefined, isFencing, false, this.meta),
        managed: (props.stopOrphanResources ? true : false) && !props.maintenanceMode,
        targetRole: 'Stopped',
      },
      primitive: prim,
      ops: [],
      isFencing,
      orphan: true,
      baseId: o.id,
      ...(o.definitions !== undefined && o.definitions.size > 0 ? { definitions: o.definitions } : {}),
    };
    this.byId.set(o.id, rsc);
    this.primitives.push(rsc);
    return rsc;
  }
}

/** The outermost container of a resource. */
export function topOf(r: Resource): Resource {
  let t = r;
  while (t.parent) t = t.parent;
  return t;
}

export function cloneOf(r: Resource): Resource | undefined {
  for (let p = r.parent; p; p = p.parent) if (p.kind === 'clone') return p;
  return undefined;
}

export function groupOf(r: Resource): Resource | undefined {
  return r.parent?.kind === 'group' ? r.parent : undefined;
}

/** Primitives under a resource (itself if primitive), in order. */
export function leaves(r: Resource): Resource[] {
  if (r.kind === 'primitive') return [r];
  return r.children.flatMap(leaves);
}

/** Unfencing is in use when any resource (or the defaults) provides or requires it. */
export function unfencingEnabled(config: ClusterConfig): boolean {
  const metaWants = (m: ResourceMeta): boolean => m.provides === 'unfencing' || m.requires === 'unfencing';
  if (metaWants(config.defaults.resource)) return true;
  const walk = (r: ConfiguredResource): boolean => metaWants(r.meta) || (r.type === 'group' && r.members.some(walk)) || (r.type === 'clone' && walk(r.child));
  return config.resources.some(walk);
}

/** Whether starting the resource must wait for unclean nodes to be fenced (requires=fencing or unfencing). */
export function needsFencing(r: Resource): boolean {
  return r.meta.requires === 'fencing' || r.meta.requires === 'unfencing';
}
