/**
 * Pacemaker's operation digests (lib/pengine/pe_digest.c, lib/common/digest.c in 2.1.5): each
 * operation record in a CIB carries an MD5 of the parameters it ran with. Comparing it with the
 * digest of the current definition is how Pacemaker notices a changed resource definition
 * (restart, reload, or a rescheduled monitor). The model cannot recompute a Pacemaker digest, so
 * the import does the comparison and records its outcome on the operation record.
 */
import { createHash } from 'node:crypto';
import type { ClusterConfig, ClusterStatus, OpRecord, Primitive } from '@paceline/model';

/** Parameters Pacemaker never hashes. */
const FILTERED = new Set(['id', 'crm_feature_set', 'op-digest', 'on_node', 'on_node_uuid', 'pcmk_external_ip']);
const DEFAULT_TIMEOUT_MS = 20_000;

function escapeAttr(v: string): string {
  return v.replace(/[<>&"'\n\r\t]/g, (c) =>
    c === '<'
      ? '&lt;'
      : c === '>'
        ? '&gt;'
        : c === '&'
          ? '&amp;'
          : c === '"'
            ? '&quot;'
            : c === "'"
              ? '&apos;'
              : c === '\n'
                ? '&#10;'
                : c === '\r'
                  ? '&#13;'
                  : '&#9;',
  );
}

/** The text Pacemaker hashes: ` <parameters a="1" b="2"/>\n`, attributes sorted by name (meta already filtered). */
export function digestText(params: Readonly<Record<string, string>>): string {
  const names = Object.keys(params)
    .filter((k) => !FILTERED.has(k))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let out = ' <parameters';
  for (const k of names) out += ` ${k}="${escapeAttr(params[k]!)}"`;
  return `${out}/>\n`;
}

/** The parameters Pacemaker hashes for one operation of a primitive on a node. */
export function digestParams(prim: Primitive, node: string, action: string, intervalMs: number, defaultTimeoutMs: number | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const base = prim.paramsByNode?.[node] ?? prim.params;
  for (const [k, v] of Object.entries(base)) out[k] = String(v);
  const op = prim.ops.find((o) => o.name === action && o.interval === intervalMs);
  for (const [k, v] of Object.entries(op?.params ?? {})) out[k] = String(v);
  for (const k of Object.keys(out)) if (k.startsWith('CRM_meta_')) delete out[k];
  // Recurring operations also hash their timeout (ms).
  if (intervalMs > 0) out['CRM_meta_timeout'] = String(op?.timeout ?? defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS);
  return out;
}

/** MD5 of a digest text, with a cache: most resources of a large cluster hash identical text. */
export class DigestCache {
  private readonly cache = new Map<string, string>();
  md5(text: string): string {
    let d = this.cache.get(text);
    if (d === undefined) {
      d = createHash('md5').update(text).digest('hex');
      this.cache.set(text, d);
    }
    return d;
  }
}

export type ParamsChange = NonNullable<OpRecord['paramsChange']>;

/** Pacemaker's compare_version for dotted feature sets. */
function versionBefore(a: string, b: string): boolean {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0;
  }
  return false;
}

/** Pacemaker's pcmk_stonith_param: parameters Pacemaker itself defines for fencing devices. */
function isFenceParam(p: string): boolean {
  if (p === 'provides' || p === 'stonith-timeout') return true;
  if (!p.startsWith('pcmk_')) return false;
  if (['pcmk_action_limit', 'pcmk_delay_base', 'pcmk_delay_max', 'pcmk_host_argument', 'pcmk_host_check', 'pcmk_host_list', 'pcmk_host_map'].includes(p))
    return true;
  const rest = p.slice(5);
  const us = rest.indexOf('_');
  return us >= 0 && ['_action', '_timeout', '_retries'].includes(rest.slice(us));
}

/**
 * The "secure" digest crm_simulate compares when only hidden parameters may differ
 * (calculate_secure_digest): all parameters minus those listed in op-secure-params; for records
 * written before feature set 3.16.0, without operation parameters, fencing parameters or timeout.
 */
function secureDigestText(rec: OpRecord, prim: Primitive, node: string, all: Record<string, string>, featureSet: string): string {
  const secure = new Set(rec.secureParams ?? []);
  const out: Record<string, string> = {};
  if (versionBefore(featureSet, '3.16.0')) {
    const base = prim.paramsByNode?.[node] ?? prim.params;
    const fencing = prim.agent.startsWith('stonith:');
    for (const [k, v] of Object.entries(base)) if (!secure.has(k) && !(fencing && isFenceParam(k))) out[k] = String(v);
  } else {
    for (const [k, v] of Object.entries(all)) if (!secure.has(k)) out[k] = v;
  }
  return digestText(out);
}

/**
 * Pacemaker's rsc_action_digest_cmp for one record: `restart` when the restart digest (only the
 * parameters listed in op-force-restart) differs, or a one-shot action with operation-specific
 * parameters changed; `changed` when the digest of all parameters differs; `same` otherwise.
 * Undefined when the record carries no digest.
 */
export function compareDigests(
  rec: OpRecord,
  prim: Primitive,
  node: string,
  defaultTimeoutMs: number | undefined,
  cache: DigestCache,
  featureSet = '3.16.1',
): ParamsChange | undefined {
  if (rec.digest === undefined && rec.restartDigest === undefined) return undefined;
  const params = digestParams(prim, node, rec.action, rec.interval, defaultTimeoutMs);
  let change: ParamsChange | undefined;
  if (rec.restartDigest !== undefined) {
    // Only the parameters listed in op-force-restart; without such a list, all of them.
    let restricted: Record<string, string> = params;
    if (rec.restartParams !== undefined) {
      const keep = new Set(rec.restartParams);
      restricted = {};
      for (const [k, v] of Object.entries(params)) if (keep.has(k)) restricted[k] = v;
    }
    if (cache.md5(digestText(restricted)) !== rec.restartDigest) change = 'restart';
  }
  if (change === undefined) {
    if (rec.digest === undefined) return undefined;
    if (cache.md5(digestText(params)) === rec.digest) return 'same';
    const op = prim.ops.find((o) => o.name === rec.action && o.interval === rec.interval);
    change = rec.interval === 0 && op?.params !== undefined && Object.keys(op.params).length > 0 ? 'restart' : 'changed';
  }
  // crm_simulate runs "sanitized": a change confined to hidden parameters does not count.
  if (rec.secureDigest !== undefined && cache.md5(secureDigestText(rec, prim, node, params, featureSet)) === rec.secureDigest) return 'same';
  return change;
}

/** Primitive id behind a history entry ("db:1" → "db"). */
function baseId(id: string): string {
  const i = id.lastIndexOf(':');
  return i > 0 && /^\d+$/.test(id.slice(i + 1)) ? id.slice(0, i) : id;
}

/** Adds `paramsChange` to every operation record that has a digest and a configured primitive. */
export function annotateDigests(config: ClusterConfig, status: ClusterStatus, featureSetOf: (rec: OpRecord) => string | undefined = () => undefined): void {
  const prims = new Map<string, Primitive>();
  const visit = (r: ClusterConfig['resources'][number]): void => {
    if (r.type === 'primitive') prims.set(r.id, r);
    else if (r.type === 'group') r.members.forEach(visit);
    else visit(r.child);
  };
  config.resources.forEach(visit);
  const cache = new DigestCache();
  const defaultTimeout = config.defaults.operation.timeout;
  for (const n of status.nodes)
    for (const h of n.history) {
      const prim = prims.get(h.resource) ?? prims.get(baseId(h.resource));
      if (!prim) continue;
      for (const rec of h.ops) {
        const change = compareDigests(rec, prim, n.name, defaultTimeout, cache, featureSetOf(rec));
        if (change !== undefined) (rec as { paramsChange?: ParamsChange }).paramsChange = change;
      }
    }
}
