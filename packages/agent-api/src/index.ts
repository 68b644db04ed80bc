export * from './result.js';
export * from './context.js';
export * from './agent.js';
