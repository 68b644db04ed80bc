/**
 * `exportCib`: the Paceline model (configuration + status) → a complete Pacemaker 2.1.5 CIB that
 * `crm_simulate -x FILE -S` and `crm_verify -x FILE` accept, so the same cluster can be run
 * through both schedulers (differential testing) or handed to a Pacemaker user. Parameter values
 * that are not strings are written as JSON text.
 *
 * The writers, in the order of the CIB: export-config.ts (properties, nodes, resources, defaults)
 * with export-constraints.ts, then export-status.ts (node states, fail counts, operation history
 * with Pacemaker digests); export-agents.ts substitutes Paceline's own agents and undoes that on
 * import; cib-text.ts holds the element and id helpers. The reverse direction, crm_simulate's
 * verdict back into Paceline's terms, is simulate-result.ts.
 */
import type { ClusterConfig, ClusterStatus } from '@paceline/model';
import { el, secs } from './cib-text.js';
import { configIds, configurationXml } from './export-config.js';
import { statusFeatureSet, statusXml } from './export-status.js';

/** The newest schema Pacemaker 2.1.5 validates against. */
export const CIB_SCHEMA = 'pacemaker-3.9';

export interface ExportOptions {
  /** Epoch ms written as the CIB's `execution-date` (crm_simulate then uses it as "now"). */
  readonly now?: number;
}

/**
 * The CIB for `config` + `status`. Deterministic: same input, same text. `options.now` becomes
 * the CIB's `execution-date` (whole seconds), which crm_simulate uses as the current time.
 */
export function exportCib(config: ClusterConfig, status: ClusterStatus, options: ExportOptions = {}): string {
  const ids = configIds(config);
  const configuration = configurationXml(config, ids);
  const dc = status.dc === undefined ? undefined : (config.nodes.find((n) => n.name === status.dc)?.id ?? status.dc);
  const cib = el(
    'cib',
    {
      crm_feature_set: statusFeatureSet(status),
      'validate-with': CIB_SCHEMA,
      epoch: config.epoch,
      num_updates: 0,
      admin_epoch: 0,
      'have-quorum': status.quorum ? 1 : 0,
      // The model reads an unset quorumPanic as true; Pacemaker reads a missing attribute as 0.
      'no-quorum-panic': status.quorumPanic === false ? 0 : 1,
      'dc-uuid': dc,
      'execution-date': options.now === undefined ? undefined : secs(options.now),
    },
    [...configuration, ...statusXml(config, status, options.now, ids)],
  );
  return `${cib.join('\n')}\n`;
}
