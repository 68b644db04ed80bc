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
