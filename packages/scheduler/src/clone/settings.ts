/**
 * Clone settings as Pacemaker 2.1.5 resolves them (lib/pengine/clone.c semantics, own code):
 * clone-max defaults to the number of configured nodes (at least 1), clone-node-max to 1 (and is
 * forced to 1 for anonymous clones), promoted-max / promoted-node-max to 1, and a clone without a
 * configured stickiness gets stickiness 1 so its instances do not shuffle for no gain.
 */
import type { Clone, ClusterConfig, ResourceMeta, Score } from '@paceline/model';

export interface CloneSettings {
  /** The clone's id (e.g. "ms-drbd"). */
  readonly id: string;
  /** The cloned resource's id: a primitive id or a group id. */
  readonly childId: string;
  readonly childIsGroup: boolean;
  /** Primitive ids inside one instance, in group order (one entry for a cloned primitive). */
  readonly members: readonly string[];
  readonly promotable: boolean;
  /** globally-unique: instances are distinct and numbered as in the history. */
  readonly unique: boolean;
  readonly cloneMax: number;
  readonly nodeMax: number;
  readonly cloneMin: number;
  readonly promotedMax: number;
  readonly promotedNodeMax: number;
  readonly interleave: boolean;
  readonly ordered: boolean;
  readonly notify: boolean;
  /** The stickiness every instance gets on the node where it runs. */
  readonly stickiness: Score;
  /** Which replica may be promoted while its source is down (CloneMeta.promoteReplica). */
  readonly promoteReplica: 'any' | 'in-sync';
}

/** Resolves a clone's settings. `nodeCount` is the number of nodes in the configuration. */
export function cloneSettings(clone: Clone, nodeCount: number, defaults?: ResourceMeta): CloneSettings {
  const m = clone.meta;
  const unique = m.globallyUnique ?? false;
  const child = clone.child;
  const members = child.type === 'group' ? child.members.map((p) => p.id) : [child.id];
  const childStickiness = child.meta.stickiness;
  const stickiness = childStickiness ?? m.stickiness ?? defaults?.stickiness ?? 1;
  return {
    id: clone.id,
    childId: child.id,
    childIsGroup: child.type === 'group',
    members,
    promotable: clone.promotable,
    unique,
    cloneMax: m.cloneMax ?? Math.max(1, nodeCount),
    nodeMax: unique ? (m.cloneNodeMax ?? 1) : 1,
    cloneMin: m.cloneMin ?? 0,
    promotedMax: clone.promotable ? (m.promotedMax ?? 1) : 0,
    promotedNodeMax: clone.promotable ? (m.promotedNodeMax ?? 1) : 0,
    interleave: m.interleave ?? false,
    ordered: m.ordered ?? false,
    notify: m.notify ?? false,
    stickiness,
    promoteReplica: m.promoteReplica ?? 'any',
  };
}

/** Settings of every clone in the configuration, keyed by clone id. */
export function allCloneSettings(config: Pick<ClusterConfig, 'resources' | 'nodes' | 'defaults'>): Map<string, CloneSettings> {
  const out = new Map<string, CloneSettings>();
  for (const r of config.resources) {
    if (r.type === 'clone') out.set(r.id, cloneSettings(r, config.nodes.length, config.defaults.resource));
  }
  return out;
}

/** "rsc:3" for instance 3 of "rsc". */
export function instanceName(base: string, n: number): string {
  return `${base}:${n}`;
}

/** Splits "rsc:3" into ["rsc", 3]; an id without a numeric suffix gives [id, undefined]. */
export function splitInstance(id: string): [string, number | undefined] {
  const m = /^(.*):(\d+)$/.exec(id);
  if (m === null || m[1] === undefined || m[2] === undefined) return [id, undefined];
  return [m[1], Number(m[2])];
}

/** The primitive id behind an instance id ("rsc:3" -> "rsc"). */
export function stripInstance(id: string): string {
  return splitInstance(id)[0];
}

/** One instance of a clone: its id and the instance ids of its member primitives. */
export interface CloneInstanceIds {
  readonly clone: string;
  readonly number: number;
  /** "child:N" (the primitive or group instance id). */
  readonly id: string;
  /** Member primitive id -> instance id ("m:N"), in group order. */
  readonly members: readonly { readonly primitive: string; readonly id: string }[];
  /** Numbered at or beyond clone-max: exists only because the history shows more copies. */
  readonly orphan: boolean;
}

export function instanceIds(s: CloneSettings, n: number): CloneInstanceIds {
  return {
    clone: s.id,
    number: n,
    id: instanceName(s.childId, n),
    members: s.members.map((p) => ({ primitive: p, id: instanceName(p, n) })),
    orphan: n >= s.cloneMax,
  };
}

/** Instances 0 .. clone-max-1 (clone-max 0 still gets one instance, like Pacemaker, to hang orphans on). */
export function configuredInstances(s: CloneSettings): CloneInstanceIds[] {
  const n = Math.max(1, s.cloneMax);
  const out: CloneInstanceIds[] = [];
  for (let i = 0; i < n; i++) out.push({ ...instanceIds(s, i), orphan: i >= s.cloneMax });
  return out;
}
