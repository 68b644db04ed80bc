/**
 * Live migrations in the history: a migration has two halves on two nodes (migrate_to on the
 * source, migrate_from on the target), so reading one node's record needs the other node's
 * (Pacemaker's unpack_migrate_to_success, unpack_migrate_to_failure, unpack_migrate_from_failure,
 * simplified). Both functions edit the working copy of one replay step (state.ts).
 */
import type { OpRecord } from '@paceline/model';
import { OcfRc } from '@paceline/model';
import { activeOn, type Draft, type ReplayContext } from './state.js';

/** Does `o`, recorded after a migration's half, say something newer about the resource there? */
const laterThere = (o: OpRecord): boolean => o.action !== 'monitor' || (o.interval === 0 && o.rc === OcfRc.NOT_RUNNING);

/** The resource must be recovered with stop/start, not migrated. */
function recoverWithoutMigrating(d: Draft): void {
  d.failed = true;
  d.stopOnFailure = true;
  d.noMigrate = true;
}

/**
 * A successful migrate_to (`key` is its action_interval): if the target recorded a successful
 * migrate_from, the migration completed and the source is stopped; if the target recorded nothing
 * newer, the migration is half done (active on both, a partial migration); newer state on either
 * side wins over the migration.
 */
export function migrateToSucceeded(d: Draft, ctx: ReplayContext, key: string): void {
  const op = ctx.sorted.find((o) => `${o.action}_${o.interval}` === key && o.action === 'migrate_to');
  const target = op?.migrateTarget;
  const targetOps = target ? (ctx.cluster.historyOn(target, ctx.historyId) ?? []) : [];
  const from = targetOps.find((o) => o.action === 'migrate_from' && (o.migrateSource === undefined || o.migrateSource === ctx.node));
  const newerOnSource = op !== undefined && ctx.sorted.some((o) => o.action !== 'monitor' && o.callId > op.callId);
  if (from && newerOnSource) return;
  // Newer state on the target: against migrate_from by call id on the same node, else against
  // migrate_to by time of last change.
  const since = op?.lastRcChange;
  const targetNewer = from
    ? targetOps.some((o) => o !== from && o.callId > from.callId && laterThere(o))
    : since !== undefined && targetOps.some((o) => laterThere(o) && o.lastRcChange !== undefined && o.lastRcChange > since);
  if (newerOnSource && targetNewer) return;
  const targetUp = target !== undefined && ctx.cluster.isOnline(target) ? target : undefined;
  // Both halves succeeded: the migration completed and the source is stopped.
  if (from && from.rc === OcfRc.SUCCESS && from.status === 'done') {
    d.role = 'Stopped';
    return;
  }
  d.role = 'Started';
  if (from && from.status !== 'pending') {
    // migrate_from failed: the resource may be active on the target too.
    if (!targetNewer && targetUp !== undefined) activeOn(d, targetUp);
    else recoverWithoutMigrating(d);
    return;
  }
  // migrate_to done, migrate_from pending or never recorded: a partial migration.
  if (!targetNewer && targetUp !== undefined) {
    activeOn(d, targetUp);
    if (ctx.online) d.partial = { source: ctx.node, target: targetUp };
  } else if (!newerOnSource) recoverWithoutMigrating(d);
}

/**
 * A failed migrate_to (on the source) or migrate_from (on the target): the resource must be
 * assumed active here, and also on the other node unless that node has newer state for it.
 */
export function migrationFailed(d: Draft, ctx: ReplayContext, op: OpRecord): void {
  d.role = 'Started';
  d.noMigrate = true;
  const toSource = op.action === 'migrate_from';
  const other = toSource ? op.migrateSource : op.migrateTarget;
  if (!other || other === ctx.node) return;
  const otherOps = ctx.cluster.historyOn(other, ctx.historyId);
  if (!otherOps || otherOps.length === 0) return;
  const partner = otherOps.find((o) => o.action === (toSource ? 'migrate_to' : 'migrate_from') && o.rc === OcfRc.SUCCESS);
  const since = (partner ?? op).lastRcChange;
  const newer = partner
    ? otherOps.some((o) => o !== partner && o.callId > partner.callId && laterThere(o))
    : since !== undefined && otherOps.some((o) => laterThere(o) && o.lastRcChange !== undefined && o.lastRcChange > since);
  if (newer || !ctx.cluster.isOnline(other)) return;
  activeOn(d, other);
}
