/**
 * @paceline/scheduler — the pure, deterministic scheduler: (config, status, now) → transition.
 */
export { schedule, readPlacement, graphFencing, type ScheduleInput } from './schedule.js';
export { scheduleInput, ScheduleInputError } from './input.js';
export { SchedulerInvariantError } from './errors.js';
export { formatExplanation, explainResource } from './explain-format.js';
export { applyTransition } from './apply.js';
export {
  simulate,
  applyWhatIf,
  parseOpFail,
  coldStartStatus,
  monitorInterval,
  QUARANTINE_ATTRIBUTE,
  type WhatIf,
  type SimulateInput,
  type Simulation,
} from './whatif.js';
