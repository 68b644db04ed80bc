/**
 * @paceline/daemon — the node daemon, to run or to embed (docs/daemon.md, "Embedding";
 * docs/library.md). The public API: the `Daemon` with its options, status and typed events; the
 * control socket's client; the replicated document and the update requests; the persisted state
 * reader. The wire format, the peer channel, the coordinator core and the freshness checks are
 * internal: they change without notice (the package's own tests import them from src/).
 */
export { Daemon, type DaemonOptions, type DaemonStatus, type DaemonMessageStats } from './daemon.js';
export { systemTimers, type Timers } from './timers.js';
export { SchedulerThread, type SchedulerWorker, type ScheduleRequest, type ScheduleReply } from './scheduler-thread.js';
export { type DaemonArbiter, type FenceHook, type FenceOutcome } from './membership-driver.js';
export { type UpdateAnswer } from './admin.js';
export { DaemonEvents, type DaemonEventMap } from './events.js';
export { QUARANTINE_ATTRIBUTE, UNCLEAN_ATTRIBUTE, type TransitionInfo } from './core.js';
export { type ReplicaStatus } from './replicas.js';
export { DaemonError, type DaemonErrorCode } from './errors.js';
export { controlRequest, controlSocketPath, CONTROL_SOCKET, ControlRequest, ControlResponse, type ControlTarget } from './control.js';
export { ClusterDoc } from './messages.js';
export { UpdateRequest, parseDocConfig, type DocConfig, type UpdateOutcome } from './updates.js';
export { loadState, STATE_FILE, PersistedState } from './store.js';
