/**
 * What survives a restart, in STATE_DIR/state.json: the replicated document (configuration, epoch,
 * quarantine), this node's fail counts, the last incarnation number, the newest incarnation seen of
 * each peer, and whether the last run ended cleanly. Written atomically: a temporary file, fsync, rename over the old one, fsync of
 * the directory — a crash leaves either the old or the new state, never a torn file.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
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
    throw new DaemonError('STATE_CORRUPT', `${path} is not valid JSON (${(e as Error).message}); move it away to start from the configuration file`, { cause: e });
  }
  const r = PersistedState.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new DaemonError('STATE_CORRUPT', `${path}: ${i ? `${i.path.join('.')}: ${i.message}` : 'invalid'}; move it away to start from the configuration file`);
  }
  return r.data;
}

let seq = 0;

/** Writes `state` atomically (temp file + fsync + rename + directory fsync). */
export async function saveState(dir: string, state: PersistedStateInput): Promise<void> {
  const path = join(dir, STATE_FILE);
  const tmp = join(dir, `.${STATE_FILE}.${process.pid}.${++seq}.tmp`);
  try {
    const h = await fs.open(tmp, 'w', 0o600);
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

/** Serialises saves so that the newest state is the one left on disk. */
export class StateWriter {
  private chain: Promise<void> = Promise.resolve();
  private latest: PersistedStateInput | undefined;

  constructor(private readonly dir: string, private readonly onError: (e: Error) => void) {}

  save(state: PersistedStateInput): Promise<void> {
    this.latest = state;
    this.chain = this.chain.then(async () => {
      const s = this.latest;
      if (s === undefined) return;
      this.latest = undefined;
      await saveState(this.dir, s).catch((e: Error) => this.onError(e));
    });
    return this.chain;
  }

  flush(): Promise<void> {
    return this.chain;
  }
}
