/**
 * @paceline/executor — runs a transition graph through agents, keeps recurring monitors, and
 * records results into a status. The public API is below; the scheduling details of monitors and
 * the operation lookups are internal (the package's tests import them from src/).
 */
export { executeAction, executeTransition, type ExecutorDeps, type ExecutionReport, type ActionReport, type ActionState } from './execute.js';
export { RecurringMonitors, type MonitorDeps, type MonitorTarget, type MonitorInfo } from './monitors.js';
export { ExecutorEvents, type ExecutorEventMap, type ActionEvent, type ActionFinishedEvent, type MonitorFailedEvent } from './events.js';
export {
  recordResult,
  findHistory,
  recordReport,
  recordAll,
  refreshInstance,
  refreshUnknown,
  unknownInstances,
  isFailure,
  execStatusOf,
  rcOf,
  RC_UNKNOWN,
  type RecordedOp,
  type PendingRecord,
  type RecordOptions,
} from './record.js';
export { findPrimitive, stateDirFor, localInstanceId } from './lookup.js';
