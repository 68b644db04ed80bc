/**
 * paceline:httpd with the real nginx and Apache, each in a network namespace this test creates:
 * start answers HTTP; monitor ok; a wrong status fails; SIGSTOP of the server's group is a hang
 * reported within the check timeout; kill -9 of the master is "not running" (its leftover workers
 * named) and stop cleans them up; a broken config fails start as misconfigured with the server's
 * own message; stop closes the port and leaves no process; a probe finds a server started by hand
 * and stop stops it; two instances side by side do not collide; ocf-tester passes on the exported
 * agent. Skipped, with the reason printed, when not root or a server is not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateParams } from '@paceline/agent-api';
import { httpdAgent } from '@paceline/agent-httpd';
import { ServiceLab, serviceSkipReason } from '../../../packages/ocf/test/helpers/service-lab.js';

const A = '10.231.77.1';
const B = '10.231.77.2';

describe('httpd parameters', () => {
  it.each([
    [{ server: 'lighttpd' }, 'server'],
    [{ server: 'nginx', config: 'relative.conf' }, 'config'],
    [{ server: 'nginx', address: 'example.org' }, 'address'],
    [{ server: 'nginx', port: 0 }, 'port'],
    [{ server: 'nginx', path: 'no-slash' }, 'path'],
    [{ server: 'nginx', listen: '80' }, 'listen'],
  ])('rejects %j naming %s', (raw, param) => {
    const r = validateParams(httpdAgent, raw, 'web');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(param);
  });
  it('fills defaults', () => {
    const r = validateParams(httpdAgent, { server: 'apache' }, 'web');
    expect(r.ok && r.params).toMatchObject({ address: '127.0.0.1', port: 80, path: '/', expectStatus: 200, checkTimeoutMs: 5000 });
  });
});

function nginxConfig(dir: string, listen: string, extra = ''): string {
  const file = join(dir, 'nginx.conf');
  writeFileSync(
    file,
    `worker_processes 2;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log off;
  ${extra}
  server {
    listen ${listen};
    location = / { return 200 "hello from nginx\\n"; }
    location /missing { return 404; }
  }
}
`,
  );
  return file;
}

function apacheConfig(dir: string, listen: string, extra = ''): string {
  const docs = join(dir, 'htdocs');
  mkdirSync(docs, { recursive: true });
  writeFileSync(join(docs, 'index.html'), 'hello from apache\n');
  const file = join(dir, 'apache2.conf');
  writeFileSync(
    file,
    `ServerRoot "/etc/apache2"
Include mods-enabled/*.load
Include mods-enabled/*.conf
ServerName test.invalid
PidFile \${APACHE_PID_FILE}
Mutex file:\${APACHE_LOCK_DIR} default
DefaultRuntimeDir \${APACHE_RUN_DIR}
User \${APACHE_RUN_USER}
Group \${APACHE_RUN_GROUP}
ErrorLog \${APACHE_LOG_DIR}/error.log
StartServers 1
Listen ${listen}
DocumentRoot ${docs}
<Directory ${docs}>
  Require all granted
</Directory>
${extra}
`,
  );
  return file;
}

const SERVERS = [
  {
    server: 'nginx' as const,
    programs: ['nginx'],
    config: nginxConfig,
    broken: 'bogus_directive on;',
    message: /nginx -t: .*unknown directive "bogus_directive"/,
    comm: 'nginx',
  },
  {
    server: 'apache' as const,
    programs: ['apache2'],
    config: apacheConfig,
    broken: 'BogusDirective on',
    message: /apache2 -t: .*Invalid command 'BogusDirective'/,
    comm: 'apache2',
  },
];

describe.each(SERVERS)('paceline:httpd with $server', ({ server, programs, config, broken, message, comm }) => {
  const skip = serviceSkipReason('httpd', programs);
  if (skip) {
    console.log(`skipping httpd ${server} tests: ${skip}`);
    it.skip(`runs the real ${server} (skipped: ${skip})`, () => undefined);
    return;
  }
  const lab = new ServiceLab(server === 'nginx' ? 'wn' : 'wa');
  let ns: string;
  let work: string;
  const act = (action: Parameters<ServiceLab['act']>[3], params: Record<string, unknown>, stateDir: string, timeoutMs = 30_000) =>
    lab.act(ns, 'httpd', 'httpdAgent', action, params, { stateDir, timeoutMs });
  const curl = (url: string): string => lab.run(ns, 'curl', ['-s', '-o', '/dev/null', '-m', '5', '-w', '%{http_code}', url]).stdout;
  const listening = (addr: string, port: number): boolean => lab.run(ns, 'ss', ['-Htln', `src ${addr}:${port}`]).stdout.trim() !== '';

  beforeAll(() => {
    ns = lab.ns('n', [`${A}/32`, `${B}/32`]);
    work = lab.dir(`httpd-${server}`);
  });
  afterAll(() => lab.cleanup());

  it('start answers HTTP; monitor ok, a wrong status fails; SIGSTOP is a hang; kill -9 is not running; stop cleans up', async () => {
    const dir = join(work, 'main');
    mkdirSync(dir);
    const state = join(dir, 'state');
    const params = { server, config: config(dir, `${A}:80`), address: A, checkTimeoutMs: 1000, stopTimeoutMs: 3000 };
    expect(await act('start', params, state)).toMatchObject({ execution: 'done', outcome: 'ok' });
    expect(curl(`http://${A}/`)).toBe('200');
    expect(await act('monitor', params, state)).toMatchObject({ outcome: 'ok' });
    const wrong = await act('monitor', { ...params, path: '/missing' }, state);
    expect(wrong).toMatchObject({ outcome: 'generic-error' });
    expect(wrong.reason).toContain('status 404');

    const pid = ServiceLab.recordedPid(state);
    process.kill(-pid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      const hung = await act('monitor', params, state);
      expect(hung).toMatchObject({ outcome: 'generic-error' });
      expect(hung.reason).toMatch(/^hung: GET http:\/\/10\.231\.77\.1:80\/: no answer within 1000 ms/);
      expect(Date.now() - t0).toBeLessThan(20_000); // the 1 s check + the driver's start-up, generous for a loaded machine
    } finally {
      process.kill(-pid, 'SIGCONT');
    }
    expect(await act('monitor', params, state)).toMatchObject({ outcome: 'ok' });

    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    const dead = await act('monitor', params, state);
    expect(dead).toMatchObject({ outcome: 'not-running' });
    expect(dead.reason).toContain(`process ${pid} (${comm}) is gone`);
    expect(await act('stop', params, state)).toMatchObject({ outcome: 'ok' });
    expect(listening(A, 80)).toBe(false);
    expect(lab.processes(ns)).toEqual([]);
    expect(await act('stop', params, state)).toMatchObject({ outcome: 'ok' });
    expect(await act('monitor', params, state)).toMatchObject({ outcome: 'not-running' });
  });

  it("a broken config fails start as misconfigured with the server's message, and starts nothing", async () => {
    const dir = join(work, 'broken');
    mkdirSync(dir);
    const r = await act('start', { server, config: config(dir, `${A}:80`, broken), address: A }, join(dir, 'state'));
    expect(r).toMatchObject({ execution: 'done', outcome: 'misconfigured' });
    expect(r.reason).toMatch(message);
    if (server === 'nginx') {
      const conf = config(dir, `${A}:80`);
      writeFileSync(conf, `user www-data;\n${readFileSync(conf, 'utf8')}`);
      const u = await act('start', { server, config: conf, address: A, user: 'nobody' }, join(dir, 'state'));
      expect(u).toMatchObject({ outcome: 'misconfigured' });
      expect(u.reason).toContain('sets "user www-data"');
    }
    expect(lab.processes(ns)).toEqual([]);
  });

  it('a probe finds a server started by hand, and stop stops it', async () => {
    const dir = join(work, 'byhand');
    mkdirSync(dir);
    const conf = config(dir, `${A}:80`);
    const env = [
      'APACHE_RUN_USER=www-data',
      'APACHE_RUN_GROUP=www-data',
      `APACHE_PID_FILE=${dir}/hand.pid`,
      `APACHE_RUN_DIR=${dir}`,
      `APACHE_LOCK_DIR=${dir}`,
      `APACHE_LOG_DIR=${dir}`,
    ];
    const started =
      server === 'nginx'
        ? lab.run(ns, 'nginx', ['-c', conf, '-g', `pid ${dir}/hand.pid;`])
        : lab.run(ns, 'env', [...env, 'apache2', '-f', conf, '-k', 'start']);
    expect(started.status).toBe(0);
    const params = { server, config: conf, address: A };
    const state = join(dir, 'state');
    let probe = await act('monitor', params, state);
    for (let i = 0; i < 20 && probe.outcome !== 'ok'; i++) {
      await new Promise((r) => setTimeout(r, 250)); // the hand-started server may still be binding
      probe = await act('monitor', params, state);
    }
    expect(probe).toMatchObject({ outcome: 'ok' });
    expect(probe.reason).toContain('started outside Paceline');
    expect(await act('monitor', params, state)).toMatchObject({ outcome: 'ok' });
    expect(await act('stop', params, state)).toMatchObject({ outcome: 'ok' });
    expect(listening(A, 80)).toBe(false);
    expect(lab.processes(ns)).toEqual([]);
    // A fresh probe with nothing running: not running.
    expect(await act('monitor', params, join(dir, 'fresh'))).toMatchObject({ outcome: 'not-running' });
  });

  it('two instances side by side do not collide; a plain stop closes the port and leaves no process', async () => {
    const one = join(work, 'one');
    const two = join(work, 'two');
    mkdirSync(one);
    mkdirSync(two);
    const p1 = { server, config: config(one, `${A}:80`), address: A };
    const p2 = { server, config: config(two, `${B}:80`), address: B };
    expect(await act('start', p1, join(one, 'state'))).toMatchObject({ outcome: 'ok' });
    expect(await act('start', p2, join(two, 'state'))).toMatchObject({ outcome: 'ok' });
    const pidFile = server === 'nginx' ? 'nginx.pid' : 'apache2.pid';
    expect(existsSync(join(one, 'state', 'run', pidFile)) && existsSync(join(two, 'state', 'run', pidFile))).toBe(true);
    expect(await act('monitor', p1, join(one, 'state'))).toMatchObject({ outcome: 'ok' });
    expect(listening(A, 80) && listening(B, 80)).toBe(true);
    expect(await act('stop', p1, join(one, 'state'))).toMatchObject({ outcome: 'ok' });
    expect(listening(A, 80)).toBe(false);
    expect(await act('monitor', p2, join(two, 'state'))).toMatchObject({ outcome: 'ok' });
    expect(curl(`http://${B}/`)).toBe('200');
    expect(await act('stop', p2, join(two, 'state'))).toMatchObject({ outcome: 'ok' });
    expect(listening(B, 80)).toBe(false);
    expect(lab.processes(ns)).toEqual([]);
  });

  it('passes ocf-tester as an exported OCF agent', async () => {
    const dir = join(work, 'ocf');
    mkdirSync(dir);
    const r = await lab.ocfTester(ns, 'httpd', { server, config: config(dir, `${A}:80`), address: A }, dir);
    if (!r.passed) console.log(r.output);
    expect(r.passed).toBe(true);
    expect(lab.processes(ns)).toEqual([]);
  });
});
