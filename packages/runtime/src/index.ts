export * from './command-runner.js';
export * from './logger.js';
export * from './clock.js';
