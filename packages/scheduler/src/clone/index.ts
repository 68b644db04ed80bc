/** Clone and promotable-clone semantics for the scheduler (docs/scheduler.md: the assign stage and clone/). */
export * from './settings.js';
export * from './numbering.js';
export * from './instance-order.js';
export * from './promote.js';
export * from './stage.js';
export * from './colocation.js';
export * from './orderings.js';
export * from './graph.js';
export * from './notify.js';
