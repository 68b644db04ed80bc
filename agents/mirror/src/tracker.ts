/**
 * The change tracker: a small process each started instance runs in both roles (started by start,
 * stopped by stop). It runs the inotify watcher (watch/inotify-watch.py: one long-running process
 * that streams events; see there why not inotifywait) on the data directory and writes every change
 * to the journal (journal.ts) with a generation number, so that the peer pulls only what changed.
 *
 * - A file is journaled when its writer closes it (IN_CLOSE_WRITE), is renamed into place, gets new
 *   attributes, or is deleted — not on every write: the peer never copies a file half-written by a
 *   writer that is still at it. A file written without being closed is journaled 1 s after its last
 *   write. Symbolic links and new hard links are journaled when created.
 * - A directory created or moved in is walked: everything in it gets a line (what was created there
 *   before its watch existed is not missed); a directory removed or moved out gets one line, and the
 *   reader removes what it holds below it.
 * - When the watcher says events may have been lost (queue overflow, watch limit) or dies, the
 *   journal is abandoned and a new one started: readers see a new ID and rescan once.
 *
 *   node tracker.js STATE_DIR/worker.json
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { open, readFile, rename, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Doorbell } from './bell.js';
import { entryLine, headerLine, type JournalState } from './journal.js';
import { linkCountsKept } from './leaf.js';
import { layoutFor, MirrorParams, type Layout } from './params.js';
import { bootId } from './proc.js';
import type { WorkerConfig } from './worker.js';
import { MirrorError } from './errors.js';

const IN_MODIFY = 0x2,
  IN_ATTRIB = 0x4,
  IN_CLOSE_WRITE = 0x8,
  IN_MOVED_FROM = 0x40,
  IN_MOVED_TO = 0x80;
const IN_CREATE = 0x100,
  IN_DELETE = 0x200,
  IN_ISDIR = 0x40000000;

/** A journal past this size is replaced by a new one (readers then rescan once). */
const MAX_JOURNAL_BYTES = 64 * 1024 * 1024;
/** Changes are written in batches at most this far apart. */
const FLUSH_MS = 10;
/** A file written but not closed is journaled after this long without a write. */
const UNCLOSED_MS = 1000;
/** journal.json is rewritten at least this often: a reader takes a journal not rewritten for STALE_MS as dead. */
export const HEARTBEAT_MS = 1000;
export const STALE_MS = 10_000;

export function watcherScript(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, '..', 'watch', 'inotify-watch.py'), join(here, '..', '..', 'watch', 'inotify-watch.py')];
  return candidates.find((c) => existsSync(c)) ?? candidates[0]!;
}

export const journalFile = (l: Layout): string => `${l.pubDir}/journal.log`;
export const journalStateFile = (l: Layout): string => `${l.pubDir}/journal.json`;
/** Present while an action waits for the journal to catch up (handover.ts journalBarrier): the tracker then publishes every tick. */
export const barrierFile = (l: Layout): string => `${l.stateDir}/journal-barrier`;

let tmpSeq = 0;
/** Writes a temporary file and renames it into place; each write its own temporary name (two in flight never share one). */
function writeAtomicSync(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}-${++tmpSeq}`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, file);
}
async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${++tmpSeq}`;
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, file);
}

class Journal {
  private fh: FileHandle | undefined;
  private gen = 0;
  private bytes = 0;
  private readonly pending = new Set<string>();
  /** Files written and not closed yet: their timer, and when they were first written (caughtUp stays before that). */
  private readonly unclosed = new Map<string, { timer: NodeJS.Timeout; since: number }>();
  private timer: NodeJS.Timeout | undefined;
  private ready = false;
  private flushing: Promise<void> = Promise.resolve();
  /** The watcher's last `!tick`: every change completed before it has been received (pending or written). */
  private tickAt = 0;
  /** Every change completed before this is in journal.log, on disk (published as JournalState.caughtUp). */
  private caughtUp = 0;
  private stopped = false;
  readonly id = randomUUID();
  readonly startedAt = Date.now();

  constructor(
    private readonly l: Layout,
    private readonly bootId: string | undefined,
    private readonly lost?: string,
  ) {}

  async open(): Promise<void> {
    await writeAtomic(journalFile(this.l), headerLine(this.id, this.startedAt));
    this.bytes = Buffer.byteLength(headerLine(this.id, this.startedAt));
    this.fh = await open(journalFile(this.l), 'a');
    await this.publish();
  }

  private async publish(): Promise<JournalState> {
    const s: JournalState = {
      id: this.id,
      startedAt: this.startedAt,
      gen: this.gen,
      ready: this.ready,
      ...(this.lost ? { lost: this.lost } : {}),
      at: Date.now(),
      ...(this.caughtUp > 0 ? { caughtUp: this.caughtUp } : {}),
      ...(this.bootId ? { bootId: this.bootId } : {}),
      ...(this.stopped ? { stopped: true } : {}),
    };
    // Synchronously: a few hundred bytes, once a second when idle; two thread-pool round trips cost more CPU than the write.
    writeAtomicSync(journalStateFile(this.l), `${JSON.stringify(s)}\n`);
    return s;
  }

  async markReady(): Promise<void> {
    this.ready = true;
    // After any batch being written (one publish at a time: a late one would overwrite a newer state).
    this.flushing = this.flushing.then(() => this.flush());
    await this.flushing;
    this.heartbeat = setInterval(() => {
      this.flushing = this.flushing.then(() => this.flush(true));
    }, HEARTBEAT_MS);
  }
  private heartbeat: NodeJS.Timeout | undefined;

  get full(): boolean {
    return this.bytes > MAX_JOURNAL_BYTES;
  }

  /**
   * The watcher's `!tick MS`: everything before MS has been received; published at the next flush —
   * at once while a barrier waits for it (barrierFile: demote, failover), otherwise with the next
   * batch or heartbeat (a publish a tick, four a second, was most of an idle tracker's CPU).
   */
  tick(at: number): void {
    if (at <= this.tickAt) return;
    this.tickAt = at;
    if (!existsSync(barrierFile(this.l))) return;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flushing.then(() => this.flush());
    }, FLUSH_MS);
  }

  /** One watcher record. */
  event(mask: number, rel: string): void {
    if (rel === '') return;
    const isDir = (mask & IN_ISDIR) !== 0;
    if (isDir && (mask & (IN_CREATE | IN_MOVED_TO)) !== 0) {
      this.add(rel);
      this.walk(rel);
    } else if ((mask & IN_MODIFY) !== 0 && !isDir) {
      const u = this.unclosed.get(rel);
      if (u) clearTimeout(u.timer);
      const timer = setTimeout(() => {
        this.unclosed.delete(rel);
        this.add(rel);
      }, UNCLOSED_MS);
      this.unclosed.set(rel, { timer, since: u?.since ?? Date.now() });
    } else if ((mask & IN_CREATE) !== 0) {
      this.created(rel);
    } else {
      if ((mask & (IN_CLOSE_WRITE | IN_MOVED_FROM | IN_DELETE)) !== 0) {
        const u = this.unclosed.get(rel);
        if (u) {
          clearTimeout(u.timer);
          this.unclosed.delete(rel);
        }
      }
      if ((mask & (IN_CLOSE_WRITE | IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE)) !== 0) this.add(rel);
    }
  }

  /** A regular file is journaled when closed; a symbolic link or a new hard link exists complete at once. */
  private created(rel: string): void {
    const st = lstatSync(join(this.l.data, rel), { throwIfNoEntry: false });
    if (st?.isSymbolicLink()) this.add(rel);
    else if (st?.isFile() && st.nlink > 1) {
      // A new hard link: journal its siblings in the same directory too, so the peer links them
      // (rsync -H links only files it transfers together). A link across directories arrives as a copy.
      this.add(rel);
      const dir = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
      for (const e of readdirSync(join(this.l.data, dir), { withFileTypes: true })) {
        const sib = dir ? `${dir}/${e.name}` : e.name;
        if (e.isFile() && sib !== rel && lstatSync(join(this.l.data, sib), { throwIfNoEntry: false })?.ino === st.ino) this.add(sib);
      }
    }
  }

  private walk(rel: string): void {
    const stack = [rel];
    while (stack.length > 0) {
      const r = stack.pop()!;
      let ents;
      try {
        ents = readdirSync(join(this.l.data, r), { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') continue;
        throw e;
      }
      for (const e of ents) {
        const c = `${r}/${e.name}`;
        this.add(c);
        if (e.isDirectory()) stack.push(c);
      }
    }
  }

  private add(rel: string): void {
    this.pending.add(rel);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flushing.then(() => this.flush());
    }, FLUSH_MS);
  }

  /**
   * Writes what is pending (on disk: fdatasync), moves caughtUp to the last tick received before
   * (but not past a file still being written), publishes the state and rings. Also the heartbeat,
   * which rings without lines when nothing was written since the last ring: the replica then knows
   * the journal has not grown without asking (its fallback poll is for a primary that stopped ringing).
   */
  async flush(heartbeat = false): Promise<void> {
    if (!this.fh) return;
    const tick = this.tickAt; // every change before it is pending now, or written already
    const paths = [...this.pending];
    this.pending.clear();
    let text = '';
    let offset = this.bytes;
    if (paths.length > 0) {
      const now = Date.now();
      for (const p of paths) {
        const st = lstatSync(join(this.l.data, p), { throwIfNoEntry: false });
        text += entryLine(this.id, { gen: ++this.gen, at: now, size: st?.isFile() ? st.size : 0, path: p });
      }
      offset = this.bytes;
      await this.fh.write(text);
      await this.fh.datasync();
      this.bytes += Buffer.byteLength(text);
    }
    let upTo = tick;
    for (const u of this.unclosed.values()) upTo = Math.min(upTo, u.since - 1);
    if (upTo > this.caughtUp) this.caughtUp = upTo;
    const state = await this.publish();
    if (text !== '' || (heartbeat && Date.now() - this.rangAt >= HEARTBEAT_MS - FLUSH_MS)) {
      this.rangAt = Date.now();
      this.onChange?.(state, text !== '' ? offset : this.bytes, text);
    }
  }
  private rangAt = 0;
  /** Called after every batch written (the doorbell) and at heartbeats without one: the journal's state, where the lines begin in the file, the lines ('' at a heartbeat). */
  onChange: ((state: JournalState, offset: number, lines: string) => void) | undefined;

  /**
   * Writes what is pending (including files still open for writing) and closes the file. `clean`:
   * the watcher's "!stopped" was read, so every change before the stop is in the journal —
   * published as `stopped` (the next start may then vouch for the copy from here: resume.ts).
   */
  async close(clean = false): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const [p, u] of this.unclosed) {
      clearTimeout(u.timer);
      this.pending.add(p);
    }
    this.unclosed.clear();
    await this.flushing;
    this.stopped = clean && this.ready;
    await this.flush();
    await this.fh?.close();
    this.fh = undefined;
  }
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new MirrorError('USAGE', 'usage: tracker.js WORKER_CONFIG.json');
  const cfg = JSON.parse(await readFile(file, 'utf8')) as WorkerConfig;
  const p = MirrorParams.parse(cfg.params);
  const l = layoutFor(p, cfg.node, cfg.stateDir);
  if (typeof l === 'string') throw new MirrorError('LAYOUT', l);
  if (!(await stat(l.data)).isDirectory()) throw new MirrorError('NOT_A_DIRECTORY', `${l.data} is not a directory`);
  let stopping = false;
  let child: ChildProcess | undefined;
  let journal: Journal | undefined;
  // A clean stop: the watcher, on SIGTERM (ours, or the agent's to the whole process group), prints
  // what is queued and "!stopped" before it exits; once that is read, every change made before the
  // stop is journaled and the journal says so (JournalState.stopped).
  let exited: Promise<void> = Promise.resolve();
  let sawStopped = false;
  const stop = async (): Promise<void> => {
    stopping = true;
    child?.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
    await journal?.close(sawStopped);
    process.exit(0);
  };
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => void stop());
  let lost: string | undefined;
  const bell = new Doorbell(p, l);
  const boot = await bootId();
  while (!stopping) {
    journal = new Journal(l, boot, lost);
    journal.onChange = (state, offset, lines) => void bell.ring(state, offset, lines);
    await journal.open();
    const j = journal;
    const w = spawn('python3', [watcherScript(), l.data, ...(linkCountsKept(l.data) ? ['--leaves'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
    child = w;
    exited = new Promise((r) => w.once('close', () => r()));
    lost = await new Promise<string>((resolve) => {
      let rest = Buffer.alloc(0);
      let done = false;
      const finish = (why: string): void => {
        if (!done) {
          done = true;
          w.kill('SIGTERM');
          resolve(why);
        }
      };
      w.stdout!.on('data', (chunk: Buffer) => {
        let buf = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
        for (;;) {
          const z = buf.indexOf(0);
          if (z < 0) break;
          const rec = buf.subarray(0, z).toString('utf8');
          buf = buf.subarray(z + 1);
          if (rec === '!ready') void j.markReady();
          else if (rec.startsWith('!tick ')) j.tick(Number(rec.slice(6)));
          else if (rec.startsWith('!stopped ')) {
            j.tick(Number(rec.slice(9)));
            sawStopped = true;
          } else if (rec.startsWith('!lost ')) finish(rec.slice(6));
          else {
            const sp = rec.indexOf(' ');
            j.event(parseInt(rec.slice(0, sp), 16), rec.slice(sp + 1));
            if (j.full) finish('the journal reached its size limit');
          }
        }
        rest = Buffer.from(buf);
      });
      w.once('error', (e) => finish(`cannot run the watcher (python3): ${e.message}`));
      w.once('exit', (code, sig) => finish(`the watcher exited (${code ?? sig})`));
    });
    if (stopping) break; // stop() closes the journal
    await journal.close();
    process.stderr.write(`${new Date().toISOString()} journal ${journal.id} abandoned: ${lost}; starting a new one (the peer rescans once)\n`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    process.stderr.write(`paceline:mirror tracker: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
