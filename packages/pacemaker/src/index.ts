export { importCib, type CibImport, type ImportIssue, type ImportOptions } from './import.js';
export { MAX_XML_DEPTH } from './xml.js';
export { operationDigest } from './digest.js';
export { parsePacemakerDate, evalDateExpression, matchesDateSpec } from './dates.js';
export {
  toConformanceResult,
  compareConformance,
  describeAction,
  runConformanceCase,
  caseNow,
  DEFAULT_CONFORMANCE_NOW,
  type CaseOutcome,
  type CompareOptions,
  type ConformanceAction,
  type ConformanceExpected,
  type ConformanceInstance,
  type ConformanceNode,
  type ConformanceResource,
  type ConformanceResult,
  type ConformanceRole,
  type ScheduleFn,
} from './conformance.js';
export {
  renderSimulation,
  renderTransitionSummary,
  renderNodeList,
  renderResourceList,
  nodeViews,
  nodeViewsAfter,
  naturalCompare,
  type NodeView,
  type SimulationText,
} from './render.js';
export { exportCib, CIB_SCHEMA, type ExportOptions } from './export.js';
export { restorePacelineAgents, pacemakerAgent } from './export-agents.js';
export { legacyFailCounts, CIB_FEATURE_SET, LEGACY_FEATURE_SET } from './export-status.js';
export { crmSimulateResult } from './simulate-result.js';
export { PacemakerError, type PacemakerErrorCode } from './errors.js';
