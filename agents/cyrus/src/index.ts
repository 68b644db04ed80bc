export { cyrusAgent } from './agent.js';
export { CyrusParams } from './params.js';
export { cyrusConfText, imapdConfText, layoutOf, parseConfAll, pathsOf, type CyrusLayout, type CyrusPaths } from './config.js';
export { imapCheck, lmtpCheck, type ImapTarget } from './imap.js';
export {
  describeSummary,
  headerUniqueId,
  knownUniqueIds,
  mailboxDirs,
  reconcileSpool,
  refileConflicts,
  summarize,
  type ReconcileSummary,
} from './reconcile.js';
