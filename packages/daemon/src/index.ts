/**
 * @paceline/daemon — the node daemon, to run or to embed (docs/daemon.md, "Embedding";
 * docs/library.md). The public API: the `Daemon` with its options, status and typed events; the
 * control socket's client; the replicated document and the update requests; the persisted state
 * reader. The wire format, the peer channel, the coordinator core and the freshness checks are
 * internal: they change without notice (the package's own tests import them from src/).
 */
export {
  Daemon, systemTimers,
  type DaemonOptions, type DaemonStatus, type DaemonArbiter, type DaemonMessageStats, type FenceOutcome, type Timers,
} from './daemon.js';
export { DaemonEvents, type DaemonEventMap } from './events.js';
export { QUARANTINE_ATTRIBUTE, UNCLEAN_ATTRIBUTE, type TransitionInfo } from './core.js';
export { type ReplicaStatus } from './replicas.js';
export { DaemonError, type DaemonErrorCode } from './errors.js';
export { controlRequest, controlSocketPath, CONTROL_SOCKET, ControlRequest, ControlResponse } from './control.js';
export { ClusterDoc } from './messages.js';
export { UpdateRequest, parseDocConfig, type UpdateOutcome } from './updates.js';
export { loadState, STATE_FILE, PersistedState } from './store.js';
