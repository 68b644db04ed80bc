/**
 * `exportCib`: the Paceline model (configuration + status) → a complete Pacemaker 2.1.5 CIB that
 * `crm_simulate -x FILE -S` and `crm_verify -x FILE` accept, so the same cluster can be run
 * through both schedulers (differential testing) or handed to a Pacemaker user.
 *
 * `paceline:NAME` agents have no Pacemaker counterpart: they are written as
 * `ocf:pacemaker:Dummy` (`ocf:pacemaker:Stateful` inside promotable clones) with the original
 * agent kept at the start of the description, `[paceline:NAME]`; `restorePacelineAgents` undoes
 * that after `importCib`. Parameter values that are not strings are written as JSON text.
 *
 * Also here: `crmSimulateResult`, which reads `crm_simulate -S --output-as=xml` back into the
 * conformance contract's shape, so a Pacemaker verdict can be compared with Paceline's.
 */
import {
  formatScore,
  listPrimitives,
  type ClusterConfig,
  type ClusterStatus,
  type Clone,
  type ColocationConstraint,
  type Constraint,
  type ExecStatus,
  type LocationConstraint,
  type NodeStatus,
  type OpRecord,
  type OrderConstraint,
  type Primitive,
  type Resource,
  type ResourceSet,
  type Rule,
  type RuleExpression,
  isNativeDigest,
  operationParams,
  paramsDigest,
} from '@paceline/model';
import type { ConformanceAction, ConformanceInstance, ConformanceResource, ConformanceResult, ConformanceRole } from './conformance.js';
import { digestParams, operationDigest, paramText } from './digest.js';
import { child, childrenOf, parseXml, type XmlElement } from './xml.js';

/** The feature set Debian's Pacemaker 2.1.5 writes (a newer one makes its CIB refuse updates), and the newest schema it validates against. */
export const CIB_FEATURE_SET = '3.16.1';
export const CIB_SCHEMA = 'pacemaker-3.9';
/** A fixed controller UUID for transition keys (Pacemaker only checks its shape). */
const TRANSITION_UUID = 'a5e1e5a0-9ace-4c1e-8a1e-000000000000';

export interface ExportOptions {
  /** Epoch ms written as the CIB's `execution-date` (crm_simulate then uses it as "now"). */
  readonly now?: number;
}

type Attrs = Record<string, string | number | boolean | undefined>;

/** One element; `children` are already-rendered lines. */
function el(tag: string, attrs: Attrs, children: readonly string[] = []): string[] {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeAttr(String(v))}"`)
    .join('');
  if (children.length === 0) return [`<${tag}${a}/>`];
  return [`<${tag}${a}>`, ...children.map((l) => `  ${l}`), `</${tag}>`];
}

function escapeAttr(v: string): string {
  return v
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}

/** Hands out unique XML ids derived from a readable base. */
class Ids {
  private readonly used = new Set<string>();
  private readonly written = new Set<string>();
  reserve(id: string): void {
    this.used.add(id);
  }
  /** A model-given id (rule, resource set), once; a repeat (e.g. a rule shared through id-ref) gets a fresh id. */
  claim(id: string): string {
    if (this.written.has(id) || !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(id)) return this.make(id);
    this.written.add(id);
    return id;
  }
  make(base: string): string {
    let b = base.replace(/[^A-Za-z0-9_.-]/g, '_');
    if (!/^[A-Za-z_]/.test(b)) b = `x${b}`;
    let id = b;
    for (let i = 2; this.used.has(id); i++) id = `${b}-${i}`;
    this.used.add(id);
    return id;
  }
}

/** Milliseconds as a Pacemaker duration: whole seconds when exact, else milliseconds. */
function duration(ms: number): string {
  if (ms === 0) return '0';
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function nvset(tag: string, id: string, pairs: readonly (readonly [string, string])[], ids: Ids): string[] {
  if (pairs.length === 0) return [];
  const setId = ids.make(id);
  return el(
    tag,
    { id: setId },
    pairs.flatMap(([name, value]) => el('nvpair', { id: ids.make(`${setId}-${name}`), name, value })),
  );
}

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

/** The Pacemaker agent a model agent reference is written as. */
export function pacemakerAgent(agent: string, promotable: boolean): { class: string; provider?: string; type: string; substituted: boolean } {
  const parts = agent.split(':');
  const cls = parts[0] ?? '';
  if (cls === 'paceline') return { class: 'ocf', provider: 'pacemaker', type: promotable ? 'Stateful' : 'Dummy', substituted: true };
  if (cls === 'ocf') return { class: 'ocf', provider: parts[1] ?? '', type: parts.slice(2).join(':'), substituted: false };
  return { class: cls, type: parts.slice(1).join(':'), substituted: false };
}

const SUBSTITUTE = /^\[(paceline:[A-Za-z0-9_.-]+)\](?: (.*))?$/s;

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

function nodeId(config: ClusterConfig, name: string): string {
  return config.nodes.find((n) => n.name === name)?.id ?? name;
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

function resourceXml(r: Resource, promotable: boolean, config: ClusterConfig, ids: Ids): string[] {
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
        ...resourceXml(r.child, r.promotable, config, ids),
      ]);
    }
  }
}

function expressionXml(e: RuleExpression, base: string, ids: Ids): string[] {
  if (e.kind === 'rule') return ruleXml(e, base, ids, true);
  if (e.kind === 'attribute')
    return el('expression', {
      id: ids.make(`${base}-expr`),
      attribute: e.attribute,
      operation: e.op,
      value: e.value,
      type: e.valueType,
      'value-source': e.valueSource === 'literal' ? undefined : e.valueSource,
    });
  const id = ids.make(`${base}-date`);
  const kids: string[] = [];
  if (e.duration) kids.push(...el('duration', { id: ids.make(`${id}-duration`), ...e.duration }));
  if (e.spec) kids.push(...el('date_spec', { id: ids.make(`${id}-spec`), ...e.spec }));
  return el('date_expression', { id, operation: e.op, start: e.start, end: e.end }, kids);
}

function ruleXml(r: Rule, base: string, ids: Ids, nested: boolean): string[] {
  const id = r.id !== undefined ? ids.claim(r.id) : ids.make(`${base}-rule`);
  return el(
    'rule',
    {
      id,
      score: nested || r.score === undefined ? undefined : formatScore(r.score),
      'score-attribute': nested ? undefined : r.scoreAttribute,
      'boolean-op': r.booleanOp,
      role: r.role,
    },
    r.expressions.flatMap((e) => expressionXml(e, id, ids)),
  );
}

function setXml(s: ResourceSet, base: string, ids: Ids): string[] {
  return el(
    'resource_set',
    {
      id: s.id !== undefined ? ids.claim(s.id) : ids.make(`${base}-set`),
      sequential: s.sequential ? undefined : 'false',
      'require-all': s.requireAll ? undefined : 'false',
      role: s.role,
      action: s.action,
      kind: s.kind,
      score: s.score === undefined ? undefined : formatScore(s.score),
    },
    s.resources.flatMap((r) => el('resource_ref', { id: r })),
  );
}

function locationXml(c: LocationConstraint, ids: Ids): string[] {
  const attrs: Attrs = {
    id: c.id,
    rsc: c.resource,
    'rsc-pattern': c.resourcePattern,
    role: c.role,
    'resource-discovery': c.resourceDiscovery === 'always' ? undefined : c.resourceDiscovery,
  };
  if (c.rules === undefined) return el('rsc_location', { ...attrs, node: c.node, score: formatScore(c.score ?? 0) });
  return el(
    'rsc_location',
    attrs,
    c.rules.flatMap((r) => ruleXml(r, c.id, ids, false)),
  );
}

function colocationXml(c: ColocationConstraint, ids: Ids): string[] {
  const attrs: Attrs = {
    id: c.id,
    score: formatScore(c.score),
    'node-attribute': c.nodeAttribute === '#uname' ? undefined : c.nodeAttribute,
    influence: c.influence,
  };
  if (c.sets)
    return el(
      'rsc_colocation',
      attrs,
      c.sets.flatMap((s) => setXml(s, c.id, ids)),
    );
  return el('rsc_colocation', {
    ...attrs,
    rsc: c.resource,
    'with-rsc': c.withResource,
    'rsc-role': c.resourceRole,
    'with-rsc-role': c.withResourceRole,
  });
}

function orderXml(c: OrderConstraint, ids: Ids): string[] {
  const attrs: Attrs = {
    id: c.id,
    kind: c.kind,
    symmetrical: c.symmetrical,
    'require-all': c.requireAll ? undefined : 'false',
  };
  if (c.sets)
    return el(
      'rsc_order',
      attrs,
      c.sets.flatMap((s) => setXml(s, c.id, ids)),
    );
  return el('rsc_order', { ...attrs, first: c.first, then: c.then, 'first-action': c.firstAction, 'then-action': c.thenAction });
}

function constraintXml(c: Constraint, ids: Ids): string[] {
  switch (c.type) {
    case 'location':
      return locationXml(c, ids);
    case 'colocation':
      return colocationXml(c, ids);
    case 'order':
      return orderXml(c, ids);
  }
}

const EXEC_CODE: Record<ExecStatus, number> = {
  pending: -1,
  done: 0,
  cancelled: 1,
  timeout: 2,
  'not-supported': 3,
  error: 4,
  'error-hard': 5,
  'error-fatal': 6,
  'not-installed': 7,
  'not-connected': 8,
  invalid: 9,
};

/** node_state attributes Pacemaker 2.1.5 reads as each model state. */
function nodeStateAttrs(n: NodeStatus | undefined, stonithEnabled: boolean): Attrs {
  switch (n?.state ?? 'offline') {
    case 'online':
      return { in_ccm: 'true', crmd: 'online', join: 'member', expected: 'member' };
    case 'pending':
      // Read as pending only when fencing is enabled; without fencing Pacemaker takes it as offline.
      return { in_ccm: 'true', crmd: 'online', join: 'pending', expected: 'member' };
    case 'unclean':
      return stonithEnabled
        ? { in_ccm: 'false', crmd: 'offline', join: 'member', expected: 'member' }
        : { in_ccm: 'true', crmd: 'offline', join: 'down', expected: 'member' };
    case 'offline':
      return { in_ccm: 'false', crmd: 'offline', join: 'down', expected: 'down' };
  }
}

const secs = (ms: number): number => Math.floor(ms / 1000);

function opXml(op: OpRecord, rsc: string, node: string, seen: Set<string>, index: number, digest: string | undefined, featureSet: string): string[] {
  const key = op.key ?? `${rsc}_${op.action}_${op.interval}`;
  let id = key;
  for (let i = 2; seen.has(id); i++) id = `${key}-${i}`;
  seen.add(id);
  const code = EXEC_CODE[op.status];
  // transition-key carries the expected rc. Pacemaker takes a record without one as failed; the
  // model reads an unknown expected rc as "not running" for probes and success otherwise, so that
  // is what gets written.
  const expected = op.expectedRc ?? (op.action === 'monitor' && op.interval === 0 ? 7 : 0);
  const tkey = `${index + 1}:0:${expected}:${TRANSITION_UUID}`;
  return el('lrm_rsc_op', {
    id,
    operation_key: key,
    operation: op.action,
    'crm-debug-origin': 'paceline',
    crm_feature_set: featureSet,
    'transition-key': tkey,
    'transition-magic': `${code}:${op.rc};${tkey}`,
    'exit-reason': op.exitReason,
    on_node: node,
    'call-id': op.callId,
    'rc-code': op.rc,
    'op-status': code,
    interval: op.interval,
    'last-rc-change': op.lastRcChange === undefined ? undefined : secs(op.lastRcChange),
    'last-run': op.lastRun === undefined ? undefined : secs(op.lastRun),
    'exec-time': 0,
    'queue-time': 0,
    'op-digest': op.digest !== undefined && !isNativeDigest(op.digest) ? op.digest : digest,
    'op-restart-digest': op.restartDigest,
    'op-force-restart': op.restartParams === undefined ? undefined : ` ${op.restartParams.join(' ')} `,
    'op-secure-digest': op.secureDigest,
    'op-secure-params': op.secureParams === undefined ? undefined : ` ${op.secureParams.join(' ')} `,
    migrate_source: op.migrateSource,
    migrate_target: op.migrateTarget,
  });
}

/**
 * Pacemaker 2.1.5 reads fail counts as `fail-count-RSC#OP_INTERVAL` when the CIB's feature set is
 * 3.0.13 or newer, and only as the older per-resource `fail-count-RSC` below that (or without
 * one). A status whose fail counts all lack the operation is written in the older form, under
 * LEGACY_FEATURE_SET; otherwise every fail count gets an operation (`start_0` where the model has
 * none) so that Pacemaker counts it.
 */
export function legacyFailCounts(status: ClusterStatus): boolean {
  const all = status.nodes.flatMap((n) => n.failures);
  return all.length > 0 && all.every((f) => f.action === undefined);
}
export const LEGACY_FEATURE_SET = '3.0.12';

function statusSection(config: ClusterConfig, status: ClusterStatus, now: number | undefined, ids: Ids): string[] {
  const legacy = legacyFailCounts(status);
  const prims = new Map(listPrimitives(config).map((e) => [e.primitive.id, e]));
  const baseOf = (r: string): string => {
    const i = r.lastIndexOf(':');
    return i > 0 && /^\d+$/.test(r.slice(i + 1)) ? r.slice(0, i) : r;
  };
  const byName = new Map(status.nodes.map((n) => [n.name, n]));
  // node_state elements in the status's order (Pacemaker's result can depend on it, e.g. for a
  // migration that failed half-way), then configured nodes the status does not mention.
  const configured = new Map(config.nodes.map((n) => [n.name, n]));
  const ordered = [...status.nodes.flatMap((n) => configured.get(n.name) ?? []), ...config.nodes.filter((n) => !byName.has(n.name))].filter(
    (n, i, list) => list.indexOf(n) === i,
  );
  const states = ordered.flatMap((cn) => {
    const n = byName.get(cn.name);
    const id = cn.id ?? cn.name;
    const attrs: [string, string][] = Object.entries(n?.attributes ?? {});
    if (n?.standby) attrs.push(['standby', 'on']);
    if (n?.maintenance) attrs.push(['maintenance', 'on']);
    if (n?.shutdown) attrs.push(['shutdown', String(now === undefined ? 1 : Math.max(1, secs(now)))]);
    for (const f of n?.failures ?? []) {
      // Pacemaker 2.1.5 counts only one form, chosen by the CIB's feature set (see legacyFailCounts).
      const key = legacy ? f.resource : `${f.resource}#${f.action ?? 'start'}_${f.interval ?? 0}`;
      attrs.push([`fail-count-${key}`, formatScore(f.count)]);
      if (f.lastFailure !== undefined) attrs.push([`last-failure-${key}`, String(secs(f.lastFailure))]);
    }
    const transient = attrs.length > 0 ? el('transient_attributes', { id }, nvset('instance_attributes', `status-${id}`, attrs, ids)) : [];
    let opIndex = 0;
    const resources = (n?.history ?? []).flatMap((h) => {
      const entry = prims.get(h.resource) ?? prims.get(baseOf(h.resource));
      const promotable = entry?.clone?.promotable ?? false;
      const agentRef = h.agent ?? entry?.primitive.agent ?? 'ocf:pacemaker:Dummy';
      const a = pacemakerAgent(agentRef, promotable);
      const seen = new Set<string>();
      return el(
        'lrm_resource',
        {
          id: h.resource,
          type: a.type,
          class: a.class,
          provider: a.provider,
          'shutdown-lock': h.shutdownLock === undefined ? undefined : secs(h.shutdownLock),
        },
        h.ops.flatMap((op) => {
          const params = entry === undefined ? undefined : digestParams(entry.primitive, cn.name, op.action, op.interval, config.defaults.operation.timeout);
          let digest = params === undefined ? undefined : operationDigest(params);
          // A native digest is not Pacemaker's: export the current definition's digest, or, when the
          // operation ran with other parameters, one that cannot match (Pacemaker then restarts it too).
          if (entry !== undefined && digest !== undefined && op.digest !== undefined && isNativeDigest(op.digest)) {
            const def = entry.primitive.ops.find((o) => o.name === op.action && o.interval === op.interval);
            if (paramsDigest(operationParams(entry.primitive, cn.name, def)) !== op.digest)
              digest = operationDigest({ ...params, 'paceline-changed': op.digest });
          }
          // An imported secure digest made by an older Pacemaker (feature set < 3.16.0 hashed only
          // the resource parameters) must be checked the old way: say so with the op's feature set.
          let featureSet = CIB_FEATURE_SET;
          if (params !== undefined && op.secureDigest !== undefined) {
            const secure = Object.fromEntries(Object.entries(params).filter(([k]) => !(op.secureParams ?? []).includes(k)));
            if (operationDigest(secure) !== op.secureDigest) featureSet = LEGACY_FEATURE_SET;
          }
          return opXml(op, h.resource, cn.name, seen, opIndex++, digest, featureSet);
        }),
      );
    });
    const lrm = n === undefined || n.history.length === 0 ? [] : el('lrm', { id }, el('lrm_resources', {}, resources));
    return el('node_state', { id, uname: cn.name, ...nodeStateAttrs(n, config.properties.stonithEnabled), 'crm-debug-origin': 'paceline' }, [
      ...transient,
      ...lrm,
    ]);
  });
  return el('status', {}, states);
}

/**
 * The CIB for `config` + `status`. Deterministic: same input, same text. `options.now` becomes
 * the CIB's `execution-date` (whole seconds), which crm_simulate uses as the current time.
 */
export function exportCib(config: ClusterConfig, status: ClusterStatus, options: ExportOptions = {}): string {
  const ids = new Ids();
  // Ids the model already names are the CIB's own; generated ids must not collide with them.
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

  const configuration = el('configuration', {}, [
    ...propertiesSection(config, ids),
    ...nodesSection(config, ids),
    ...el(
      'resources',
      {},
      config.resources.flatMap((r) => resourceXml(r, false, config, ids)),
    ),
    ...el(
      'constraints',
      {},
      config.constraints.flatMap((c) => constraintXml(c, ids)),
    ),
    ...defaultsSections(config, ids),
  ]);
  const dcId = status.dc === undefined ? undefined : nodeId(config, status.dc);
  const cib = el(
    'cib',
    {
      crm_feature_set: legacyFailCounts(status) ? LEGACY_FEATURE_SET : CIB_FEATURE_SET,
      'validate-with': CIB_SCHEMA,
      epoch: config.epoch,
      num_updates: 0,
      admin_epoch: 0,
      'have-quorum': status.quorum ? 1 : 0,
      // The model reads an unset quorumPanic as true; Pacemaker reads a missing attribute as 0.
      'no-quorum-panic': status.quorumPanic === false ? 0 : 1,
      'dc-uuid': dcId,
      'execution-date': options.now === undefined ? undefined : secs(options.now),
    },
    [...configuration, ...statusSection(config, status, options.now, ids)],
  );
  return `${cib.join('\n')}\n`;
}

/**
 * Undoes the agent substitution of `exportCib` on an imported configuration: primitives whose
 * description starts with `[paceline:NAME]` get that agent (and the rest of the description)
 * back, and so do their history records. Everything else is returned unchanged.
 */
export function restorePacelineAgents(config: ClusterConfig, status?: ClusterStatus): { config: ClusterConfig; status?: ClusterStatus } {
  const restored = new Map<string, { from: string; to: string }>();
  const fix = (p: Primitive): Primitive => {
    const m = p.description === undefined ? null : SUBSTITUTE.exec(p.description);
    if (!m || !p.agent.startsWith('ocf:pacemaker:')) return p;
    const { description: _d, ...rest } = p;
    void _d;
    restored.set(p.id, { from: p.agent, to: m[1]! });
    return { ...rest, agent: m[1]!, ...(m[2] !== undefined ? { description: m[2] } : {}) };
  };
  const visit = (r: Resource): Resource =>
    r.type === 'primitive' ? fix(r) : r.type === 'group' ? { ...r, members: r.members.map(fix) } : { ...r, child: visit(r.child) as Clone['child'] };
  const out: { config: ClusterConfig; status?: ClusterStatus } = { config: { ...config, resources: config.resources.map(visit) } };
  if (status !== undefined) {
    const baseOf = (r: string): string => {
      const i = r.lastIndexOf(':');
      return i > 0 && /^\d+$/.test(r.slice(i + 1)) ? r.slice(0, i) : r;
    };
    out.status = {
      ...status,
      nodes: status.nodes.map((n) => ({
        ...n,
        history: n.history.map((h) => {
          const r = restored.get(h.resource) ?? restored.get(baseOf(h.resource));
          return r && h.agent === r.from ? { ...h, agent: r.to } : h;
        }),
      })),
    };
  }
  return out;
}

/** `rsc:3` → `rsc`. */
function stripInstance(id: string): string {
  const i = id.lastIndexOf(':');
  return i > 0 && /^\d+$/.test(id.slice(i + 1)) ? id.slice(0, i) : id;
}

const ROLES: Record<string, ConformanceRole> = {
  Started: 'Started',
  Promoted: 'Promoted',
  Unpromoted: 'Unpromoted',
  Master: 'Promoted',
  Slave: 'Unpromoted',
};

/** One `<rsc_action>` / `<node_action>` of crm_simulate's XML Transition Summary, in the contract's shape. */
function summaryAction(a: XmlElement): ConformanceAction | undefined {
  if (a.tag === 'node_action') {
    const m = /^Fence \((\w+)\)/.exec(a.attrs['task'] ?? '');
    if (!m) return undefined;
    return { action: 'fence', node: a.attrs['node'] ?? '', fence_type: m[1]!, ...(a.attrs['reason'] !== undefined ? { reason: a.attrs['reason'] } : {}) };
  }
  const action = a.attrs['action'] ?? '';
  const instance = a.attrs['resource'] ?? '';
  const node = a.attrs['node'];
  const source = a.attrs['source'];
  const dest = a.attrs['dest'];
  let from: string | null = null;
  let to: string | null = null;
  if (source !== undefined || dest !== undefined) {
    from = source ?? null;
    to = dest ?? source ?? null;
  } else if (node !== undefined) {
    if (action === 'start') to = node;
    else if (action === 'stop') from = node;
    else from = to = node;
  }
  const resource = stripInstance(instance);
  return {
    action,
    resource,
    ...(instance !== resource ? { instance } : {}),
    from,
    to,
    blocked: a.attrs['blocked'] === 'true',
    ...(a.attrs['role'] !== undefined ? { role: a.attrs['role'] } : {}),
    ...(a.attrs['next-role'] !== undefined ? { next_role: a.attrs['next-role'] } : {}),
    ...(a.attrs['reason'] !== undefined ? { reason: a.attrs['reason'] } : {}),
  };
}

/**
 * Reads `crm_simulate -S --output-as=xml` output: the Transition Summary (`<actions>`) and the
 * revised cluster status (resource placement and node flags), in the conformance contract's
 * shape, so `compareConformance` can set it against Paceline's result.
 */
export function crmSimulateResult(xml: string): ConformanceResult {
  const root = parseXml(xml).find((e) => e.tag === 'pacemaker-result');
  if (!root) throw new Error('not crm_simulate XML output: no <pacemaker-result> element');
  const status = child(root, 'status');
  if (status && status.attrs['code'] !== '0') throw new Error(`crm_simulate failed: ${status.attrs['message'] ?? status.attrs['code']}`);
  const actions = childrenOf(child(root, 'actions'), 'rsc_action', 'node_action')
    .map(summaryAction)
    .filter((a): a is ConformanceAction => a !== undefined);
  const revised = child(root, 'revised_cluster_status') ?? child(root, 'cluster_status');
  const resources: Record<
    string,
    { group: string | null; clone: string | null; promotable?: boolean; unique?: boolean; orphan?: boolean; instances: ConformanceInstance[] }
  > = {};
  const walk = (e: XmlElement, group: string | null, clone: XmlElement | null): void => {
    for (const c of e.children) {
      if (c.tag === 'group') walk(c, stripInstance(c.attrs['id'] ?? ''), clone);
      else if (c.tag === 'clone') walk(c, group, c);
      else if (c.tag === 'resource') {
        const id = stripInstance(c.attrs['id'] ?? '');
        const entry = (resources[id] ??= {
          group,
          clone: clone?.attrs['id'] ?? null,
          ...(clone ? { promotable: clone.attrs['multi_state'] === 'true', unique: clone.attrs['unique'] === 'true' } : {}),
          ...(c.attrs['orphaned'] === 'true' ? { orphan: true } : {}),
          instances: [],
        });
        const role = ROLES[c.attrs['role'] ?? ''];
        if (role === undefined) continue;
        for (const n of childrenOf(c, 'node'))
          entry.instances.push({
            node: n.attrs['name'] ?? '',
            role,
            ...(clone?.attrs['unique'] === 'true' ? { instance: c.attrs['id'] ?? '' } : {}),
            ...(c.attrs['failed'] === 'true' ? { failed: true } : {}),
            ...(c.attrs['managed'] === 'false' ? { managed: false } : {}),
          });
      }
    }
  };
  const rs = child(revised ?? root, 'resources');
  if (rs) walk(rs, null, null);
  for (const r of Object.values(resources))
    r.instances.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : a.role < b.role ? -1 : a.role > b.role ? 1 : 0));
  const nodes: Record<string, { online: boolean; standby: boolean; maintenance: boolean; unclean: boolean; type?: string }> = {};
  for (const n of childrenOf(child(revised ?? root, 'nodes'), 'node')) {
    const type = n.attrs['type'];
    nodes[n.attrs['name'] ?? ''] = {
      online: n.attrs['online'] === 'true',
      standby: n.attrs['standby'] === 'true' || n.attrs['standby_onfail'] === 'true' || n.attrs['pending'] === 'true',
      maintenance: n.attrs['maintenance'] === 'true',
      unclean: n.attrs['unclean'] === 'true',
      ...(type !== undefined && type !== 'member' ? { type } : {}),
    };
  }
  return { resources: resources as Record<string, ConformanceResource>, actions, nodes };
}
