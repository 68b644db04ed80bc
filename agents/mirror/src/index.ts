export { mirrorAgent, workerScript } from './agent.js';
export { MirrorParams, parseEndpoint, layoutFor, type Layout, type Endpoint } from './params.js';
export { planMerge, applyMerge, stamp, type MergePlan, type MergeResult, type Conflict, type ConflictKind, type SavedConflict } from './merge.js';
export { scanTree, sameContent, toManifest, readManifest, type Entry, type Manifest, type Tree } from './manifest.js';
export { syncFromPeer, fetchPeerStatus, publishStatus, summarize, type SyncOutcome, type PeerStatus, type Role } from './sync.js';
export { countConflicts, readWorkerStatus, trimLog, type WorkerStatus } from './instance.js';
