// First: fail with a clear message when the program's zod is not zod 4.
export * from './zod-check.js';
export * from './score.js';
export * from './duration.js';
export * from './errors.js';
export * from './config.js';
export * from './monitoring.js';
export * from './membership.js';
export * from './status.js';
export * from './transition.js';
export * from './action.js';
export * from './ocf.js';
export * from './walk.js';
export * from './load.js';
export * from './pattern.js';
export * from './validate.js';
export * from './builder.js';
export * from './digest.js';
