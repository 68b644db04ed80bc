/**
 * paceline:cyrus with the real Cyrus IMAP 3.6, in a network namespace this test creates: start
 * answers IMAP (and LMTP); monitor ok with a test login, a wrong password fails saying so; SIGSTOP
 * is a hang reported within the check timeout; kill -9 is "not running" and stop cleans up; an
 * option Cyrus does not know, or a config it cannot parse, fails start as misconfigured with
 * cyr_info's message; stop closes the ports and leaves no process; a probe finds a master started
 * by hand; two instances side by side do not collide; ocf-tester passes on the exported agent.
 * The mail story: message files added and removed underneath a stopped Cyrus (as a mirror resync
 * does), even with a config directory that never knew the mailbox, are each visible over IMAP
 * exactly once after start, and quota usage matches. Skipped, with the reason printed, when not
 * root or Cyrus / sasl2-bin is not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateParams } from '@paceline/agent-api';
import { cyrusAgent, cyrusConfText, imapdConfText, layoutOf, mailboxDirs, summarize, CyrusParams } from '@paceline/agent-cyrus';
import { ServiceLab, serviceSkipReason } from '../../../packages/ocf/test/helpers/service-lab.js';

const A = '10.231.79.1';
const B = '10.231.79.2';
const REALM = 'mail.paceline.test';
const CLIENT = fileURLToPath(new URL('./mail-client.mjs', import.meta.url));

describe('cyrus parameters and generated files', () => {
  it.each([
    [{ config: 'imapd.conf' }, 'config'],
    [{ address: 'imap.example.org' }, 'address'],
    [{ partition: '/var/spool/my spool' }, 'partition'],
    [{ reconstruct: 'sometimes' }, 'reconstruct'],
    [{ testUser: 'alice' }, 'testPassword'],
    [{ imapport: 143 }, 'imapport'],
  ])('rejects %j naming %s', (raw, param) => {
    const r = validateParams(cyrusAgent, raw, 'imap');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(param);
  });

  it('fills Debian defaults and writes every path from the parameters', () => {
    const p = CyrusParams.parse({ address: '::1', options: { lmtp_downcase_rcpt: 'no', altnamespace: 'no' } });
    expect(p).toMatchObject({ imapPort: 143, lmtpPort: 2003, configDirectory: '/var/lib/cyrus', partition: '/var/spool/cyrus/mail', user: 'cyrus' });
    const l = layoutOf(p, { stateDir: '/st' });
    const conf = imapdConfText(p, l);
    expect(conf).toContain('configdirectory: /var/lib/cyrus\n');
    expect(conf).toContain('partition-default: /var/spool/cyrus/mail\n');
    expect(conf).toContain('lmtpsocket: /st/run/socket/lmtp\n');
    expect(conf).toContain('proc_path: /st/run/proc\n');
    expect(conf).toContain('lmtp_downcase_rcpt: no\n');
    expect(conf).not.toContain('lmtp_downcase_rcpt: yes');
    const master = cyrusConfText(p, l);
    expect(master).toContain('listen="[::1]:143"');
    expect(master).toContain('lmtpd -a -C /st/imapd.conf" listen="[::1]:2003"');
  });

  it('counts what reconstruct reported', () => {
    expect(summarize('created mbentry for user.a (x)\nuser.a uid 2 not found\nuser.a uid 5 found - adding\nuser.a uid 2 rediscovered - appending\n')).toEqual({
      registered: 1,
      added: 2,
      missing: 1,
    });
  });
});

const skip = serviceSkipReason('cyrus', ['cyrmaster', 'saslpasswd2', 'cyradm']);
const d = skip ? describe.skip : describe;
if (skip) console.log(`skipping cyrus tests: ${skip}`);

d('paceline:cyrus with Cyrus IMAP', () => {
  const lab = new ServiceLab('cy');
  let ns: string;
  let work: string;
  const act = (action: Parameters<ServiceLab['act']>[3], params: Record<string, unknown>, stateDir: string, timeoutMs = 60_000) =>
    lab.act(ns, 'cyrus', 'cyrusAgent', action, params, { stateDir, timeoutMs });
  const client = (req: Record<string, unknown>): Record<string, unknown> => {
    const r = lab.run(ns, process.execPath, [CLIENT, JSON.stringify(req)]);
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
  };
  const open = (addr: string, port: number): boolean => lab.run(ns, 'ss', ['-Hltn', `src ${addr}:${port}`]).stdout.trim() !== '';
  const cyrusIds = (): [number, number] => [
    Number(spawnSync('id', ['-u', 'cyrus'], { encoding: 'utf8' }).stdout.trim()),
    Number(spawnSync('id', ['-g', 'cyrus'], { encoding: 'utf8' }).stdout.trim()),
  ];

  /** An instance's directories, SASL users (cyrus, alice) and parameters. */
  function instance(name: string, address: string, extra: Record<string, unknown> = {}): { dir: string; state: string; params: Record<string, unknown> } {
    const dir = join(work, name);
    mkdirSync(dir, { recursive: true });
    const sasldb = join(dir, 'sasldb2');
    for (const [user, pw] of [
      ['cyrus', 'admin-pw'],
      ['alice', 'alice-pw'],
    ] as const) {
      const r = spawnSync('saslpasswd2', ['-p', '-c', '-f', sasldb, '-u', REALM, user], { input: pw, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`saslpasswd2: ${r.stderr}`);
    }
    chownSync(sasldb, ...cyrusIds());
    return {
      dir,
      state: join(dir, 'state'),
      params: {
        address,
        configDirectory: join(dir, 'lib'),
        partition: join(dir, 'spool'),
        sasldb,
        servername: REALM,
        checkTimeoutMs: 1500,
        stopTimeoutMs: 3000,
        ...extra,
      },
    };
  }
  const admin = (address: string, commands: string[], port = 143) => client({ op: 'imap', host: address, port, user: 'cyrus', password: 'admin-pw', commands });
  const inbox = (address: string, port = 143) =>
    client({ op: 'imap', host: address, port, user: 'alice', password: 'alice-pw', mailbox: 'INBOX' }) as {
      exists: number;
      subjects: string[];
      uids: number[];
      quota: string;
      error?: string;
    };
  const deliver = (address: string, subjects: string[], port = 2003) =>
    client({
      op: 'lmtp',
      host: address,
      port,
      from: 'bob@example.org',
      to: ['alice'],
      messages: subjects.map((subject) => ({ subject, body: `${subject} body` })),
    });

  beforeAll(() => {
    ns = lab.ns('n', [`${A}/32`, `${B}/32`]);
    work = lab.dir('cyrus');
  });
  afterAll(() => lab.cleanup());

  it('start answers IMAP and LMTP; monitor logs in; a wrong password fails; SIGSTOP is a hang; kill -9 is not running; stop cleans up', async () => {
    const { state, params } = instance('main', A);
    const started = await act('start', params, state);
    expect(started).toMatchObject({ execution: 'done', outcome: 'ok' });
    expect(started.reason).toMatch(/spool reconciled in \d+ ms: 0 mailbox/);
    expect(admin(A, ['CREATE user/alice'])).toMatchObject({ results: [expect.stringMatching(/^t2 OK/)] });
    expect(deliver(A, ['hello'])).toMatchObject({
      replies: [
        ['alice', expect.stringMatching(/^250/)],
        ['DATA', expect.stringMatching(/^250/)],
      ],
    });

    const login = { ...params, testUser: 'alice', testPassword: 'alice-pw' };
    const m = await act('monitor', login, state);
    expect(m).toMatchObject({ outcome: 'ok' });
    expect(m.reason).toMatch(/IMAP 10\.231\.79\.1:143: \* OK .*; CAPABILITY \d+ items; LOGIN alice OK; INBOX: 1 messages/);
    // Cyrus pauses 3 s (failedloginpause) before refusing a login.
    const wrong = await act('monitor', { ...login, testPassword: 'nope', checkTimeoutMs: 6000 }, state);
    expect(wrong).toMatchObject({ outcome: 'generic-error' });
    expect(wrong.reason).toMatch(/LOGIN alice: NO/);

    const pid = ServiceLab.recordedPid(state);
    process.kill(-pid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      const hung = await act('monitor', params, state);
      expect(hung).toMatchObject({ outcome: 'generic-error' });
      expect(hung.reason).toMatch(/^hung: IMAP 10\.231\.79\.1:143: no answer within 1500 ms/);
      expect(Date.now() - t0).toBeLessThan(15_000); // 1.5 s check + the driver's start-up on a loaded machine
    } finally {
      process.kill(-pid, 'SIGCONT');
    }
    expect(await act('monitor', params, state)).toMatchObject({ outcome: 'ok' });

    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    const dead = await act('monitor', params, state);
    expect(dead).toMatchObject({ outcome: 'not-running' });
    expect(dead.reason).toContain(`process ${pid} (cyrus master) is gone`);
    expect(await act('stop', params, state)).toMatchObject({ outcome: 'ok' });
    expect(await act('stop', params, state)).toMatchObject({ outcome: 'ok' });
    expect(open(A, 143) || open(A, 2003)).toBe(false);
    expect(lab.processes(ns)).toEqual([]);
  });

  it('after message files were added and removed underneath it (a resync), every message is visible exactly once and quota matches', async () => {
    const { state, params, dir } = instance('resync', A);
    expect(await act('start', params, state)).toMatchObject({ outcome: 'ok' });
    admin(A, ['CREATE user/alice', 'SETQUOTA user/alice (STORAGE 100000 MESSAGE 1000)']);
    deliver(A, ['m1', 'm2', 'm3', 'm4']);
    expect(inbox(A)).toMatchObject({ exists: 4, subjects: ['m1', 'm2', 'm3', 'm4'], uids: [1, 2, 3, 4] });
    expect(await act('stop', params, state)).toMatchObject({ outcome: 'ok' });

    // What a three-way merge may do to a mailbox directory while Cyrus is down: bring messages
    // the peer received (UIDs this index never had), drop one the peer expunged, replace one the
    // peer's copy holds differently.
    const [box] = await mailboxDirs(join(dir, 'spool'));
    const msg = (subject: string): string => `From: <peer@example.org>\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@peer>\r\n\r\n${subject} body\r\n`;
    const [uid, gid] = cyrusIds();
    const put = (file: string, text: string): void => {
      writeFileSync(file, text);
      chownSync(file, uid, gid);
    };
    rmSync(join(box!, '2.'));
    put(join(box!, '7.'), msg('from-peer'));
    rmSync(join(box!, '4.'));
    put(join(box!, '4.'), msg('m4-changed-on-peer'));
    put(join(box!, '9.'), msg('late-from-peer'));

    const started = await act('start', params, state);
    expect(started).toMatchObject({ outcome: 'ok' });
    expect(started.reason).toMatch(/spool reconciled in \d+ ms: 1 mailbox\(es\), 2 message file\(s\) added to the index, 1 missing file\(s\) dropped/);
    const after = inbox(A);
    const sorted = [...after.subjects].sort();
    expect(sorted).toEqual(['from-peer', 'late-from-peer', 'm1', 'm3', 'm4-changed-on-peer'].sort());
    expect(after.exists).toBe(5);
    // Quota usage is what the files hold now: messages, and bytes (STORAGE in whole KiB).
    const bytes = readdirSync(box!)
      .filter((f) => /^\d+\.$/.test(f))
      .reduce((n, f) => n + statSync(join(box!, f)).size, 0);
    expect(after.quota).toBe(`* QUOTA INBOX (STORAGE ${Math.floor(bytes / 1024)} 100000 MESSAGE 5 1000)`);
    expect(await act('stop', params, state)).toMatchObject({ outcome: 'ok' });

    // The same spool on a node whose config directory never knew the mailbox (a failover to a
    // peer whose /var/lib/cyrus was not mirrored): reconstruct -P registers it from its header.
    rmSync(join(dir, 'lib'), { recursive: true });
    const fresh = await act('start', params, join(dir, 'state2'));
    expect(fresh).toMatchObject({ outcome: 'ok' });
    expect(fresh.reason).toMatch(/1 registered from their cyrus\.header/);
    expect([...inbox(A).subjects].sort()).toEqual(sorted);
    expect(await act('stop', params, join(dir, 'state2'))).toMatchObject({ outcome: 'ok' });
    expect(lab.processes(ns)).toEqual([]);
  });

  it('a message the mirror kept as a conflict (its UID taken on the other node) is brought back, once', async () => {
    const { state, params, dir } = instance('conflict', A);
    const p = { ...params, partition: join(dir, 'spool', 'mail'), mirrorPath: join(dir, 'spool') };
    expect(await act('start', p, state)).toMatchObject({ outcome: 'ok' });
    admin(A, ['CREATE user/alice']);
    deliver(A, ['m1', 'm2', 'm3']);
    expect(await act('stop', p, state)).toMatchObject({ outcome: 'ok' });

    // The mirror's three-way merge found UID 2 changed on both nodes: the peer's file stays in
    // place, this node's own message 2 is saved as conflicts/PATH.NODE.STAMP (as is its index).
    const [box] = await mailboxDirs(join(dir, 'spool', 'mail'));
    const rel = box!.slice(join(dir, 'spool').length + 1);
    const saved = join(dir, 'spool.mirror', 'conflicts', rel);
    mkdirSync(saved, { recursive: true });
    writeFileSync(join(saved, '2..serv2.2026-12-07T01-00-00Z'), 'From: <bob@example.org>\r\nSubject: never-mirrored\r\n\r\nonly here\r\n');
    writeFileSync(join(saved, 'cyrus.index.serv2.2026-12-07T01-00-00Z'), 'not a message');
    const started = await act('start', p, state);
    expect(started).toMatchObject({ outcome: 'ok' });
    expect(started.reason).toContain('1 message file(s) the mirror kept as conflicts brought back');
    expect([...inbox(A).subjects].sort()).toEqual(['m1', 'm2', 'm3', 'never-mirrored']);
    expect(await act('stop', p, state)).toMatchObject({ outcome: 'ok' });
    const again = await act('start', p, state);
    expect(again.reason).not.toContain('brought back');
    expect(inbox(A).exists).toBe(4);
    expect(await act('stop', p, state)).toMatchObject({ outcome: 'ok' });
  });

  it("an unknown option or a config Cyrus cannot parse fails start as misconfigured with cyr_info's message, and starts nothing", async () => {
    const { state, params, dir } = instance('broken', A);
    const r = await act('start', { ...params, options: { bogus_option: '1' } }, state);
    expect(r).toMatchObject({ execution: 'done', outcome: 'misconfigured' });
    expect(r.reason).toMatch(/^cyr_info conf-lint: options Cyrus does not know in .*imapd\.conf: bogus_option: 1$/);

    const conf = join(dir, 'imapd.conf');
    writeFileSync(conf, `configdirectory: ${dir}/lib\npartition-default ${dir}/spool\n`);
    const p = await act('start', { ...params, config: conf }, state);
    expect(p).toMatchObject({ outcome: 'misconfigured' });
    expect(p.reason).toMatch(/^cyr_info conf-lint: fatal error: invalid option name on line 2 of configuration file/);
    expect(lab.processes(ns)).toEqual([]);
    expect(open(A, 143)).toBe(false);
  });

  it('a probe finds a master started by hand, and stop stops it', async () => {
    const { state, params, dir } = instance('byhand', B);
    // Let the agent write the configuration files, then start master ourselves with them.
    expect(await act('start', params, state)).toMatchObject({ outcome: 'ok' });
    expect(await act('stop', params, state)).toMatchObject({ outcome: 'ok' });
    const l = layoutOf(CyrusParams.parse(params), { stateDir: state });
    const hand = spawn('ip', ['netns', 'exec', ns, '/usr/sbin/cyrmaster', '-D', '-C', l.imapdConf, '-M', l.cyrusConf, '-p', join(dir, 'hand.pid')], {
      detached: true,
      stdio: 'ignore',
    });
    hand.unref();
    const probeState = join(dir, 'probe-state');
    let probe = await act('monitor', params, probeState);
    for (let i = 0; i < 40 && probe.outcome !== 'ok'; i++) {
      await new Promise((r) => setTimeout(r, 250));
      probe = await act('monitor', params, probeState);
    }
    expect(probe).toMatchObject({ outcome: 'ok' });
    expect(probe.reason).toContain('started outside Paceline');
    expect(await act('stop', params, probeState)).toMatchObject({ outcome: 'ok' });
    expect(open(B, 143)).toBe(false);
    expect(lab.processes(ns)).toEqual([]);
    expect(await act('monitor', params, join(dir, 'fresh'))).toMatchObject({ outcome: 'not-running' });
  });

  it('two instances side by side do not collide', async () => {
    const one = instance('one', A);
    const two = instance('two', B);
    expect(await act('start', one.params, one.state)).toMatchObject({ outcome: 'ok' });
    expect(await act('start', two.params, two.state)).toMatchObject({ outcome: 'ok' });
    admin(A, ['CREATE user/alice']);
    admin(B, ['CREATE user/alice']);
    deliver(A, ['to-one']);
    deliver(B, ['to-two-a', 'to-two-b']);
    expect(await act('stop', one.params, one.state)).toMatchObject({ outcome: 'ok' });
    expect(await act('monitor', two.params, two.state)).toMatchObject({ outcome: 'ok' });
    expect(inbox(B)).toMatchObject({ exists: 2, subjects: ['to-two-a', 'to-two-b'] });
    expect(await act('stop', two.params, two.state)).toMatchObject({ outcome: 'ok' });
    expect(readFileSync(join(one.state, 'imapd.conf'), 'utf8')).toContain(`configdirectory: ${one.dir}/lib`);
    expect(lab.processes(ns)).toEqual([]);
  });

  it('passes ocf-tester as an exported OCF agent', async () => {
    const { params, dir } = instance('ocf', A);
    const r = await lab.ocfTester(ns, 'cyrus', params, dir);
    if (!r.passed) console.log(r.output);
    expect(r.passed).toBe(true);
    expect(lab.processes(ns)).toEqual([]);
  });
});
