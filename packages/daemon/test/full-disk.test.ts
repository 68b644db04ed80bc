/**
 * Issue 16 ("Hardening"), item 3: an acknowledged change must survive a power loss. Each node's state
 * directory is a tiny tmpfs of its own (needs root to mount; skipped with the reason otherwise);
 * filling one makes `config apply` answer an error naming ENOSPC instead of "configuration replaced",
 * leaves no temporary file behind, and once the space is back the change is saved and later changes
 * are answered ok. Two in-process daemons over real UDP on 127.0.0.1, with the dummy agent.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { AgentRegistry } from '@paceline/agent-api';
import { dummyAgents } from '@paceline/agent-dummy';
import { ExecaCommandRunner, createLogger, systemClock } from '@paceline/runtime';
import { Daemon, loadState, systemTimers } from '@paceline/daemon';
import { freePorts, twoNodeConfig, waitFor } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), `paceline-full-disk-${process.pid}-`));
const key = randomBytes(32);
const daemons: Daemon[] = [];
const logger = createLogger({
  stream: new Writable({
    write(c, _e, cb) {
      if (process.env['HA_DEBUG']) process.stderr.write(String(c));
      cb();
    },
  }),
  level: 'info',
});
const mounts: string[] = [];

function mountTiny(dir: string): string | undefined {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) return `cannot mount a tmpfs (${(r.stderr || r.error?.message || '').trim()})`;
  mounts.push(dir);
  return undefined;
}

afterAll(async () => {
  for (const d of daemons) await d.dispose().catch(() => undefined);
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  rmSync(root, { recursive: true, force: true });
});

/**
 * Fills the file system holding `dir` (a filler file, written until ENOSPC), twice: a state write
 * under way during the first fill frees a page when its rename replaces the old file.
 */
async function fill(dir: string): Promise<void> {
  for (let i = 0; i < 5; i++) {
    fillOnce(dir);
    await new Promise((r) => setTimeout(r, 300));
  }
  fillOnce(dir);
}

function fillOnce(dir: string): void {
  const chunk = Buffer.alloc(4096, 1);
  const path = join(dir, 'filler');
  for (let i = 0; i < 100_000; i++) {
    try {
      writeFileSync(path, chunk, { flag: 'a' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOSPC') return;
      throw e;
    }
  }
  throw new Error(`${dir} did not fill up`);
}

const isRoot = process.getuid?.() === 0;
if (!isRoot) process.stderr.write('skipping the full-disk test: it needs root to mount a small tmpfs for each state directory\n');
(isRoot ? test : test.skip)(
  'a change is answered ok only once it is saved on the coordinator and the members; ENOSPC is an error (item 3)',
  async () => {
    const dirs = { serv1: join(root, 'serv1'), serv2: join(root, 'serv2') };
    for (const d of Object.values(dirs)) {
      const why = mountTiny(d);
      if (why !== undefined) {
        process.stderr.write(`skipping the full-disk test: ${why}\n`);
        return;
      }
    }
    // No resources: nothing else writes to the state directories while the test fills them.
    const config = twoNodeConfig(await freePorts(8), { resources: [], constraints: [] });
    const make = (node: 'serv1' | 'serv2'): Daemon => {
      const d = new Daemon({
        node,
        config,
        stateDir: dirs[node],
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
    };
    const s1 = make('serv1');
    const s2 = make('serv2');
    await Promise.all([s1.start(), s2.start()]);
    await waitFor('both members', () => s1.status().members.length === 2 && s2.status().members.length === 2 && s1.status().coordinator === 'serv1');
    const tmpFiles = (d: string): string[] => readdirSync(d).filter((f) => f.endsWith('.tmp'));

    // A member's disk is full: the coordinator saved the change, the member could not.
    await fill(dirs.serv2);
    const onMember = await s1.update({ op: 'standby', node: 'serv2', on: true }, 30_000);
    expect(onMember).toMatchObject({ ok: false, message: expect.stringMatching(/serv2 is in standby.* is in effect, but serv2 could not save it \(.*ENOSPC/) });
    rmSync(join(dirs.serv2, 'filler'));
    const epoch = s1.document().epoch;
    await waitFor('serv2 saved it once the space was back', async () => (await loadState(dirs.serv2))?.doc.epoch === epoch, 20_000);
    // Every failed write removed its temporary file (a retry may be under way for an instant).
    await waitFor('no temporary file left on serv2', () => tmpFiles(dirs.serv2).length === 0);

    // The coordinator's disk is full.
    await fill(dirs.serv1);
    const onCoordinator = await s2.update({ op: 'standby', node: 'serv2', on: false }, 30_000);
    expect(onCoordinator).toMatchObject({
      ok: false,
      message: expect.stringMatching(/serv2 is online.* is in effect, but serv1 could not save it \(.*ENOSPC/),
    });
    rmSync(join(dirs.serv1, 'filler'));
    await waitFor('no temporary file left on serv1', () => tmpFiles(dirs.serv1).length === 0);

    // With room on both, a change is answered ok, and it is on both disks.
    const ok = await s2.update({ op: 'standby', node: 'serv1', on: true }, 30_000);
    expect(ok).toMatchObject({ ok: true });
    const last = s1.document().epoch;
    expect((await loadState(dirs.serv1))?.doc.epoch).toBe(last);
    expect((await loadState(dirs.serv2))?.doc.epoch).toBe(last);
  },
  120_000,
);
