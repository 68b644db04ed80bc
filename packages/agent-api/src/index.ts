export * from './result.js';
export * from './context.js';
export * from './agent.js';
export * from './params.js';
export * from './registry.js';
export * from './invoke.js';
export * from './logger.js';
export * from './testkit.js';
