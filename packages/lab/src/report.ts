/** The story's verdict, as data (verdict.json) and as the report printed at the end of a run. */
import type { Lab } from './lab.js';
import { formatMs, table, type Chapter, type chapterRows, type MailAudit, type SmbAudit } from './verdict.js';

export interface Verdict {
  readonly ok: boolean;
  readonly chapters: readonly Chapter[];
  readonly rows: ReturnType<typeof chapterRows>;
  readonly smb: SmbAudit & { readonly auditError?: string };
  /** Absent when mail did not run (see `mailEnabled`). */
  readonly mail?: MailAudit & { readonly auditError?: string };
  readonly conflicts: readonly string[];
  readonly switchCalls: ReturnType<Lab['switchCalls']>;
  readonly problems: readonly string[];
}

export function formatVerdict(v: Verdict): string {
  const out: string[] = [];
  out.push('Client-observed outage per chapter (first failed to first successful operation; longest in the chapter):');
  out.push(
    table(
      ['chapter', 'service', 'ops', 'failed', 'outage', 'answered by'],
      v.rows.map((r) => [r.chapter, r.svc, String(r.ops), String(r.failedOps), formatMs(r.outageMs), r.served]),
    ),
  );
  const bounded = v.rows.filter((r) => v.chapters.find((c) => c.name === r.chapter)?.bounds?.[r.svc] !== undefined && r.outageMs !== null);
  if (bounded.length) {
    out.push(
      '\nAgainst the lower bound measured in the same run (power loss: serv2 fenced serv1 + the start-to-ready of what the service needs;' +
        ' failback: the stops, the resync and the starts); Pacemaker 2.1.5 + corosync 3 at their defaults: 7.41 s for a VIP alone (docs/daemon.md):',
    );
    out.push(
      table(
        ['chapter', 'service', 'outage', 'lower bound', 'above it'],
        bounded.map((r) => {
          const b = v.chapters.find((c) => c.name === r.chapter)!.bounds![r.svc]!;
          return [r.chapter, r.svc, formatMs(r.outageMs), formatMs(b), r.outageMs! < 0 ? '' : `${((r.outageMs! - b) / 1000).toFixed(2)} s`];
        }),
      ),
    );
  }
  for (const ch of v.chapters) {
    if (ch.skipped) out.push(`\n${ch.name}: NOT RUN (${ch.skipped})`);
    else if (ch.figures)
      out.push(
        `\n${ch.name}: ${Object.entries(ch.figures)
          .map(([k, x]) => `${k}: ${x}`)
          .join('; ')}`,
      );
  }
  out.push('');
  out.push(
    `SMB audit: ${v.smb.files} files, ${v.smb.acknowledgedWrites} acknowledged writes; lost: ${v.smb.lost.length}${
      v.smb.lost.length
        ? ` (${v.smb.lost
            .slice(0, 5)
            .map((l) => `${l.file}: ${l.why}, acked v${l.acked}, found ${l.found ?? 'nothing'}`)
            .join('; ')})`
        : ''
    }` +
      `; reads during the run that saw an older version: ${v.smb.staleReads}, no file yet: ${v.smb.missingReads}${v.smb.auditError ? `; AUDIT ERROR: ${v.smb.auditError}` : ''}`,
  );
  out.push(
    v.mail
      ? `Mail audit: ${v.mail.accepted} messages accepted with 250; missing from the mailbox: ${v.mail.missing.length}${v.mail.missing.length ? ` (${v.mail.missing.slice(0, 10).join(', ')})` : ''}; ` +
          `more than once: ${v.mail.duplicated.length}${v.mail.duplicated.length ? ` (${v.mail.duplicated.slice(0, 10).join(', ')})` : ''}; delivered without a 250 seen: ${v.mail.unacknowledgedDelivered}${v.mail.auditError ? `; AUDIT ERROR: ${v.mail.auditError}` : ''}`
      : 'Mail audit: NOT RUN (the cluster configuration does not use paceline:sendmail and paceline:cyrus yet)',
  );
  out.push(`Conflicts kept by the mirror: ${v.conflicts.length}${v.conflicts.length ? `\n  ${v.conflicts.join('\n  ')}` : ''}`);
  out.push(`Power switch calls: ${v.switchCalls.map((c) => `${c.target} from ${c.from}: ${c.result}`).join('; ') || 'none'}`);
  if (v.problems.length) out.push(`Problems: ${v.problems.join('; ')}`);
  out.push(v.ok ? 'VERDICT: nothing lost' : 'VERDICT: FAILED');
  return out.join('\n');
}
