/**
 * The export's configuration section: cluster properties, nodes, resources (primitives, groups,
 * clones, with per-node parameter sets), constraints (export-constraints.ts) and the resource and
 * operation defaults, as Pacemaker 2.1.5 reads them.
 */
import { formatScore, listPrimitives, type ClusterConfig, type Primitive, type Resource } from '@paceline/model';
import { duration, el, nvset, Ids } from './cib-text.js';
import { paramText } from './digest.js';
import { pacemakerAgent } from './export-agents.js';
import { constraintXml } from './export-constraints.js';

/** Meta attributes of any resource (or rsc_defaults) as Pacemaker names and values. */
function metaPairs(meta: Record<string, unknown>): [string, string][] {
  const out: [string, string][] = [];
  const put = (name: string, v: unknown, f: (x: never) => string = (x) => String(x)): void => {
    if (v !== undefined) out.push([name, f(v as never)]);
  };
  put('target-role', meta['targetRole']);
  put('resource-stickiness', meta['stickiness'], (s: number) => formatScore(s));
  put('migration-threshold', meta['migrationThreshold']);
  put('failure-timeout', meta['failureTimeout'], (ms: number) => duration(ms));
  put('priority', meta['priority']);
  put('is-managed', meta['isManaged']);
  put('maintenance', meta['maintenance']);
  put('multiple-active', meta['multipleActive']);
  put('requires', meta['requires']);
  put('allow-migrate', meta['allowMigrate']);
  put('critical', meta['critical']);
  put('restart-type', meta['restartType']);
  put('allow-unhealthy-nodes', meta['allowUnhealthyNodes']);
  put('provides', meta['provides']);
  put('ordered', meta['ordered']);
  put('collocated', meta['collocated']);
  put('clone-max', meta['cloneMax']);
  put('clone-node-max', meta['cloneNodeMax']);
  put('clone-min', meta['cloneMin']);
  put('interleave', meta['interleave']);
  put('globally-unique', meta['globallyUnique']);
  put('notify', meta['notify']);
  put('promoted-max', meta['promotedMax']);
  put('promoted-node-max', meta['promotedNodeMax']);
  put('promote-replica', meta['promoteReplica']);
  return out;
}

function propertiesSection(config: ClusterConfig, ids: Ids): string[] {
  const p = config.properties;
  const pairs: [string, string][] = [];
  const put = (name: string, v: unknown): void => {
    if (v !== undefined) pairs.push([name, String(v)]);
  };
  put('cluster-name', p.clusterName);
  put('symmetric-cluster', p.symmetricCluster);
  put('no-quorum-policy', p.noQuorumPolicy);
  put('stonith-enabled', p.stonithEnabled);
  put('stonith-action', p.stonithAction === 'poweroff' ? 'off' : p.stonithAction);
  put('maintenance-mode', p.maintenanceMode);
  put('start-failure-is-fatal', p.startFailureIsFatal);
  put('stop-orphan-resources', p.stopOrphanResources);
  put('stop-orphan-actions', p.stopOrphanActions);
  put('stop-all-resources', p.stopAllResources);
  put('concurrent-fencing', p.concurrentFencing);
  put('placement-strategy', p.placementStrategy);
  put('node-health-strategy', p.nodeHealthStrategy);
  if (p.nodeHealthGreen !== undefined) put('node-health-green', formatScore(p.nodeHealthGreen));
  if (p.nodeHealthYellow !== undefined) put('node-health-yellow', formatScore(p.nodeHealthYellow));
  if (p.nodeHealthRed !== undefined) put('node-health-red', formatScore(p.nodeHealthRed));
  if (p.nodeHealthBase !== undefined) put('node-health-base', formatScore(p.nodeHealthBase));
  put('enable-startup-probes', p.enableStartupProbes);
  put('shutdown-lock', p.shutdownLock);
  put('cluster-recheck-interval', duration(p.clusterRecheckInterval));
  put('batch-limit', p.batchLimit);
  return el('crm_config', {}, nvset('cluster_property_set', 'cib-bootstrap-options', pairs, ids));
}

function defaultsSections(config: ClusterConfig, ids: Ids): string[] {
  const out: string[] = [];
  const rsc = metaPairs(config.defaults.resource as Record<string, unknown>);
  if (rsc.length > 0) out.push(...el('rsc_defaults', {}, nvset('meta_attributes', 'rsc-options', rsc, ids)));
  const op: [string, string][] = [];
  const d = config.defaults.operation;
  if (d.timeout !== undefined) op.push(['timeout', duration(d.timeout)]);
  if (d.onFail !== undefined) op.push(['on-fail', d.onFail]);
  if (op.length > 0) out.push(...el('op_defaults', {}, nvset('meta_attributes', 'op-options', op, ids)));
  return out;
}

function nodesSection(config: ClusterConfig, ids: Ids): string[] {
  const nodes = config.nodes.flatMap((n) => {
    const id = n.id ?? n.name;
    const attrs: [string, string][] = Object.entries(n.attributes);
    if (n.standby) attrs.push(['standby', 'on']);
    if (n.maintenance) attrs.push(['maintenance', 'on']);
    const util = Object.entries(n.utilization).map(([k, v]) => [k, String(v)] as const);
    return el('node', { id, uname: n.name, type: 'member' }, [
      ...nvset('instance_attributes', `nodes-${id}`, attrs, ids),
      ...nvset('utilization', `nodes-${id}-utilization`, util, ids),
    ]);
  });
  return el('nodes', {}, nodes);
}

/** Parameters for one node: a set guarded by `#uname eq NODE`, read before the unconditional set. */
function nodeParamsXml(rid: string, node: string, params: Record<string, unknown>, ids: Ids): string[] {
  const id = ids.make(`${rid}-instance_attributes-${node}`);
  const rule = ids.make(`${id}-rule`);
  return el('instance_attributes', { id, score: 1 }, [
    ...el(
      'rule',
      { id: rule, score: 0, 'boolean-op': 'and' },
      el('expression', { id: ids.make(`${rule}-expr`), attribute: '#uname', operation: 'eq', value: node }),
    ),
    ...Object.entries(params).flatMap(([k, v]) => el('nvpair', { id: ids.make(`${id}-${k}`), name: k, value: paramText(v) })),
  ]);
}

function primitiveXml(p: Primitive, promotable: boolean, ids: Ids): string[] {
  const a = pacemakerAgent(p.agent, promotable);
  const description = a.substituted ? `[${p.agent}]${p.description !== undefined ? ` ${p.description}` : ''}` : p.description;
  const ops = p.ops.flatMap((o) => {
    const id = ids.make(`${p.id}-${o.name}-interval-${duration(o.interval)}${o.role !== undefined ? `-${o.role}` : ''}`);
    const params = Object.entries(o.params ?? {}).map(([k, v]) => [k, paramText(v)] as const);
    return el(
      'op',
      {
        id,
        name: o.name,
        interval: duration(o.interval),
        timeout: o.timeout === undefined ? undefined : duration(o.timeout),
        role: o.role,
        'on-fail': o.onFail,
        enabled: o.enabled ? undefined : 'false',
        'start-delay': o.startDelay === undefined ? undefined : duration(o.startDelay),
      },
      nvset('instance_attributes', `${id}-instance_attributes`, params, ids),
    );
  });
  return el('primitive', { id: p.id, class: a.class, provider: a.provider, type: a.type, description }, [
    ...Object.entries(p.paramsByNode ?? {}).flatMap(([node, params]) => nodeParamsXml(p.id, node, params, ids)),
    ...nvset(
      'instance_attributes',
      `${p.id}-instance_attributes`,
      Object.entries(p.params).map(([k, v]) => [k, paramText(v)] as const),
      ids,
    ),
    ...nvset('meta_attributes', `${p.id}-meta_attributes`, metaPairs(p.meta as Record<string, unknown>), ids),
    ...nvset(
      'utilization',
      `${p.id}-utilization`,
      Object.entries(p.utilization).map(([k, v]) => [k, String(v)] as const),
      ids,
    ),
    ...(ops.length > 0 ? el('operations', {}, ops) : []),
  ]);
}

function resourceXml(r: Resource, promotable: boolean, ids: Ids): string[] {
  switch (r.type) {
    case 'primitive':
      return primitiveXml(r, promotable, ids);
    case 'group':
      return el('group', { id: r.id, description: r.description }, [
        ...nvset('meta_attributes', `${r.id}-meta_attributes`, metaPairs(r.meta as Record<string, unknown>), ids),
        ...r.members.flatMap((m) => primitiveXml(m, promotable, ids)),
      ]);
    case 'clone': {
      const meta = metaPairs(r.meta as Record<string, unknown>);
      if (r.promotable) meta.unshift(['promotable', 'true']);
      return el('clone', { id: r.id, description: r.description }, [
        ...nvset('meta_attributes', `${r.id}-meta_attributes`, meta, ids),
        ...resourceXml(r.child, r.promotable, ids),
      ]);
    }
  }
}

/**
 * Ids for a CIB of `config`: the ones the model already names are the CIB's own (resources, groups,
 * clones, constraints, rules, sets, nodes), so generated ids must not collide with them.
 */
export function configIds(config: ClusterConfig): Ids {
  const ids = new Ids();
  for (const e of listPrimitives(config)) {
    ids.reserve(e.primitive.id);
    if (e.group) ids.reserve(e.group.id);
    if (e.clone) ids.reserve(e.clone.id);
  }
  for (const c of config.constraints) {
    ids.reserve(c.id);
    if (c.type === 'location') for (const r of c.rules ?? []) if (r.id !== undefined) ids.reserve(r.id);
    if (c.type !== 'location') for (const s of c.sets ?? []) if (s.id !== undefined) ids.reserve(s.id);
  }
  for (const n of config.nodes) ids.reserve(n.id ?? n.name);
  return ids;
}

/** The `<configuration>` element of `config`. */
export function configurationXml(config: ClusterConfig, ids: Ids): string[] {
  return el('configuration', {}, [
    ...propertiesSection(config, ids),
    ...nodesSection(config, ids),
    ...el(
      'resources',
      {},
      config.resources.flatMap((r) => resourceXml(r, false, ids)),
    ),
    ...el(
      'constraints',
      {},
      config.constraints.flatMap((c) => constraintXml(c, ids)),
    ),
    ...defaultsSections(config, ids),
  ]);
}
