/**
 * What a daemon starts from: the configuration file's document or the one saved in the state
 * directory (the newer, by epoch), validated with the model's schemas, this node's incarnation
 * number, and whether the last run ended uncleanly.
 */
import { join } from 'node:path';
import type { Logger } from '@paceline/agent-api';
import type { ClusterConfig, ClusterConfigInput } from '@paceline/model';
import { DaemonError } from './errors.js';
import type { ClusterDoc } from './messages.js';
import { STATE_FILE, loadState, type PersistedState } from './store.js';
import { parseDocConfig } from './updates.js';

export interface StartState {
  /** The state saved by the last run (undefined at the first start). */
  readonly persisted: PersistedState | undefined;
  readonly doc: ClusterDoc;
  /** The document's configuration, validated. */
  readonly config: ClusterConfig;
  /** This incarnation: now, or one past the last one when the clock went back. */
  readonly boot: number;
  /** Why the last run ended uncleanly, if it did and the cluster has not recorded it yet. */
  readonly unclean: string | undefined;
  /** The newest incarnation of each configured peer seen in earlier runs: older ones are refused from the start. */
  readonly peerBoots: Readonly<Record<string, number>>;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** The document of the configuration as written (its epoch, 0 when it has none; no quarantine). */
export function fileDoc(config: ClusterConfigInput): ClusterDoc {
  const written = structuredClone(config);
  const epoch = written.epoch ?? 0;
  return { epoch, config: { ...written, epoch }, quarantine: {} };
}

/**
 * Reads the state directory and chooses the document to start from: the saved one unless the file's
 * epoch is newer (the saved quarantine is kept either way). An invalid document is an error naming
 * where it came from; a saved one that no longer names this node gives way to the file's.
 */
export async function loadStartState(
  o: { readonly node: string; readonly stateDir: string; readonly config: ClusterConfigInput; readonly now: number },
  log: Logger,
): Promise<StartState> {
  const persisted = await loadState(o.stateDir);
  const statePath = join(o.stateDir, STATE_FILE);
  const written = fileDoc(o.config);
  let doc = written;
  if (persisted && persisted.doc.epoch >= written.epoch) doc = persisted.doc;
  else if (persisted) doc = { ...written, quarantine: persisted.doc.quarantine };
  let parsed = parseDocConfig(doc);
  if (!parsed.ok) {
    if (doc !== persisted?.doc) throw new DaemonError('CONFIG_INVALID', parsed.message);
    throw new DaemonError(
      'STATE_CORRUPT',
      `${statePath}: the saved configuration is invalid: ${parsed.message}; move ${statePath} away to start from the configuration file`,
    );
  }
  const names = (c: ClusterConfig): boolean => c.nodes.some((n) => n.name === o.node);
  if (doc === persisted?.doc && !names(parsed.config)) {
    // A configuration applied with --force dropped this node: start from the file (which names it)
    // rather than refuse to start; the cluster's newer document follows once it is reachable.
    const fromFile = parseDocConfig(written);
    if (fromFile.ok && names(fromFile.config)) {
      log.warn(
        `the saved configuration (epoch ${doc.epoch}, in ${statePath}) does not include ${o.node}: starting from the configuration file (epoch ${written.epoch})`,
      );
      doc = { ...written, quarantine: persisted.doc.quarantine };
      parsed = fromFile;
    }
  }
  const config = parsed.config;
  if (!names(config))
    throw new DaemonError('DAEMON_CONFIG', `node "${o.node}" is not in the configuration (nodes: ${config.nodes.map((n) => n.name).join(', ')})`);
  const unclean = persisted?.running
    ? `${o.node} stopped without a clean shutdown (daemon started ${iso(persisted.lastBoot)} was killed, crashed or the node lost power)`
    : persisted?.unclean;
  const boot = Math.max(Math.floor(o.now), (persisted?.lastBoot ?? 0) + 1);
  const peerBoots = Object.fromEntries(Object.entries(persisted?.peerBoots ?? {}).filter(([n]) => n !== o.node && config.nodes.some((x) => x.name === n)));
  return { persisted, doc, config, boot, unclean, peerBoots };
}
