/** setLongTimeout: implemented once in @paceline/agent-api beside the system clock that uses it. */
export { MAX_TIMER_MS, setLongTimeout } from '@paceline/agent-api';
