export { mirrorAgent, workerScript, trackerScript } from './agent.js';
export { MirrorParams, parseEndpoint, layoutFor, type Layout, type Endpoint } from './params.js';
export { planMerge, applyMerge, stamp, type MergePlan, type MergeResult, type Conflict, type ConflictKind, type SavedConflict } from './merge.js';
export { scanTree, sameContent, toManifest, readManifest, type Entry, type Manifest, type Tree } from './manifest.js';
export {
  syncFromPeer,
  fetchPeerStatus,
  publishStatus,
  summarize,
  readPosition,
  type SyncOutcome,
  type PeerStatus,
  type Role,
  type Position,
  type Lag,
} from './sync.js';
export { countConflicts, readWorkerStatus, trimLog, type WorkerStatus } from './instance.js';
export { parseJournal, journalId, entryLine, headerLine, safeRelative, type JournalEntry, type JournalState } from './journal.js';
export { journalFile, journalStateFile } from './tracker.js';
export { gapCheck, gapCheckFiles } from './resume.js';
