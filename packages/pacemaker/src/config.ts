/**
 * The CIB `configuration` section → the model's ClusterConfig input. Semantics follow Pacemaker
 * 2.1.5 (lib/pengine/unpack.c, complex.c, rules.c, pcmk_sched_constraints.c); what the model cannot
 * carry is reported, never silently dropped.
 */
import type { ClusterConfigInput } from '@paceline/model';
import { durationText, importUtilization, intervalMs, notADuration, readNvSets, type ConfigContext, type DefaultsSources, type Obj } from './config-common.js';
import { importMeta } from './config-meta.js';
import { evalImportRules, readNvSets as readSets, targetsResources } from './nvsets.js';
import { child, childrenOf, parseBool, type XmlElement } from './xml.js';

export type { ConfigContext, DefaultsSources } from './config-common.js';
export { mapRole } from './config-common.js';
export { importResources, type ResourceIndex } from './config-resources.js';
export { importProperties } from './config-properties.js';

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
