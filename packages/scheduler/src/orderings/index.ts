/** The orderings and propagation stages (see build.ts for the map of the folder). */
export { buildOrderings } from './build.js';
export { propagate } from './propagate.js';
export { F_ASYMMETRICAL, F_IMPLIES_FIRST, F_IMPLIES_THEN, F_ONE_OR_MORE, F_OPTIONAL, F_RESTART, F_RUNNABLE_LEFT, type Ordering } from './edges.js';
