/**
 * @paceline/ocf — OCF both ways (docs/agents.md, "OCF, both ways"): run an OCF shell agent as a
 * Paceline agent (`ocfRefResolver` for an AgentRegistry, `loadOcfAgent` for one), and export a
 * Paceline agent as an OCF executable with its meta-data (`exportOcf`, `generateOcfMetadata`).
 * Parameter coercion, the shim's internals and the exit-code plumbing are internal.
 */
export { loadOcfAgent, ocfAgentFromMetadata, DEFAULT_OCF_ROOT, type OcfAgent, type OcfAgentOptions } from './agent.js';
export { ocfRefResolver, createOcfResolver, type OcfResolver } from './resolver.js';
export { isOcfRef, parseOcfRef, formatOcfRef, type OcfRef } from './ref.js';
export { parseOcfMetadata, type OcfMetadata, type OcfParameter, type OcfAction, type OcfParamType } from './metadata.js';
export { generateOcfMetadata } from './metadata-gen.js';
export { exportOcf, type ExportOcfOptions, type ExportedOcfAgent } from './export.js';
export { ocfCliApi, type OcfCliApi } from './cli-api.js';
export { createProcessRunner, prefixRunner } from './runner.js';
/** The system clock, for callers of loadOcfAgent / runOcfAction (the one in @paceline/agent-api). */
export { systemClock } from '@paceline/agent-api';
export { OcfError, type OcfErrorCode } from './errors.js';
