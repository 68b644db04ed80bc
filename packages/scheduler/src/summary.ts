/**
 * Stage "summary": one crm_simulate-style line per primitive that changes (Start, Stop, Move,
 * Recover, Restart, Promote, Demote, Re-promote) plus one per fencing, decided from the
 * primitive's current and next state and its start/stop/promote/demote actions exactly the way
 * Pacemaker words its Transition Summary; `blocked` when the wanted action cannot run.
 */
import type { Role, SummaryLine } from '@paceline/model';
import type { Action, ActionSet } from './action-set.js';
import type { ResourceTree, Resource } from './resources.js';
import type { UnpackResult } from './unpack.js';
import type { Assignment } from './assign/index.js';

export function summarize(tree: ResourceTree, unpacked: UnpackResult, assignment: Assignment, actions: ActionSet): SummaryLine[] {
  const lines: SummaryLine[] = [];
  for (const f of [...actions.fencing.values(), ...actions.unfencings.values()]) {
    lines.push({ action: 'fence', node: f.node!, fenceType: f.fenceType ?? 'reboot', from: null, to: null, blocked: !f.runnable, reason: f.reason ?? '' });
  }
  for (const r of tree.primitives) {
    const line = primitiveLine(r, unpacked, assignment, actions);
    if (line) lines.push(line);
  }
  return lines;
}

function primitiveLine(r: Resource, unpacked: UnpackResult, assignment: Assignment, actions: ActionSet): SummaryLine | undefined {
  const st = unpacked.resources.get(r.id)!;
  const managed = !assignment.unmanaged.has(r.id) && st.managed;
  const current = st.current ?? null;
  const next = assignment.node.get(r.id) ?? null;
  if (!managed || (current === null && next === null)) return undefined;
  if (current === null && r.orphan) return undefined;
  let role: Role = st.role;
  if (st.runningOn.length && role === 'Stopped') role = 'Started';
  const nextRole: Role = assignment.nextRole.get(r.id) ?? (next ? 'Started' : 'Stopped');
  const mine = actions.byRsc.get(r.id) ?? [];
  const find = (task: string, node: string | null): Action | undefined =>
    mine.find((a) => a.task === task && a.interval === 0 && (node === null || a.node === node));
  const moving = current !== null && next !== null && current !== next;
  const start = next !== null ? find('start', next) : undefined;
  const startNode = !start || !start.runnable ? null : current;
  const stop = find('stop', startNode);
  const promote = next !== null ? find('promote', next) : undefined;
  const demote = next !== null ? find('demote', next) : undefined;
  const resource = r.instance !== undefined ? r.baseId : r.id;
  const instance = r.instance !== undefined ? r.id : undefined;
  const item = (action: SummaryLine['action'], from: string | null, to: string | null, act: Action | undefined, source?: Action): SummaryLine => {
    const reason = (source ?? act)?.reason;
    const blocked = act ? !act.runnable : false;
    // Literals in the model's key order (a spread of a partial line takes V8's slow path).
    const line: { -readonly [K in keyof SummaryLine]: SummaryLine[K] } =
      instance !== undefined ? { resource, instance, action, from, to, role, nextRole, blocked } : { resource, action, from, to, role, nextRole, blocked };
    if (reason) line.reason = reason;
    return line;
  };

  if (role === nextRole) {
    if (next === null) return undefined;
    if (!start || start.optional) {
      if (demote && promote && !demote.optional && !promote.optional) return item('re-promote', current, next, promote, demote);
      const reload = find('reload', next);
      if (reload && !reload.optional) return item('reload', current, next, reload);
      return undefined;
    }
    if (!start.runnable) return item('stop', current, null, stop, stop?.reason ? stop : start);
    if (moving && current && start.migratable && start.runnable && stop?.migratable && stop.runnable) return item('migrate', current, next, start);
    if (moving && current) return item(st.failed ? 'recover' : 'move', current, next, stop);
    if (st.failed) return item('recover', current, current, stop);
    return item('restart', current, next, start);
  }
  if (stop && (nextRole === 'Stopped' || (start && !start.runnable))) {
    // One line per node it is stopped on; the summary keeps the first (others are multiply-active extras).
    const stops = st.runningOn.map((n) => find('stop', n));
    const s = stops[0];
    return item('stop', current, null, s, s?.reason ? s : start);
  }
  if (stop && st.failed && st.stopOnFailure) return item('recover', current, next, stop, start);
  if (moving) return item('move', current, next, stop);
  if (stop && !stop.optional) return item('restart', current, next, start);
  if (role === 'Promoted') return item('demote', current, next, demote);
  if (nextRole === 'Promoted') return item('promote', current, next, promote);
  if (role === 'Stopped' && nextRole !== 'Stopped') return item('start', null, next, start);
  return undefined;
}

/** Extra stop lines for a primitive stopped on several nodes. */
export function extraStopLines(
  tree: ResourceTree,
  unpacked: UnpackResult,
  assignment: Assignment,
  actions: ActionSet,
  lines: readonly SummaryLine[],
): SummaryLine[] {
  const out: SummaryLine[] = [];
  for (const l of lines) {
    if (l.action !== 'stop' || !l.resource) continue;
    const r = tree.byId.get(l.instance ?? l.resource);
    if (!r) continue;
    const st = unpacked.resources.get(r.id)!;
    for (const n of st.runningOn.slice(1)) {
      const s = (actions.byRsc.get(r.id) ?? []).find((a) => a.task === 'stop' && a.node === n);
      out.push({ ...l, from: n, blocked: s ? !s.runnable : l.blocked });
    }
  }
  void assignment;
  return out;
}
