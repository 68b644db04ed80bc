import type { ClusterConfig, Clone, Group, Primitive, Resource } from './config.js';

/** A primitive with the containers it sits in. */
export interface PrimitiveEntry {
  readonly primitive: Primitive;
  readonly group?: Group;
  readonly clone?: Clone;
  /** Path in the config, e.g. "resources[1].members[0]". */
  readonly path: string;
}

/** Every primitive in configuration order, with its group and clone. */
export function listPrimitives(config: Pick<ClusterConfig, 'resources'>): PrimitiveEntry[] {
  const out: PrimitiveEntry[] = [];
  config.resources.forEach((r, i) => visit(r, `resources[${i}]`, undefined, undefined, out));
  return out;
}

function visit(r: Resource, path: string, group: Group | undefined, clone: Clone | undefined, out: PrimitiveEntry[]): void {
  switch (r.type) {
    case 'primitive':
      out.push({ primitive: r, path, ...(group ? { group } : {}), ...(clone ? { clone } : {}) });
      return;
    case 'group':
      r.members.forEach((m, j) => visit(m, `${path}.members[${j}]`, r, clone, out));
      return;
    case 'clone':
      visit(r.child, `${path}.child`, group, r, out);
      return;
  }
}

/** Every resource id (primitives, groups and clones) with its config path. */
export function listResourceIds(config: Pick<ClusterConfig, 'resources'>): Map<string, string[]> {
  const ids = new Map<string, string[]>();
  const add = (id: string, path: string): void => {
    const paths = ids.get(id) ?? [];
    paths.push(path);
    ids.set(id, paths);
  };
  const walk = (r: Resource, path: string): void => {
    add(r.id, path);
    if (r.type === 'group') r.members.forEach((m, j) => walk(m, `${path}.members[${j}]`));
    if (r.type === 'clone') walk(r.child, `${path}.child`);
  };
  config.resources.forEach((r, i) => walk(r, `resources[${i}]`));
  return ids;
}
