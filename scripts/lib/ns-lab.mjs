// Shared by the benchmarks that build network namespaces (bench-failover-lossy, bench-failover-vip,
// bench-daemon-scale --netns):
// what they create is registered in `live` and removed on every way out (normal exit, signals,
// uncaught errors); commands run with argument arrays and fail loudly.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Processes, namespaces and directories to remove on exit. */
export const live = { procs: [], namespaces: [], dirs: [] };

/** Sends `signal` to every process in namespace `ns`; returns their pids. */
export function killAllIn(ns, signal = 'SIGKILL') {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  const pids = (r.stdout ?? '').split(/\s+/).filter(Boolean).map(Number);
  for (const p of pids) {
    try {
      process.kill(p, signal);
    } catch {
      /* gone */
    }
  }
  return pids;
}

let cleaned = false;
/** Kills what was started, deletes the namespaces (their processes first) and the directories. Idempotent. */
export function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const p of live.procs)
    if (p.exitCode === null && p.signalCode === null) {
      try {
        p.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
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
process.on('uncaughtException', (e) => {
  console.error(e);
  cleanup();
  process.exit(1);
});
process.on('unhandledRejection', (e) => {
  console.error(e);
  cleanup();
  process.exit(1);
});

/** Runs a command (argument array, no shell; `input` on its stdin); throws with its output unless it exits 0. */
export function run(cmd, args, timeoutMs = 20000, input = undefined) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, ...(input !== undefined ? { input } : {}) });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/**
 * Exits 0 with a printed reason unless this is root and every tool answers (`[cmd, versionArgs]`);
 * exits 2 unless the CLI is built. Returns the built daemon package (for its control client).
 */
export async function requireLab(bench, why, tools, repoRoot) {
  if (process.getuid?.() !== 0) {
    console.log(`${bench}: skipped — needs root (${why}).`);
    process.exit(0);
  }
  for (const [cmd, args] of tools) {
    const r = spawnSync(cmd, args, { stdio: 'ignore' });
    if (r.error || r.status !== 0) {
      console.log(`${bench}: skipped — needs \`${cmd}\` on PATH.`);
      process.exit(0);
    }
  }
  const cli = join(repoRoot, 'packages/cli/dist/main.js');
  if (!existsSync(cli)) {
    console.error(`${cli} is not built: run npm run build first`);
    process.exit(2);
  }
  return import(join(repoRoot, 'packages/daemon/dist/index.js'));
}

/**
 * The lab's power switch, reached over the LAN: `FILE NODE` powers NODE off (kills every process in
 * its namespace, takes its `ifs.lan` and `ifs.crossover` links down). It runs in the caller's
 * namespace (the daemon's): when the caller's own lan is down the switch is unreachable and it
 * exits 1. `ns` maps each server's name to its namespace. Every call appends a line to `log`:
 * `BEGAN ENDED CALLER TARGET off|unreachable|unknown-node`, the times in seconds from the shell
 * command `stamp` (`date +%s.%N` for the wall clock, `cut -d' ' -f1 /proc/uptime` for uptime).
 */
export function writeStubFence(file, log, { ns, ifs, stamp }) {
  const callers = Object.entries(ns).map(([name, n]) => `  ${n}) caller=${name} ;;`);
  const targets = Object.entries(ns).map(([name, n]) => `  ${name}) ns=${n} ;;`);
  writeFileSync(
    file,
    `#!/bin/sh
began=$(${stamp})
case "$(ip netns identify)" in
${callers.join('\n')}
  *) caller=unknown ;;
esac
case "$1" in
${targets.join('\n')}
  *) echo "$began $began $caller $1 unknown-node" >> ${log}; echo "fence: unknown node $1" >&2; exit 1 ;;
esac
if ! ip -o link show dev ${ifs.lan} 2>/dev/null | grep -q 'state UP'; then
  echo "$began $(${stamp}) $caller $1 unreachable" >> ${log}
  echo "fence: the power switch is unreachable: $caller's ${ifs.lan} is down" >&2
  exit 1
fi
for p in $(ip netns pids "$ns"); do kill -9 "$p" 2>/dev/null; done
ip -n "$ns" link set ${ifs.lan} down || exit 1
ip -n "$ns" link set ${ifs.crossover} down || exit 1
echo "$began $(${stamp}) $caller $1 off" >> ${log}
`,
  );
  chmodSync(file, 0o755);
}

/** The calls `writeStubFence`'s switch logged so far: { began, ended (seconds, its stamp's clock), caller, target, outcome }. */
export function readFenceCalls(log) {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [began, ended, caller, target, outcome] = l.split(' ');
      return { began: Number(began), ended: Number(ended), caller, target, outcome };
    });
}
