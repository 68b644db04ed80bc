/**
 * paceline:radius with the real FreeRADIUS, in a network namespace this test creates (two
 * addresses on its loopback), on copies of Debian's /etc/freeradius/3.0 bound to one address
 * each: start answers Status-Server; the monitor's Access-Request for a test user is accepted, a
 * wrong password is rejected, a wrong secret goes unanswered; SIGSTOP is a hang reported within
 * the check timeout; kill -9 is "not running"; a broken config fails start as misconfigured with
 * freeradius -C's message; stop closes the port and leaves no process; a probe finds a server
 * started by hand and stop stops it; two instances side by side, or in two namespaces, do not
 * collide; ocf-tester passes on the exported agent. Skipped, with the reason printed, when not
 * root or FreeRADIUS is not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceLab, serviceSkipReason } from '../../../packages/ocf/test/helpers/service-lab.js';

const A = '10.231.79.1';
const B = '10.231.79.2';
const SECRET = 'lab-secret-79';

/**
 * A copy of Debian's config directory serving auth on `address:port` (acct on port+1) only:
 * the IPv4 listeners bound to the address, the IPv6 ones removed, the inner tunnel's loopback
 * listener on `innerPort`; a client for the test's subnet and a test user.
 */
function radiusConfig(dir: string, address: string, o: { port?: number; innerPort?: number; broken?: boolean } = {}): string {
  const raddb = join(dir, 'raddb');
  mkdirSync(dir, { recursive: true });
  const cp = spawnSync('cp', ['-a', '/etc/freeradius/3.0', raddb]);
  if (cp.status !== 0) throw new Error(`cp: ${cp.stderr.toString()}`);
  const site = join(raddb, 'sites-available', 'default');
  let text = readFileSync(site, 'utf8');
  const v6 = text.indexOf('# IPv6 versions of the above');
  const after = text.indexOf('#  Authorization. First preprocess');
  if (v6 < 0 || after < v6) throw new Error('unexpected layout of sites-available/default');
  text = text.slice(0, v6) + text.slice(after);
  text = text.replace(/^\tipaddr = \*$/gm, `\tipaddr = ${address}`);
  if (o.port) text = text.replace(/^(\tport = )0$/m, `$1${o.port}`).replace(/^(\tport = )0$/m, `$1${o.port + 1}`);
  writeFileSync(site, text);
  const inner = join(raddb, 'sites-available', 'inner-tunnel');
  writeFileSync(inner, readFileSync(inner, 'utf8').replace(/port = 18120/, `port = ${o.innerPort ?? 18120}`));
  appendFileSync(join(raddb, 'clients.conf'), `\nclient lab {\n\tipaddr = 10.231.79.0/24\n\tsecret = ${SECRET}\n}\n${o.broken ? 'client broken {\n' : ''}`);
  appendFileSync(join(raddb, 'mods-config', 'files', 'authorize'), '\npltest Cleartext-Password := "pw-79"\n\tReply-Message := "hello pltest"\n');
  return raddb;
}

describe('paceline:radius with the real FreeRADIUS', () => {
  const skip = serviceSkipReason('radius', ['freeradius']);
  if (skip) {
    it(`is skipped: ${skip}`, () => {
      console.log(`skipping radius tests: ${skip}`);
    });
    return;
  }
  const lab = new ServiceLab('rad');
  let ns: string;
  let work: string;
  const act = (action: Parameters<ServiceLab['act']>[3], params: Record<string, unknown>, stateDir: string, timeoutMs = 30_000) =>
    lab.act(ns, 'radius', 'radiusAgent', action, params, { stateDir, timeoutMs });
  const bound = (addr: string, port: number): boolean => lab.run(ns, 'ss', ['-Huln', `src ${addr}:${port}`]).stdout.trim() !== '';
  const names = (): string[] =>
    lab
      .processes(ns)
      .map((p) => p.comm)
      .sort();

  beforeAll(() => {
    ns = lab.ns('n', [`${A}/32`, `${B}/32`]);
    work = lab.dir('radius');
  });
  afterAll(() => lab.cleanup());

  it('start answers Status-Server; Access-Request accepted, wrong password rejected, wrong secret unanswered; SIGSTOP is a hang; kill -9 is not running', async () => {
    const dir = join(work, 'main');
    const configDir = radiusConfig(dir, A);
    const state = join(dir, 'state');
    const params = { configDir, address: A, secret: SECRET, checkTimeoutMs: 1500, retryMs: 500 };
    expect(await act('monitor', params, state)).toMatchObject({ outcome: 'not-running' });
    expect(await act('start', params, state)).toMatchObject({ execution: 'done', outcome: 'ok' });
    expect(bound(A, 1812) && bound(A, 1813)).toBe(true);
    expect(bound(B, 1812)).toBe(false);
    expect(await act('monitor', params, state)).toMatchObject({ outcome: 'ok' });

    const user = { ...params, check: 'access-request', testUser: 'pltest' };
    expect(await act('monitor', { ...user, testPassword: 'pw-79' }, state)).toMatchObject({ outcome: 'ok' });
    const passwordFile = join(dir, 'password');
    writeFileSync(passwordFile, 'pw-79\n', { mode: 0o600 });
    expect(await act('monitor', { ...user, testPasswordFile: passwordFile }, state)).toMatchObject({ outcome: 'ok' });
    const rejected = await act('monitor', { ...user, testPassword: 'wrong' }, state);
    expect(rejected).toMatchObject({ outcome: 'generic-error' });
    expect(rejected.reason).toBe(`RADIUS ${A}:1812: Access-Request for "pltest" → Access-Reject ("hello pltest")`);
    const secretless = await act('monitor', { ...params, secret: 'not-the-secret' }, state);
    expect(secretless.reason).toMatch(/^hung: .*no answer within 1500 ms \(FreeRADIUS also stays silent to an unknown client or a wrong secret\)$/);

    const pid = ServiceLab.recordedPid(state);
    process.kill(-pid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      const hung = await act('monitor', params, state);
      expect(hung).toMatchObject({ outcome: 'generic-error' });
      expect(hung.reason).toMatch(new RegExp(`^hung: RADIUS ${A.replace(/\./g, '\\.')}:1812: no answer within 1500 ms`));
      expect(Date.now() - t0).toBeLessThan(10_000); // 1.5 s check + the driver's start-up on a loaded machine
    } finally {
      process.kill(-pid, 'SIGCONT');
    }
    expect(await act('monitor', params, state)).toMatchObject({ outcome: 'ok' });

    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    const dead = await act('monitor', params, state);
    expect(dead).toMatchObject({ outcome: 'not-running' });
    expect(dead.reason).toContain(`process ${pid} (freeradius) is gone`);
    expect(await act('stop', params, state)).toMatchObject({ outcome: 'ok' });
    expect(await act('stop', params, state)).toMatchObject({ outcome: 'ok' });
    expect(names()).toEqual([]);
  });

  it("a broken config fails start as misconfigured with freeradius -C's message, and starts nothing", async () => {
    const dir = join(work, 'broken');
    const configDir = radiusConfig(dir, A, { broken: true });
    const r = await act('start', { configDir, address: A, secret: SECRET }, join(dir, 'state'));
    expect(r).toMatchObject({ execution: 'done', outcome: 'misconfigured' });
    expect(r.reason).toMatch(new RegExp(`^freeradius -C -d ${configDir}: .*clients\\.conf\\[\\d+\\]: EOF reached without closing brace`));
    expect(names()).toEqual([]);
  });

  it('stop is verified: the port is closed and no process is left', async () => {
    const dir = join(work, 'stop');
    const params = { configDir: radiusConfig(dir, B, { port: 11812 }), address: B, port: 11812, secret: SECRET };
    const state = join(dir, 'state');
    expect(await act('start', params, state)).toEqual({ execution: 'done', outcome: 'ok', durationMs: expect.any(Number) });
    expect(bound(B, 11812)).toBe(true);
    expect(await act('stop', params, state)).toEqual({ execution: 'done', outcome: 'ok', durationMs: expect.any(Number) });
    expect(bound(B, 11812) || bound(B, 11813)).toBe(false);
    expect(names()).toEqual([]);
  });

  it('a probe finds a server started by hand, and stop stops it', async () => {
    const dir = join(work, 'byhand');
    const configDir = radiusConfig(dir, A);
    // In its own session, not waited for, output to a file: as an init script would start it.
    spawn('ip', ['netns', 'exec', ns, 'freeradius', '-f', '-d', configDir, '-l', join(dir, 'hand.log')], { detached: true, stdio: 'ignore' }).unref();
    const params = { configDir, address: A, secret: SECRET };
    const state = join(dir, 'state');
    let probe = await act('monitor', params, state);
    for (let i = 0; i < 20 && probe.outcome !== 'ok'; i++) {
      await new Promise((r) => setTimeout(r, 250)); // the hand-started server may still be loading
      probe = await act('monitor', params, state);
    }
    expect(probe).toMatchObject({ outcome: 'ok' });
    expect(probe.reason).toContain('started outside Paceline');
    expect(await act('monitor', params, state)).toMatchObject({ outcome: 'ok' });
    expect(await act('stop', params, state)).toEqual({ execution: 'done', outcome: 'ok', durationMs: expect.any(Number) });
    expect(bound(A, 1812)).toBe(false);
    expect(names()).toEqual([]);
    expect(await act('monitor', params, join(dir, 'fresh'))).toMatchObject({ outcome: 'not-running' });
  });

  it('two instances side by side do not collide', async () => {
    const one = join(work, 'one');
    const two = join(work, 'two');
    const p1 = { configDir: radiusConfig(one, A, { innerPort: 18121 }), address: A, secret: SECRET };
    const p2 = { configDir: radiusConfig(two, B, { innerPort: 18122 }), address: B, secret: SECRET };
    expect(await act('start', p1, join(one, 'state'))).toMatchObject({ outcome: 'ok' });
    expect(await act('start', p2, join(two, 'state'))).toMatchObject({ outcome: 'ok' });
    expect(await act('monitor', p1, join(one, 'state'))).toMatchObject({ outcome: 'ok' });
    expect(await act('stop', p1, join(one, 'state'))).toMatchObject({ outcome: 'ok' });
    expect(await act('monitor', p2, join(two, 'state'))).toMatchObject({ outcome: 'ok' });
    expect(bound(B, 1812)).toBe(true);
    expect(await act('stop', p2, join(two, 'state'))).toMatchObject({ outcome: 'ok' });
    expect(names()).toEqual([]);
  });

  it('two namespaces (two nodes on one host) run the same config directory on the same address', async () => {
    const other = lab.ns('m', [`${A}/32`]);
    const dir = join(work, 'nodes');
    const params = { configDir: radiusConfig(dir, A), address: A, secret: SECRET };
    const inOther = (action: Parameters<ServiceLab['act']>[3], stateDir: string) =>
      lab.act(other, 'radius', 'radiusAgent', action, params, { stateDir, timeoutMs: 30_000 });
    expect(await act('start', params, join(dir, 'one'))).toMatchObject({ outcome: 'ok' });
    expect(await inOther('start', join(dir, 'two'))).toMatchObject({ outcome: 'ok' });
    expect(await act('stop', params, join(dir, 'one'))).toMatchObject({ outcome: 'ok' });
    expect(names()).toEqual([]);
    expect(await inOther('monitor', join(dir, 'two'))).toMatchObject({ outcome: 'ok' });
    expect(await inOther('stop', join(dir, 'two'))).toMatchObject({ outcome: 'ok' });
    expect(lab.processes(other)).toEqual([]);
  });

  it('passes ocf-tester as an exported OCF agent', async () => {
    const dir = join(work, 'ocf');
    const r = await lab.ocfTester(ns, 'radius', { configDir: radiusConfig(dir, A), address: A, secret: SECRET }, dir);
    if (!r.passed) console.log(r.output);
    expect(r.passed).toBe(true);
    expect(names()).toEqual([]);
  });
});
