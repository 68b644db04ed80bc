/** The doorbell's datagrams (bell.ts): signed, from the peer only, and trusted only where they continue the local journal exactly. */
import { applyRings, decodeRing, encodeRing, MAX_RING_LINES, type Ring } from '../src/bell.js';
import { entryLine, headerLine, type JournalState } from '../src/journal.js';

const id = '0123456789abcdef-journal';
const header = headerLine(id, 1000);
const line = (gen: number, path: string): string => entryLine(id, { gen, at: 2000 + gen, size: 10, path });
const state = (gen: number): JournalState => ({ id, startedAt: 1000, gen, ready: true, at: 2000 + gen });
const ring = (offset: number, lines: string, gen: number): Ring => ({ v: 1, node: 'serv1', state: state(gen), offset, lines });

test('a signed ring is read back; another key, another sender or a changed byte is refused', () => {
  const r = ring(header.length, line(1, 'a'), 1);
  const d = encodeRing(r, 'secret');
  expect(decodeRing(d, 'secret', 'serv1')).toEqual(r);
  expect(decodeRing(d, 'other', 'serv1')).toBeUndefined();
  expect(decodeRing(d, 'secret', 'serv2')).toBeUndefined();
  const forged = Buffer.from(d.toString().replace(`"offset":${header.length}`, `"offset":${header.length + 1}`));
  expect(forged.equals(d)).toBe(false);
  expect(decodeRing(forged, 'secret', 'serv1')).toBeUndefined();
  expect(decodeRing(Buffer.from('garbage'), 'secret', 'serv1')).toBeUndefined();
});

test('without a shared secret a ring only wakes: no lines are sent or taken', () => {
  const r = ring(header.length, line(1, 'a'), 1);
  const { lines: _l, ...bare } = r;
  void _l;
  expect(decodeRing(encodeRing(r, undefined), undefined, 'serv1')).toEqual(bare);
  // A datagram claiming lines without a signature (a forger) is read as a bare ring.
  const unsigned = Buffer.from(`\n${JSON.stringify(r)}`);
  expect(decodeRing(unsigned, undefined, 'serv1')).toEqual(bare);
  expect(decodeRing(unsigned, 'secret', 'serv1')).toBeUndefined();
  // Too many lines for one datagram: the ring goes without them.
  expect(decodeRing(encodeRing(ring(header.length, 'x'.repeat(MAX_RING_LINES + 1), 1), 'secret'), 'secret', 'serv1')?.lines).toBeUndefined();
});

test('rings grow the local copy of the journal only where they continue it exactly', () => {
  const local = Buffer.from(header + line(1, 'a'));
  const r2 = ring(local.length, line(2, 'b'), 2);
  const r3 = ring(local.length + line(2, 'b').length, line(3, 'c'), 3);
  // In order or not, the copy grows by both batches and takes the newest state.
  const grown = applyRings(local, id, [r3, r2]);
  expect(grown?.buf.toString()).toBe(header + line(1, 'a') + line(2, 'b') + line(3, 'c'));
  expect(grown?.state.gen).toBe(3);
  // A lost ring leaves a gap: nothing is taken (the worker fetches the journal).
  expect(applyRings(local, id, [r3])).toBeUndefined();
  // What the copy already holds (a fetch got it first) is checked, not appended twice; a partial line overlaps.
  expect(applyRings(Buffer.from(header + line(1, 'a') + line(2, 'b')), id, [r2])?.buf.toString()).toBe(header + line(1, 'a') + line(2, 'b'));
  const partial = Buffer.from(header + line(1, 'a') + line(2, 'b').slice(0, 5));
  expect(applyRings(partial, id, [r2])?.buf.toString()).toBe(header + line(1, 'a') + line(2, 'b'));
  // Bytes that differ from the copy, another journal, a ring without lines: refused.
  expect(applyRings(local, id, [ring(local.length - 3, line(2, 'b'), 2)])).toBeUndefined();
  expect(applyRings(local, id, [{ ...r2, state: { ...state(2), id: 'another' } }])).toBeUndefined();
  const { lines: _l, ...bare } = r2;
  void _l;
  expect(applyRings(local, id, [bare])).toBeUndefined();
  expect(applyRings(local, undefined, [r2])).toBeUndefined();
});
