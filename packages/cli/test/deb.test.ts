/**
 * The Debian package, built by scripts/build-deb.sh and installed for real with dpkg: files and
 * modes in place, the unit verifies, the postinst creates the cluster key only if it is missing (a
 * reinstall keeps it), the installed `paceline daemon` starts and tells systemd's socket it is
 * ready, and a purge takes it all away. Needs root, dpkg and a machine without Paceline installed
 * (it refuses to touch an existing installation; empty /etc/paceline or /var/lib/paceline are put
 * back after the purge); skipped with the reason otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePorts, twoNodeConfig, waitFor } from '../../daemon/test/helpers.js';

const repo = process.cwd();
const DIRS = ['/etc/paceline', '/var/lib/paceline'];
const sh = (cmd: string, args: readonly string[], timeout = 120_000): { code: number | null; out: string } => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
};
const why = ((): string | undefined => {
  if (process.getuid?.() !== 0) return 'not root';
  if (sh('dpkg-deb', ['--version']).code !== 0) return 'no dpkg-deb';
  if (!existsSync(join(repo, 'packages/cli/dist/main.js'))) return 'the CLI is not built (npm run build)';
  if (sh('dpkg', ['-s', 'paceline']).code === 0) return 'a paceline package is installed on this machine already';
  if (existsSync('/usr/bin/paceline')) return '/usr/bin/paceline exists already';
  for (const d of DIRS) if (existsSync(d) && readdirSync(d).length > 0) return `${d} exists and is not empty`;
  return undefined;
})();
/** Empty directories that were there before (someone made them): put back after the purge. */
const preexisting = DIRS.filter((d) => existsSync(d)).map((d) => ({ d, mode: statSync(d).mode & 0o7777 }));
if (why !== undefined) process.stderr.write(`skipping the Debian package test: ${why}\n`);
const maybe = why === undefined ? test : test.skip;

const root = mkdtempSync(join(tmpdir(), `paceline-deb-${process.pid}-`));
let installed = false;
let child: ChildProcess | undefined;
afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  if (installed) sh('dpkg', ['--purge', 'paceline']);
  for (const { d, mode: m } of preexisting) if (!existsSync(d)) mkdirSync(d, { recursive: true, mode: m });
  rmSync(root, { recursive: true, force: true });
});

const mode = (p: string): string => (statSync(p).mode & 0o7777).toString(8);

maybe(
  'build, install, check, start, reinstall, purge',
  async () => {
    const built = sh('bash', [join(repo, 'scripts/build-deb.sh'), join(root, 'out')], 600_000);
    expect(built.code).toBe(0);
    const deb = built.out.trim().split('\n').pop()!;
    expect(deb).toMatch(/paceline_\d+\.\d+\.\d+_[a-z0-9]+\.deb$/);
    const list = sh('dpkg-deb', ['-c', deb]).out;
    for (const p of [
      './usr/bin/paceline -> ../lib/paceline/packages/cli/dist/main.js',
      './lib/systemd/system/paceline.service',
      './etc/default/paceline',
      './usr/share/doc/paceline/operations.md',
      'unix_dgram.node',
      'packages/observe/static/app.js',
    ])
      expect(list).toContain(p);
    expect(list).toMatch(/^drwx------ root\/root .* \.\/etc\/paceline\/$/m);
    expect(list).not.toContain('./etc/paceline/authkey'); // made on the machine, never shipped

    const inst = sh('dpkg', ['-i', deb]);
    installed = true;
    expect(inst.code).toBe(0);
    expect(inst.out).toContain('created the cluster key /etc/paceline/authkey');
    // Files, directories, modes.
    expect(mode('/etc/paceline')).toBe('700');
    expect(mode('/var/lib/paceline')).toBe('700');
    expect(mode('/etc/paceline/authkey')).toBe('600');
    expect(readFileSync('/etc/paceline/authkey').length).toBeGreaterThanOrEqual(32);
    expect(existsSync('/etc/paceline/cluster.yaml.example')).toBe(true);
    expect(sh('/usr/bin/paceline', ['config', 'validate', '/etc/paceline/cluster.yaml.example']).out).toContain('valid');
    expect(sh('/usr/bin/paceline', ['--help']).out).toContain('report');
    if (sh('systemd-analyze', ['--version']).code === 0) {
      const v = sh('systemd-analyze', ['verify', '/lib/systemd/system/paceline.service']);
      expect(v.out.split('\n').filter((l) => l.includes('paceline.service'))).toEqual([]);
      expect(v.code).toBe(0);
    }

    // The key is made only when missing: a reinstall (the upgrade path) and a reconfigure keep it.
    const key = readFileSync('/etc/paceline/authkey');
    expect(sh('dpkg', ['-i', deb]).code).toBe(0);
    expect(sh('/var/lib/dpkg/info/paceline.postinst', ['configure', '0.1.0']).code).toBe(0);
    expect(readFileSync('/etc/paceline/authkey').equals(key)).toBe(true);

    // The installed daemon starts (a one-node cluster on loopback) and tells systemd it is ready.
    interface Sock {
      bind(p: string): void;
      close(): void;
    }
    const dgram = createRequire(import.meta.url)('unix-dgram') as { createSocket(t: 'unix_dgram', cb: (b: Buffer) => void): Sock };
    const got: string[] = [];
    const notify = join(root, 'notify.sock');
    const sock = dgram.createSocket('unix_dgram', (b) => got.push(b.toString()));
    sock.bind(notify);
    try {
      const base = await freePorts(2);
      writeFileSync(
        join(root, 'cluster.yaml'),
        stringify(twoNodeConfig(base, { nodes: [{ name: 'solo', addresses: { lan: `127.0.0.1:${base}` } }], constraints: [] })),
      );
      child = spawn(
        '/usr/bin/paceline',
        ['daemon', '--config', join(root, 'cluster.yaml'), '--node', 'solo', '--state-dir', join(root, 'state'), '--key', '/etc/paceline/authkey'],
        {
          stdio: 'ignore',
          env: { ...process.env, NOTIFY_SOCKET: notify },
        },
      );
      await waitFor('READY=1 from the installed daemon', () => got.some((m) => m.includes('READY=1')), 60_000);
      const st = sh('/usr/bin/paceline', ['status', '--state-dir', join(root, 'state')]);
      expect(st.out).toContain('solo');
      child.kill('SIGTERM');
      await new Promise((r) => (child!.exitCode !== null ? r(undefined) : child!.once('exit', r)));
    } finally {
      sock.close();
    }

    // Purge: the key, the state and the program are gone.
    expect(sh('dpkg', ['--purge', 'paceline']).code).toBe(0);
    installed = false;
    for (const p of ['/etc/paceline/authkey', '/var/lib/paceline', '/usr/bin/paceline', '/lib/systemd/system/paceline.service', '/usr/lib/paceline'])
      expect(existsSync(p)).toBe(false);
  },
  900_000,
);
