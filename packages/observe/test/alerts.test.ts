/**
 * Alerts without a cluster: the CRM_alert_* environment, Pacemaker's timestamp format, and the
 * alert manager's bounds — a bounded queue that drops (and counts) beyond its limit, a concurrency
 * limit, a deadline that kills a hung agent — with real programs run by the real command runner.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { Monitoring, validateConfig } from '@paceline/model';
import { ExecaCommandRunner, createLogger } from '@paceline/runtime';
import { DaemonEvents, type ClusterDoc } from '@paceline/daemon';
import { AlertManager, parseListenOverride, type ObservedDaemon } from '@paceline/observe';
import { alertEnv, resourceAlert } from '../src/alert-event.js';
import { resolveListener } from '../src/listen.js';
import { formatTimestamp } from '../src/strftime.js';

const dir = mkdtempSync(join(tmpdir(), `paceline-alerts-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const logLines: string[] = [];
const logger = createLogger({
  stream: new Writable({
    write(c, _e, cb) {
      logLines.push(String(c));
      cb();
    },
  }),
  level: 'debug',
});

/** A daemon as the alert manager sees it: its events and its document (nothing else is used). */
function standIn(monitoring: Record<string, unknown>): ObservedDaemon & DaemonEvents {
  const doc: ClusterDoc = {
    epoch: 1,
    quarantine: {},
    config: { nodes: [{ name: 'serv1' }, { name: 'serv2' }], properties: { clusterName: 'c1' }, monitoring },
  };
  return Object.assign(new DaemonEvents(), { name: 'serv1', document: () => doc }) as unknown as ObservedDaemon & DaemonEvents;
}

function script(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

test("the environment an alert agent gets: Pacemaker's variables and their CRM_notify_ copies", () => {
  const at = Date.UTC(2026, 0, 2, 3, 4, 5) + 678;
  const env = alertEnv(
    { kind: 'node', at, node: 'serv2', desc: 'lost' },
    { sequence: 7, recipient: 'ops@example.com', timestampFormat: '%s.%3N', version: '1.2.3' },
  );
  expect(env).toMatchObject({
    CRM_alert_kind: 'node',
    CRM_alert_node: 'serv2',
    CRM_alert_desc: 'lost',
    CRM_alert_node_sequence: '7',
    CRM_alert_recipient: 'ops@example.com',
    CRM_alert_version: '1.2.3',
    CRM_alert_timestamp: `${Math.floor(at / 1000)}.678`,
    CRM_alert_timestamp_epoch: String(Math.floor(at / 1000)),
    CRM_alert_timestamp_usec: '678000',
    CRM_notify_kind: 'node',
    CRM_notify_node: 'serv2',
  });
  expect(env['CRM_alert_rsc']).toBeUndefined();

  const failedStart = resourceAlert(
    {
      id: 'web_start_0 serv1',
      node: 'serv1',
      instance: 'web',
      action: 'start',
      interval: 0,
      at,
      result: { execution: 'done', outcome: 'not-installed', reason: 'no such program', durationMs: 12.4 },
      succeeded: false,
    },
    at,
  )!;
  expect(alertEnv(failedStart, { sequence: 1, timestampFormat: '%H', version: 'v' })).toMatchObject({
    CRM_alert_kind: 'resource',
    CRM_alert_rsc: 'web',
    CRM_alert_task: 'start',
    CRM_alert_interval: '0',
    CRM_alert_rc: '5',
    CRM_alert_target_rc: '0',
    CRM_alert_status: '0',
    CRM_alert_desc: 'not installed',
    CRM_alert_exec_time: '12',
    CRM_alert_recipient: '',
  });
  const timedOut = resourceAlert(
    {
      id: 'x',
      node: 'serv1',
      instance: 'db:1',
      action: 'stop',
      interval: 0,
      at,
      result: { execution: 'timeout', outcome: 'generic-error', reason: 'after 20000 ms' },
      succeeded: false,
    },
    at,
  )!;
  expect(timedOut).toMatchObject({ rc: 1, status: 2, desc: 'Timed Out: after 20000 ms', rsc: 'db:1' });
  // A recurring monitor that found what it expected is no news; one that did not is.
  const monitor = { id: 'm', node: 'serv1', instance: 'web', action: 'monitor', interval: 10_000, at } as const;
  expect(resourceAlert({ ...monitor, result: { execution: 'done', outcome: 'ok' }, succeeded: true }, at)).toBeUndefined();
  expect(resourceAlert({ ...monitor, result: { execution: 'done', outcome: 'not-running' }, succeeded: false }, at)).toMatchObject({
    rc: 7,
    targetRc: 0,
    desc: 'not running',
    interval: 10_000,
  });
});

test("timestamps in Pacemaker's format (strftime, %N for fractions)", () => {
  const at = new Date(2026, 4, 6, 7, 8, 9, 123).getTime() + 0.456;
  expect(formatTimestamp('%H:%M:%S.%06N', at)).toBe('07:08:09.123456');
  expect(formatTimestamp('%Y-%m-%d %T.%3N %%', at)).toBe('2026-05-06 07:08:09.123 %');
  expect(formatTimestamp('%F %j %b %a', at)).toBe('2026-05-06 126 May Wed');
  expect(formatTimestamp('%N', at)).toBe('123456000');
  expect(formatTimestamp('%Q stays', at)).toBe('%Q stays');
});

test('listen addresses: overrides and link: addresses', () => {
  expect(parseListenOverride('--web-listen', '0.0.0.0:7630')).toEqual({ host: '0.0.0.0', port: 7630 });
  expect(parseListenOverride('--web-listen', '[::1]:7630')).toEqual({ host: '::1', port: 7630 });
  expect(parseListenOverride('--metrics-listen', '9664')).toEqual({ host: '127.0.0.1', port: 9664 });
  expect(parseListenOverride('--metrics-listen', 'off')).toBeNull();
  expect(() => parseListenOverride('--metrics-listen', 'localhost')).toThrow('--metrics-listen "localhost": write HOST:PORT');
  const r = validateConfig({
    nodes: [{ name: 'serv1', addresses: { lan: '192.168.1.1', crossover: '10.0.0.1:5405' } }],
    monitoring: { metrics: { port: 9664, address: 'link:crossover' } },
  });
  expect(r.config).toBeDefined();
  const config = r.config!;
  expect(resolveListener(config.monitoring!.metrics!, config, 'serv1', 'metrics')).toEqual({ host: '10.0.0.1', port: 9664 });
  expect(resolveListener({ port: 1, address: 'link:lan' }, config, 'serv1', 'web')).toEqual({ host: '192.168.1.1', port: 1 });
  expect(() => resolveListener({ port: 1, address: 'link:spare' }, config, 'serv1', 'web')).toThrow(
    'node serv1 has no address on link "spare" (its links: lan, crossover)',
  );
});

test('the monitoring section is checked like the rest of the configuration', () => {
  const bad = Monitoring.safeParse({ metrics: { port: 9664, adress: '0.0.0.0' } });
  expect(bad.success).toBe(false);
  expect(JSON.stringify(bad.error?.issues)).toContain('adress');
  expect(Monitoring.safeParse({ alerts: [{ id: 'a', path: 'alert.sh' }] }).error?.issues[0]?.message).toBeDefined();
  expect(
    Monitoring.safeParse({
      alerts: [
        { id: 'a', path: '/bin/true' },
        { id: 'a', url: 'http://h/x' },
      ],
    }).error?.issues.map((i) => i.message),
  ).toContain('alert id "a" is used twice');
  expect(Monitoring.parse({ alerts: [{ id: 'a', path: '/bin/true' }] }).alerts[0]).toMatchObject({
    timeout: 30_000,
    timestampFormat: '%H:%M:%S.%06N',
    recipients: [],
    args: [],
  });
  const r = validateConfig({ nodes: [{ name: 'a' }], monitoring: { web: { port: 7630 }, alerts: [{ id: 'hook', url: 'ftp://x' }] } });
  expect(r.config).toBeUndefined();
});

test('a full queue drops and counts; runs are bounded in number and in time', async () => {
  const started = join(dir, 'started');
  const slow = script('slow.sh', `echo "$CRM_alert_node_sequence" >> ${started}\nsleep 30`);
  const d = standIn({ alerts: [{ id: 'slow', path: slow, timeout: '1s' }], alertConcurrency: 2, alertQueue: 3 });
  const registry = new Registry();
  const m = new AlertManager(d, { runner: new ExecaCommandRunner(), logger, version: 't', registry });
  const t0 = Date.now();
  for (let i = 0; i < 8; i++) m.emit({ kind: 'node', at: Date.now(), node: `n${i}`, desc: 'lost' });
  // Two run, three wait, three were dropped — and emit() returned at once.
  expect(Date.now() - t0).toBeLessThan(1000);
  expect(m.pending).toBe(5);
  await m.idle();
  const took = Date.now() - t0;
  const text = await registry.metrics();
  expect(text).toContain('paceline_alerts_dropped_total{alert="slow"} 3');
  expect(text).toContain('paceline_alerts_total{alert="slow",result="timeout"} 5');
  expect(readFileSync(started, 'utf8').trim().split('\n').sort()).toEqual(['1', '2', '3', '4', '5']);
  // Five runs of 1 s each, two at a time: about 3 s, not 5 × 30 s.
  expect(took).toBeGreaterThanOrEqual(2500);
  expect(took).toBeLessThan(15_000);
  expect(logLines.join('')).toContain('alert slow dropped');
  expect(logLines.join('')).toContain('timed out after 1000 ms (killed)');
  await m.dispose();
});

test('one run per recipient; select filters kinds; a failing agent is logged; a webhook gets JSON', async () => {
  const out = join(dir, 'per-recipient');
  const agent = script('rec.sh', `echo "$CRM_alert_kind $CRM_alert_recipient $CRM_alert_node $MY_VAR $1" >> ${out}`);
  const failing = script('fail.sh', 'echo broken >&2; exit 3');
  const bodies: unknown[] = [];
  const server = createServer((req, res) => {
    let b = '';
    req.on('data', (c) => {
      b += String(c);
    });
    req.on('end', () => {
      bodies.push({ auth: req.headers.authorization, body: JSON.parse(b) });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const d = standIn({
    alerts: [
      { id: 'rec', path: agent, args: ['arg1'], recipients: ['a', 'b'], select: ['fencing'], env: { MY_VAR: 'v' } },
      { id: 'fail', path: failing, select: ['node'] },
      { id: 'hook', url, headers: { authorization: 'Bearer x' }, select: ['fencing', 'node'] },
    ],
  });
  const m = new AlertManager(d, { runner: new ExecaCommandRunner(), logger, version: 't' });
  d.emit('fenced', { node: 'serv2', ok: true });
  d.emit('node-lost', { node: 'serv2', clean: false });
  d.emit('link-down', { node: 'serv2', link: 'lan' }); // selected by none
  await m.idle();
  expect(readFileSync(out, 'utf8').trim().split('\n').sort()).toEqual(['fencing a serv2 v arg1', 'fencing b serv2 v arg1']);
  expect(logLines.join('')).toMatch(/alert agent \S+fail\.sh failed: exit 3 broken/);
  expect(bodies).toHaveLength(2);
  expect(bodies).toContainEqual({
    auth: 'Bearer x',
    body: expect.objectContaining({
      alert: 'hook',
      from: 'serv1',
      cluster: 'c1',
      kind: 'fencing',
      node: 'serv2',
      task: 'reboot',
      rc: 0,
      desc: 'Operation reboot of serv2 by serv1: OK',
    }),
  });
  expect(bodies).toContainEqual(
    expect.objectContaining({ body: expect.objectContaining({ kind: 'node', desc: 'lost', timestamp: expect.stringMatching(/^\d{4}-/) }) }),
  );
  await m.dispose();
  server.close();
  expect(existsSync(out)).toBe(true);
});

test('a webhook that does not answer is given up at its timeout', async () => {
  // Answers nothing until the test ends.
  const held: import('node:http').ServerResponse[] = [];
  const server = createServer((_req, res) => {
    held.push(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const d = standIn({ alerts: [{ id: 'mute', url, timeout: '300ms' }] });
  const registry = new Registry();
  const m = new AlertManager(d, { runner: new ExecaCommandRunner(), logger, version: 't', registry });
  for (let i = 0; i < 3; i++) m.emit({ kind: 'node', at: Date.now(), node: `n${i}`, desc: 'lost' });
  await m.idle();
  expect(await registry.metrics()).toContain('paceline_alerts_total{alert="mute",result="timeout"} 3');
  expect(logLines.join('')).toContain('alert mute timed out after 300 ms');
  await m.dispose();
  for (const r of held) r.destroy();
  server.close();
});
