export { processAgent } from './agent.js';
export { ProcessParams } from './params.js';
export { procInfo, isSameProcess, type ProcInfo } from './proc.js';
