/** Which jest suites `npm test` (scripts/test.mjs) runs in its second, one-worker run. */

/**
 * Live suites, as jest path patterns (regular expressions on the test file's path): those that run
 * on the real clock or start real processes — every agent's own tests (the real daemons: nginx,
 * smbd, named, …), the OCF bridge with Pacemaker's agents, daemons over real UDP and in network
 * namespaces, the live lab, the Debian package, the pack-and-install test, the web view in a real
 * browser. Everything else runs on injected clocks and transports.
 */
export const LIVE = [
  '/agents/[^/]+/test/',
  '/examples/[^/]+/test/',
  '/packages/(lab|ocf|observe|runtime)/test/',
  '/packages/agent-api/test/daemon\\.test\\.ts$',
  '/packages/cli/test/(agent-module-cluster|agent-init|bundle|closed-output|daemon-process|deb|service|startup|witness-command)\\.test\\.ts$',
  '/packages/daemon/test/(arbiter-multiprocess|config-guard|daemon|fragments|full-disk|large|links|multiprocess|netns-faults|netns|netns-inflight' +
    '|operator-errors|orphans|redefine|start-failure|state-hardening|three)\\.test\\.ts$',
  '/packages/executor/test/(converge|long-durations)\\.test\\.ts$',
];
