/**
 * The verdict: from the client's record (one line per operation) and the story's chapters, the
 * client-observed outage of every service per chapter, and the data audit. Pure functions.
 */
import type { Op } from './client.js';

export interface Chapter {
  readonly name: string;
  readonly start: number;
  end: number;
  /** What the chapter checked and saw (fence calls, placements, resync figures). */
  readonly notes: string[];
  /** Real, or why not run. */
  skipped?: string;
  /** Reference figures of the chapter: detection and start-to-ready times per service. */
  figures?: Record<string, number | string>;
  /** Lower bound of the outage per lane (ms): what the service itself needs, measured in the same run. */
  bounds?: Record<string, number>;
}

export interface Outage {
  readonly svc: string;
  /** First failed operation's start. */
  readonly from: number;
  /** When that failure was seen (its end). */
  readonly seen: number;
  /** First successful operation's start after it (undefined: not back by the end). */
  readonly to: number | undefined;
  readonly failed: number;
}

/** Outages of one lane: first failed operation to the first successful one after it. */
export function outages(ops: readonly Op[], svc: string): Outage[] {
  const lane = ops.filter((o) => o.svc === svc).sort((a, b) => a.t - b.t);
  const out: Outage[] = [];
  let from: number | undefined;
  let seen = 0;
  let failed = 0;
  for (const o of lane) {
    if (!o.ok) {
      if (from === undefined) {
        from = o.t;
        seen = o.t + o.ms;
        failed = 0;
      }
      failed++;
    } else if (from !== undefined) {
      out.push({ svc, from, seen, to: o.t, failed });
      from = undefined;
    }
  }
  if (from !== undefined) out.push({ svc, from, seen, to: undefined, failed });
  return out;
}

export interface ChapterRow {
  readonly chapter: string;
  readonly svc: string;
  readonly ops: number;
  readonly failedOps: number;
  /** Longest outage that started in the chapter (ms); null: none; -1: not back by the end. */
  readonly outageMs: number | null;
  /** Who answered before and after the chapter's first outage (or throughout). */
  readonly served: string;
}

export function chapterRows(ops: readonly Op[], chapters: readonly Chapter[], lanes: readonly string[]): ChapterRow[] {
  const rows: ChapterRow[] = [];
  for (const svc of lanes) {
    const all = outages(ops, svc);
    for (const ch of chapters) {
      if (ch.skipped) continue;
      const inCh = ops.filter((o) => o.svc === svc && o.t >= ch.start && o.t < ch.end);
      // An outage belongs to the chapter in which the client first saw an operation fail.
      const outs = all.filter((o) => o.seen >= ch.start && o.seen < ch.end);
      const longest = outs.reduce<number | null>((m, o) => (o.to === undefined ? -1 : m === -1 ? -1 : Math.max(m ?? 0, o.to - o.from)), null);
      const whos = inCh.filter((o) => o.ok && o.who).map((o) => o.who!);
      const served = [...new Set(whos)].join(' → ') || (inCh.some((o) => o.ok) ? 'ok' : '');
      rows.push({ chapter: ch.name, svc, ops: inCh.length, failedOps: inCh.filter((o) => !o.ok).length, outageMs: longest, served: sequence(whos) || served });
    }
  }
  return rows;
}

/** "serv1 → serv2" from a list of answers (consecutive repeats merged). */
function sequence(whos: readonly string[]): string {
  const out: string[] = [];
  for (const w of whos) if (out.at(-1) !== w) out.push(w);
  return out.length > 4 ? `${out.slice(0, 2).join(' → ')} … ${out.at(-1)} (${out.length} changes)` : out.join(' → ');
}

export interface SmbAudit {
  readonly files: number;
  readonly acknowledgedWrites: number;
  /** Files whose last acknowledged content is not what the share has now. */
  readonly lost: readonly { readonly file: string; readonly acked: number; readonly found: number | null; readonly why: string }[];
  /** Reads during the run that saw an older version, or no file (data not mirrored yet at the failover). */
  readonly staleReads: number;
  readonly missingReads: number;
}

/**
 * Every file the client saw acknowledged must be on the share with its last acknowledged version,
 * or with a later version whose write was attempted (sent, not acknowledged: it may have applied).
 */
export function auditSmb(ops: readonly Op[], found: Readonly<Record<string, number | null>>): SmbAudit {
  const writes = ops.filter((o) => o.svc.startsWith('smb-write') && o.file && o.version !== undefined);
  const lastAcked = new Map<string, number>();
  const attempted = new Map<string, Set<number>>();
  for (const w of writes) {
    if (w.ok) lastAcked.set(w.file!, Math.max(lastAcked.get(w.file!) ?? 0, w.version!));
    (attempted.get(w.file!) ?? attempted.set(w.file!, new Set()).get(w.file!)!).add(w.version!);
  }
  const lost: SmbAudit['lost'][number][] = [];
  for (const [file, acked] of lastAcked) {
    const f = found[file];
    if (f === undefined) lost.push({ file, acked, found: null, why: 'missing' });
    else if (f === null) lost.push({ file, acked, found: null, why: 'unreadable content' });
    else if (f < acked) lost.push({ file, acked, found: f, why: 'older than acknowledged' });
    else if (f > acked && !attempted.get(file)?.has(f)) lost.push({ file, acked, found: f, why: 'a version never written' });
  }
  const reads = ops.filter((o) => o.svc === 'smb-read');
  return {
    files: lastAcked.size,
    acknowledgedWrites: writes.filter((w) => w.ok).length,
    lost,
    staleReads: reads.filter((r) => r.read === 'stale').length,
    missingReads: reads.filter((r) => r.read === 'missing').length,
  };
}

export function formatMs(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 0) return 'NOT BACK';
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** A plain-text table. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => c.padEnd(w[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

export interface MailAudit {
  /** Messages the relay accepted (250 after DATA). */
  readonly accepted: number;
  /** Accepted messages not in the mailbox. */
  readonly missing: readonly number[];
  /** Messages in the mailbox more than once. */
  readonly duplicated: readonly number[];
  /** In the mailbox although the relay did not say 250 (a reply lost on its way: not a loss). */
  readonly unacknowledgedDelivered: number;
}

/** Every message accepted with 250 must be in the mailbox exactly once. */
export function auditMail(ops: readonly Op[], subjects: readonly string[]): MailAudit {
  const accepted = new Set(ops.filter((o) => o.svc === 'smtp' && o.ok && o.mail !== undefined).map((o) => o.mail!));
  const count = new Map<number, number>();
  for (const s of subjects) {
    const m = /^lab-mail (\d+)$/.exec(s);
    if (m) count.set(Number(m[1]), (count.get(Number(m[1])) ?? 0) + 1);
  }
  return {
    accepted: accepted.size,
    missing: [...accepted].filter((k) => !count.has(k)).sort((a, b) => a - b),
    duplicated: [...count]
      .filter(([, n]) => n > 1)
      .map(([k]) => k)
      .sort((a, b) => a - b),
    unacknowledgedDelivered: [...count.keys()].filter((k) => !accepted.has(k)).length,
  };
}
