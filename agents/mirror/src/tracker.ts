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
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { randomUUID } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { open, readFile, rename, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeRing, ringKey, type Ring } from './bell.js';
import { entryLine, headerLine, type JournalState } from './journal.js';
import { layoutFor, MirrorParams, type Layout } from './params.js';
import type { WorkerConfig } from './worker.js';

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

let tmpSeq = 0;
/** Writes a temporary file and renames it into place; each write its own temporary name (two in flight never share one). */
async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${++tmpSeq}`;
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, file);
}

/**
 * The doorbell (bell.ts): after each batch journaled on the Promoted node, one signed UDP datagram
 * to the replica's worker with the journal's state and the batch's lines, so it pulls the changed
 * paths at once without fetching the journal first. Only a hint: the replica still polls every
 * intervalMs, so a lost ring costs latency, never data. Where no UDP socket can be opened (or
 * PACELINE_MIRROR_DOORBELL=connect, to compare), the former ring: one connection to the peer's
 * rsync daemon (a module listing), whose log the worker watches — one at a time, changes during it
 * ring again when it ends.
 */
class Doorbell {
  private ringing = false;
  private again = false;
  private socket: Socket | undefined;
  private readonly key: string | undefined;
  constructor(
    private readonly p: MirrorParams,
    private readonly l: Layout,
  ) {
    this.key = ringKey(l);
    try {
      this.socket = createSocket(isIPv6(l.remote.address) ? 'udp6' : 'udp4');
      this.socket.on('error', () => {
        this.socket?.close();
        this.socket = undefined;
      });
      this.socket.unref();
    } catch (e) {
      void e;
      this.socket = undefined;
    }
  }

  private promoted(): boolean {
    try {
      return (JSON.parse(readFileSync(this.l.statusFile, 'utf8')) as { role?: string }).role === 'promoted';
    } catch (e) {
      void e;
      return false;
    }
  }

  ring(state: JournalState, offset: number, lines: string): void {
    if (!this.promoted()) return;
    if (this.socket && process.env['PACELINE_MIRROR_DOORBELL'] !== 'connect') {
      const ring: Ring = { v: 1, node: this.l.node, state, offset, lines };
      this.socket.send(encodeRing(ring, this.key), this.l.remote.port, this.l.remote.address, (e) => {
        if (e) this.connect();
      });
      return;
    }
    this.connect();
  }

  private connect(): void {
    if (this.ringing) {
      this.again = true;
      return;
    }
    this.ringing = true;
    const c = spawn(this.p.rsync, ['--contimeout=2', '--timeout=5', '--list-only', `rsync://${this.l.remote.authority}/`], { stdio: 'ignore' });
    const done = (): void => {
      this.ringing = false;
      if (this.again) {
        this.again = false;
        this.connect();
      }
    };
    c.once('error', done);
    c.once('exit', done);
  }
}

class Journal {
  private fh: FileHandle | undefined;
  private gen = 0;
  private bytes = 0;
  private readonly pending = new Set<string>();
  private readonly unclosed = new Map<string, NodeJS.Timeout>();
  private timer: NodeJS.Timeout | undefined;
  private ready = false;
  private flushing: Promise<void> = Promise.resolve();
  readonly id = randomUUID();
  readonly startedAt = Date.now();

  constructor(
    private readonly l: Layout,
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
    };
    await writeAtomic(journalStateFile(this.l), `${JSON.stringify(s)}\n`);
    return s;
  }

  async markReady(): Promise<void> {
    this.ready = true;
    // After any batch being written (one publish at a time: a late one would overwrite a newer state).
    this.flushing = this.flushing.then(async () => {
      await this.publish();
    });
    await this.flushing;
    this.heartbeat = setInterval(() => {
      this.flushing = this.flushing.then(async () => {
        await this.publish();
      });
    }, HEARTBEAT_MS);
  }
  private heartbeat: NodeJS.Timeout | undefined;

  get full(): boolean {
    return this.bytes > MAX_JOURNAL_BYTES;
  }

  /** One watcher record. */
  event(mask: number, rel: string): void {
    if (rel === '') return;
    const isDir = (mask & IN_ISDIR) !== 0;
    if (isDir && (mask & (IN_CREATE | IN_MOVED_TO)) !== 0) {
      this.add(rel);
      this.walk(rel);
    } else if ((mask & IN_MODIFY) !== 0 && !isDir) {
      const t = this.unclosed.get(rel);
      if (t) clearTimeout(t);
      this.unclosed.set(
        rel,
        setTimeout(() => {
          this.unclosed.delete(rel);
          this.add(rel);
        }, UNCLOSED_MS),
      );
    } else if ((mask & IN_CREATE) !== 0) {
      // A regular file is journaled when closed; a symbolic link or a new hard link exists complete at once.
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
    } else {
      if ((mask & (IN_CLOSE_WRITE | IN_MOVED_FROM | IN_DELETE)) !== 0) {
        const t = this.unclosed.get(rel);
        if (t) {
          clearTimeout(t);
          this.unclosed.delete(rel);
        }
      }
      if ((mask & (IN_CLOSE_WRITE | IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE)) !== 0) this.add(rel);
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

  async flush(): Promise<void> {
    if (this.pending.size === 0 || !this.fh) return;
    const paths = [...this.pending];
    this.pending.clear();
    const now = Date.now();
    let text = '';
    for (const p of paths) {
      const st = lstatSync(join(this.l.data, p), { throwIfNoEntry: false });
      text += entryLine(this.id, { gen: ++this.gen, at: now, size: st?.isFile() ? st.size : 0, path: p });
    }
    const offset = this.bytes;
    await this.fh.write(text);
    this.bytes += Buffer.byteLength(text);
    const state = await this.publish();
    this.onChange?.(state, offset, text);
  }
  /** Called after every batch written (the doorbell): the journal's state, where the batch begins in the file, its lines. */
  onChange: ((state: JournalState, offset: number, lines: string) => void) | undefined;

  /** Writes what is pending (including files still open for writing) and closes the file. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const [p, t] of this.unclosed) {
      clearTimeout(t);
      this.pending.add(p);
    }
    this.unclosed.clear();
    await this.flushing;
    await this.flush();
    await this.fh?.close();
    this.fh = undefined;
  }
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: tracker.js WORKER_CONFIG.json');
  const cfg = JSON.parse(await readFile(file, 'utf8')) as WorkerConfig;
  const p = MirrorParams.parse(cfg.params);
  const l = layoutFor(p, cfg.node, cfg.stateDir);
  if (typeof l === 'string') throw new Error(l);
  if (!(await stat(l.data)).isDirectory()) throw new Error(`${l.data} is not a directory`);
  let stopping = false;
  let child: ChildProcess | undefined;
  let journal: Journal | undefined;
  const stop = async (): Promise<void> => {
    stopping = true;
    child?.kill('SIGTERM');
    await journal?.close();
    process.exit(0);
  };
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => void stop());
  let lost: string | undefined;
  const bell = new Doorbell(p, l);
  while (!stopping) {
    journal = new Journal(l, lost);
    journal.onChange = (state, offset, lines) => bell.ring(state, offset, lines);
    await journal.open();
    const j = journal;
    const w = spawn('python3', [watcherScript(), l.data], { stdio: ['ignore', 'pipe', 'inherit'] });
    child = w;
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
          else if (rec.startsWith('!lost ')) finish(rec.slice(6));
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
    await journal.close();
    if (stopping) break;
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
