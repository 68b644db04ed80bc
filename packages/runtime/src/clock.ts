/** The real clock: implemented once in @paceline/agent-api (agent processes need it without the runtime), re-exported as the runtime's adapter. */
export { SystemClock, systemClock } from '@paceline/agent-api';
