/**
 * Pacemaker's operation digests, as Pacemaker 2.1.5 computes them (lib/pengine/pe_digest.c,
 * lib/common/digest.c and operations.c): every operation record in a CIB carries the MD5 of the
 * parameters it ran with (`op-digest`), and for reloadable agents of only the parameters that need a
 * restart (`op-restart-digest`) and of all but the secret ones (`op-secure-digest`). Comparing a
 * recorded digest with the digest of the current definition is how Pacemaker notices a changed
 * resource definition (restart, reload, or a rescheduled monitor).
 *
 * One implementation serves both directions: the CIB import compares recorded digests with the
 * current definition (`annotateDigests`), and the CIB export writes the digest of the current
 * definition into every history entry (`digestParams` + `operationDigest`).
 *
 * What is hashed, checked against crm_simulate 2.1.5 (see docs/pacemaker.md, "Operation digests"):
 * - the text ` <parameters NAME="VALUE" .../>\n`, names sorted bytewise (strcmp on UTF-8), values
 *   escaped as crm_xml_escape does (below);
 * - the resource's parameters for the node, then the instance attributes of the operation's own
 *   configuration (found by the recorded operation's name and interval: a probe is `monitor` at 0,
 *   not `start`), without `id`, `crm_feature_set`, `op-digest`, `on_node`, `on_node_uuid`,
 *   `pcmk_external_ip` and any `CRM_meta_*`;
 * - for a recurring operation, `CRM_meta_timeout`: the operation's timeout in ms, else the
 *   operation default's, else 20000 (a `start-delay` is not added).
 */
import { createHash } from 'node:crypto';
import type { ClusterConfig, ClusterStatus, OpRecord, Operation, Primitive } from '@paceline/model';
import { instanceBase } from './cib-text.js';

/** Parameters Pacemaker never hashes (besides `CRM_meta_*`). */
const FILTERED: ReadonlySet<string> = new Set(['id', 'crm_feature_set', 'op-digest', 'on_node', 'on_node_uuid', 'pcmk_external_ip']);
/** Pacemaker's default operation timeout (CRM_DEFAULT_OP_TIMEOUT_S), in ms. */
const DEFAULT_TIMEOUT_MS = 20_000;

/** A character crm_xml_escape changes, or the first non-ASCII one (where it stops). */
const NEEDS_ESCAPE = /[\x00-\x1f"&'<>\x7f-\uffff]/;

/**
 * Attribute values as crm_xml_escape writes them into digest text (2.1.5): XML specials as entities,
 * a tab as four spaces, LF and CR as backslash-n and backslash-r, other control characters as a
 * backslash and three octal digits. (Unlike the XML of the CIB itself: `&#10;` there is `\n` here.)
 *
 * Escaping stops at the first multi-byte UTF-8 character and copies the rest as it is. Pacemaker
 * writes its CIB with the same escaping and reads it back before scheduling, so past that character
 * a value reaches the digest as XML reads an unescaped attribute: line ends (CR LF, CR) become LF,
 * then tabs and LFs spaces. (`&`, `<` and `"` there make Pacemaker's own CIB lose or refuse the
 * value: such values have no digest to match.)
 */
export function digestEscape(v: string): string {
  const first = v.search(NEEDS_ESCAPE);
  if (first < 0) return v;
  let out = v.slice(0, first);
  for (let i = first; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c >= 0x80)
      return (
        out +
        v
          .slice(i)
          .replace(/\r\n?/g, '\n')
          .replace(/[\t\n]/g, ' ')
      );
    out += ESCAPES[c] ?? (c < 0x20 || c === 0x7f ? `\\${c.toString(8).padStart(3, '0')}` : v[i]!);
  }
  return out;
}

const ESCAPES: Record<number, string> = { 0x3c: '&lt;', 0x3e: '&gt;', 0x22: '&quot;', 0x27: '&apos;', 0x26: '&amp;', 0x09: '    ', 0x0a: '\\n', 0x0d: '\\r' };

const codeUnitOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * Names in strcmp order of their UTF-8 bytes. JavaScript's order (UTF-16 code units) is the same
 * except between a surrogate pair (U+10000 and up) and a character from U+E000 to U+FFFF, so only
 * a list with such characters is sorted as bytes.
 */
function sortNames(names: string[]): string[] {
  return names.sort(names.some((n) => /[\ud800-\uffff]/.test(n)) ? byteOrder : codeUnitOrder);
}

/**
 * The text Pacemaker hashes: ` <parameters a="1" b="2"/>\n`, names in strcmp order, values escaped,
 * without the names it never hashes (`CRM_meta_*` is the caller's: a recurring operation keeps its timeout).
 */
export function digestText(params: Readonly<Record<string, string>>): string {
  const names = sortNames(Object.keys(params).filter((k) => !FILTERED.has(k)));
  let out = ' <parameters';
  for (const k of names) out += ` ${k}="${digestEscape(params[k]!)}"`;
  return `${out}/>\n`;
}

/** The MD5 Pacemaker 2.1.5 computes for a parameter set (no cache; see DigestCache for many). */
export function operationDigest(params: Readonly<Record<string, string>>): string {
  return createHash('md5').update(digestText(params)).digest('hex');
}

/** A model parameter value as the CIB export writes it (non-strings as JSON text). */
export function paramText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v) ?? '';
}

/**
 * The configured operation whose instance attributes an action gets (pcmk__find_action_config):
 * the one with the recorded name and interval. (Pacemaker's fallback for migrations, an operation
 * named `migrate`, has no counterpart: the model has no such operation name.)
 */
function actionConfig(prim: Primitive, name: string, interval: number): Operation | undefined {
  return prim.ops.find((o) => o.name === name && o.interval === interval);
}

/**
 * The parameters Pacemaker hashes for one operation of a primitive on a node: the resource's
 * parameters for that node, the operation's own on top, and for a recurring operation its timeout.
 */
export function digestParams(prim: Primitive, node: string, action: string, intervalMs: number, defaultTimeoutMs: number | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const base = prim.paramsByNode?.[node] ?? prim.params;
  for (const [k, v] of Object.entries(base)) out[k] = paramText(v);
  const op = actionConfig(prim, action, intervalMs);
  for (const [k, v] of Object.entries(op?.params ?? {})) out[k] = paramText(v);
  for (const k of Object.keys(out)) if (FILTERED.has(k) || k.startsWith('CRM_meta_')) delete out[k];
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
    for (const [k, v] of Object.entries(base)) if (!secure.has(k) && !(fencing && isFenceParam(k))) out[k] = paramText(v);
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
    const op = actionConfig(prim, rec.action, rec.interval);
    change = rec.interval === 0 && op?.params !== undefined && Object.keys(op.params).length > 0 ? 'restart' : 'changed';
  }
  // crm_simulate runs "sanitized": a change confined to hidden parameters does not count.
  if (rec.secureDigest !== undefined && cache.md5(secureDigestText(rec, prim, node, params, featureSet)) === rec.secureDigest) return 'same';
  return change;
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
      const prim = prims.get(h.resource) ?? prims.get(instanceBase(h.resource));
      if (!prim) continue;
      for (const rec of h.ops) {
        const change = compareDigests(rec, prim, n.name, defaultTimeout, cache, featureSetOf(rec));
        if (change !== undefined) (rec as { paramsChange?: ParamsChange }).paramsChange = change;
      }
    }
}
