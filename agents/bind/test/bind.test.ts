/**
 * paceline:bind with the real named, in a network namespace this test creates: start answers DNS;
 * monitor ok, a wrong answer or NXDOMAIN fails saying what came back; SIGSTOP is a hang reported
 * within the query timeout; kill -9 is "not running" and stop cleans up; a broken config or zone
 * fails start as misconfigured with named-checkconf's / named-checkzone's message; stop closes the
 * port (UDP and TCP) and leaves no process; a probe finds a named started by hand and stop stops
 * it; two instances side by side do not collide; ocf-tester passes on the exported agent.
 * Skipped, with the reason printed, when not root or bind9 is not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { validateParams } from '@paceline/agent-api';
import { bindAgent } from '@paceline/agent-bind';
import { ServiceLab, serviceSkipReason } from '../../../packages/ocf/test/helpers/service-lab.js';

const A = '10.231.78.1';
const B = '10.231.78.2';

describe('bind parameters', () => {
  it.each([
    [{ config: 'named.conf' }, 'config'],
    [{ address: 'dns.example.org' }, 'address'],
    [{ queryType: 'AXFR' }, 'queryType'],
    [{ zones: ['example.org'] }, 'zones'],
    [{ listenOn: '10.0.0.1' }, 'listenOn'],
  ])('rejects %j naming %s', (raw, param) => {
    const r = validateParams(bindAgent, raw, 'dns');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(param);
  });
  it('fills Debian defaults', () => {
    const r = validateParams(bindAgent, {}, 'dns');
    expect(r.ok && r.params).toMatchObject({
      config: '/etc/bind/named.conf',
      address: '127.0.0.1',
      port: 53,
      user: 'bind',
      queryName: 'localhost',
      queryType: 'A',
    });
  });
});

const skip = serviceSkipReason('bind', ['named', 'named-checkconf', 'named-checkzone', 'dig']);
const d = skip ? describe.skip : describe;
if (skip) console.log(`skipping bind tests: ${skip}`);

/** A primary zone example.test and a named.conf listening on `addr:port`, everything in `dir` (owned by bind). */
function namedConfig(dir: string, addr: string, port = 53, zoneExtra = ''): string {
  mkdirSync(dir, { recursive: true });
  const uid = Number(spawnSync('id', ['-u', 'bind'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'bind'], { encoding: 'utf8' }).stdout.trim());
  chownSync(dir, uid, gid);
  writeFileSync(
    join(dir, 'db.example.test'),
    `$TTL 60
@    IN SOA ns.example.test. admin.example.test. 1 60 60 600 60
@    IN NS  ns.example.test.
ns   IN A   ${addr}
www  IN A   10.1.2.3
@    IN MX  10 mail.example.test.
${zoneExtra}
`,
  );
  const conf = join(dir, 'named.conf');
  writeFileSync(
    conf,
    `options {
  directory "${dir}";
  pid-file "${dir}/named.pid";
  session-keyfile "${dir}/session.key";
  listen-on port ${port} { ${addr}; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
};
controls { };
zone "example.test" { type primary; file "${dir}/db.example.test"; };
`,
  );
  return conf;
}

d('paceline:bind with named', () => {
  const lab = new ServiceLab('wb');
  let ns: string;
  let work: string;
  const act = (action: Parameters<ServiceLab['act']>[3], params: Record<string, unknown>, stateDir: string, timeoutMs = 60_000) =>
    lab.act(ns, 'bind', 'bindAgent', action, params, { stateDir, timeoutMs });
  const dig = (addr: string, name: string, port = 53): string =>
    lab.run(ns, 'dig', [`@${addr}`, '-p', String(port), '+short', '+time=2', '+tries=1', name]).stdout.trim();
  const open = (addr: string, port: number): boolean => lab.run(ns, 'ss', ['-Hluntp', `src ${addr}:${port}`]).stdout.trim() !== '';

  beforeAll(() => {
    ns = lab.ns('n', [`${A}/32`, `${B}/32`]);
    work = lab.dir('bind');
  });
  afterAll(() => lab.cleanup());

  it('start answers DNS; monitor ok, wrong answers fail; SIGSTOP is a hang; kill -9 is not running; stop cleans up', async () => {
    const dir = join(work, 'main');
    const state = join(dir, 'state');
    const params = {
      config: namedConfig(dir, A),
      address: A,
      queryName: 'www.example.test',
      expectAnswer: '10.1.2.3',
      checkTimeoutMs: 1000,
      stopTimeoutMs: 3000,
    };
    expect(await act('start', params, state)).toMatchObject({ execution: 'done', outcome: 'ok' });
    expect(dig(A, 'www.example.test')).toBe('10.1.2.3');
    expect(await act('monitor', params, state)).toMatchObject({ outcome: 'ok' });
    expect(await act('monitor', { ...params, queryName: 'example.test', queryType: 'MX', expectAnswer: '10 mail.example.test' }, state)).toMatchObject({
      outcome: 'ok',
    });
    const wrong = await act('monitor', { ...params, expectAnswer: '10.9.9.9' }, state);
    expect(wrong).toMatchObject({ outcome: 'generic-error' });
    expect(wrong.reason).toContain('10.1.2.3, expected 10.9.9.9');
    const nx = await act('monitor', { ...params, queryName: 'nope.example.test' }, state);
    expect(nx).toMatchObject({ outcome: 'generic-error' });
    expect(nx.reason).toContain('NXDOMAIN');

    const pid = ServiceLab.recordedPid(state);
    process.kill(-pid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      const hung = await act('monitor', params, state);
      expect(hung).toMatchObject({ outcome: 'generic-error' });
      expect(hung.reason).toMatch(/^hung: DNS www\.example\.test A @10\.231\.78\.1:53: no answer/);
      expect(Date.now() - t0).toBeLessThan(20_000); // the 1 s query + the driver's start-up, generous for a loaded machine
    } finally {
      process.kill(-pid, 'SIGCONT');
    }
    expect(await act('monitor', params, state)).toMatchObject({ outcome: 'ok' });

    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    const dead = await act('monitor', params, state);
    expect(dead).toMatchObject({ outcome: 'not-running' });
    expect(dead.reason).toContain(`process ${pid} (named) is gone`);
    expect(await act('stop', params, state)).toMatchObject({ outcome: 'ok' });
    expect(await act('stop', params, state)).toMatchObject({ outcome: 'ok' });
    expect(open(A, 53)).toBe(false);
    expect(lab.processes(ns)).toEqual([]);
  });

  it("a broken config or zone fails start as misconfigured with the tool's message, and starts nothing", async () => {
    const dir = join(work, 'broken');
    const conf = namedConfig(dir, A);
    writeFileSync(conf, `options { directory "${dir}"; bogus-option yes; };\n`);
    const r = await act('start', { config: conf, address: A }, join(dir, 'state'));
    expect(r).toMatchObject({ execution: 'done', outcome: 'misconfigured' });
    expect(r.reason).toMatch(/^named-checkconf: .*unknown option 'bogus-option'/);

    const zdir = join(work, 'badzone');
    const zconf = namedConfig(zdir, A, 53, 'broken IN A not-an-address');
    const z = await act('start', { config: zconf, address: A, checkConfigZones: false, zones: [`example.test=${zdir}/db.example.test`] }, join(zdir, 'state'));
    expect(z).toMatchObject({ outcome: 'misconfigured' });
    expect(z.reason).toMatch(/^named-checkzone example\.test .*bad dotted quad/);
    const zz = await act('start', { config: zconf, address: A }, join(zdir, 'state'));
    expect(zz).toMatchObject({ outcome: 'misconfigured' });
    expect(zz.reason).toMatch(/^named-checkconf: .*bad dotted quad/);
    expect(lab.processes(ns)).toEqual([]);
  });

  it('a probe finds a named started by hand, and stop stops it', async () => {
    const dir = join(work, 'byhand');
    const conf = namedConfig(dir, B, 5353);
    expect(lab.run(ns, 'named', ['-c', conf, '-u', 'bind', '-X', join(dir, 'hand.lock')]).status).toBe(0);
    const params = { config: conf, address: B, port: 5353, queryName: 'www.example.test', expectAnswer: '10.1.2.3' };
    const state = join(dir, 'state');
    let probe = await act('monitor', params, state);
    for (let i = 0; i < 40 && probe.outcome !== 'ok'; i++) {
      await new Promise((r) => setTimeout(r, 250)); // named may still be loading
      probe = await act('monitor', params, state);
    }
    expect(probe).toMatchObject({ outcome: 'ok' });
    expect(probe.reason).toContain('started outside Paceline');
    expect(await act('stop', params, state)).toMatchObject({ outcome: 'ok' });
    expect(open(B, 5353)).toBe(false);
    expect(lab.processes(ns)).toEqual([]);
    expect(await act('monitor', params, join(dir, 'fresh'))).toMatchObject({ outcome: 'not-running' });
  });

  it('two instances side by side do not collide', async () => {
    const one = join(work, 'one');
    const two = join(work, 'two');
    const p1 = { config: namedConfig(one, A), address: A, queryName: 'ns.example.test', expectAnswer: A };
    const p2 = { config: namedConfig(two, B), address: B, queryName: 'ns.example.test', expectAnswer: B };
    expect(await act('start', p1, join(one, 'state'))).toMatchObject({ outcome: 'ok' });
    expect(await act('start', p2, join(two, 'state'))).toMatchObject({ outcome: 'ok' });
    expect(await act('monitor', p1, join(one, 'state'))).toMatchObject({ outcome: 'ok' });
    expect(await act('stop', p1, join(one, 'state'))).toMatchObject({ outcome: 'ok' });
    expect(await act('monitor', p2, join(two, 'state'))).toMatchObject({ outcome: 'ok' });
    expect(dig(B, 'ns.example.test')).toBe(B);
    expect(await act('stop', p2, join(two, 'state'))).toMatchObject({ outcome: 'ok' });
    expect(lab.processes(ns)).toEqual([]);
  });

  it('passes ocf-tester as an exported OCF agent', async () => {
    const dir = join(work, 'ocf');
    const conf = namedConfig(dir, A);
    const r = await lab.ocfTester(ns, 'bind', { config: conf, address: A, queryName: 'www.example.test', expectAnswer: '10.1.2.3' }, dir);
    if (!r.passed) console.log(r.output);
    expect(r.passed).toBe(true);
    expect(lab.processes(ns)).toEqual([]);
  });
});
