/** The pure coordinator core driven by a list of events, as the core driver feeds it one by one. */
import { coordinatorStep, type CoreCommand, type CoreEvent, type CoreState } from '../src/core.js';

/** Feeds `events` to `coordinatorStep` in order: the last state and every command, in order. */
export function run(state: CoreState, events: CoreEvent[]): { state: CoreState; commands: CoreCommand[] } {
  const commands: CoreCommand[] = [];
  for (const e of events) {
    const r = coordinatorStep(state, e);
    state = r.state;
    commands.push(...r.commands);
  }
  return { state, commands };
}
