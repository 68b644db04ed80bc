/** The CIB's cluster options (`crm_config`) → the model's ClusterProperties input (Pacemaker 2.1.5's cluster options). */
import { parseScore } from '@paceline/model';
import { durationText, notADuration, readNvSets, type ConfigContext, type Obj } from './config-common.js';
import type { NvValue } from './nvsets.js';
import { parseBool, type XmlElement } from './xml.js';

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

/** The options being read: the properties so far, startup-fencing (read by the status import), and how values are read. */
class PropertyReader {
  readonly p: Obj = {};
  startupFencing = true;

  constructor(readonly ctx: ConfigContext) {}

  bool(field: string, nv: NvValue, name: string): void {
    const b = parseBool(nv.value);
    if (b === undefined) this.ctx.log.unsupportedAt(nv.path, `"${nv.value}" is not a boolean for ${name}; the default is used`);
    else this.p[field] = b;
  }

  oneOf(field: string, allowed: readonly string[], nv: NvValue, name: string): void {
    const v = nv.value.trim().toLowerCase();
    if (allowed.includes(v)) this.p[field] = v;
    else this.ctx.log.unsupportedAt(nv.path, `"${nv.value}" is not a valid ${name}; the default is used`);
  }

  score(field: string, nv: NvValue, name: string): void {
    const s = parseScore(nv.value);
    if (s === undefined) this.ctx.log.unsupportedAt(nv.path, `"${nv.value}" is not a score for ${name}`);
    else this.p[field] = s;
  }

  duration(field: string, nv: NvValue): void {
    const d = durationText(nv.value);
    if (d === undefined) this.ctx.log.unsupportedAt(nv.path, notADuration(nv.value));
    else this.p[field] = d;
  }
}

/** How one cluster option is read. */
type PropertyField = (r: PropertyReader, nv: NvValue, name: string) => void;

/** Every cluster option that matters to scheduling (a Map: the names come from the CIB). */
const PROPERTY_FIELDS = new Map<string, PropertyField>([
  ['cluster-name', (r, nv) => (r.p['clusterName'] = nv.value)],
  ['symmetric-cluster', (r, nv, name) => r.bool('symmetricCluster', nv, name)],
  ['no-quorum-policy', (r, nv, name) => r.oneOf('noQuorumPolicy', ['stop', 'freeze', 'ignore', 'demote', 'suicide'], nv, name)],
  ['stonith-enabled', (r, nv, name) => r.bool('stonithEnabled', nv, name)],
  [
    'stonith-action',
    (r, nv) => {
      const v = nv.value.trim().toLowerCase();
      if (v === 'reboot' || v === 'off' || v === 'poweroff') r.p['stonithAction'] = v === 'poweroff' ? 'off' : v;
      else r.ctx.log.unsupportedAt(nv.path, `"${nv.value}" is not a fencing action; reboot is used`);
    },
  ],
  ['maintenance-mode', (r, nv, name) => r.bool('maintenanceMode', nv, name)],
  ['start-failure-is-fatal', (r, nv, name) => r.bool('startFailureIsFatal', nv, name)],
  ['stop-orphan-resources', (r, nv, name) => r.bool('stopOrphanResources', nv, name)],
  ['stop-orphan-actions', (r, nv, name) => r.bool('stopOrphanActions', nv, name)],
  ['stop-all-resources', (r, nv, name) => r.bool('stopAllResources', nv, name)],
  ['concurrent-fencing', (r, nv, name) => r.bool('concurrentFencing', nv, name)],
  ['shutdown-lock', (r, nv, name) => r.bool('shutdownLock', nv, name)],
  ['enable-startup-probes', (r, nv, name) => r.bool('enableStartupProbes', nv, name)],
  ['placement-strategy', (r, nv, name) => r.oneOf('placementStrategy', ['default', 'utilization', 'minimal', 'balanced'], nv, name)],
  ['node-health-strategy', (r, nv, name) => r.oneOf('nodeHealthStrategy', ['none', 'migrate-on-red', 'only-green', 'progressive', 'custom'], nv, name)],
  ['node-health-green', (r, nv, name) => r.score('nodeHealthGreen', nv, name)],
  ['node-health-yellow', (r, nv, name) => r.score('nodeHealthYellow', nv, name)],
  ['node-health-red', (r, nv, name) => r.score('nodeHealthRed', nv, name)],
  ['node-health-base', (r, nv, name) => r.score('nodeHealthBase', nv, name)],
  ['cluster-recheck-interval', (r, nv) => r.duration('clusterRecheckInterval', nv)],
  ['shutdown-lock-limit', (r, nv) => r.duration('shutdownLockLimit', nv)],
  [
    'migration-limit',
    (r, nv) => {
      const n = Number.parseInt(nv.value, 10);
      if (Number.isFinite(n)) r.p['migrationLimit'] = n;
      else r.ctx.log.unsupportedAt(nv.path, `"${nv.value}" is not a number`);
    },
  ],
  [
    'batch-limit',
    (r, nv) => {
      const n = Number.parseInt(nv.value, 10);
      if (Number.isFinite(n) && n >= 0) r.p['batchLimit'] = n;
      else r.ctx.log.unsupportedAt(nv.path, `"${nv.value}" is not a batch limit`);
    },
  ],
  [
    'startup-fencing',
    (r, nv) => {
      const b = parseBool(nv.value);
      if (b === undefined) r.ctx.log.unsupportedAt(nv.path, `"${nv.value}" is not a boolean`);
      else r.startupFencing = b;
    },
  ],
]);

/** crm_config → ClusterProperties input (plus options that only influence the status import). */
export function importProperties(crmConfig: XmlElement | undefined, ctx: ConfigContext): { properties: Obj; startupFencing: boolean } {
  const values = readNvSets(crmConfig, ['cluster_property_set'], 'configuration/crm_config', ctx.ids, ctx.log, {
    specialFirst: 'cib-bootstrap-options',
    now: ctx.now,
  });
  const r = new PropertyReader(ctx);
  for (const [name, nv] of values) {
    const field = PROPERTY_FIELDS.get(name);
    if (field !== undefined) field(r, nv, name);
    else if (DAEMON_OPTIONS.has(name)) ctx.log.ignoredAt(nv.path, `cluster option ${name} has no effect on scheduling`);
    else ctx.log.ignoredAt(nv.path, `unknown cluster option "${name}" (Pacemaker 2.1.5 ignores it)`);
  }
  return { properties: r.p, startupFencing: r.startupFencing };
}
