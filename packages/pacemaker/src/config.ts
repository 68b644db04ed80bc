/**
 * The CIB `configuration` section → the model's ClusterConfig input. Semantics follow Pacemaker
 * 2.1.5 (lib/pengine/unpack.c, complex.c, rules.c, pcmk_sched_constraints.c); what the model cannot
 * carry is reported, never silently dropped.
 */
import { parseScore, type ClusterConfigInput } from '@paceline/model';
import { durationText, importUtilization, intervalMs, notADuration, readNvSets, type ConfigContext, type DefaultsSources, type Obj } from './config-common.js';
import { importMeta } from './config-meta.js';
import { evalImportRules, readNvSets as readSets, targetsResources, type NvValue } from './nvsets.js';
import { child, childrenOf, parseBool, type XmlElement } from './xml.js';

export type { ConfigContext, DefaultsSources } from './config-common.js';
export { mapRole } from './config-common.js';
export { importResources, type ResourceIndex } from './config-resources.js';

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
