/**
 * The CIB `configuration` section → the model's ClusterConfig input. Semantics follow Pacemaker
 * 2.1.5 (lib/pengine/unpack.c, complex.c, rules.c, pcmk_sched_constraints.c); what the model cannot
 * carry is reported, never silently dropped.
 */
import { MAX_DURATION_MS, formatDurationMs, parseDurationMs, parseScore, type ClusterConfigInput } from '@paceline/model';
import { evalImportRules, IssueLog, readNvSets as readSets, targetsResources, testsNodeAttributes, type NvValue, type RuleSubject } from './nvsets.js';
import { child, childrenOf, parseBool, resolveRef, type XmlElement } from './xml.js';

type Obj = Record<string, unknown>;

export interface ConfigContext {
  readonly ids: Map<string, XmlElement>;
  readonly log: IssueLog;
  /** rsc_defaults / op_defaults, for sets that apply only to some agents or operations. */
  readonly defaults?: DefaultsSources;
  /** The time date rules in attribute sets are evaluated at (epoch ms); unknown = such sets are reported. */
  readonly now?: number | undefined;
  /** Every node's attributes as rules see them (configured, transient and #uname/#id/...), for per-node parameters. */
  readonly nodeAttrs?: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

/**
 * Reads attribute sets, deciding the rules the import can decide (dates at `ctx.now`; agent and
 * operation expressions against `subject`). Other rule-controlled sets are reported.
 */
function readNvSets(
  parent: XmlElement | undefined,
  tags: readonly string[],
  path: string,
  ids: Map<string, XmlElement>,
  log: IssueLog,
  options: { specialFirst?: string; now?: number | undefined; subject?: RuleSubject } = {},
): Map<string, NvValue> {
  return readSets(parent, tags, path, ids, log, {
    ...(options.specialFirst !== undefined ? { specialFirst: options.specialFirst } : {}),
    ruleEval: (rules) => evalImportRules(rules, options.subject ?? {}, ids, intervalMs, options.now),
  });
}

/**
 * Defaults sets guarded by rsc_expression / op_expression rules cannot be carried by the model's
 * global defaults; they are resolved per resource and per operation at import time instead.
 */
export interface DefaultsSources {
  readonly rscDefaults?: XmlElement | undefined;
  readonly opDefaults?: XmlElement | undefined;
  /** Values from the unconditional sets (what the model's defaults hold). */
  readonly baseRsc: Map<string, NvValue>;
  readonly baseOp: Map<string, NvValue>;
  readonly conditionalRsc: boolean;
  readonly conditionalOp: boolean;
}

const intervalMs = (v: string): number | undefined => parseDurationMs(v);

/** The defaults that apply to one subject, where they differ from the unconditional defaults. */
function conditionalDefaults(el: XmlElement | undefined, base: Map<string, NvValue>, subject: RuleSubject, ctx: ConfigContext): Map<string, NvValue> {
  const eff = readNvSets(el, ['meta_attributes'], '', ctx.ids, new IssueLog(), { subject, now: ctx.now });
  const out = new Map<string, NvValue>();
  for (const [k, nv] of eff) if (base.get(k)?.value !== nv.value) out.set(k, nv);
  return out;
}

/** Daemon and bookkeeping options with no effect on scheduling decisions. */
const DAEMON_OPTIONS = new Set([
  'dc-version',
  'cluster-infrastructure',
  'last-lrm-refresh',
  'pe-error-series-max',
  'pe-warn-series-max',
  'pe-input-series-max',
  'cluster-delay',
  'dc-deadtime',
  'election-timeout',
  'shutdown-escalation',
  'join-integration-timeout',
  'crmd-integration-timeout',
  'join-finalization-timeout',
  'crmd-finalization-timeout',
  'transition-delay',
  'crmd-transition-delay',
  'have-watchdog',
  'stonith-timeout',
  'network-delay',
  'transition-idle-timeout',
  'load-threshold',
  'node-action-limit',
  'stonith-max-attempts',
  'stonith-watchdog-timeout',
  'fence-reaction',
  'cluster-ipc-limit',
  'priority-fencing-delay',
  'remove-after-stop',
  'enable-acl',
]);

const ROLE_NAMES: Record<string, string> = {
  started: 'Started',
  stopped: 'Stopped',
  promoted: 'Promoted',
  unpromoted: 'Unpromoted',
  master: 'Promoted',
  slave: 'Unpromoted',
};

export function mapRole(v: string | undefined): string | undefined {
  return v === undefined ? undefined : ROLE_NAMES[v.trim().toLowerCase()];
}

/** The duration as the model reads it; undefined when it is not one or is longer than the model accepts (see notADuration). */
function durationText(v: string): string | undefined {
  const ms = parseDurationMs(v);
  return ms === undefined || !(ms <= MAX_DURATION_MS) ? undefined : v.trim();
}

/** Why durationText refused `v`. */
function notADuration(v: string): string {
  const ms = parseDurationMs(v);
  return ms === undefined
    ? `"${v}" is not a duration`
    : `"${v}" is too long: Paceline's durations are at most ${formatDurationMs(MAX_DURATION_MS)} (${MAX_DURATION_MS} ms)`;
}

/** crm_config → ClusterProperties input (plus options that only influence the status import). */
export function importProperties(crmConfig: XmlElement | undefined, ctx: ConfigContext): { properties: Obj; startupFencing: boolean } {
  const values = readNvSets(crmConfig, ['cluster_property_set'], 'configuration/crm_config', ctx.ids, ctx.log, {
    specialFirst: 'cib-bootstrap-options',
    now: ctx.now,
  });
  const p: Obj = {};
  let startupFencing = true;
  const bool = (name: string, field: string, nv: NvValue): void => {
    const b = parseBool(nv.value);
    if (b === undefined) ctx.log.unsupportedAt(nv.path, `"${nv.value}" is not a boolean for ${name}; the default is used`);
    else p[field] = b;
  };
  const oneOf = (field: string, allowed: readonly string[], nv: NvValue, name: string): void => {
    const v = nv.value.trim().toLowerCase();
    if (allowed.includes(v)) p[field] = v;
    else ctx.log.unsupportedAt(nv.path, `"${nv.value}" is not a valid ${name}; the default is used`);
  };
  for (const [name, nv] of values) {
    switch (name) {
      case 'cluster-name':
        p['clusterName'] = nv.value;
        break;
      case 'symmetric-cluster':
        bool(name, 'symmetricCluster', nv);
        break;
      case 'no-quorum-policy':
        oneOf('noQuorumPolicy', ['stop', 'freeze', 'ignore', 'demote', 'suicide'], nv, name);
        break;
      case 'stonith-enabled':
        bool(name, 'stonithEnabled', nv);
        break;
      case 'stonith-action': {
        const v = nv.value.trim().toLowerCase();
        if (v === 'reboot' || v === 'off' || v === 'poweroff') p['stonithAction'] = v === 'poweroff' ? 'off' : v;
        else ctx.log.unsupportedAt(nv.path, `"${nv.value}" is not a fencing action; reboot is used`);
        break;
      }
      case 'maintenance-mode':
        bool(name, 'maintenanceMode', nv);
        break;
      case 'start-failure-is-fatal':
        bool(name, 'startFailureIsFatal', nv);
        break;
      case 'stop-orphan-resources':
        bool(name, 'stopOrphanResources', nv);
        break;
      case 'stop-orphan-actions':
        bool(name, 'stopOrphanActions', nv);
        break;
      case 'stop-all-resources':
        bool(name, 'stopAllResources', nv);
        break;
      case 'concurrent-fencing':
        bool(name, 'concurrentFencing', nv);
        break;
      case 'shutdown-lock':
        bool(name, 'shutdownLock', nv);
        break;
      case 'enable-startup-probes':
        bool(name, 'enableStartupProbes', nv);
        break;
      case 'placement-strategy':
        oneOf('placementStrategy', ['default', 'utilization', 'minimal', 'balanced'], nv, name);
        break;
      case 'node-health-strategy':
        oneOf('nodeHealthStrategy', ['none', 'migrate-on-red', 'only-green', 'progressive', 'custom'], nv, name);
        break;
      case 'node-health-green':
      case 'node-health-yellow':
      case 'node-health-red':
      case 'node-health-base': {
        const s = parseScore(nv.value);
        const field = {
          'node-health-green': 'nodeHealthGreen',
          'node-health-yellow': 'nodeHealthYellow',
          'node-health-red': 'nodeHealthRed',
          'node-health-base': 'nodeHealthBase',
        }[name];
        if (s === undefined) ctx.log.unsupportedAt(nv.path, `"${nv.value}" is not a score for ${name}`);
        else p[field] = s;
        break;
      }
      case 'cluster-recheck-interval': {
        const d = durationText(nv.value);
        if (d === undefined) ctx.log.unsupportedAt(nv.path, notADuration(nv.value));
        else p['clusterRecheckInterval'] = d;
        break;
      }
      case 'shutdown-lock-limit': {
        const d = durationText(nv.value);
        if (d === undefined) ctx.log.unsupportedAt(nv.path, notADuration(nv.value));
        else p['shutdownLockLimit'] = d;
        break;
      }
      case 'migration-limit': {
        const n = Number.parseInt(nv.value, 10);
        if (Number.isFinite(n)) p['migrationLimit'] = n;
        else ctx.log.unsupportedAt(nv.path, `"${nv.value}" is not a number`);
        break;
      }
      case 'batch-limit': {
        const n = Number.parseInt(nv.value, 10);
        if (Number.isFinite(n) && n >= 0) p['batchLimit'] = n;
        else ctx.log.unsupportedAt(nv.path, `"${nv.value}" is not a batch limit`);
        break;
      }
      case 'startup-fencing': {
        const b = parseBool(nv.value);
        if (b === undefined) ctx.log.unsupportedAt(nv.path, `"${nv.value}" is not a boolean`);
        else startupFencing = b;
        break;
      }
      default:
        if (DAEMON_OPTIONS.has(name)) ctx.log.ignoredAt(nv.path, `cluster option ${name} has no effect on scheduling`);
        else ctx.log.ignoredAt(nv.path, `unknown cluster option "${name}" (Pacemaker 2.1.5 ignores it)`);
    }
  }
  return { properties: p, startupFencing };
}

type MetaKind = 'primitive' | 'group' | 'clone' | 'defaults';

/** Meta attributes Pacemaker 2.1.5 knows but the model has no field for. */
const KNOWN_UNMODELLED_META = new Set([
  'container-attribute-target',
  'remote-node',
  'remote-port',
  'remote-addr',
  'remote-connect-timeout',
  'remote-allow-migrate',
  'add-host',
]);

/** Meta attributes of any resource → ResourceMeta / CloneMeta input. */
export function importMeta(values: Map<string, NvValue>, kind: MetaKind, ctx: ConfigContext): { meta: Obj; promotable?: boolean } {
  const meta: Obj = {};
  let promotable: boolean | undefined;
  const bad = (nv: NvValue, name: string, expect: string): void => ctx.log.unsupportedAt(nv.path, `"${nv.value}" is not ${expect} for ${name}; ignored`);
  const bool = (field: string, nv: NvValue, name: string): void => {
    const b = parseBool(nv.value);
    if (b === undefined) bad(nv, name, 'a boolean');
    else meta[field] = b;
  };
  const int = (field: string, nv: NvValue, name: string, min: number): void => {
    const s = parseScore(nv.value);
    if (s === undefined) bad(nv, name, 'a number');
    else {
      if (s < min) ctx.log.ignoredAt(nv.path, `${name}="${nv.value}" is below ${min}: read as ${min}, as Pacemaker does`);
      meta[field] = Math.max(min, s);
    }
  };
  const cloneOnly = (nv: NvValue, name: string): boolean => {
    if (kind === 'clone' || kind === 'defaults') return true;
    ctx.log.ignoredAt(nv.path, `${name} applies only to clones; Pacemaker ignores it on a ${kind}`);
    return false;
  };
  for (const [name, nv] of values) {
    const v = nv.value.trim();
    switch (name) {
      case 'target-role': {
        const r = mapRole(v);
        if (r === undefined) bad(nv, name, 'a role (Started, Stopped, Promoted, Unpromoted)');
        else meta['targetRole'] = r;
        break;
      }
      case 'resource-stickiness': {
        if (parseScore(v) === undefined) bad(nv, name, 'a score');
        else meta['stickiness'] = v;
        break;
      }
      case 'migration-threshold':
        int('migrationThreshold', nv, name, 0);
        break;
      case 'failure-timeout': {
        const d = durationText(v);
        if (d === undefined) ctx.log.unsupportedAt(nv.path, `${notADuration(nv.value)} for ${name}; ignored`);
        else meta['failureTimeout'] = d;
        break;
      }
      case 'priority':
        int('priority', nv, name, -1_000_000);
        break;
      case 'is-managed':
        bool('isManaged', nv, name);
        break;
      case 'maintenance':
        bool('maintenance', nv, name);
        break;
      case 'allow-migrate':
        bool('allowMigrate', nv, name);
        break;
      case 'critical':
        bool('critical', nv, name);
        break;
      case 'multiple-active': {
        const m = v.toLowerCase();
        if (['stop_start', 'stop_only', 'block', 'stop_unexpected'].includes(m)) meta['multipleActive'] = m;
        else bad(nv, name, 'a multiple-active policy');
        break;
      }
      case 'requires': {
        const m = v.toLowerCase();
        if (['nothing', 'quorum', 'fencing', 'unfencing'].includes(m)) meta['requires'] = m;
        else bad(nv, name, 'a requires value');
        break;
      }
      case 'clone-max':
        if (cloneOnly(nv, name)) int('cloneMax', nv, name, 0);
        break;
      case 'clone-node-max':
        if (cloneOnly(nv, name)) int('cloneNodeMax', nv, name, 1);
        break;
      case 'clone-min':
        if (cloneOnly(nv, name)) int('cloneMin', nv, name, 0);
        break;
      case 'promoted-max':
      case 'master-max':
        if (cloneOnly(nv, name) && !(name === 'master-max' && values.has('promoted-max'))) int('promotedMax', nv, name, 0);
        break;
      case 'promoted-node-max':
      case 'master-node-max':
        if (cloneOnly(nv, name) && !(name === 'master-node-max' && values.has('promoted-node-max'))) int('promotedNodeMax', nv, name, 1);
        break;
      case 'promote-replica': {
        // Paceline's own (CloneMeta.promoteReplica); Pacemaker keeps it as an unknown meta attribute.
        const m = v.toLowerCase();
        if (!cloneOnly(nv, name)) break;
        if (m === 'any' || m === 'in-sync') meta['promoteReplica'] = m;
        else bad(nv, name, '"any" or "in-sync"');
        break;
      }
      case 'interleave':
        if (cloneOnly(nv, name)) bool('interleave', nv, name);
        break;
      case 'globally-unique':
        if (cloneOnly(nv, name)) bool('globallyUnique', nv, name);
        break;
      case 'notify':
        if (cloneOnly(nv, name)) bool('notify', nv, name);
        break;
      case 'ordered':
        if (kind === 'group' || cloneOnly(nv, name)) bool('ordered', nv, name);
        break;
      case 'collocated':
        if (kind === 'group') bool('collocated', nv, name);
        else ctx.log.ignoredAt(nv.path, 'collocated applies only to groups');
        break;
      case 'restart-type': {
        const m = v.toLowerCase();
        if (m === 'ignore' || m === 'restart') meta['restartType'] = m;
        else bad(nv, name, 'ignore or restart');
        break;
      }
      case 'allow-unhealthy-nodes':
        bool('allowUnhealthyNodes', nv, name);
        break;
      case 'provides':
        if (v.toLowerCase() === 'unfencing') meta['provides'] = 'unfencing';
        else bad(nv, name, '"unfencing"');
        break;
      case 'promotable': {
        if (kind !== 'clone') {
          ctx.log.ignoredAt(nv.path, 'promotable applies only to clones');
          break;
        }
        const b = parseBool(v);
        if (b === undefined) bad(nv, name, 'a boolean');
        else promotable = b;
        break;
      }
      default:
        if (KNOWN_UNMODELLED_META.has(name)) ctx.log.unsupportedAt(nv.path, `meta attribute ${name} is not modelled`);
        else {
          // Kept for value-source="meta" rules; otherwise Pacemaker gives it no meaning (often a typo).
          const other = (meta['other'] ??= {}) as Record<string, string>;
          other[name] = nv.value;
          ctx.log.ignoredAt(nv.path, `meta attribute "${name}" has no built-in meaning in Pacemaker 2.1.5 (kept in meta.other)`);
        }
    }
  }
  return promotable === undefined ? { meta } : { meta, promotable };
}

/** Op meta names (as op attributes or op meta_attributes) and how they map. */
const OP_IGNORED_ATTRS = new Set(['id', 'description', 'name']);
const OP_UNMODELLED = new Set(['record-pending', 'interval-origin', 'requires', 'on_fail']);

function importOp(raw: XmlElement, path: string, ctx: ConfigContext, agent: RuleSubject): Obj | undefined {
  const op = resolveRef(raw, ctx.ids);
  if (!op) {
    ctx.log.unsupportedAt(path, `operation refers to unknown id "${raw.attrs['id-ref']}"`);
    return undefined;
  }
  const attrs: Record<string, string> = { ...op.attrs };
  const metaSets = readNvSets(op, ['meta_attributes'], path, ctx.ids, ctx.log, { now: ctx.now });
  for (const [k, nv] of metaSets) if (attrs[k] === undefined) attrs[k] = nv.value;
  let name = attrs['name'] ?? '';
  const d = ctx.defaults;
  if (d?.conditionalOp) {
    const subject = { ...agent, opName: name, opIntervalMs: parseDurationMs(attrs['interval'] ?? '0') ?? 0 };
    for (const [k, nv] of conditionalDefaults(d.opDefaults, d.baseOp, subject, ctx)) if (attrs[k] === undefined) attrs[k] = nv.value;
  }
  if (name === 'reload-agent') name = 'reload';
  const known = ['start', 'stop', 'monitor', 'promote', 'demote', 'migrate_to', 'migrate_from', 'reload', 'notify'];
  if (!known.includes(name)) {
    ctx.log.unsupportedAt(path, `operation "${name}" is not one the model knows (${known.join(', ')})`);
    return undefined;
  }
  const out: Obj = { name };
  const params: Obj = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (OP_IGNORED_ATTRS.has(k)) continue;
    switch (k) {
      case 'interval':
      case 'timeout':
      case 'start-delay': {
        const d = durationText(v);
        if (d === undefined) {
          ctx.log.unsupportedAt(`${path}/@${k}`, notADuration(v));
          if (k === 'interval') return undefined;
        } else out[k === 'start-delay' ? 'startDelay' : k] = d;
        break;
      }
      case 'role': {
        const r = mapRole(v);
        if (r === undefined) ctx.log.unsupportedAt(`${path}/@role`, `"${v}" is not a role`);
        else out['role'] = r;
        break;
      }
      case 'on-fail': {
        const f = v.trim().toLowerCase();
        if (['ignore', 'block', 'stop', 'restart', 'standby', 'fence', 'demote'].includes(f)) out['onFail'] = f;
        else ctx.log.unsupportedAt(`${path}/@on-fail`, `on-fail="${v}" is not modelled`);
        break;
      }
      case 'enabled': {
        const b = parseBool(v);
        if (b === undefined) ctx.log.unsupportedAt(`${path}/@enabled`, `"${v}" is not a boolean`);
        else out['enabled'] = b;
        break;
      }
      default:
        if (OP_UNMODELLED.has(k)) ctx.log.unsupportedAt(`${path}/@${k}`, `operation option ${k}="${v}" is not modelled`);
        else ctx.log.ignoredAt(`${path}/@${k}`, `unknown operation attribute "${k}"`);
    }
  }
  for (const [k, nv] of readNvSets(op, ['instance_attributes'], path, ctx.ids, ctx.log, { now: ctx.now })) params[k] = nv.value;
  if (Object.keys(params).length > 0) out['params'] = params;
  return out;
}

function opKey(op: XmlElement): string {
  return `${op.attrs['name'] ?? ''}_${op.attrs['interval'] ?? '0'}_${op.attrs['role'] ?? ''}`;
}

/** Pacemaker's template expansion: template children first, then the primitive's; ops merged by key. */
function expandTemplate(prim: XmlElement, path: string, ctx: ConfigContext): XmlElement | undefined {
  const ref = prim.attrs['template'];
  if (ref === undefined) return prim;
  const tmpl = ctx.ids.get(`template#${ref}`);
  if (!tmpl) {
    ctx.log.unsupportedAt(`${path}/@template`, `template "${ref}" does not exist; the primitive is skipped`);
    return undefined;
  }
  const attrs: Record<string, string> = { ...tmpl.attrs, ...Object.fromEntries(Object.entries(prim.attrs).filter(([k]) => k !== 'template')) };
  attrs['id'] = prim.attrs['id'] ?? '';
  const tmplOps = child(tmpl, 'operations');
  const primOps = child(prim, 'operations');
  const children: XmlElement[] = [];
  for (const c of tmpl.children) if (c.tag !== 'operations' || !primOps) children.push(c);
  for (const c of prim.children) {
    if (c.tag === 'operations' && tmplOps) {
      const resolved = resolveRef(c, ctx.ids) ?? c;
      const keys = new Set(childrenOf(resolved, 'op').map(opKey));
      const extra = childrenOf(tmplOps, 'op').filter((o) => !keys.has(opKey(o)));
      children.push({ ...resolved, children: [...resolved.children, ...extra] });
    } else children.push(c);
  }
  return { tag: 'primitive', attrs, children };
}

function agentOf(e: XmlElement, path: string, ctx: ConfigContext): string | undefined {
  const cls = e.attrs['class'];
  const type = e.attrs['type'];
  const provider = e.attrs['provider'];
  if (cls === undefined || type === undefined) {
    ctx.log.unsupportedAt(path, 'primitive without class or type; skipped');
    return undefined;
  }
  if (cls === 'ocf') {
    if (provider === undefined) {
      ctx.log.unsupportedAt(path, 'OCF primitive without provider; skipped');
      return undefined;
    }
    return `ocf:${provider}:${type}`;
  }
  return `${cls}:${type}`;
}

const UTIL_RE = /^[+-]?\d+(\.\d+)?$/;

function importUtilization(e: XmlElement, path: string, ctx: ConfigContext): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, nv] of readNvSets(e, ['utilization'], path, ctx.ids, ctx.log, { now: ctx.now })) {
    if (UTIL_RE.test(nv.value.trim())) out[k] = Number(nv.value);
    else ctx.log.unsupportedAt(nv.path, `utilization "${nv.value}" is not a number`);
  }
  return out;
}

export interface ResourceIndex {
  /** Ids of every configured primitive, group and clone. */
  readonly resources: Set<string>;
  /** Template id → primitives made from it. */
  readonly templates: Map<string, string[]>;
}

function importPrimitive(
  raw: XmlElement,
  path: string,
  inherited: Obj,
  ctx: ConfigContext,
  index: ResourceIndex,
  ancestorMeta: ReadonlySet<string> = new Set(),
): Obj | undefined {
  const prim = expandTemplate(raw, path, ctx);
  if (!prim) return undefined;
  const id = prim.attrs['id'];
  ctx.log.unknownAttributes(raw.attrs, PRIMITIVE_ATTRS, path, '<primitive>');
  const agent = agentOf(prim, path, ctx);
  if (id === undefined || agent === undefined) return undefined;
  const out: Obj = { type: 'primitive', id, agent };
  if (prim.attrs['description'] !== undefined) out['description'] = prim.attrs['description'];
  const params: Obj = {};
  for (const [k, nv] of readNvSets(prim, ['instance_attributes'], path, ctx.ids, ctx.log, { now: ctx.now })) params[k] = nv.value;
  for (const [k, v] of Object.entries(inherited)) if (!(k in params)) params[k] = v;
  out['params'] = params;
  const byNode = paramsByNode(prim, params, inherited, ctx);
  if (byNode) out['paramsByNode'] = byNode;
  const subject: RuleSubject = { standard: prim.attrs['class'], provider: prim.attrs['provider'], type: prim.attrs['type'] };
  const metaValues = readNvSets(prim, ['meta_attributes'], path, ctx.ids, ctx.log, { now: ctx.now });
  const d = ctx.defaults;
  if (d?.conditionalRsc) {
    // Pacemaker's order: the resource's own meta, then its parents', then rsc_defaults.
    for (const [k, nv] of conditionalDefaults(d.rscDefaults, d.baseRsc, subject, ctx)) if (!metaValues.has(k) && !ancestorMeta.has(k)) metaValues.set(k, nv);
  }
  out['meta'] = importMeta(metaValues, 'primitive', ctx).meta;
  const ops: Obj[] = [];
  const opsEl = child(prim, 'operations');
  if (opsEl) {
    const resolved = resolveRef(opsEl, ctx.ids);
    if (!resolved) ctx.log.unsupportedAt(`${path}/operations`, `operations refer to unknown id "${opsEl.attrs['id-ref']}"`);
    childrenOf(resolved, 'op').forEach((o, i) => {
      const op = importOp(o, `${path}/operations/op[${o.attrs['id'] ?? i}]`, ctx, subject);
      if (op) ops.push(op);
    });
  }
  out['ops'] = ops;
  out['utilization'] = importUtilization(prim, path, ctx);
  const tmpl = raw.attrs['template'];
  if (tmpl !== undefined) index.templates.set(tmpl, [...(index.templates.get(tmpl) ?? []), id]);
  index.resources.add(id);
  for (const c of prim.children)
    if (!['instance_attributes', 'meta_attributes', 'operations', 'utilization'].includes(c.tag))
      ctx.log.unsupportedAt(`${path}/${c.tag}`, `<${c.tag}> inside a primitive is not modelled`);
  return out;
}

/** Parameters on each node where node-attribute rules make them differ from the node-less ones. */
function paramsByNode(prim: XmlElement, base: Obj, inherited: Obj, ctx: ConfigContext): Record<string, Obj> | undefined {
  if (!ctx.nodeAttrs) return undefined;
  const guarded = childrenOf(prim, 'instance_attributes').some((raw) => {
    const set = resolveRef(raw, ctx.ids) ?? raw;
    return testsNodeAttributes(childrenOf(set, 'rule'), ctx.ids);
  });
  if (!guarded) return undefined;
  const out: Record<string, Obj> = {};
  const same = (a: Obj, b: Obj): boolean => {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
  };
  for (const [node, attrs] of ctx.nodeAttrs) {
    const p: Obj = {};
    const values = readNvSets(prim, ['instance_attributes'], '', ctx.ids, new IssueLog(), { now: ctx.now, subject: { nodeAttrs: attrs } });
    for (const [k, nv] of values) p[k] = nv.value;
    for (const [k, v] of Object.entries(inherited)) if (!(k in p)) p[k] = v;
    if (!same(p, base)) out[node] = p;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function paramsOf(e: XmlElement, path: string, ctx: ConfigContext, inherited: Obj): Obj {
  const params: Obj = {};
  for (const [k, nv] of readNvSets(e, ['instance_attributes'], path, ctx.ids, ctx.log, { now: ctx.now })) params[k] = nv.value;
  for (const [k, v] of Object.entries(inherited)) if (!(k in params)) params[k] = v;
  return params;
}

const PRIMITIVE_ATTRS: ReadonlySet<string> = new Set(['id', 'class', 'provider', 'type', 'template', 'description']);
const CONTAINER_ATTRS: ReadonlySet<string> = new Set(['id', 'description']);

function importGroup(
  g: XmlElement,
  path: string,
  inherited: Obj,
  ctx: ConfigContext,
  index: ResourceIndex,
  ancestorMeta: ReadonlySet<string> = new Set(),
): Obj | undefined {
  const id = g.attrs['id'];
  if (id === undefined) return undefined;
  ctx.log.unknownAttributes(g.attrs, CONTAINER_ATTRS, path, '<group>');
  const params = paramsOf(g, path, ctx, inherited);
  const metaValues = readNvSets(g, ['meta_attributes'], path, ctx.ids, ctx.log, { now: ctx.now });
  const childAncestors = new Set([...ancestorMeta, ...metaValues.keys()]);
  const members: Obj[] = [];
  for (const c of g.children) {
    const cpath = `${path}/${c.tag}[${c.attrs['id'] ?? ''}]`;
    if (c.tag === 'primitive') {
      const p = importPrimitive(c, cpath, params, ctx, index, childAncestors);
      if (p) members.push(p);
    } else if (!['meta_attributes', 'instance_attributes', 'utilization'].includes(c.tag))
      ctx.log.unsupportedAt(cpath, `<${c.tag}> inside a group is not modelled; skipped`);
  }
  if (members.length === 0) {
    ctx.log.unsupportedAt(path, 'empty group; skipped');
    return undefined;
  }
  index.resources.add(id);
  const out: Obj = { type: 'group', id, members, meta: importMeta(metaValues, 'group', ctx).meta };
  if (g.attrs['description'] !== undefined) out['description'] = g.attrs['description'];
  return out;
}

function importClone(c: XmlElement, path: string, ctx: ConfigContext, index: ResourceIndex): Obj | undefined {
  const id = c.attrs['id'];
  if (id === undefined) return undefined;
  ctx.log.unknownAttributes(c.attrs, CONTAINER_ATTRS, path, `<${c.tag}>`);
  const params = paramsOf(c, path, ctx, {});
  const cloneMeta = readNvSets(c, ['meta_attributes'], path, ctx.ids, ctx.log, { now: ctx.now });
  const { meta, promotable } = importMeta(cloneMeta, 'clone', ctx);
  const ancestors = new Set(cloneMeta.keys());
  let childRes: Obj | undefined;
  for (const k of c.children) {
    const kpath = `${path}/${k.tag}[${k.attrs['id'] ?? ''}]`;
    if (k.tag === 'primitive' || k.tag === 'group') {
      if (childRes) {
        ctx.log.unsupportedAt(kpath, 'a clone may hold only one resource; extra child skipped');
        continue;
      }
      childRes = k.tag === 'primitive' ? importPrimitive(k, kpath, params, ctx, index, ancestors) : importGroup(k, kpath, params, ctx, index, ancestors);
    } else if (!['meta_attributes', 'instance_attributes', 'utilization'].includes(k.tag))
      ctx.log.unsupportedAt(kpath, `<${k.tag}> inside a clone is not modelled; skipped`);
  }
  if (!childRes) {
    ctx.log.unsupportedAt(path, 'clone without a resource; skipped');
    return undefined;
  }
  index.resources.add(id);
  const out: Obj = { type: 'clone', id, promotable: c.tag === 'master' || promotable === true, child: childRes, meta };
  if (c.attrs['description'] !== undefined) out['description'] = c.attrs['description'];
  return out;
}

export function importResources(resources: XmlElement | undefined, ctx: ConfigContext): { resources: Obj[]; index: ResourceIndex } {
  const index: ResourceIndex = { resources: new Set(), templates: new Map() };
  const out: Obj[] = [];
  for (const r of resources?.children ?? []) {
    const path = `configuration/resources/${r.tag}[${r.attrs['id'] ?? ''}]`;
    let res: Obj | undefined;
    switch (r.tag) {
      case 'primitive':
        res = importPrimitive(r, path, {}, ctx, index);
        break;
      case 'group':
        res = importGroup(r, path, {}, ctx, index);
        break;
      case 'clone':
      case 'master':
        res = importClone(r, path, ctx, index);
        break;
      case 'template':
        continue;
      default:
        ctx.log.unsupportedAt(path, `<${r.tag}> resources are not modelled; skipped`);
    }
    if (res) out.push(res);
  }
  return { resources: out, index };
}

/** rsc_defaults / op_defaults → Defaults input. */
export function importDefaults(configuration: XmlElement, ctx: ConfigContext): { defaults: Obj; sources: DefaultsSources } {
  const rscDefaults = child(configuration, 'rsc_defaults');
  const opDefaults = child(configuration, 'op_defaults');
  let conditionalRsc = false;
  let conditionalOp = false;
  // Sets whose rules only name agents/operations are resolved per resource later; others are reported.
  const rscMeta = readSets(rscDefaults, ['meta_attributes'], 'configuration/rsc_defaults', ctx.ids, ctx.log, {
    ruleEval: (rules) => {
      const v = evalImportRules(rules, {}, ctx.ids, intervalMs, ctx.now);
      if (v === undefined || !targetsResources(rules, ctx.ids)) return v;
      conditionalRsc = true;
      return false;
    },
  });
  for (const s of childrenOf(rscDefaults, 'instance_attributes'))
    ctx.log.unsupportedAt(`configuration/rsc_defaults/instance_attributes[${s.attrs['id'] ?? ''}]`, 'default resource parameters are not modelled');
  const resource = importMeta(rscMeta, 'defaults', ctx).meta;
  const operation: Obj = {};
  const opMeta = readSets(opDefaults, ['meta_attributes'], 'configuration/op_defaults', ctx.ids, ctx.log, {
    ruleEval: (rules) => {
      const v = evalImportRules(rules, { opName: '', opIntervalMs: 0 }, ctx.ids, intervalMs, ctx.now);
      if (v === undefined || !targetsResources(rules, ctx.ids)) return v;
      conditionalOp = true;
      return false;
    },
  });
  for (const [name, nv] of opMeta) {
    if (name === 'timeout') {
      const d = durationText(nv.value);
      if (d === undefined) ctx.log.unsupportedAt(nv.path, notADuration(nv.value));
      else operation['timeout'] = d;
    } else if (name === 'on-fail') {
      const f = nv.value.trim().toLowerCase();
      if (['ignore', 'block', 'stop', 'restart', 'standby', 'fence', 'demote'].includes(f)) operation['onFail'] = f;
      else ctx.log.unsupportedAt(nv.path, `on-fail="${nv.value}" is not modelled`);
    } else if (name === 'record-pending') ctx.log.ignoredAt(nv.path, 'record-pending only changes what is recorded, not scheduling');
    else ctx.log.unsupportedAt(nv.path, `default operation option ${name} is not modelled`);
  }
  return {
    defaults: { resource, operation },
    sources: { rscDefaults, opDefaults, baseRsc: rscMeta, baseOp: opMeta, conditionalRsc, conditionalOp },
  };
}

/** configuration/nodes → NodeConfig inputs; also the id → name map the status needs. */
export function importNodes(nodes: XmlElement | undefined, ctx: ConfigContext): { nodes: Obj[]; byId: Map<string, string>; ping: Set<string> } {
  const out: Obj[] = [];
  const byId = new Map<string, string>();
  const ping = new Set<string>();
  for (const n of childrenOf(nodes, 'node')) {
    const name = n.attrs['uname'] ?? n.attrs['id'];
    const path = `configuration/nodes/node[${name ?? ''}]`;
    if (name === undefined) continue;
    const type = n.attrs['type'] ?? 'member';
    if (type === 'remote') {
      ctx.log.unsupportedAt(path, 'Pacemaker Remote nodes are not modelled; skipped');
      continue;
    }
    if (type === 'ping') {
      ctx.log.unsupportedAt(path, 'ping nodes (quorum-only members) are not modelled; imported as a node that is always offline');
      ping.add(name);
    }
    if (n.attrs['id'] !== undefined) byId.set(n.attrs['id'], name);
    const node: Obj = { name };
    if (n.attrs['id'] !== undefined && n.attrs['id'] !== name) node['id'] = n.attrs['id'];
    const attributes: Record<string, string> = {};
    for (const [k, nv] of readNvSets(n, ['instance_attributes'], path, ctx.ids, ctx.log, { now: ctx.now })) {
      if (k === 'standby' || k === 'maintenance') {
        const b = parseBool(nv.value);
        if (b !== undefined) node[k] = b;
        else ctx.log.unsupportedAt(nv.path, `"${nv.value}" is not a boolean`);
      } else attributes[k] = nv.value;
    }
    node['attributes'] = attributes;
    node['utilization'] = importUtilization(n, path, ctx);
    out.push(node);
  }
  return { nodes: out, byId, ping };
}

export function configToInput(parts: {
  epoch: number;
  properties: Obj;
  defaults: Obj;
  nodes: Obj[];
  resources: Obj[];
  constraints: Obj[];
}): ClusterConfigInput {
  return parts as unknown as ClusterConfigInput;
}
