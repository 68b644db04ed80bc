/**
 * The change journal each started instance keeps of its own copy (written by the tracker, read by
 * the peer through the `meta` module):
 *
 *   pub/journal.log    "#paceline-journal 1 ID STARTED\n", then one line per change:
 *                      "ID8 GEN AT SIZE JSON-PATH\n" — generation (1, 2, …), when it was seen (ms),
 *                      the file's size then (0 when gone), the path relative to the data directory
 *   pub/journal.json   { id, startedAt, gen, ready, lost? } — the tracker's state
 *
 * A journal is append-only while its tracker lives; a new one (new ID) starts when the tracker
 * starts, after an inotify overflow, or when it grows past its size limit. A reader that holds a
 * position (ID, generation, byte offset) in the current journal needs only the lines after it;
 * a reader whose ID differs cannot trust the gap and resynchronises with a full scan. Every line
 * repeats the ID's first 8 characters, so bytes of another journal appended to a stale local copy
 * are recognised, never taken for changes.
 */
export const JOURNAL_VERSION = 1;

export interface JournalState {
  readonly id: string;
  readonly startedAt: number;
  /** The last generation written. */
  readonly gen: number;
  /** True once every directory is watched: from then on, every change gets a line. */
  readonly ready: boolean;
  /** Why the previous journal was abandoned, if it was (overflow, watch limit). */
  readonly lost?: string;
  readonly at: number;
  /**
   * Every change of the copy completed before this time (ms, this node's clock) is in the journal,
   * on disk: the watcher had found the kernel's queue empty then (its `!tick`), the lines before
   * were fdatasync'ed, and no file was still open for writing since before it.
   */
  readonly caughtUp?: number;
  /** The boot the tracker ran in (/proc/sys/kernel/random/boot_id). */
  readonly bootId?: string;
  /** Written by a tracker that stopped cleanly: caughtUp is after the stop began. */
  readonly stopped?: boolean;
}

export interface JournalEntry {
  readonly gen: number;
  readonly at: number;
  readonly size: number;
  readonly path: string;
}

export const headerLine = (id: string, startedAt: number): string => `#paceline-journal ${JOURNAL_VERSION} ${id} ${startedAt}\n`;
export const entryLine = (id: string, e: JournalEntry): string => `${id.slice(0, 8)} ${e.gen} ${e.at} ${e.size} ${JSON.stringify(e.path)}\n`;

export type ParsedJournal =
  { readonly ok: true; readonly id: string; readonly entries: readonly JournalEntry[]; readonly end: number } | { readonly ok: false; readonly reason: string };

/** The journal's ID from its first line, if the buffer holds one. */
export function journalId(buf: Buffer): string | undefined {
  const nl = buf.indexOf(10);
  if (nl < 0) return undefined;
  const m = /^#paceline-journal (\d+) (\S+) \d+$/.exec(buf.subarray(0, nl).toString('utf8'));
  return m && Number(m[1]) === JOURNAL_VERSION ? m[2] : undefined;
}

/**
 * The complete lines of `buf` from byte `from` (0: after the header). `end` is the offset after the
 * last complete line (a line still being written stays for the next read). A line of another
 * journal or a malformed line makes the whole read untrustworthy.
 */
export function parseJournal(buf: Buffer, from: number): ParsedJournal {
  const id = journalId(buf);
  if (id === undefined) return { ok: false, reason: 'no journal header' };
  let pos = Math.max(from, buf.indexOf(10) + 1);
  const entries: JournalEntry[] = [];
  const tag = id.slice(0, 8);
  for (;;) {
    const nl = buf.indexOf(10, pos);
    if (nl < 0) break;
    const line = buf.subarray(pos, nl).toString('utf8');
    const m = /^(\S+) (\d+) (\d+) (\d+) (".*")$/.exec(line);
    if (!m || m[1] !== tag) return { ok: false, reason: `line at byte ${pos} is not of journal ${tag}` };
    let path: unknown;
    try {
      path = JSON.parse(m[5]!);
    } catch (e) {
      return { ok: false, reason: `line at byte ${pos}: ${(e as Error).message}` };
    }
    if (typeof path !== 'string') return { ok: false, reason: `line at byte ${pos}: no path` };
    entries.push({ gen: Number(m[2]), at: Number(m[3]), size: Number(m[4]), path });
    pos = nl + 1;
  }
  return { ok: true, id, entries, end: pos };
}

/**
 * A relative path the journal may name: no absolute paths, no "." or ".." components, no NUL.
 * (The peer's journal is input: a path that tried to leave the data directory is refused.)
 */
export function safeRelative(p: string): boolean {
  return p !== '' && !p.startsWith('/') && !p.includes('\0') && p.split('/').every((c) => c !== '' && c !== '.' && c !== '..');
}

/** The byte offset just after the line of generation `gen` (after the header for 0); undefined when the buffer has no such line. */
export function offsetAfterGen(buf: Buffer, gen: number): number | undefined {
  let pos = buf.indexOf(10) + 1;
  if (pos === 0) return undefined;
  if (gen === 0) return pos;
  for (;;) {
    const nl = buf.indexOf(10, pos);
    if (nl < 0) return undefined;
    const sp = buf.indexOf(32, pos);
    if (sp > 0 && sp < nl && Number(buf.subarray(sp + 1, buf.indexOf(32, sp + 1)).toString('latin1')) === gen) return nl + 1;
    pos = nl + 1;
  }
}
