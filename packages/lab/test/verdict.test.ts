import type { Op } from '../src/client.js';
import { auditMail, auditSmb, chapterRows, outages } from '../src/verdict.js';
import { contentOf, smbFailed, versionOf } from '../src/client.js';

const op = (t: number, svc: string, ok: boolean, extra: Partial<Op> = {}): Op => ({ t, svc, ok, ms: 10, ...extra });

describe('outages', () => {
  it('first failed to first successful operation, and an open one at the end', () => {
    const ops = [op(0, 'a', true), op(100, 'a', false), op(200, 'a', false), op(300, 'a', true), op(400, 'a', false)];
    expect(outages(ops, 'a')).toEqual([
      { svc: 'a', from: 100, seen: 110, to: 300, failed: 2 },
      { svc: 'a', from: 400, seen: 410, to: undefined, failed: 1 },
    ]);
  });

  it('belongs to the chapter in which the failure was seen', () => {
    const ops = [op(90, 'a', false, { ms: 5000 }), op(6000, 'a', true)];
    const rows = chapterRows(
      ops,
      [
        { name: 'one', start: 0, end: 100, notes: [] },
        { name: 'two', start: 100, end: 10_000, notes: [] },
      ],
      ['a'],
    );
    expect(rows.map((r) => [r.chapter, r.outageMs])).toEqual([
      ['one', null],
      ['two', 5910],
    ]);
  });
});

describe('the SMB audit', () => {
  const w = (t: number, file: string, version: number, ok: boolean): Op => op(t, 'smb-write', ok, { file, version });

  it('passes when every file has its last acknowledged version (or a later one that was sent)', () => {
    const ops = [w(1, 'a', 1, true), w(2, 'a', 2, true), w(3, 'b', 3, true), w(4, 'b', 4, false)];
    expect(auditSmb(ops, { a: 2, b: 4 }).lost).toEqual([]);
    expect(auditSmb(ops, { a: 2, b: 3 }).lost).toEqual([]);
  });

  it('reports a missing file, an older version and a version never written', () => {
    const ops = [w(1, 'a', 1, true), w(2, 'a', 2, true), w(3, 'b', 3, true), w(4, 'c', 5, true)];
    expect(auditSmb(ops, { a: 1, c: 9 }).lost.map((l) => `${l.file} ${l.why}`)).toEqual([
      'a older than acknowledged',
      'b missing',
      'c a version never written',
    ]);
  });
});

describe('the client', () => {
  it('writes files whose version it can read back', () => {
    const text = contentOf('f0001.txt', 42, 256);
    expect(text).toHaveLength(256);
    expect(versionOf(text)).toBe(42);
    expect(versionOf('garbage')).toBeUndefined();
  });

  it('takes an NT_STATUS message as a failure even when smbclient exits 0', () => {
    expect(smbFailed({ code: 0, out: 'NT_STATUS_OBJECT_NAME_NOT_FOUND opening remote file \\x', err: '' })).toBe('NT_STATUS_OBJECT_NAME_NOT_FOUND');
    expect(smbFailed({ code: 0, out: 'putting file a as \\a (1.0 kb/s)', err: '' })).toBeUndefined();
    expect(smbFailed({ code: 1, out: '', err: 'do_connect: Connection to 192.168.100.11 failed (Error NT_STATUS_IO_TIMEOUT)' })).toBe('NT_STATUS_IO_TIMEOUT');
  });
});

describe('the mail audit', () => {
  const sent = (k: number, ok: boolean): Op => op(k, 'smtp', ok, { mail: k });
  it('every message accepted with 250 in the mailbox exactly once', () => {
    const ops = [sent(1, true), sent(2, true), sent(3, false), sent(4, true)];
    expect(auditMail(ops, ['lab-mail 1', 'lab-mail 2', 'lab-mail 4', 'other'])).toEqual({
      accepted: 3,
      missing: [],
      duplicated: [],
      unacknowledgedDelivered: 0,
    });
    expect(auditMail(ops, ['lab-mail 1', 'lab-mail 1', 'lab-mail 3', 'lab-mail 4'])).toEqual({
      accepted: 3,
      missing: [2],
      duplicated: [1],
      unacknowledgedDelivered: 1,
    });
  });
});
