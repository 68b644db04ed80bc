/** Process identity from /proc, now part of `@paceline/agent-api/daemon`; re-exported for existing users. */
export { procInfo, isSameProcess, signalProcess as signal, type ProcInfo } from '@paceline/agent-api/daemon';
