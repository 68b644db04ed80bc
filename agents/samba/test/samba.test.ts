/**
 * paceline:samba with the real smbd, in a network namespace this test creates (two addresses on
 * its loopback): start lists the share; the monitor lists it anonymously and as a user, and a
 * wrong password fails; SIGSTOP of smbd's group is a hang reported within the check timeout;
 * kill -9 is "not running" and stop then leaves nothing (samba-dcerpcd included); a broken config
 * fails start as misconfigured with testparm's message; a probe finds an smbd started by hand and
 * stop stops it; two instances side by side, or in two namespaces, do not collide; ocf-tester
 * passes on the exported agent. Skipped, with the reason printed, when not root or Samba is not
 * installed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { validateParams } from '@paceline/agent-api';
import { listingVerdict, overlayText, sambaAgent, type ListingTarget } from '@paceline/agent-samba';
import { ServiceLab, serviceSkipReason } from '../../../packages/ocf/test/helpers/service-lab.js';

const A = '10.231.78.1';
const B = '10.231.78.2';

describe('samba parameters', () => {
  it.each([
    [{ share: 'data' }, 'address'],
    [{ address: '10.0.0.1' }, 'share'],
    [{ address: 'fileserver', share: 'data' }, 'address'],
    [{ address: '10.0.0.1', share: 'da/ta' }, 'share'],
    [{ address: '10.0.0.1', share: 'data', config: 'smb.conf' }, 'config'],
    [{ address: '10.0.0.1', share: 'data', lockDirectory: 'run/lock' }, 'lockDirectory'],
    [{ address: '10.0.0.1', share: 'data', port: 0 }, 'port'],
    [{ address: '10.0.0.1', share: 'data', sharename: 'x' }, 'sharename'],
  ])('rejects %j naming %s', (raw, param) => {
    const r = validateParams(sambaAgent, raw, 'smb');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(param);
  });
  it('fills defaults', () => {
    const r = validateParams(sambaAgent, { address: '10.0.0.1', share: 'data' }, 'smb');
    expect(r.ok && r.params).toMatchObject({ config: '/etc/samba/smb.conf', port: 445, checkTimeoutMs: 10_000, stopTimeoutMs: 10_000 });
  });
  it('the overlay includes the config, then binds the address and port and sets only the directories given', () => {
    const r = validateParams(sambaAgent, { address: '10.0.0.1', share: 'data', port: 4450, lockDirectory: '/run/smb-a/lock' }, 'smb');
    if (!r.ok) throw new Error(r.message);
    const text = overlayText(r.params);
    expect(text).toContain('include = /etc/samba/smb.conf\n[global]\n  interfaces = 10.0.0.1\n  bind interfaces only = yes\n  smb ports = 4450\n');
    expect(text).toContain('  lock directory = /run/smb-a/lock\n');
    expect(text).not.toContain('pid directory');
  });
});

describe('samba share listing verdicts', () => {
  const t: ListingTarget = { address: '10.0.0.1', port: 445, share: 'data', config: '/x/smb.conf' };
  const r = (o: Partial<{ exitCode: number | null; stdout: string; stderr: string; timedOut: boolean; notFound: boolean }>) => ({
    exitCode: 0,
    stdout: '',
    stderr: '',
    timedOut: false,
    notFound: false,
    ...o,
  });
  it.each([
    [r({ stdout: 'Disk|data|\nIPC|IPC$|IPC Service\n' }), 'ok', 'share "data" listed'],
    [r({ stdout: 'Disk|DATA|\n' }), 'ok', 'listed'],
    [r({ stdout: 'Disk|other|\n' }), 'failed', 'share "data" not listed (disk shares: other)'],
    [
      r({ exitCode: 1, stdout: 'do_connect: Connection to 10.0.0.1 failed (Error NT_STATUS_CONNECTION_REFUSED)\n' }),
      'not-running',
      'NT_STATUS_CONNECTION_REFUSED',
    ],
    [r({ exitCode: 1, stderr: 'session setup failed: NT_STATUS_LOGON_FAILURE\n' }), 'failed', 'session setup failed: NT_STATUS_LOGON_FAILURE'],
    [r({ exitCode: null, timedOut: true }), 'hung', 'no answer within 3000 ms'],
    [r({ exitCode: 1, stderr: 'protocol negotiation failed: NT_STATUS_IO_TIMEOUT\n' }), 'hung', 'NT_STATUS_IO_TIMEOUT'],
    [r({ exitCode: null, notFound: true }), 'failed', 'smbclient is not installed'],
  ])('%j → %s', (result, verdict, saw) => {
    const v = listingVerdict(t, result, 3000);
    expect(v.verdict).toBe(verdict);
    expect(v.saw).toContain(saw);
    expect(v.saw).toMatch(/^share listing on 10\.0\.0\.1:445: /);
  });
});

/** A standalone server config for one instance: every directory of its own under `dir`. */
function sambaConfig(dir: string, opts: { dirs?: boolean; extra?: string } = {}): string {
  const share = join(dir, 'share');
  mkdirSync(share, { recursive: true });
  writeFileSync(join(share, 'hello.txt'), 'hello\n');
  const dirs =
    opts.dirs === false
      ? []
      : [
          `pid directory = ${dir}/pid`,
          `lock directory = ${dir}/lock`,
          `state directory = ${dir}/lib`,
          `cache directory = ${dir}/cache`,
          `private dir = ${dir}/private`,
          `ncalrpc dir = ${dir}/ncalrpc`,
          `passdb backend = tdbsam:${dir}/private/passdb.tdb`,
        ];
  for (const d of ['lib', 'cache', 'private']) mkdirSync(join(dir, d), { recursive: true });
  const file = join(dir, 'smb.conf');
  writeFileSync(
    file,
    [
      '[global]',
      '  server role = standalone server',
      '  disable netbios = yes',
      '  map to guest = never',
      `  log file = ${dir}/log.%m`,
      ...dirs.map((l) => `  ${l}`),
      opts.extra ?? '',
      '[data]',
      `  path = ${share}`,
      '  read only = no',
      '',
    ].join('\n'),
  );
  return file;
}

describe('paceline:samba with the real smbd', () => {
  const skip = serviceSkipReason('samba', ['smbd', 'testparm', 'smbclient', 'pdbedit']);
  if (skip) {
    it(`is skipped: ${skip}`, () => {
      console.log(`skipping samba tests: ${skip}`);
    });
    return;
  }
  const lab = new ServiceLab('smb');
  let ns: string;
  let work: string;
  const act = (action: Parameters<ServiceLab['act']>[3], params: Record<string, unknown>, stateDir: string, timeoutMs = 60_000) =>
    lab.act(ns, 'samba', 'sambaAgent', action, params, { stateDir, timeoutMs });
  const listening = (addr: string, port: number): boolean => lab.run(ns, 'ss', ['-Htln', `src ${addr}:${port}`]).stdout.trim() !== '';
  const names = (): string[] =>
    lab
      .processes(ns)
      .map((p) => p.comm)
      .sort();

  beforeAll(() => {
    ns = lab.ns('n', [`${A}/32`, `${B}/32`]);
    work = lab.dir('samba');
  });
  afterAll(() => lab.cleanup());

  it('start lists the share; monitor as a user; a wrong password fails; SIGSTOP is a hang; kill -9 is not running; stop leaves nothing', async () => {
    const dir = join(work, 'main');
    const config = sambaConfig(dir);
    const add = spawnSync('pdbedit', ['-s', config, '-a', '-u', 'nobody', '-t'], { input: 'Pw-4-test\nPw-4-test\n', encoding: 'utf8' });
    expect(add.status).toBe(0);
    const auth = join(dir, 'auth');
    writeFileSync(auth, 'username = nobody\npassword = Pw-4-test\n', { mode: 0o600 });
    const wrong = join(dir, 'wrong');
    writeFileSync(wrong, 'username = nobody\npassword = not-it\n', { mode: 0o600 });
    const state = join(dir, 'state');
    const params = { config, address: A, share: 'data', checkTimeoutMs: 3000, stopTimeoutMs: 5000 };

    expect(await act('monitor', params, state)).toMatchObject({ outcome: 'not-running' });
    const started = await act('start', params, state);
    expect(started).toMatchObject({ execution: 'done', outcome: 'ok' });
    console.log(`paceline:samba start took ${started.durationMs} ms (load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})`);
    expect(listening(A, 445)).toBe(true);
    expect(listening(B, 445)).toBe(false); // bound to the one address
    const get = lab.run(ns, 'smbclient', [`//${A}/data`, '-s', join(state, 'smb.conf'), '-A', auth, '-c', 'get hello.txt -']);
    expect(get.stdout).toContain('hello');
    const first = await act('monitor', params, state);
    expect(first).toEqual({ execution: 'done', outcome: 'ok', durationMs: expect.any(Number) });
    expect(await act('monitor', { ...params, authFile: auth }, state)).toMatchObject({ outcome: 'ok' });
    const denied = await act('monitor', { ...params, authFile: wrong }, state);
    expect(denied).toMatchObject({ outcome: 'generic-error' });
    expect(denied.reason).toContain('NT_STATUS_LOGON_FAILURE');
    const missing = await act('monitor', { ...params, share: 'nosuch' }, state);
    expect(missing.reason).toContain('share "nosuch" not listed (disk shares: data)');

    const pid = ServiceLab.recordedPid(state);
    process.kill(-pid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      const hung = await act('monitor', params, state);
      expect(hung).toMatchObject({ outcome: 'generic-error' });
      expect(hung.reason).toBe(`hung: share listing on ${A}:445: no answer within 3000 ms`);
      expect(Date.now() - t0).toBeLessThan(15_000); // 3 s check + the driver's start-up on a loaded machine
    } finally {
      process.kill(-pid, 'SIGCONT');
    }
    expect(await act('monitor', params, state)).toMatchObject({ outcome: 'ok' });

    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    const dead = await act('monitor', params, state);
    expect(dead).toMatchObject({ outcome: 'not-running' });
    expect(dead.reason).toContain(`process ${pid} (smbd) is gone`);
    expect(await act('stop', params, state)).toMatchObject({ outcome: 'ok' });
    expect(listening(A, 445)).toBe(false);
    expect(names()).toEqual([]); // smbd's children and the samba-dcerpcd it started are gone too
    expect(await act('stop', params, state)).toMatchObject({ outcome: 'ok' });
    expect(await act('monitor', params, state)).toMatchObject({ outcome: 'not-running' });
  });

  it('repeated kill -9 of every smbd (after share listings, so samba-dcerpcd runs): monitor is not running and the recovery start succeeds each time', async () => {
    const dir = join(work, 'kill9');
    const params = { config: sambaConfig(dir), address: A, share: 'data', port: 4451, checkTimeoutMs: 5000, stopTimeoutMs: 5000 };
    const state = join(dir, 'state');
    expect(await act('start', params, state)).toMatchObject({ outcome: 'ok' });
    for (let round = 1; round <= 6; round++) {
      expect(await act('monitor', params, state)).toMatchObject({ outcome: 'ok' }); // a listing: samba-dcerpcd is up
      // A client session open while smbd is killed (the lab's clients are connected).
      const client = spawn('ip', ['netns', 'exec', ns, 'smbclient', `//${A}/data`, '-p', '4451', '-s', join(state, 'smb.conf'), '-N', '-c', 'ls; ls; ls'], {
        stdio: 'ignore',
      });
      await new Promise((r) => setTimeout(r, 100 * round));
      const helpers = lab
        .processes(ns)
        .filter((p) => p.comm === 'samba-dcerpcd')
        .map((p) => p.pid);
      expect(helpers.length).toBeGreaterThan(0);
      // Every smbd: the parent and its children (cleanupd, notifyd and client sessions rename their comm).
      const smbds = lab
        .processes(ns)
        .filter((p) => readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').startsWith('smbd\0'))
        .map((p) => p.pid);
      expect(smbds.length).toBeGreaterThan(0);
      for (const pid of smbds) process.kill(pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 300));
      expect(await act('monitor', params, state)).toMatchObject({ outcome: 'not-running' });
      // Odd rounds start at once: the dead smbd's samba-dcerpcd still runs (it left smbd's group);
      // even rounds stop first, as the executor's recovery does.
      if (round % 2 === 0) expect(await act('stop', params, state)).toMatchObject({ outcome: 'ok' });
      const again = await act('start', params, state);
      if (again.outcome !== 'ok') console.log(`round ${round}: ${again.reason}; processes: ${JSON.stringify(lab.processes(ns))}`);
      expect(again).toMatchObject({ outcome: 'ok' });
      client.kill('SIGKILL');
      // The dead smbd's samba-dcerpcd (outside its group) did not outlive the recovery start.
      expect(
        lab
          .processes(ns)
          .map((p) => p.pid)
          .filter((pid) => helpers.includes(pid)),
      ).toEqual([]);
    }
    expect(await act('stop', params, state)).toMatchObject({ outcome: 'ok' });
    expect(names()).toEqual([]);
  });

  it("a broken config, or one without the share, fails start as misconfigured with testparm's message, and starts nothing", async () => {
    const dir = join(work, 'broken');
    const config = sambaConfig(dir, { extra: '  server role = no such role' });
    const r = await act('start', { config, address: A, share: 'data' }, join(dir, 'state'));
    expect(r).toMatchObject({ execution: 'done', outcome: 'misconfigured' });
    expect(r.reason).toMatch(new RegExp(`^testparm -s ${config}: .*Error loading services`));
    expect(r.reason).toContain('no such role');
    const noShare = await act('start', { config: sambaConfig(join(work, 'noshare')), address: A, share: 'nosuch' }, join(work, 'noshare', 'state'));
    expect(noShare).toMatchObject({ execution: 'done', outcome: 'misconfigured' });
    expect(noShare.reason).toMatch(/^testparm -s .*no share \[nosuch\] in the config$/);
    expect(names()).toEqual([]);
  });

  it('stop is verified after a share listing started samba-dcerpcd: the port is closed and no process is left', async () => {
    const dir = join(work, 'stop');
    const params = { config: sambaConfig(dir), address: B, share: 'data', port: 4450 };
    const state = join(dir, 'state');
    expect(await act('start', params, state)).toMatchObject({ outcome: 'ok' });
    expect(names()).toEqual(expect.arrayContaining(['samba-dcerpcd', 'smbd']));
    expect(await act('stop', params, state)).toMatchObject({ outcome: 'ok' });
    expect(listening(B, 4450)).toBe(false);
    expect(names()).toEqual([]);
  });

  it('a probe finds an smbd started by hand, and stop stops it', async () => {
    const dir = join(work, 'byhand');
    const config = sambaConfig(dir, { extra: `  interfaces = ${A}\n  bind interfaces only = yes` });
    expect(lab.run(ns, 'smbd', ['-D', '-s', config]).status).toBe(0);
    const params = { config, address: A, share: 'data' };
    const state = join(dir, 'state');
    let probe = await act('monitor', params, state);
    for (let i = 0; i < 20 && probe.outcome !== 'ok'; i++) {
      await new Promise((r) => setTimeout(r, 250)); // the hand-started smbd may still be binding
      probe = await act('monitor', params, state);
    }
    expect(probe).toMatchObject({ outcome: 'ok' });
    expect(probe.reason).toContain('started outside Paceline');
    expect(await act('monitor', params, state)).toMatchObject({ outcome: 'ok' });
    expect(await act('stop', params, state)).toEqual({ execution: 'done', outcome: 'ok', durationMs: expect.any(Number) });
    expect(listening(A, 445)).toBe(false);
    expect(names()).toEqual([]);
    expect(await act('monitor', params, join(dir, 'fresh'))).toMatchObject({ outcome: 'not-running' });
  });

  it('two instances side by side do not collide: one config, directories from the parameters', async () => {
    const dir = join(work, 'pair');
    const config = sambaConfig(dir, { dirs: false });
    const instance = (name: string, address: string) => ({
      config,
      address,
      share: 'data',
      pidDirectory: join(dir, name, 'pid'),
      lockDirectory: join(dir, name, 'lock'),
      stateDirectory: join(dir, name, 'lib'),
      cacheDirectory: join(dir, name, 'cache'),
      privateDir: join(dir, name, 'private'),
      ncalrpcDir: join(dir, name, 'ncalrpc'),
    });
    const p1 = instance('one', A);
    const p2 = instance('two', B);
    expect(await act('start', p1, join(dir, 'one', 'state'))).toEqual({ execution: 'done', outcome: 'ok', durationMs: expect.any(Number) });
    expect(await act('start', p2, join(dir, 'two', 'state'))).toMatchObject({ outcome: 'ok' });
    expect(await act('monitor', p1, join(dir, 'one', 'state'))).toMatchObject({ outcome: 'ok' });
    expect(await act('stop', p1, join(dir, 'one', 'state'))).toMatchObject({ outcome: 'ok' });
    expect(await act('monitor', p2, join(dir, 'two', 'state'))).toMatchObject({ outcome: 'ok' });
    expect(listening(B, 445)).toBe(true);
    expect(await act('stop', p2, join(dir, 'two', 'state'))).toMatchObject({ outcome: 'ok' });
    expect(names()).toEqual([]);
  });

  it('two namespaces (two nodes on one host) serve the same address from the same config, each with its own directories', async () => {
    const other = lab.ns('m', [`${A}/32`]);
    const dir = join(work, 'nodes');
    const config = sambaConfig(dir, { dirs: false });
    const node = (name: string) => ({
      config,
      address: A,
      share: 'data',
      pidDirectory: join(dir, name, 'pid'),
      lockDirectory: join(dir, name, 'lock'),
      stateDirectory: join(dir, name, 'lib'),
      cacheDirectory: join(dir, name, 'cache'),
      privateDir: join(dir, name, 'private'),
      ncalrpcDir: join(dir, name, 'ncalrpc'),
    });
    const inOther = (action: Parameters<ServiceLab['act']>[3], params: Record<string, unknown>, stateDir: string) =>
      lab.act(other, 'samba', 'sambaAgent', action, params, { stateDir, timeoutMs: 60_000 });
    expect(await act('start', node('one'), join(dir, 'one', 'state'))).toMatchObject({ outcome: 'ok' });
    expect(await inOther('start', node('two'), join(dir, 'two', 'state'))).toMatchObject({ outcome: 'ok' });
    expect(await act('stop', node('one'), join(dir, 'one', 'state'))).toMatchObject({ outcome: 'ok' });
    expect(names()).toEqual([]);
    expect(await inOther('monitor', node('two'), join(dir, 'two', 'state'))).toMatchObject({ outcome: 'ok' });
    expect(lab.processes(other).map((p) => p.comm)).toEqual(expect.arrayContaining(['samba-dcerpcd', 'smbd']));
    expect(await inOther('stop', node('two'), join(dir, 'two', 'state'))).toMatchObject({ outcome: 'ok' });
    expect(lab.processes(other)).toEqual([]);
  });

  it('passes ocf-tester as an exported OCF agent', async () => {
    const dir = join(work, 'ocf');
    const r = await lab.ocfTester(ns, 'samba', { config: sambaConfig(dir), address: A, share: 'data' }, dir);
    if (!r.passed) console.log(r.output);
    expect(r.passed).toBe(true);
    expect(names()).toEqual([]);
  });
});
