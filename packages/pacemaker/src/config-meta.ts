/** Meta attributes of resources and of rsc_defaults → the model's ResourceMeta / GroupMeta / CloneMeta input. */
import { parseScore } from '@paceline/model';
import { durationText, mapRole, notADuration, type ConfigContext, type Obj } from './config-common.js';
import type { NvValue } from './nvsets.js';
import { parseBool } from './xml.js';

export type MetaKind = 'primitive' | 'group' | 'clone' | 'defaults';

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

/** One resource's meta attributes being read: the fields so far, and how each kind of value is read. */
class MetaReader {
  readonly meta: Obj = {};
  promotable: boolean | undefined;

  constructor(
    readonly values: Map<string, NvValue>,
    readonly kind: MetaKind,
    readonly ctx: ConfigContext,
  ) {}

  bad(nv: NvValue, name: string, expect: string): void {
    this.ctx.log.unsupportedAt(nv.path, `"${nv.value}" is not ${expect} for ${name}; ignored`);
  }

  bool(field: string, nv: NvValue, name: string): void {
    const b = parseBool(nv.value);
    if (b === undefined) this.bad(nv, name, 'a boolean');
    else this.meta[field] = b;
  }

  int(field: string, nv: NvValue, name: string, min: number): void {
    const s = parseScore(nv.value);
    if (s === undefined) return this.bad(nv, name, 'a number');
    if (s < min) this.ctx.log.ignoredAt(nv.path, `${name}="${nv.value}" is below ${min}: read as ${min}, as Pacemaker does`);
    this.meta[field] = Math.max(min, s);
  }

  /** One of `allowed` (case-insensitive, stored lower-cased). */
  oneOf(field: string, nv: NvValue, name: string, allowed: readonly string[], expect: string): void {
    const m = nv.value.trim().toLowerCase();
    if (allowed.includes(m)) this.meta[field] = m;
    else this.bad(nv, name, expect);
  }

  cloneOnly(nv: NvValue, name: string): boolean {
    if (this.kind === 'clone' || this.kind === 'defaults') return true;
    this.ctx.log.ignoredAt(nv.path, `${name} applies only to clones; Pacemaker ignores it on a ${this.kind}`);
    return false;
  }
}

/** How one meta attribute is read: `v` is its value trimmed. */
type MetaField = (m: MetaReader, nv: NvValue, name: string, v: string) => void;

/** Every meta attribute the model has a field for (a Map: the names come from the CIB). */
const META_FIELDS = new Map<string, MetaField>([
  [
    'target-role',
    (m, nv, name, v) => {
      const r = mapRole(v);
      if (r === undefined) m.bad(nv, name, 'a role (Started, Stopped, Promoted, Unpromoted)');
      else m.meta['targetRole'] = r;
    },
  ],
  [
    'resource-stickiness',
    (m, nv, name, v) => {
      if (parseScore(v) === undefined) m.bad(nv, name, 'a score');
      else m.meta['stickiness'] = v;
    },
  ],
  ['migration-threshold', (m, nv, name) => m.int('migrationThreshold', nv, name, 0)],
  [
    'failure-timeout',
    (m, nv, name, v) => {
      const d = durationText(v);
      if (d === undefined) m.ctx.log.unsupportedAt(nv.path, `${notADuration(nv.value)} for ${name}; ignored`);
      else m.meta['failureTimeout'] = d;
    },
  ],
  ['priority', (m, nv, name) => m.int('priority', nv, name, -1_000_000)],
  ['is-managed', (m, nv, name) => m.bool('isManaged', nv, name)],
  ['maintenance', (m, nv, name) => m.bool('maintenance', nv, name)],
  ['allow-migrate', (m, nv, name) => m.bool('allowMigrate', nv, name)],
  ['critical', (m, nv, name) => m.bool('critical', nv, name)],
  [
    'multiple-active',
    (m, nv, name) => m.oneOf('multipleActive', nv, name, ['stop_start', 'stop_only', 'block', 'stop_unexpected'], 'a multiple-active policy'),
  ],
  ['requires', (m, nv, name) => m.oneOf('requires', nv, name, ['nothing', 'quorum', 'fencing', 'unfencing'], 'a requires value')],
  ['clone-max', (m, nv, name) => m.cloneOnly(nv, name) && m.int('cloneMax', nv, name, 0)],
  ['clone-node-max', (m, nv, name) => m.cloneOnly(nv, name) && m.int('cloneNodeMax', nv, name, 1)],
  ['clone-min', (m, nv, name) => m.cloneOnly(nv, name) && m.int('cloneMin', nv, name, 0)],
  ['promoted-max', (m, nv, name) => m.cloneOnly(nv, name) && m.int('promotedMax', nv, name, 0)],
  ['master-max', (m, nv, name) => m.cloneOnly(nv, name) && !m.values.has('promoted-max') && m.int('promotedMax', nv, name, 0)],
  ['promoted-node-max', (m, nv, name) => m.cloneOnly(nv, name) && m.int('promotedNodeMax', nv, name, 1)],
  ['master-node-max', (m, nv, name) => m.cloneOnly(nv, name) && !m.values.has('promoted-node-max') && m.int('promotedNodeMax', nv, name, 1)],
  // Paceline's own (CloneMeta.promoteReplica); Pacemaker keeps it as an unknown meta attribute.
  ['promote-replica', (m, nv, name) => m.cloneOnly(nv, name) && m.oneOf('promoteReplica', nv, name, ['any', 'in-sync'], '"any" or "in-sync"')],
  ['interleave', (m, nv, name) => m.cloneOnly(nv, name) && m.bool('interleave', nv, name)],
  ['globally-unique', (m, nv, name) => m.cloneOnly(nv, name) && m.bool('globallyUnique', nv, name)],
  ['notify', (m, nv, name) => m.cloneOnly(nv, name) && m.bool('notify', nv, name)],
  ['ordered', (m, nv, name) => (m.kind === 'group' || m.cloneOnly(nv, name)) && m.bool('ordered', nv, name)],
  [
    'collocated',
    (m, nv, name) => {
      if (m.kind === 'group') m.bool('collocated', nv, name);
      else m.ctx.log.ignoredAt(nv.path, 'collocated applies only to groups');
    },
  ],
  ['restart-type', (m, nv, name) => m.oneOf('restartType', nv, name, ['ignore', 'restart'], 'ignore or restart')],
  ['allow-unhealthy-nodes', (m, nv, name) => m.bool('allowUnhealthyNodes', nv, name)],
  ['provides', (m, nv, name) => m.oneOf('provides', nv, name, ['unfencing'], '"unfencing"')],
  [
    'promotable',
    (m, nv, name, v) => {
      if (m.kind !== 'clone') return m.ctx.log.ignoredAt(nv.path, 'promotable applies only to clones');
      const b = parseBool(v);
      if (b === undefined) m.bad(nv, name, 'a boolean');
      else m.promotable = b;
    },
  ],
]);

/** Meta attributes of any resource → ResourceMeta / CloneMeta input. */
export function importMeta(values: Map<string, NvValue>, kind: MetaKind, ctx: ConfigContext): { meta: Obj; promotable?: boolean } {
  const m = new MetaReader(values, kind, ctx);
  for (const [name, nv] of values) {
    const field = META_FIELDS.get(name);
    if (field !== undefined) field(m, nv, name, nv.value.trim());
    else if (KNOWN_UNMODELLED_META.has(name)) ctx.log.unsupportedAt(nv.path, `meta attribute ${name} is not modelled`);
    else {
      // Kept for value-source="meta" rules; otherwise Pacemaker gives it no meaning (often a typo).
      const other = (m.meta['other'] ??= {}) as Record<string, string>;
      other[name] = nv.value;
      ctx.log.ignoredAt(nv.path, `meta attribute "${name}" has no built-in meaning in Pacemaker 2.1.5 (kept in meta.other)`);
    }
  }
  return m.promotable === undefined ? { meta: m.meta } : { meta: m.meta, promotable: m.promotable };
}
