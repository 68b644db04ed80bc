/**
 * `paceline daemon` as an OS process (the built CLI; skipped with a reason when it is not built):
 * it survives its log pipe closing (issue 16, item 6).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { controlRequest, loadState } from '@paceline/daemon';
import { generateKey } from '@paceline/runtime';
import { createSocket } from 'node:dgram';

const cli = join(process.cwd(), 'packages/cli/dist/main.js');
const built = existsSync(cli);
if (!built) process.stderr.write(`skipping the daemon process tests: ${cli} is not built (run npm run build)\n`);
const maybe = built ? test : test.skip;

const root = mkdtempSync(join(tmpdir(), `paceline-daemon-cli-${process.pid}-`));
const procs: ChildProcess[] = [];
afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

/** A free UDP port pair base, base+1 on 127.0.0.1. */
async function freePort(): Promise<number> {
  for (;;) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    const ok = await Promise.all(
      [base, base + 1].map(
        (p) =>
          new Promise<boolean>((resolve) => {
            const s = createSocket('udp4');
            s.once('error', () => {
              s.close();
              resolve(false);
            });
            s.bind(p, '127.0.0.1', () => s.close(() => resolve(true)));
          }),
      ),
    );
    if (ok.every(Boolean)) return base;
  }
}

const exited = (c: ChildProcess): Promise<number | null> =>
  c.exitCode !== null || c.signalCode !== null ? Promise.resolve(c.exitCode) : new Promise((r) => c.once('exit', (code) => r(code)));

maybe(
  'the daemon keeps running when its log pipe closes, and stops cleanly later (item 6)',
  async () => {
    const port = await freePort();
    const config = join(root, 'one.yaml');
    writeFileSync(
      config,
      stringify({
        properties: { clusterName: 'pipe', stonithEnabled: false, noQuorumPolicy: 'ignore' },
        nodes: [{ name: 'serv1', addresses: { lan: `127.0.0.1:${port}` } }],
        resources: [],
      }),
    );
    await generateKey(join(root, 'key'));
    const stateDir = join(root, 'serv1');
    const child = spawn(
      process.execPath,
      [cli, 'daemon', '--config', config, '--node', 'serv1', '--state-dir', stateDir, '--key', join(root, 'key'), '--log-level', 'debug'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    procs.push(child);
    // Read until it runs, then close both pipes as `| head -2` does.
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += String(c);
        if (out.includes('running')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the daemon exited with ${code} before it ran`)));
    });
    child.stdout!.destroy();
    child.stderr!.destroy();
    // Make it log (and write to the closed pipes) a few times.
    for (const on of [true, false, true, false]) {
      const r = await controlRequest(stateDir, { cmd: 'update', request: { op: 'standby', node: 'serv1', on } }, 10_000);
      expect(r.ok).toBe(true);
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(child.exitCode).toBeNull();
    const status = await controlRequest(stateDir, { cmd: 'status' }, 10_000);
    expect(status.ok).toBe(true);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    expect((await loadState(stateDir))?.running).toBe(false);
  },
  60_000,
);
