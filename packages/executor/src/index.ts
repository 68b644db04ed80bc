export * from './record.js';
export * from './lookup.js';
export * from './events.js';
export * from './execute.js';
export * from './monitors.js';
