/**
 * Issue 16 ("Hardening"), the state directory and the persisted document: a second daemon on the
 * same state directory touches nothing (item 8); a state directory others could write is refused and
 * nothing planted in it redirects a write (item 11); an epoch near 2^53 cannot freeze later changes
 * (item 7); an invalid saved document names state.json (item 18). In-process daemons over real UDP
 * on 127.0.0.1, with the dummy agent.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentRegistry } from '@paceline/agent-api';
import { dummyAgents } from '@paceline/agent-dummy';
import { ExecaCommandRunner, createLogger, systemClock } from '@paceline/runtime';
import { Daemon, STATE_FILE, loadState, systemTimers } from '@paceline/daemon';
import { saveState } from '../src/store.js';
import { Writable } from 'node:stream';
import { freePorts, twoNodeConfig, waitFor, testbed } from './helpers.js';

const { root, key, daemons } = testbed('state-hardening');
const logLines: string[] = [];
const logger = createLogger({
  stream: new Writable({
    write(chunk, _e, cb) {
      logLines.push(String(chunk));
      cb();
    },
  }),
  level: 'debug',
});

/** One node alone: quorate by itself, coordinator of its own changes. */
function oneNode(base: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const c = twoNodeConfig(base, extra);
  return { ...c, nodes: (c['nodes'] as unknown[]).slice(0, 1) };
}

function make(node: string, config: Record<string, unknown>, stateDir: string): Daemon {
  const d = new Daemon({
    node,
    config,
    stateDir,
    key,
    agents: new AgentRegistry([...dummyAgents]),
    runner: new ExecaCommandRunner(),
    clock: systemClock,
    timers: systemTimers,
    logger,
    shutdownTimeoutMs: 5000,
  });
  daemons.push(d);
  return d;
}

test('a second daemon on the same state directory is refused before it touches state.json (item 8)', async () => {
  const dir = join(root, 'locked');
  const config = oneNode(await freePorts(8), { resources: [], constraints: [] });
  const first = make('serv1', config, dir);
  await first.start();
  expect(await first.update({ op: 'standby', node: 'serv1', on: false }, 30_000)).toMatchObject({ ok: true }); // something to persist
  await waitFor('epoch 1 persisted', async () => (await loadState(dir))?.doc.epoch === 1);
  const before = readFileSync(join(dir, STATE_FILE), 'utf8');

  const second = make('serv1', config, dir);
  await expect(second.start()).rejects.toMatchObject({ code: 'STATE_LOCKED', message: expect.stringContaining(`pid ${process.pid}`) });
  expect(readFileSync(join(dir, STATE_FILE), 'utf8')).toBe(before);
  expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

  // Once the first stops, the directory is free again; a lock left by a dead process (kill -9) is stale.
  await first.dispose();
  expect(existsSync(join(dir, 'daemon.lock'))).toBe(false);
  writeFileSync(join(dir, 'daemon.lock'), '2147483646\n', { mode: 0o600 }); // no such process
  const third = make('serv1', config, dir);
  await third.start();
  expect(readFileSync(join(dir, 'daemon.lock'), 'utf8').trim()).toBe(String(process.pid));
  await third.dispose();
}, 60_000);

test('a state directory that group or others may write is refused, naming it and the fix (item 11)', async () => {
  const dir = join(root, 'loose');
  mkdirSync(dir, { mode: 0o700 });
  chmodSync(dir, 0o777);
  const d = make('serv1', oneNode(await freePorts(8)), dir);
  await expect(d.start()).rejects.toMatchObject({ code: 'STATE_INSECURE', message: expect.stringMatching(/loose has mode 0777.*chmod 700/) });
  expect(readdirSync(dir)).toEqual([]);
});

const asRoot = process.getuid?.() === 0 ? test : test.skip;
if (process.getuid?.() !== 0) process.stderr.write('skipping the state-directory owner test: it needs root to chown a directory to another user\n');
asRoot('a state directory owned by another user is refused (item 11)', async () => {
  const dir = join(root, 'foreign');
  mkdirSync(dir, { mode: 0o700 });
  chownSync(dir, 65534, 65534);
  const d = make('serv1', oneNode(await freePorts(8)), dir);
  await expect(d.start()).rejects.toMatchObject({ code: 'STATE_INSECURE', message: expect.stringContaining('owned by uid 65534') });
});

test('a symbolic link planted where the temporary state file goes is never written through (item 11)', async () => {
  const dir = join(root, 'planted');
  mkdirSync(dir, { mode: 0o700 });
  const victim = join(root, 'victim');
  writeFileSync(victim, 'precious\n');
  // The names a predictable writer would use next, each a link to the victim.
  for (let i = 1; i <= 200; i++) symlinkSync(victim, join(dir, `.${STATE_FILE}.${process.pid}.${i}.tmp`));
  await saveState(dir, { version: 1, doc: { epoch: 1, config: {}, quarantine: {} }, lastBoot: 1, running: false });
  expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  expect((await loadState(dir))?.doc.epoch).toBe(1);
});

test('an epoch near 2^53 is refused; later changes still work (item 7)', async () => {
  const dir = join(root, 'epoch');
  const config = oneNode(await freePorts(8));
  const d = make('serv1', config, dir);
  await d.start();
  await waitFor('serv1 may run', () => d.status().mayRun);
  const huge = await d.update({ op: 'replace', config: { ...config, epoch: Number.MAX_SAFE_INTEGER }, epoch: Number.MAX_SAFE_INTEGER }, 30_000);
  expect(huge).toMatchObject({ ok: false, message: expect.stringMatching(/epoch: at most \d+/) });
  const ban = await d.update({ op: 'standby', node: 'serv1', on: true }, 30_000);
  expect(ban).toMatchObject({ ok: true, message: expect.stringContaining('in standby') });
  await d.dispose();
}, 60_000);

test('an invalid saved document names state.json and what to do (item 18)', async () => {
  const dir = join(root, 'invalid');
  mkdirSync(dir, { mode: 0o700 });
  const config = oneNode(await freePorts(8));
  await saveState(dir, {
    version: 1,
    lastBoot: 1,
    running: false,
    doc: { epoch: 5, quarantine: {}, config: { ...config, resources: [{ type: 'primitive', id: 'web', agent: 'paceline:dummy', bogus: 1 }] } },
  });
  const d = make('serv1', config, dir);
  await expect(d.start()).rejects.toMatchObject({
    message: expect.stringMatching(new RegExp(`${STATE_FILE}: the saved configuration is invalid: .*bogus.*move .*${STATE_FILE} away`, 's')),
  });
});
