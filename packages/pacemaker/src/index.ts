export { importCib, type CibImport, type ImportIssue } from './import.js';
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
