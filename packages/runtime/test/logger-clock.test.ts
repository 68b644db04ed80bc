import { Writable } from 'node:stream';
import { createLogger, SystemClock } from '@paceline/runtime';

function sink(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk).trimEnd());
      cb();
    },
  });
  return { stream, lines };
}
const clock = { now: () => Date.UTC(2026, 0, 2, 3, 4, 5), sleep: async () => undefined };

describe('createLogger', () => {
  test('human format: timestamp, level, [node resource action transition], message, sorted fields', async () => {
    const { stream, lines } = sink();
    const log = createLogger({ stream, clock, fields: { node: 'serv1' } });
    log.child({ resource: 'web', action: 'start' }).info('started', { transition: 7, durationMs: 12, reason: 'a b' });
    log.debug('hidden');
    await new Promise((r) => setImmediate(r));
    expect(lines).toEqual(['2026-01-02T03:04:05.000Z INFO  [serv1 web start 7] started durationMs=12 reason="a b"']);
  });
  test('json format with structured fields and levels', async () => {
    const { stream, lines } = sink();
    const log = createLogger({ stream, clock, format: 'json', level: 'debug' });
    log.child({ node: 'n1' }).child({ resource: 'ip' }).debug('probe', { rc: 7 });
    await new Promise((r) => setImmediate(r));
    expect(JSON.parse(lines[0]!)).toEqual({ level: 'debug', message: 'probe', node: 'n1', resource: 'ip', rc: 7, timestamp: '2026-01-02T03:04:05.000Z' });
  });
});

describe('SystemClock', () => {
  test('sleeps and can be aborted', async () => {
    const c = new SystemClock();
    const t0 = c.now();
    await c.sleep(20);
    expect(c.now() - t0).toBeGreaterThanOrEqual(15);
    const ac = new AbortController();
    const p = c.sleep(10_000, ac.signal);
    ac.abort();
    await expect(p).rejects.toThrow();
  });
});
