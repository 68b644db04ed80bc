/**
 * The failover's scheduler run, computed while a lost peer is being fenced (see CoreDriver.schedule).
 * Until the fencing is confirmed nothing may start, and the run asked then waits for the thread
 * (135–650 ms at a thousand resources). The input the core will give that run is known before: the
 * core is pure, so the step that the confirmation will be (`fenced`) is taken on a copy of its state
 * now, and its run goes to the idle thread while the fencing runs. When the real confirmation comes,
 * its run uses that answer only if its input is the same — the same configuration and the same
 * status, but for the text of the new quarantine (its reason carries the confirmation's time) —
 * and asks the thread otherwise. The answer is then a plan made from exactly the status the core
 * plans from, computed a little earlier (its `now` is the speculation's, as any run's `now` is the
 * time it was asked); nothing of it runs before the confirmation, since the core asks for it only
 * then.
 */
import { isDeepStrictEqual } from 'node:util';
import { QUARANTINE_ATTRIBUTE, type ClusterStatus } from '@paceline/model';
import type { ScheduleInput } from '@paceline/scheduler';
import { coordinatorStep, type CoreCommand, type CoreState } from './core.js';

/** The quarantine reason of a speculated confirmation (never shown: only the real one is kept). */
const SPECULATED = 'speculated fencing';

/** Per configuration (never changed in place): whether any of it names the quarantine attribute. */
const namesQuarantine = new WeakMap<CoreState['config'], boolean>();
function readsQuarantine(config: CoreState['config']): boolean {
  let yes = namesQuarantine.get(config);
  if (yes === undefined) namesQuarantine.set(config, (yes = JSON.stringify(config).includes(QUARANTINE_ATTRIBUTE)));
  return yes;
}

/**
 * The input of the run the core would ask for if `node`'s fencing were confirmed now, or undefined
 * (the core would ask for none, or a rule of the configuration reads the quarantine's text, which
 * is known only at the confirmation).
 */
export function speculatedRun(state: CoreState, node: string, now: number): ScheduleInput | undefined {
  if (readsQuarantine(state.config)) return undefined;
  const r = coordinatorStep(state, { type: 'fenced', node, reason: SPECULATED, now });
  const c = r.commands.find((x): x is Extract<CoreCommand, { type: 'schedule' }> => x.type === 'schedule');
  return c?.input;
}

/** Whether `real` is the input `speculated` assumed: the same configuration and status, but for `node`'s quarantine text and the time. */
export function sameRun(speculated: ScheduleInput, real: ScheduleInput, node: string): boolean {
  return isDeepStrictEqual(speculated.config, real.config) && isDeepStrictEqual(withoutReason(speculated.status, node), withoutReason(real.status, node));
}

function withoutReason(status: ClusterStatus, node: string): ClusterStatus {
  return {
    ...status,
    nodes: status.nodes.map((n) =>
      n.name === node && n.attributes[QUARANTINE_ATTRIBUTE] !== undefined ? { ...n, attributes: { ...n.attributes, [QUARANTINE_ATTRIBUTE]: '' } } : n,
    ),
  };
}
