// Shared by the benchmarks that build network namespaces (bench-failover-lossy, bench-failover-vip):
// what they create is registered in `live` and removed on every way out (normal exit, signals,
// uncaught errors); commands run with argument arrays and fail loudly.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';

/** Processes, namespaces and directories to remove on exit. */
export const live = { procs: [], namespaces: [], dirs: [] };

/** Sends `signal` to every process in namespace `ns`; returns their pids. */
export function killAllIn(ns, signal = 'SIGKILL') {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  const pids = (r.stdout ?? '').split(/\s+/).filter(Boolean).map(Number);
  for (const p of pids) { try { process.kill(p, signal); } catch { /* gone */ } }
  return pids;
}

let cleaned = false;
/** Kills what was started, deletes the namespaces (their processes first) and the directories. Idempotent. */
export function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const p of live.procs) if (p.exitCode === null && p.signalCode === null) { try { p.kill('SIGKILL'); } catch { /* gone */ } }
  for (const ns of live.namespaces) killAllIn(ns);
  for (const ns of [...live.namespaces].reverse()) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  for (const d of live.dirs) rmSync(d, { recursive: true, force: true });
}

process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`\n${sig}: cleaning up`);
    cleanup();
    process.exit(130);
  });
}
process.on('uncaughtException', (e) => { console.error(e); cleanup(); process.exit(1); });
process.on('unhandledRejection', (e) => { console.error(e); cleanup(); process.exit(1); });

/** Runs a command (argument array, no shell); throws with its output unless it exits 0. */
export function run(cmd, args, timeoutMs = 20000) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}
