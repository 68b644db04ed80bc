/**
 * paceline:sendmail with the real Sendmail relaying to the real Cyrus (paceline:cyrus) over LMTP,
 * in a network namespace this test creates: start answers SMTP and mail for the served domain
 * reaches the IMAP mailbox; while Cyrus is stopped, mail is accepted and queued (the monitor
 * counts it), and delivered when Cyrus is back — by the daemon's own queue run, or one triggered
 * now; SIGSTOP is a hang reported within the check timeout; kill -9 is "not running" and stop
 * cleans up; a broken sendmail.cf fails start as misconfigured with sendmail's message, and an
 * unqualified host name (sendmail's 60 s sleep) is reported before anything starts; a probe finds
 * a sendmail started by hand; two instances do not collide; ocf-tester passes on the exported
 * agent. Skipped, with the reason printed, when not root or Sendmail / Cyrus is not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateParams } from '@paceline/agent-api';
import { layoutOf, lmtpMailerArgs, mcText, queueRunArgs, sendmailAgent, SendmailParams } from '@paceline/agent-sendmail';
import { ServiceLab, serviceSkipReason } from '../../../packages/ocf/test/helpers/service-lab.js';

const A = '10.231.80.1';
const B = '10.231.80.2';
const DOMAIN = 'paceline.test';
const REALM = 'mail.paceline.test';
const CLIENT = fileURLToPath(new URL('../../cyrus/test/mail-client.mjs', import.meta.url));

describe('sendmail parameters and sendmail.mc', () => {
  it.each([
    [{}, 'domains'],
    [{ domains: ['paceline.test'], lmtp: 'cyrus:2003' }, 'lmtp'],
    [{ domains: ['paceline.test'], queueInterval: '10' }, 'queueInterval'],
    [{ domains: ['bad domain'] }, 'domains'],
    [{ domains: ['paceline.test'], queuedir: '/var/spool/mqueue' }, 'queuedir'],
  ])('rejects %j naming %s', (raw, param) => {
    const r = validateParams(sendmailAgent, raw, 'mta');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(param);
  });

  it('routes the served domains to Cyrus over LMTP and keeps the queue and pid file per instance', () => {
    const p = SendmailParams.parse({ address: '192.168.100.11', domains: ['example.org', 'example.net'], lmtp: '192.168.100.12:2003', queueDir: '/q1' });
    const l = layoutOf(p, { stateDir: '/st' });
    const mc = mcText(p, l);
    expect(mc).toContain("LOCAL_DOMAIN(`example.org example.net')dnl");
    expect(mc).toContain("define(`CYRUSV2_MAILER_ARGS', `TCP [192.168.100.12] 2003')dnl");
    expect(mc).toContain("DAEMON_OPTIONS(`Family=inet, Name=MTA, Addr=192.168.100.11, Port=25')dnl");
    expect(mc).toContain("define(`QUEUE_DIR', `/q1')dnl");
    // A busy node's load is no reason to refuse connections (the monitor would see a dead daemon).
    expect(mc).toContain("define(`confREFUSE_LA', `10000')dnl");
    expect(mc).toContain("define(`confQUEUE_LA', `10000')dnl");
    expect(mcText(SendmailParams.parse({ domains: ['example.org'], refuseLoadAverage: 40, queueLoadAverage: 30 }), l)).toContain(
      "define(`confREFUSE_LA', `40')dnl",
    );
    expect(lmtpMailerArgs('unix:/run/cyrus/socket/lmtp')).toBe('FILE /run/cyrus/socket/lmtp');
    expect(queueRunArgs(p, l)).toEqual(['-C', '/st/sendmail.cf', '-O', 'QueueDirectory=/q1', '-O', 'PidFile=/st/run/sendmail.pid', '-q']);
  });
});

const skip = serviceSkipReason('sendmail', ['sendmail', 'm4', 'cyrmaster', 'saslpasswd2', 'cyradm']) ?? serviceSkipReason('cyrus', []);
const d = skip ? describe.skip : describe;
if (skip) console.log(`skipping sendmail tests: ${skip}`);

d('paceline:sendmail relaying to Cyrus', () => {
  const lab = new ServiceLab('sm');
  let ns: string;
  let bare: string;
  let work: string;
  const act = (action: Parameters<ServiceLab['act']>[3], params: Record<string, unknown>, stateDir: string, timeoutMs = 60_000, where = ns) =>
    lab.act(where, 'sendmail', 'sendmailAgent', action, params, { stateDir, timeoutMs });
  const cyrus = (action: Parameters<ServiceLab['act']>[3], params: Record<string, unknown>, stateDir: string) =>
    lab.act(ns, 'cyrus', 'cyrusAgent', action, params, { stateDir, timeoutMs: 60_000 });
  const client = (req: Record<string, unknown>): Record<string, unknown> => {
    const r = lab.run(ns, process.execPath, [CLIENT, JSON.stringify(req)]);
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
  };
  const send = (address: string, subjects: string[]) =>
    client({ op: 'smtp', host: address, port: 25, from: 'bob@example.org', to: [`alice@${DOMAIN}`], messages: subjects.map((subject) => ({ subject })) }) as {
      replies: [string, string][];
    };
  const subjects = (address: string): string[] =>
    (client({ op: 'imap', host: address, port: 143, user: 'alice', password: 'alice-pw', mailbox: 'INBOX' }) as { subjects?: string[] }).subjects ?? [];
  const until = async (what: () => boolean, ms: number): Promise<boolean> => {
    for (const t0 = Date.now(); Date.now() - t0 < ms; await new Promise((r) => setTimeout(r, 250))) if (what()) return true;
    return what();
  };
  const open = (addr: string, port: number): boolean => lab.run(ns, 'ss', ['-Hltn', `src ${addr}:${port}`]).stdout.trim() !== '';
  const sendmails = (): { pid: number; comm: string }[] => lab.processes(ns).filter((x) => x.comm === 'sendmail');

  let cyrusParams: Record<string, unknown>;
  const cyrusState = (): string => join(work, 'cyrus', 'state');
  const mta = (name: string, address: string, extra: Record<string, unknown> = {}) => ({
    state: ((dir: string) => (mkdirSync(dir, { recursive: true }), dir))(join(work, name, 'state')),
    params: {
      address,
      domains: [DOMAIN],
      lmtp: `${A}:2003`,
      queueDir: join(work, name, 'queue'),
      hostname: `mx.${DOMAIN}`,
      checkTimeoutMs: 1500,
      stopTimeoutMs: 3000,
      ...extra,
    },
  });

  beforeAll(async () => {
    ns = lab.ns('n', [`${A}/32`, `${B}/32`]);
    bare = lab.ns('bare', [`${A}/32`]);
    // `ip netns exec` mounts /etc/netns/NS/hosts over /etc/hosts: give the host name a qualified
    // form there, as a real mail server's /etc/hosts does (sendmail sleeps 60 s without one).
    mkdirSync(`/etc/netns/${ns}`, { recursive: true });
    writeFileSync(`/etc/netns/${ns}/hosts`, `127.0.0.1 localhost\n127.0.1.1 ${hostname()}.${DOMAIN} ${hostname()}\n`);
    mkdirSync(`/etc/netns/${bare}`, { recursive: true });
    writeFileSync(`/etc/netns/${bare}/hosts`, '127.0.0.1 localhost\n');
    work = lab.dir('sendmail');
    const dir = join(work, 'cyrus');
    mkdirSync(dir, { recursive: true });
    const sasldb = join(dir, 'sasldb2');
    for (const [user, pw] of [
      ['cyrus', 'admin-pw'],
      ['alice', 'alice-pw'],
    ] as const)
      spawnSync('saslpasswd2', ['-p', '-c', '-f', sasldb, '-u', REALM, user], { input: pw });
    chownSync(sasldb, Number(spawnSync('id', ['-u', 'cyrus']).stdout.toString()), Number(spawnSync('id', ['-g', 'cyrus']).stdout.toString()));
    cyrusParams = { address: A, configDirectory: join(dir, 'lib'), partition: join(dir, 'spool'), sasldb, servername: REALM, reconstruct: 'never' };
    expect(await cyrus('start', cyrusParams, cyrusState())).toMatchObject({ outcome: 'ok' });
    client({ op: 'imap', host: A, port: 143, user: 'cyrus', password: 'admin-pw', commands: ['CREATE user/alice'] });
  });
  afterAll(async () => {
    if (process.env.KEEP_LAB) return;
    await cyrus('stop', cyrusParams, cyrusState()).catch(() => undefined);
    lab.cleanup();
    for (const n of [ns, bare]) if (n) rmSync(`/etc/netns/${n}`, { recursive: true, force: true });
  });

  it('start answers SMTP and mail reaches Cyrus; SIGSTOP is a hang; kill -9 is not running; stop cleans up', async () => {
    const { state, params } = mta('main', A);
    expect(await act('start', params, state)).toMatchObject({ execution: 'done', outcome: 'ok' });
    expect(send(A, ['first']).replies).toEqual([
      [`alice@${DOMAIN}`, expect.stringMatching(/^250/)],
      ['DATA', expect.stringMatching(/^250/)],
    ]);
    expect(await until(() => subjects(A).includes('first'), 30_000)).toBe(true);
    const m = await act('monitor', params, state);
    expect(m).toMatchObject({ outcome: 'ok' });
    expect(m.reason).toMatch(/^SMTP 10\.231\.80\.1:25: 220 mx\.paceline\.test ESMTP Sendmail .*; EHLO 250 \(\d+ extensions\); 0 message\(s\) queued$/);
    // m4 turned the load limits into the options the daemon reads.
    const cf = readFileSync(join(state, 'sendmail.cf'), 'utf8');
    expect(cf).toMatch(/^O RefuseLA=10000$/m);
    expect(cf).toMatch(/^O QueueLA=10000$/m);

    const pid = ServiceLab.recordedPid(state);
    process.kill(-pid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      const hung = await act('monitor', params, state);
      expect(hung).toMatchObject({ outcome: 'generic-error' });
      expect(hung.reason).toMatch(/^hung: SMTP 10\.231\.80\.1:25: no answer within 1500 ms/);
      expect(Date.now() - t0).toBeLessThan(15_000); // 1.5 s check + the driver's start-up on a loaded machine
    } finally {
      process.kill(-pid, 'SIGCONT');
    }
    expect(await act('monitor', params, state)).toMatchObject({ outcome: 'ok' });

    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    const dead = await act('monitor', params, state);
    expect(dead).toMatchObject({ outcome: 'not-running' });
    expect(dead.reason).toContain(`process ${pid} (sendmail) is gone`);
    expect(await act('stop', params, state)).toMatchObject({ outcome: 'ok' });
    expect(await act('stop', params, state)).toMatchObject({ outcome: 'ok' });
    expect(open(A, 25)).toBe(false);
    expect(sendmails()).toEqual([]);
  });

  it('mail accepted while Cyrus is away is queued, not lost, and delivered when Cyrus is back', async () => {
    const { state, params } = mta('story', A, { queueInterval: '3s' });
    // A queue directory as Debian's /var/spool/mqueue: smmta's, mode 2750 (the agent trusts smmta).
    const q = String(params.queueDir);
    mkdirSync(q, { recursive: true });
    spawnSync('chown', ['smmta:smmsp', q]);
    spawnSync('chmod', ['2750', q]);
    expect(await act('start', params, state)).toMatchObject({ outcome: 'ok' });
    expect(readFileSync(join(state, 'sendmail.cf'), 'utf8')).toContain('O TrustedUser=smmta');
    expect(await cyrus('stop', cyrusParams, cyrusState())).toMatchObject({ outcome: 'ok' });

    expect(send(A, ['while-away-1', 'while-away-2']).replies.filter(([, r]) => r.startsWith('250'))).toHaveLength(4);
    let m = await act('monitor', params, state);
    for (let i = 0; i < 20 && !/2 message\(s\) queued$/.test(m.reason ?? ''); i++) {
      await new Promise((r) => setTimeout(r, 250)); // the delivery attempt runs in the background
      m = await act('monitor', params, state);
    }
    expect(m).toMatchObject({ outcome: 'ok' });
    expect(m.reason).toMatch(/; 2 message\(s\) queued$/);
    const l = layoutOf(SendmailParams.parse(params), { stateDir: state });
    expect(lab.run(ns, '/usr/sbin/sendmail', [...queueRunArgs(SendmailParams.parse(params), l).slice(0, -1), '-bp']).stdout).toMatch(
      /Deferred: Connection refused by \[10\.231\.80\.1\]/,
    );

    // Cyrus returns: the daemon's own queue run (every 3 s here) delivers, nobody intervenes.
    expect(await cyrus('start', cyrusParams, cyrusState())).toMatchObject({ outcome: 'ok' });
    expect(await until(() => ['while-away-1', 'while-away-2'].every((s) => subjects(A).includes(s)), 30_000)).toBe(true);
    expect((await act('monitor', params, state)).reason).toMatch(/; 0 message\(s\) queued$/);

    // Once more, the daemon stopped meanwhile: delivered by a queue run triggered now (sendmail -C CF -O ... -q).
    // Each message exactly once (queue order is not arrival order).
    expect(await cyrus('stop', cyrusParams, cyrusState())).toMatchObject({ outcome: 'ok' });
    send(A, ['while-away-3']);
    expect(await act('stop', params, state)).toMatchObject({ outcome: 'ok' });
    expect(await cyrus('start', cyrusParams, cyrusState())).toMatchObject({ outcome: 'ok' });
    const run = lab.run(ns, '/usr/sbin/sendmail', queueRunArgs(SendmailParams.parse(params), l));
    expect(run.status).toBe(0);
    expect(
      subjects(A)
        .filter((s) => s.startsWith('while-away'))
        .sort(),
    ).toEqual(['while-away-1', 'while-away-2', 'while-away-3']);
    expect(readFileSync(l.cf, 'utf8')).toContain('Mcyrusv2');
  });

  it("a broken sendmail.cf fails start as misconfigured with sendmail's message; so does an unqualified host name", async () => {
    const { state, params } = mta('broken', A);
    const cf = join(work, 'broken', 'bad.cf');
    mkdirSync(join(work, 'broken'), { recursive: true });
    writeFileSync(cf, `${readFileSync(join(work, 'main', 'state', 'sendmail.cf'), 'utf8')}Zgarbage line\n`);
    const r = await act('start', { ...params, config: cf }, state);
    expect(r).toMatchObject({ execution: 'done', outcome: 'misconfigured' });
    expect(r.reason).toMatch(/^sendmail -bv postmaster@paceline\.test: .*bad\.cf: line \d+: unknown configuration line "Zgarbage line"/);

    if (!hostname().includes('.')) {
      const t0 = Date.now();
      const h = await act('start', params, join(work, 'bare-state'), 60_000, bare);
      expect(h).toMatchObject({ outcome: 'misconfigured' });
      expect(h.reason).toContain(`sendmail would wait 60 s at every start: the host name "${hostname()}" is not qualified`);
      expect(Date.now() - t0).toBeLessThan(20_000);
    }
    expect(sendmails()).toEqual([]);
    expect(lab.processes(bare)).toEqual([]);
  });

  it('a probe finds a sendmail started by hand, and stop stops it', async () => {
    const { state, params } = mta('byhand', B);
    expect(await act('start', params, state)).toMatchObject({ outcome: 'ok' });
    expect(await act('stop', params, state)).toMatchObject({ outcome: 'ok' });
    const p = SendmailParams.parse(params);
    const l = layoutOf(p, { stateDir: state });
    const hand = spawn('ip', ['netns', 'exec', ns, '/usr/sbin/sendmail', '-C', l.cf, '-bD', '-q1m', ...queueRunArgs(p, l).slice(2, -1)], {
      detached: true,
      stdio: 'ignore',
    });
    hand.unref();
    const probeState = join(work, 'byhand', 'probe');
    let probe = await act('monitor', params, probeState);
    for (let i = 0; i < 40 && probe.outcome !== 'ok'; i++) {
      await new Promise((r) => setTimeout(r, 250));
      probe = await act('monitor', params, probeState);
    }
    expect(probe).toMatchObject({ outcome: 'ok' });
    expect(probe.reason).toContain('started outside Paceline');
    expect(await act('stop', params, probeState)).toMatchObject({ outcome: 'ok' });
    expect(open(B, 25)).toBe(false);
    expect(sendmails()).toEqual([]);
  });

  it('two instances side by side do not collide', async () => {
    const one = mta('one', A);
    const two = mta('two', B);
    expect(await act('start', one.params, one.state)).toMatchObject({ outcome: 'ok' });
    expect(await act('start', two.params, two.state)).toMatchObject({ outcome: 'ok' });
    send(B, ['via-two']);
    expect(await act('stop', one.params, one.state)).toMatchObject({ outcome: 'ok' });
    expect(await act('monitor', two.params, two.state)).toMatchObject({ outcome: 'ok' });
    expect(await until(() => subjects(A).includes('via-two'), 30_000)).toBe(true);
    expect(await act('stop', two.params, two.state)).toMatchObject({ outcome: 'ok' });
    expect(sendmails()).toEqual([]);
  });

  it('passes ocf-tester as an exported OCF agent', async () => {
    const { params } = mta('ocf', A);
    const r = await lab.ocfTester(ns, 'sendmail', params, join(work, 'ocf'));
    if (!r.passed) console.log(r.output);
    expect(r.passed).toBe(true);
    expect(sendmails()).toEqual([]);
  });
});
