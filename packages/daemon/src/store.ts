/**
 * What survives a restart, in STATE_DIR/state.json: the replicated document (configuration, epoch,
 * quarantine), this node's fail counts, the last incarnation number, the newest incarnation seen of
 * each peer, and whether the last run ended cleanly. Written atomically: a temporary file (created
 * exclusively, never through a symbolic link), fsync, rename over the old one, fsync of the
 * directory — a crash leaves either the old or the new state, never a torn file.
 *
 * The state directory itself is checked as the key file is (`checkStateDir`): owned by the daemon's
 * user or root, writable by nobody else; and it is locked (`lockStateDir`) before anything in it is
 * read or written, so that a second daemon started on it by mistake touches nothing.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { FailCount } from '@paceline/model';
import { ClusterDoc } from './messages.js';
import { DaemonError } from './errors.js';

export const PersistedState = z.strictObject({
  version: z.literal(1),
  doc: ClusterDoc,
  failures: z.array(FailCount).default([]),
  lastBoot: z.number().int().nonnegative(),
  /**
   * peer → the newest incarnation (boot) seen of it, on the daemon channel or in heartbeats. Restored
   * at start: messages and heartbeats of older incarnations are refused. Absent in older files.
   */
  peerBoots: z.record(z.string().min(1).max(255), z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)).default({}),
  /** True while the daemon runs; false after a clean shutdown. Found true at start: the last run ended uncleanly. */
  running: z.boolean(),
  /** Why the last run ended uncleanly (kept until the cluster has quarantined this node). */
  unclean: z.string().optional(),
});
export type PersistedState = z.infer<typeof PersistedState>;
export type PersistedStateInput = z.input<typeof PersistedState>;

export const STATE_FILE = 'state.json';

export async function loadState(dir: string): Promise<PersistedState | undefined> {
  const path = join(dir, STATE_FILE);
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DaemonError('STATE_CORRUPT', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DaemonError('STATE_CORRUPT', `${path} is not valid JSON (${(e as Error).message}); move it away to start from the configuration file`, {
      cause: e,
    });
  }
  const r = PersistedState.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new DaemonError(
      'STATE_CORRUPT',
      `${path}: ${i ? `${i.path.join('.')}: ${i.message}` : 'invalid'}; move it away to start from the configuration file`,
    );
  }
  return r.data;
}

const octal = (mode: number): string => `0${(mode & 0o777).toString(8).padStart(3, '0')}`;

/**
 * Refuses a state directory that another local user could tamper with: it must be a directory owned
 * by the daemon's user or root, and neither group nor others may write to it (they could plant a
 * symbolic link or a state file there). Checked at every start, before the directory is used.
 */
export async function checkStateDir(dir: string): Promise<void> {
  let st: import('node:fs').Stats;
  try {
    st = await fs.stat(dir);
  } catch (e) {
    throw new DaemonError('STATE_INSECURE', `cannot use the state directory ${dir}: ${(e as Error).message}`, { cause: e });
  }
  if (!st.isDirectory()) throw new DaemonError('STATE_INSECURE', `the state directory ${dir} is not a directory`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid && st.uid !== 0)
    throw new DaemonError(
      'STATE_INSECURE',
      `the state directory ${dir} is owned by uid ${st.uid}, not by the daemon's user (uid ${uid}) or root: that user could change the daemon's state (run: chown ${uid} ${dir})`,
    );
  if ((st.mode & 0o022) !== 0)
    throw new DaemonError(
      'STATE_INSECURE',
      `the state directory ${dir} has mode ${octal(st.mode)}: group and others must not write to it (run: chmod 700 ${dir})`,
    );
}

/** The lock file in the state directory: it holds the pid of the daemon using the directory. */
export const LOCK_FILE = 'daemon.lock';

/** Lock files held by this process (in-process daemons, as in tests, share one pid). */
const heldLocks = new Set<string>();

/** A held state-directory lock. */
export interface StateLock {
  readonly path: string;
  /** Removes the lock file (idempotent). */
  release(): Promise<void>;
  /** Lets go of the lock as a killed process does: the file stays, stale, for the next start to take over (tests' abandon()). */
  abandon(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the state directory's lock: STATE_DIR/daemon.lock, created exclusively (never through a
 * symbolic link) with this process's pid. A lock whose process is gone (a daemon killed with -9, a
 * power loss) is stale and taken over; one held by a live process is refused with its pid.
 */
export async function lockStateDir(dir: string): Promise<StateLock> {
  const path = resolve(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 5; attempt++) {
    let h: import('node:fs/promises').FileHandle;
    try {
      h = await fs.open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new DaemonError('STATE_LOCKED', `cannot lock the state directory ${dir} (${path}): ${(e as Error).message}`, { cause: e });
      const text = await fs.readFile(path, { encoding: 'utf8', flag: constants.O_RDONLY | constants.O_NOFOLLOW }).catch(() => '');
      const pid = Number.parseInt(text.trim(), 10);
      const held = Number.isInteger(pid) && pid > 0 && (pid === process.pid ? heldLocks.has(path) : alive(pid));
      if (held)
        throw new DaemonError(
          'STATE_LOCKED',
          `another daemon (pid ${pid}) uses the state directory ${dir}: stop it first, or give this one its own --state-dir (if no such daemon runs, remove ${path})`,
        );
      // Stale (or being written this instant by another starter: its pid appears on the next try).
      if (text.trim() === '' && attempt === 0) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      await fs.rm(path, { force: true });
      continue;
    }
    try {
      await h.writeFile(`${process.pid}\n`);
      await h.sync();
    } finally {
      await h.close();
    }
    heldLocks.add(path);
    let released = false;
    return {
      path,
      release: async () => {
        if (released) return;
        released = true;
        heldLocks.delete(path);
        await fs.rm(path, { force: true });
      },
      abandon: () => {
        released = true;
        heldLocks.delete(path);
      },
    };
  }
  throw new DaemonError('STATE_LOCKED', `cannot lock the state directory ${dir}: ${path} keeps reappearing (another daemon starting on it?)`);
}

/**
 * Writes `state` atomically (temp file + fsync + rename + directory fsync). The temporary file has an
 * unpredictable name and is created exclusively, never through a symbolic link: nothing planted in
 * the directory makes the daemon write elsewhere.
 */
export async function saveState(dir: string, state: PersistedStateInput): Promise<void> {
  const path = join(dir, STATE_FILE);
  const tmp = join(dir, `.${STATE_FILE}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`);
  try {
    const h = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      await h.writeFile(JSON.stringify(state, null, 1));
      await h.sync();
    } finally {
      await h.close();
    }
    await fs.rename(tmp, path);
    const d = await fs.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw new DaemonError('STATE_WRITE_FAILED', `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Serialises saves so that the newest state is the one left on disk. `onSaved` is called with each
 * state once it is durable (file and directory synced); `onError` with each failure (ENOSPC, EIO ...).
 */
export class StateWriter {
  private chain: Promise<void> = Promise.resolve();
  private latest: PersistedStateInput | undefined;

  constructor(
    private readonly dir: string,
    private readonly onError: (e: Error) => void,
    private readonly onSaved: (state: PersistedStateInput) => void = () => undefined,
  ) {}

  save(state: PersistedStateInput): Promise<void> {
    this.latest = state;
    this.chain = this.chain.then(async () => {
      const s = this.latest;
      if (s === undefined) return;
      this.latest = undefined;
      await saveState(this.dir, s).then(
        () => this.onSaved(s),
        (e: Error) => this.onError(e),
      );
    });
    return this.chain;
  }

  flush(): Promise<void> {
    return this.chain;
  }
}
