import { getEventListeners } from 'node:events';
import { eitherSignal, unboundedSignal } from '../src/signals.js';

describe('eitherSignal', () => {
  it('aborts with the reason of whichever source aborts first', () => {
    const a = new AbortController();
    const b = new AbortController();
    const either = eitherSignal(a.signal, b.signal);
    expect(either.signal.aborted).toBe(false);
    b.abort(new Error('b went'));
    expect(either.signal.aborted).toBe(true);
    expect((either.signal.reason as Error).message).toBe('b went');
    a.abort(new Error('a went'));
    expect((either.signal.reason as Error).message).toBe('b went');
  });

  it('is aborted at once when a source already is', () => {
    const a = new AbortController();
    a.abort(new Error('earlier'));
    const either = eitherSignal(a.signal, new AbortController().signal);
    expect(either.signal.aborted).toBe(true);
    expect((either.signal.reason as Error).message).toBe('earlier');
  });

  it('leaves nothing on a long-lived source once released', () => {
    const long = unboundedSignal();
    for (let i = 0; i < 1000; i++) {
      const short = new AbortController();
      const either = eitherSignal(long.signal, short.signal);
      short.abort();
      expect(either.signal.aborted).toBe(true);
      either.release();
    }
    expect(getEventListeners(long.signal, 'abort')).toHaveLength(0);
    const kept = eitherSignal(long.signal, new AbortController().signal);
    long.abort(new Error('stopping'));
    expect((kept.signal.reason as Error).message).toBe('stopping');
  });
});
