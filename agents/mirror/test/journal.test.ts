/** The change journal's format: what a reader trusts and what it refuses. */
import { entryLine, headerLine, journalId, parseJournal, safeRelative } from '@paceline/agent-mirror';

const id = '0123456789abcdef-journal';
const other = 'fedcba9876543210-journal';

describe('the change journal', () => {
  const text =
    headerLine(id, 1000) +
    entryLine(id, { gen: 1, at: 1001, size: 4, path: 'cur/1' }) +
    entryLine(id, { gen: 2, at: 1002, size: 0, path: 'odd\nname "quoted" ü' });

  test('reads the lines after a position, with their generations, times, sizes and paths (any characters)', () => {
    const buf = Buffer.from(text);
    expect(journalId(buf)).toBe(id);
    const all = parseJournal(buf, 0);
    expect(all).toEqual({
      ok: true,
      id,
      end: buf.length,
      entries: [
        { gen: 1, at: 1001, size: 4, path: 'cur/1' },
        { gen: 2, at: 1002, size: 0, path: 'odd\nname "quoted" ü' },
      ],
    });
    const after1 = Buffer.byteLength(headerLine(id, 1000) + entryLine(id, { gen: 1, at: 1001, size: 4, path: 'cur/1' }));
    const rest = parseJournal(buf, after1);
    expect(rest.ok && rest.entries.map((e) => e.gen)).toEqual([2]);
  });

  test('a line still being written is left for the next read', () => {
    const buf = Buffer.from(`${text}${entryLine(id, { gen: 3, at: 1003, size: 1, path: 'x' }).slice(0, 12)}`);
    const r = parseJournal(buf, 0);
    expect(r.ok && r.entries.length).toBe(2);
    expect(r.ok && r.end).toBe(Buffer.byteLength(text));
  });

  test("another journal's bytes appended to a stale copy are refused, not taken for changes", () => {
    const buf = Buffer.from(text + entryLine(other, { gen: 1, at: 5, size: 1, path: 'y' }));
    expect(parseJournal(buf, 0)).toMatchObject({ ok: false, reason: expect.stringContaining('not of journal 01234567') });
    expect(parseJournal(Buffer.from('garbage\n'), 0)).toEqual({ ok: false, reason: 'no journal header' });
  });

  test.each([
    ['a/b', true],
    ['', false],
    ['/etc/passwd', false],
    ['../x', false],
    ['a/../../x', false],
    ['a//b', false],
    ['./a', false],
    ['a\0b', false],
  ])('path %j is usable: %s', (p, ok) => expect(safeRelative(p)).toBe(ok));
});
