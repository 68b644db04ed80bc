/**
 * The export's status section: every node's state, transient attributes (fail counts, standby,
 * shutdown) and operation history, each history entry with the Pacemaker digest of the current
 * definition (digest.ts), so that crm_simulate sees a definition change exactly where Paceline does.
 */
import {
  formatScore,
  isNativeDigest,
  listPrimitives,
  operationParams,
  paramsDigest,
  type ClusterConfig,
  type ClusterStatus,
  type ExecStatus,
  type NodeConfig,
  type NodeStatus,
  type OpRecord,
  type PrimitiveEntry,
} from '@paceline/model';
import { el, instanceBase, nvset, secs, type Attrs, type Ids } from './cib-text.js';
import { digestParams, operationDigest } from './digest.js';
import { pacemakerAgent } from './export-agents.js';

/** The feature set Debian's Pacemaker 2.1.5 writes (a newer one makes its CIB refuse updates). */
export const CIB_FEATURE_SET = '3.16.1';
/** A fixed controller UUID for transition keys (Pacemaker only checks its shape). */
const TRANSITION_UUID = 'a5e1e5a0-9ace-4c1e-8a1e-000000000000';

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

/** One `<lrm_rsc_op>`: `index` numbers the node's entries for their transition keys. */
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

/** The CIB's feature set for `status`: LEGACY_FEATURE_SET when its fail counts need it (see legacyFailCounts). */
export function statusFeatureSet(status: ClusterStatus): string {
  return legacyFailCounts(status) ? LEGACY_FEATURE_SET : CIB_FEATURE_SET;
}

/**
 * node_state elements in the status's order (Pacemaker's result can depend on it, e.g. for a
 * migration that failed half-way), then configured nodes the status does not mention.
 */
function nodeOrder(config: ClusterConfig, status: ClusterStatus): NodeConfig[] {
  const mentioned = new Set(status.nodes.map((n) => n.name));
  const configured = new Map(config.nodes.map((n) => [n.name, n]));
  const ordered = [...status.nodes.flatMap((n) => configured.get(n.name) ?? []), ...config.nodes.filter((n) => !mentioned.has(n.name))];
  return ordered.filter((n, i, list) => list.indexOf(n) === i);
}

/** A node's transient attributes: its own, standby/maintenance/shutdown, and fail counts. */
function transientXml(id: string, n: NodeStatus | undefined, legacy: boolean, now: number | undefined, ids: Ids): string[] {
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
  return attrs.length > 0 ? el('transient_attributes', { id }, nvset('instance_attributes', `status-${id}`, attrs, ids)) : [];
}

/**
 * The digests an exported history entry carries: the current definition's Pacemaker digest, and
 * the feature set its secure digest must be checked with.
 */
function exportedDigest(op: OpRecord, entry: PrimitiveEntry | undefined, node: string, config: ClusterConfig): { digest?: string; featureSet: string } {
  if (entry === undefined) return { featureSet: CIB_FEATURE_SET };
  const params = digestParams(entry.primitive, node, op.action, op.interval, config.defaults.operation.timeout);
  let digest = operationDigest(params);
  // A native digest is not Pacemaker's: export the current definition's digest, or, when the
  // operation ran with other parameters, one that cannot match (Pacemaker then restarts it too).
  if (op.digest !== undefined && isNativeDigest(op.digest)) {
    const def = entry.primitive.ops.find((o) => o.name === op.action && o.interval === op.interval);
    if (paramsDigest(operationParams(entry.primitive, node, def)) !== op.digest) digest = operationDigest({ ...params, 'paceline-changed': op.digest });
  }
  // An imported secure digest made by an older Pacemaker (feature set < 3.16.0 hashed only
  // the resource parameters) must be checked the old way: say so with the op's feature set.
  let featureSet = CIB_FEATURE_SET;
  if (op.secureDigest !== undefined) {
    const secure = Object.fromEntries(Object.entries(params).filter(([k]) => !(op.secureParams ?? []).includes(k)));
    if (operationDigest(secure) !== op.secureDigest) featureSet = LEGACY_FEATURE_SET;
  }
  return { digest, featureSet };
}

/** A node's `<lrm_resource>` elements, one per history entry. */
function lrmResourcesXml(n: NodeStatus, config: ClusterConfig, prims: ReadonlyMap<string, PrimitiveEntry>): string[] {
  let opIndex = 0;
  return n.history.flatMap((h) => {
    const entry = prims.get(h.resource) ?? prims.get(instanceBase(h.resource));
    const a = pacemakerAgent(h.agent ?? entry?.primitive.agent ?? 'ocf:pacemaker:Dummy', entry?.clone?.promotable ?? false);
    const seen = new Set<string>();
    const attrs = {
      id: h.resource,
      type: a.type,
      class: a.class,
      provider: a.provider,
      'shutdown-lock': h.shutdownLock === undefined ? undefined : secs(h.shutdownLock),
    };
    return el(
      'lrm_resource',
      attrs,
      h.ops.flatMap((op) => {
        const { digest, featureSet } = exportedDigest(op, entry, n.name, config);
        return opXml(op, h.resource, n.name, seen, opIndex++, digest, featureSet);
      }),
    );
  });
}

/** The `<status>` element: one node_state per node, with transient attributes and operation history. */
export function statusXml(config: ClusterConfig, status: ClusterStatus, now: number | undefined, ids: Ids): string[] {
  const legacy = legacyFailCounts(status);
  const prims = new Map(listPrimitives(config).map((e) => [e.primitive.id, e]));
  const byName = new Map(status.nodes.map((n) => [n.name, n]));
  const states = nodeOrder(config, status).flatMap((cn) => {
    const n = byName.get(cn.name);
    const id = cn.id ?? cn.name;
    const lrm = n === undefined || n.history.length === 0 ? [] : el('lrm', { id }, el('lrm_resources', {}, lrmResourcesXml(n, config, prims)));
    const attrs = { id, uname: cn.name, ...nodeStateAttrs(n, config.properties.stonithEnabled), 'crm-debug-origin': 'paceline' };
    return el('node_state', attrs, [...transientXml(id, n, legacy, now, ids), ...lrm]);
  });
  return el('status', {}, states);
}
