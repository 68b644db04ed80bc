/**
 * Has an active resource's definition changed since it started? (Pacemaker compares operation
 * digests.) Read from the history of one node after its replay.
 */
import type { OpRecord, Primitive } from '@paceline/model';
import { DEFINING_ACTIONS, OcfRc, isNativeDigest, operationParams, paramsDigest } from '@paceline/model';
import type { ParamChange } from './state.js';

/**
 * Has the definition of an active resource changed since it started on `node`? Looks at the
 * operations since its last successful start (or migrate_from; or the probe that found it
 * running): where the record says how its parameters compare (a CIB import compares Pacemaker's
 * digests), that answer; otherwise the
 * native digest of the parameters it ran with against the current ones (one-shot actions only:
 * recurring monitors' records are rewritten by every run).
 */
export function definitionChange(prim: Primitive, node: string, sorted: readonly OpRecord[]): ParamChange | undefined {
  let from = 0;
  sorted.forEach((op, i) => {
    if ((op.action === 'start' || op.action === 'migrate_from') && op.status === 'done' && op.rc === OcfRc.SUCCESS) from = i;
  });
  let action: ParamChange['action'];
  const monitors: number[] = [];
  // What changed, in history order: one-shot actions (a probe, a start …) and recurring monitors.
  const changed: { readonly recurring: boolean; readonly text: string }[] = [];
  for (const op of sorted.slice(from)) {
    if (op.status !== 'done') continue;
    let change = op.paramsChange;
    // Native digests only: a Pacemaker digest (imported) cannot be recomputed here.
    if (change === undefined && op.digest !== undefined && isNativeDigest(op.digest) && op.interval === 0) {
      const def = prim.ops.find((o) => o.name === op.action && o.interval === 0);
      change = paramsDigest(operationParams(prim, node, def)) === op.digest ? 'same' : 'restart';
    }
    if (op.action === 'reload' && op.interval === 0) {
      // A reload applied the definition of its time: what earlier one-shot records say is superseded.
      action = undefined;
      changed.splice(0, changed.length, ...changed.filter((c) => c.recurring));
    }
    if (change === undefined || change === 'same') continue;
    if (op.interval === 0) {
      const foundRunning = op.action === 'monitor' && (op.rc === OcfRc.SUCCESS || op.rc === OcfRc.RUNNING_PROMOTED);
      if (!DEFINING_ACTIONS.has(op.action) && !foundRunning) continue;
      // Only a reload-capable agent records a restart digest (the parameters a reload cannot change).
      const wanted = change === 'restart' || op.restartDigest === undefined ? 'restart' : 'reload';
      if (action !== 'restart') action = wanted;
      changed.push({ recurring: false, text: op.action === 'monitor' ? 'probe' : op.action });
    } else if (op.action === 'monitor' && prim.ops.some((o) => o.name === 'monitor' && o.interval === op.interval && o.enabled !== false)) {
      monitors.push(op.interval);
      changed.push({ recurring: true, text: `monitor every ${op.interval / 1000}s` });
    }
  }
  if (action === undefined && monitors.length === 0) return undefined;
  return { node, action, monitors, detail: `definition changed since its ${changed.map((c) => c.text).join(', ')} on ${node}` };
}
