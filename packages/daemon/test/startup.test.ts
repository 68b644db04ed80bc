/**
 * What a daemon starts from (startup.ts): the configuration file's document or the saved one, by
 * epoch; the saved quarantine kept either way; an invalid document named by where it came from; a
 * saved document without this node giving way to the file; the incarnation and an unclean end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryLogger } from '@paceline/agent-api';
import { loadStartState } from '../src/startup.js';
import { saveState } from '../src/store.js';

const root = mkdtempSync(join(tmpdir(), `paceline-startup-${process.pid}-`));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => mkdtempSync(join(root, `${++n}-`));

const file = (epoch: number, nodes = ['a', 'b']) => ({ epoch, nodes: nodes.map((name) => ({ name })), resources: [] });
const saved = (epoch: number, extra: Record<string, unknown> = {}) => ({
  version: 1 as const,
  doc: { epoch, config: { ...file(epoch), epoch }, quarantine: { b: 'fenced at noon' } },
  failures: [],
  lastBoot: 5_000,
  running: false,
  peerBoots: { b: 4_000, gone: 3_000, a: 4_500 },
  ...extra,
});

test('first start: the file, boot from the clock, nothing unclean', async () => {
  const s = await loadStartState({ node: 'a', stateDir: fresh(), config: file(2), now: 1_234.5 }, memoryLogger());
  expect(s).toMatchObject({ doc: { epoch: 2, quarantine: {} }, boot: 1_234, unclean: undefined, persisted: undefined, peerBoots: {} });
  expect(s.config.nodes.map((x) => x.name)).toEqual(['a', 'b']);
});

test('the saved document wins at an equal or newer epoch; a newer file wins but keeps the saved quarantine', async () => {
  const dir = fresh();
  await saveState(dir, saved(3));
  const same = await loadStartState({ node: 'a', stateDir: dir, config: { ...file(3), properties: { clusterName: 'from-file' } }, now: 1 }, memoryLogger());
  expect(same.doc.config).not.toHaveProperty('properties');
  expect(same.doc.quarantine).toEqual({ b: 'fenced at noon' });
  const newer = await loadStartState({ node: 'a', stateDir: dir, config: file(4), now: 1 }, memoryLogger());
  expect(newer.doc).toMatchObject({ epoch: 4, quarantine: { b: 'fenced at noon' } });
  // The clock went back: the incarnation still grows; only configured peers' incarnations are kept.
  expect(newer.boot).toBe(5_001);
  expect(newer.peerBoots).toEqual({ b: 4_000 });
});

test('a run that did not end cleanly is said so', async () => {
  const dir = fresh();
  await saveState(dir, saved(1, { running: true }));
  const s = await loadStartState({ node: 'a', stateDir: dir, config: file(1), now: 10_000 }, memoryLogger());
  expect(s.unclean).toMatch(/^a stopped without a clean shutdown \(daemon started 1970-01-01T00:00:05\.000Z was killed/);
});

test('an invalid document is named by where it came from', async () => {
  await expect(
    loadStartState({ node: 'a', stateDir: fresh(), config: { epoch: 1, nodes: [{ name: 'a', bogus: 1 } as { name: string }] }, now: 1 }, memoryLogger()),
  ).rejects.toMatchObject({
    code: 'CONFIG_INVALID',
  });
  const dir = fresh();
  await saveState(dir, { ...saved(5), doc: { epoch: 5, config: { nodes: 'none' }, quarantine: {} } });
  const corrupt = loadStartState({ node: 'a', stateDir: dir, config: file(1), now: 1 }, memoryLogger());
  await expect(corrupt).rejects.toMatchObject({ code: 'STATE_CORRUPT' });
  await expect(corrupt).rejects.toThrow(
    /state\.json: the saved configuration is invalid: [\s\S]*nodes[\s\S]*; move \S*state\.json away to start from the configuration file/,
  );
});

test('a saved document that dropped this node gives way to the file; a node in neither is refused', async () => {
  const dir = fresh();
  await saveState(dir, { ...saved(7), doc: { epoch: 7, config: { ...file(7, ['b']), epoch: 7 }, quarantine: { c: 'x' } } });
  const log = memoryLogger();
  const s = await loadStartState({ node: 'a', stateDir: dir, config: file(2), now: 1 }, log);
  expect(s.doc).toMatchObject({ epoch: 2, quarantine: { c: 'x' } });
  expect(log.entries.map((e) => e.message).join('\n')).toContain('does not include a: starting from the configuration file (epoch 2)');
  const stranger = loadStartState({ node: 'z', stateDir: fresh(), config: file(1), now: 1 }, memoryLogger());
  await expect(stranger).rejects.toMatchObject({ code: 'DAEMON_CONFIG' });
  await expect(stranger).rejects.toThrow('node "z" is not in the configuration (nodes: a, b)');
});
