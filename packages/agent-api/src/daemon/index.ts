/**
 * `@paceline/agent-api/daemon`: what a service agent composes to supervise a foreground daemon —
 * start/status/stop with process identity, protocol-check verdicts (ok / failed / not-running /
 * hung), and sockets from /proc (who listens on a port, wait until it is closed).
 */
export * from './proc.js';
export * from './supervise.js';
export * from './check.js';
export * from './net.js';
export * from './chat.js';
export * from './service.js';
