/** The reference cluster, live: see README.md and docs/lab.md. */
export * from './hardware.js';
export * from './lab.js';
export { waitFor, sleep, run, tryRun, runAsync } from './sys.js';
