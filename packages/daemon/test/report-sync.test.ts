/**
 * Report synchronisation (report-outbox.ts, report-inbox.ts): a node sends each peer what changed
 * in its history; under loss, duplication and reordering the peer's copy never becomes a report that
 * is not exactly the sender's history at some version, and it converges once messages get through.
 */
import fc from 'fast-check';
import type { ResourceHistory } from '@paceline/model';
import { ReportOutbox, type ReportFacts } from '../src/report-outbox.js';
import { ReportInbox } from '../src/report-inbox.js';
import type { ReportDelta } from '../src/messages.js';

const BOOT = 1000;
const facts = (rev: number): ReportFacts => ({ boot: BOOT, rev, failures: [], members: ['a', 'b'] });
const entry = (resource: string, callId: number): ResourceHistory => ({
  resource,
  agent: 'paceline:dummy',
  ops: [{ action: 'start', interval: 0, callId, status: 'done', rc: 0 }],
});
const key = (h: readonly ResourceHistory[]): string => JSON.stringify([...h].map((x) => JSON.stringify(x)).sort((p, q) => (p < q ? -1 : 1)));

/** A node's history under changes: set or remove one resource's entry (a new object each time, as LocalNode does). */
function change(history: readonly ResourceHistory[], op: { readonly r: number; readonly remove: boolean }, callId: number): ResourceHistory[] {
  const id = `r${op.r}`;
  const rest = history.filter((h) => h.resource !== id);
  return op.remove ? rest : [...rest, entry(id, callId)];
}

describe('report sync', () => {
  test('a delta carries only what changed; at rest a message carries no entries', () => {
    const out = new ReportOutbox(BOOT);
    const inbox = new ReportInbox();
    let history = Array.from({ length: 300 }, (_, i) => entry(`r${i}`, i));
    out.observe(history);
    const first = out.for('b', facts(1));
    expect(first.full).toBe(true);
    expect(first.changed).toHaveLength(300);
    expect(inbox.accept('a', first, 0).report?.history).toHaveLength(300);
    history = history.map((h) => (h.resource === 'r7' ? entry('r7', 1000) : h));
    out.observe(history);
    const delta = out.for('b', facts(2));
    expect(delta.full).toBeUndefined();
    expect(delta.changed.map((c) => (c.h as ResourceHistory).resource)).toEqual(['r7']);
    const r = inbox.accept('a', delta, 0);
    expect(r.report?.rev).toBe(2);
    expect(key(r.report!.history)).toBe(key(history));
    const rest = out.for('b', facts(2));
    expect(rest.changed).toHaveLength(0);
    expect(JSON.stringify(rest).length).toBeLessThan(300);
    expect(inbox.accept('a', rest, 0).report).toBeDefined();
  });

  test('a lost delta: the next message shows the gap, the peer asks from what it holds, and gets it', () => {
    const out = new ReportOutbox(BOOT);
    const inbox = new ReportInbox();
    let history = [entry('r1', 1)];
    out.observe(history);
    inbox.accept('a', out.for('b', facts(1)), 0);
    history = change(history, { r: 2, remove: false }, 2);
    out.observe(history);
    out.for('b', facts(2)); // lost
    history = change(history, { r: 1, remove: true }, 3);
    out.observe(history);
    const gap = inbox.accept('a', out.for('b', facts(3)), 0);
    expect(gap.report).toBeUndefined();
    expect(gap.upToDate).toBe(false);
    expect(gap.want).toEqual({ ver: 1 });
    out.want('b', BOOT, gap.want!.ver);
    const answer = inbox.accept('a', out.for('b', facts(3)), 0);
    expect(answer.upToDate).toBe(true);
    expect(key(answer.report!.history)).toBe(key(history));
  });

  test('a copy that disagrees with the digest is asked for in full', () => {
    const out = new ReportOutbox(BOOT);
    const inbox = new ReportInbox();
    out.observe([entry('r1', 1)]);
    const m = out.for('b', facts(1));
    const bad: ReportDelta = { ...m, changed: [{ v: 1, h: entry('r1', 99) }] };
    const r = inbox.accept('a', bad, 0);
    expect(r.report).toBeUndefined();
    expect(r.want).toEqual({ ver: undefined });
    out.want('b', BOOT, undefined);
    expect(key(inbox.accept('a', out.for('b', facts(1)), 1000).report!.history)).toBe(key([entry('r1', 1)]));
  });

  test('an invalid entry is refused whole, with its path', () => {
    const out = new ReportOutbox(BOOT);
    const inbox = new ReportInbox();
    out.observe([entry('r1', 1)]);
    const m = out.for('b', facts(1));
    const r = inbox.accept('a', { ...m, changed: [{ v: 1, h: { resource: 'r1', ops: 'nope' } }] }, 0);
    expect(r.error).toMatch(/changed\.0\.h\.ops/);
    expect(r.report).toBeUndefined();
  });

  test('under loss, duplication and reordering a report is always the sender’s history at its version, and the copy converges', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ r: fc.nat({ max: 6 }), remove: fc.boolean() }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.record({ lose: fc.nat({ max: 9 }), dup: fc.nat({ max: 9 }), delay: fc.nat({ max: 4 }) }), { minLength: 40, maxLength: 40 }),
        (ops, net) => {
          const out = new ReportOutbox(BOOT);
          const inbox = new ReportInbox();
          let history: ResourceHistory[] = [];
          const snapshots = new Map<number, string>();
          let inFlight: { at: number; m: ReportDelta }[] = [];
          let now = 0;
          const deliver = (m: ReportDelta): void => {
            const r = inbox.accept('a', m, now);
            if (r.report !== undefined) expect(key(r.report.history)).toBe(snapshots.get(m.ver));
            if (r.want !== undefined && now % 3 !== 0) out.want('b', BOOT, r.want.ver); // some wants are lost too
          };
          for (const [i, op] of ops.entries()) {
            now += 100;
            history = change(history, op, i + 1);
            out.observe(history);
            snapshots.set(out.version, key(history));
            const m = out.for('b', facts(i + 1));
            const n = net[i % net.length]!;
            if (n.lose >= 3) for (let c = 0; c <= (n.dup >= 8 ? 1 : 0); c++) inFlight.push({ at: i + n.delay, m });
            const due = inFlight.filter((x) => x.at <= i);
            inFlight = inFlight.filter((x) => x.at > i);
            for (const x of due.reverse()) deliver(x.m); // delivered newest first: reordered
          }
          for (const x of inFlight) deliver(x.m);
          // Calm: anti-entropy messages get through (and the answers to wants).
          let last;
          for (let k = 0; k < 4; k++) {
            now += 1000;
            const m = out.for('b', facts(ops.length));
            last = inbox.accept('a', m, now);
            if (last.want !== undefined) out.want('b', BOOT, last.want.ver);
          }
          expect(last!.report).toBeDefined();
          expect(key(last!.report!.history)).toBe(key(history));
        },
      ),
      { numRuns: 300 },
    );
  });
});
