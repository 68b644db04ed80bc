import { knownIncarnation, checkReplay, type ReplayWindow } from '@paceline/membership';

function feed(seqs: [number, number][]): boolean[] {
  let w: ReplayWindow | undefined;
  return seqs.map(([boot, seq]) => {
    const r = checkReplay(w, boot, seq);
    if (r.ok) w = r.window;
    return r.ok;
  });
}

describe('anti-replay window', () => {
  it.each<[string, [number, number][], boolean[]]>([
    [
      'accepts increasing sequences',
      [
        [1, 1],
        [1, 2],
        [1, 5],
      ],
      [true, true, true],
    ],
    [
      'rejects an exact repeat',
      [
        [1, 1],
        [1, 2],
        [1, 2],
      ],
      [true, true, false],
    ],
    [
      'accepts reordering inside the window once',
      [
        [1, 5],
        [1, 3],
        [1, 4],
        [1, 3],
      ],
      [true, true, true, false],
    ],
    [
      'rejects packets older than the window',
      [
        [1, 100],
        [1, 68],
        [1, 69],
      ],
      [true, false, true],
    ],
    [
      'accepts a new incarnation and rejects the old one',
      [
        [1, 50],
        [2, 1],
        [1, 51],
        [2, 2],
      ],
      [true, true, false, true],
    ],
    [
      'handles large jumps',
      [
        [1, 1],
        [1, 1_000_000],
        [1, 1],
        [1, 999_999],
      ],
      [true, true, false, true],
    ],
  ])('%s', (_name, seqs, expected) => expect(feed(seqs)).toEqual(expected));

  it('reports a new incarnation', () => {
    const a = checkReplay(undefined, 1, 1);
    if (!a.ok) throw new Error('unexpected');
    expect(a.newIncarnation).toBe(false);
    const b = checkReplay(a.window, 2, 1);
    expect(b.ok && b.newIncarnation).toBe(true);
  });

  it('a window restored from disk refuses older incarnations and accepts the known one from any sequence', () => {
    const w = knownIncarnation(7);
    expect(checkReplay(w, 6, 1_000).ok).toBe(false);
    const same = checkReplay(w, 7, 3);
    expect(same.ok && same.newIncarnation).toBe(false);
    const newer = checkReplay(w, 8, 1);
    expect(newer.ok && newer.newIncarnation).toBe(false); // nothing was heard from 7 in this run
  });

  it('flags fresh traffic from the incarnation a newer one replaced, not replays of it', () => {
    const w = checkReplay(undefined, 1, 10);
    if (!w.ok) throw new Error('unexpected');
    const next = checkReplay(w.window, 2, 1);
    if (!next.ok) throw new Error('unexpected');
    const replay = checkReplay(next.window, 1, 9);
    expect(replay.ok === false && replay.freshFromPrevious).toBeFalsy();
    const fresh = checkReplay(next.window, 1, 11);
    expect(fresh.ok).toBe(false);
    expect(fresh.ok === false && fresh.freshFromPrevious).toBe(true);
    expect(fresh.ok === false && fresh.window?.previous).toEqual({ boot: 1, highest: 11, fresh: 1 });
  });
});
