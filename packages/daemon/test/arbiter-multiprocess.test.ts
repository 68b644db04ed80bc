/**
 * The witness arbiter for real: a `paceline witness` process and two `paceline daemon` processes
 * with `--arbiter` on 127.0.0.1 (ephemeral ports, a temporary directory, dummy agents). serv1, the
 * active node, hangs (SIGSTOP: silence, no "port unreachable", so a fence race would be possible);
 * serv2 asks the witness for the vote, gets it, fences serv1 at once (the fence hook kills the
 * stopped process) and takes web over. Needs the built CLI; skipped with a reason otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { controlRequest, type DaemonStatus } from '@paceline/daemon';
import { generateKey } from '@paceline/runtime';
import { freePorts, twoNodeConfig, waitFor } from './helpers.js';

const cli = join(process.cwd(), 'packages/cli/dist/main.js');
const built = existsSync(cli);
if (!built) process.stderr.write(`skipping the witness multi-process test: ${cli} is not built (run npm run build)\n`);
const maybe = built ? test : test.skip;

const root = mkdtempSync(join(tmpdir(), `paceline-arbiter-mp-${process.pid}-`));
const procs = new Map<string, ChildProcess>();

function start(name: string, args: string[]): ChildProcess {
  const log = openSync(join(root, `${name}.log`), 'a');
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', log, log] });
  closeSync(log);
  procs.set(name, child);
  if (child.pid !== undefined) writeFileSync(join(root, `${name}.pid`), String(child.pid));
  return child;
}
const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
const status = async (node: string): Promise<DaemonStatus> => (await controlRequest(join(root, node), { cmd: 'status' }, 5000)).data as DaemonStatus;
const where = (s: DaemonStatus, rsc: string): string | undefined => s.resources.find((r) => r.resource === rsc && r.role !== 'Stopped')?.node ?? undefined;

afterAll(async () => {
  for (const c of procs.values()) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all([...procs.values()].map(exited));
  rmSync(root, { recursive: true, force: true });
});

maybe(
  'a hung active node: the survivor wins the vote, fences at once, takes over',
  async () => {
    const base = await freePorts(10);
    const witnessAt = `127.0.0.1:${base + 8}`;
    writeFileSync(join(root, 'cluster.yaml'), stringify(twoNodeConfig(base)));
    await generateKey(join(root, 'key'));
    // The fence hook: records who fences whom, then powers the target off (kills its process).
    const hook = join(root, 'fence.sh');
    writeFileSync(hook, `#!/bin/sh\necho "$1" >> "${join(root, 'fenced')}"\nkill -9 "$(cat "${root}/$1.pid")"\n`);
    chmodSync(hook, 0o755);
    const daemon = (node: string): ChildProcess =>
      start(node, [
        'daemon',
        '--config',
        join(root, 'cluster.yaml'),
        '--node',
        node,
        '--state-dir',
        join(root, node),
        '--key',
        join(root, 'key'),
        '--fence-command',
        hook,
        '--arbiter',
        witnessAt,
        '--log-level',
        'debug',
      ]);
    try {
      start('witness', [
        'witness',
        '--listen',
        witnessAt,
        '--config',
        join(root, 'cluster.yaml'),
        '--key',
        join(root, 'key'),
        '--lease-ms',
        '1000',
        '--max-skew-ms',
        '500',
      ]);
      daemon('serv1');
      daemon('serv2');
      await waitFor('web on serv1, both nodes may run', async () => {
        const [s1, s2] = [await status('serv1'), await status('serv2')];
        return where(s2, 'web') === 'serv1' && s1.mayRun && s2.mayRun;
      });
      // The witness grants nothing for its first 2 s (lease 1 s + 2 × skew 0.5 s).
      await waitFor('the witness past its startup hold', () => /grants from 2000 ms/.test(readFileSync(join(root, 'witness.log'), 'utf8')));
      await new Promise((r) => setTimeout(r, 2000));

      // Before: nobody asked for the vote.
      expect(readFileSync(join(root, 'witness.log'), 'utf8')).not.toMatch(/the vote/);
      const t0 = Date.now();
      procs.get('serv1')!.kill('SIGSTOP');
      await waitFor('web on serv2', async () => where(await status('serv2'), 'web') === 'serv2', 20_000);
      process.stderr.write(`witness arbiter, hung active node: web on serv2 after ${Date.now() - t0} ms (detection ~0.3 s, the vote, the fence hook, start)\n`);
      await exited(procs.get('serv1')!);
      expect(readFileSync(join(root, 'fenced'), 'utf8')).toBe('serv1\n');
      // Fenced, serv1 is accounted for: serv2 gives the vote back.
      const witnessLog = await waitFor('serv2 gave the vote back', () => {
        const text = readFileSync(join(root, 'witness.log'), 'utf8');
        return /serv2 \(incarnation \d+\) gave the vote back/.test(text) && text;
      });
      expect(witnessLog).toMatch(/granted the vote to serv2 \(incarnation \d+\)/);
      expect(witnessLog).not.toMatch(/granted the vote to serv1/);
      expect(witnessLog).not.toMatch(/dropped a request/);
      expect(readFileSync(join(root, 'serv2.log'), 'utf8')).toMatch(/holds the arbiter's vote/);
    } catch (e) {
      for (const n of ['witness', 'serv1', 'serv2']) {
        const path = join(root, `${n}.log`);
        if (existsSync(path))
          process.stderr.write(
            `---- ${n}.log (tail)\n${readFileSync(path, 'utf8')
              .split('\n')
              .filter((l) => !l.includes('packet dropped'))
              .slice(-60)
              .join('\n')}\n`,
          );
      }
      throw e;
    }
  },
  60_000,
);
