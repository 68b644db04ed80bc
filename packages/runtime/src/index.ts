export * from './command-runner.js';
export * from './logger.js';
export * from './clock.js';
export * from './long-timeout.js';
export * from './keyfile.js';
export * from './udp-transport.js';
export * from './witness-server.js';
export * from './arbiter-client.js';
