/**
 * `@paceline/testkit/netns`: Linux network namespaces for real-system tests and the live lab (one
 * implementation for both): create one with loopback up, run a program in it, a veth pair between
 * two, the processes inside, kill them all, delete it. Synchronous (`ip` through spawnSync): this
 * is setup and teardown code. Argument arrays only, never a shell string. Root only; see
 * `netnsSkipReason`.
 */
import { spawnSync } from 'node:child_process';
import { CommandFailedError, TestkitError } from '../errors.js';

export { CommandFailedError } from '../errors.js';

/** The output of a program run to completion, whatever its exit status. */
export interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program; never throws (a spawn error or a timeout is status null, its message in stderr). */
export function tryRun(cmd: string, args: readonly string[], timeoutMs = 30_000): Ran {
  const r = spawnSync(cmd, [...args], { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.error ? null : r.status, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}

/** Runs a program and returns its stdout; throws naming the command and quoting its stderr when it fails. */
export function run(cmd: string, args: readonly string[], timeoutMs = 30_000): string {
  const r = spawnSync(cmd, [...args], { encoding: 'utf8', timeout: timeoutMs });
  if (r.error) throw new CommandFailedError([cmd, ...args], r.status, '', r.error);
  if (r.status !== 0) throw new CommandFailedError([cmd, ...args], r.status, (r.stderr || r.stdout).trim());
  return r.stdout;
}

/**
 * Why namespaces cannot be used here, or undefined when they can: not root, or the kernel or the
 * container refuses to create one (checked by creating and deleting `probe`).
 */
export function netnsSkipReason(probe = `pcl-probe-${process.pid}`): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: network-namespace tests need root (CI runs as root)';
  const r = tryRun('ip', ['netns', 'add', probe]);
  if (r.status !== 0) return `cannot create network namespaces here: ${r.stderr.trim() || `ip netns add exited ${r.status}`}`;
  tryRun('ip', ['netns', 'del', probe]);
  return undefined;
}

/** Creates namespace `ns` with its loopback up. */
export function createNetns(ns: string): void {
  run('ip', ['netns', 'add', ns]);
  run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
}

/** Runs a program inside `ns` (`ip netns exec`); its stdout, or an error quoting its stderr. */
export function runIn(ns: string, cmd: string, args: readonly string[], timeoutMs = 30_000): string {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], timeoutMs);
}

/** Runs a program inside `ns`; never throws. */
export function tryRunIn(ns: string, cmd: string, args: readonly string[], timeoutMs = 30_000): Ran {
  return tryRun('ip', ['netns', 'exec', ns, cmd, ...args], timeoutMs);
}

/**
 * A veth pair: `ifA` in `nsA`, `ifB` in `nsB` (made there directly, so the names may repeat across
 * namespaces), both up unless `up` is false. Interface names have at most 15 characters.
 */
export function addVeth(nsA: string, ifA: string, nsB: string, ifB: string, up = true): void {
  for (const n of [ifA, ifB]) if (n.length > 15) throw new TestkitError('TESTKIT_USAGE', `addVeth: interface name ${n} is longer than 15 characters`);
  run('ip', ['link', 'add', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
  if (!up) return;
  run('ip', ['-n', nsA, 'link', 'set', ifA, 'up']);
  run('ip', ['-n', nsB, 'link', 'set', ifB, 'up']);
}

/** The processes in network namespace `ns` (none when it does not exist). */
export function netnsPids(ns: string): number[] {
  const r = tryRun('ip', ['netns', 'pids', ns]);
  return r.status === 0
    ? r.stdout
        .split(/\s+/)
        .filter((p) => /^\d+$/.test(p))
        .map(Number)
    : [];
}

/**
 * SIGKILLs every process in `ns` (a stopped one too), and again until none is left (a process may
 * fork meanwhile), at most `rounds` times.
 */
export function killNetns(ns: string, rounds = 20): void {
  for (let i = 0; i < rounds; i++) {
    const pids = netnsPids(ns);
    if (pids.length === 0) return;
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch (e) {
        void e; // gone meanwhile
      }
    }
  }
}

/** Kills what runs in `ns` and deletes it (its interfaces go with it); a missing namespace is fine. */
export function deleteNetns(ns: string): void {
  killNetns(ns);
  tryRun('ip', ['netns', 'del', ns]);
}
