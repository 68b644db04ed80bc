export * from './prng.js';
export * from './clock.js';
export * from './network.js';
export * from './harness.js';
export * from './script.js';
export * from './transport.js';
export * from './fuzz.js';
export * from './errors.js';
