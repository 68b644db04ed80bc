import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadState, STATE_FILE } from '@paceline/daemon';
import { saveState, StateWriter } from '../src/store.js';

const dir = mkdtempSync(join(tmpdir(), `paceline-store-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const state = {
  version: 1 as const,
  doc: { epoch: 3, config: {}, quarantine: { b: 'fenced' } },
  failures: [{ resource: 'web', count: 2 }],
  lastBoot: 5,
  running: true,
};

test('state round-trips atomically, owner-only, leaving no temporary files', async () => {
  expect(await loadState(dir)).toBeUndefined();
  await saveState(dir, state);
  const back = await loadState(dir);
  expect(back).toMatchObject({ doc: { epoch: 3, quarantine: { b: 'fenced' } }, failures: [{ resource: 'web', count: 2 }], running: true });
  expect(statSync(join(dir, STATE_FILE)).mode & 0o777).toBe(0o600);
  expect(readdirSync(dir)).toEqual([STATE_FILE]);
});

test('the writer keeps the newest state', async () => {
  const w = new StateWriter(dir, (e) => {
    throw e;
  });
  for (let i = 0; i < 10; i++) void w.save({ ...state, lastBoot: i });
  await w.flush();
  expect((await loadState(dir))!.lastBoot).toBe(9);
});

test('a corrupt state file is reported with its path', async () => {
  writeFileSync(join(dir, STATE_FILE), '{"version":1');
  await expect(loadState(dir)).rejects.toThrow(/state\.json is not valid JSON/);
  writeFileSync(join(dir, STATE_FILE), '{"version":2}');
  await expect(loadState(dir)).rejects.toThrow(/state\.json: version/);
});

test('the newest incarnation of each peer is kept; files written before that field load with none', async () => {
  await saveState(dir, { ...state, peerBoots: { b: 1_795_000_000_000 } });
  expect((await loadState(dir))!.peerBoots).toEqual({ b: 1_795_000_000_000 });
  writeFileSync(join(dir, STATE_FILE), JSON.stringify(state));
  expect((await loadState(dir))!.peerBoots).toEqual({});
  writeFileSync(join(dir, STATE_FILE), JSON.stringify({ ...state, peerBoots: { b: -1 } }));
  await expect(loadState(dir)).rejects.toThrow(/state\.json: peerBoots\.b: /);
});
