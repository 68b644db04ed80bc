/**
 * Two daemons in this process over real UDP on 127.0.0.1, each with its metrics endpoint and its
 * alerts: Prometheus text scraped over HTTP shows the resource move on a failover (and the fencing,
 * the quarantine, the membership change), and Pacemaker's own sample alert agent (alert_file.sh)
 * writes what happened, from the CRM_alert_* environment the daemon gives it.
 */
import { chmodSync, copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { AgentRegistry } from '@paceline/agent-api';
import { dummyAgents } from '@paceline/agent-dummy';
import { ExecaCommandRunner, createLogger, systemClock } from '@paceline/runtime';
import { Daemon, systemTimers, type DaemonStatus } from '@paceline/daemon';
import { Observer } from '@paceline/observe';
import { freePorts, twoNodeConfig, waitFor, testbed } from '../../daemon/test/helpers.js';

const PACEMAKER_SAMPLE = '/usr/share/pacemaker/alerts/alert_file.sh.sample';
const { root, key, daemons } = testbed('observe');
const observers: Observer[] = [];
afterAll(async () => {
  for (const o of observers) await o.dispose();
});
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
const runner = new ExecaCommandRunner();

/** One sample of a metric: its value for the labels given (all must match), or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

async function scrape(o: Observer): Promise<string> {
  const res = await fetch(o.metricsUrl!);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

const where = (s: DaemonStatus, rsc: string): string | null | undefined => s.resources.find((r) => r.resource === rsc && r.role !== 'Stopped')?.node;

test("metrics follow a failover; Pacemaker's sample alert agent records it", async () => {
  // Pacemaker's sample alert agent when installed (pacemaker-cli-utils, scripts/setup.sh), as is.
  expect(existsSync(PACEMAKER_SAMPLE)).toBe(true);
  const agent = join(root, 'alert_file.sh');
  copyFileSync(PACEMAKER_SAMPLE, agent);
  chmodSync(agent, 0o755);
  // One file both nodes' agents append to (the document is cluster-wide: one recipient for all).
  const recipient = join(root, 'alerts.log');
  const config = twoNodeConfig(await freePorts(8), {
    monitoring: { alerts: [{ id: 'file', path: agent, recipients: [recipient], timestampFormat: '%Y-%m-%d %H:%M:%S.%06N' }] },
  });
  const fenced: string[] = [];
  const make = (node: string): Daemon => {
    const d = new Daemon({
      node,
      config,
      stateDir: join(root, node),
      key,
      agents: new AgentRegistry([...dummyAgents]),
      runner,
      clock: systemClock,
      timers: systemTimers,
      logger,
      fence: async (n) => {
        fenced.push(n);
        return { ok: true };
      },
    });
    daemons.push(d);
    return d;
  };
  const s1 = make('serv1');
  const s2 = make('serv2');
  await Promise.all([s1.start(), s2.start()]);
  const o1 = await Observer.open(s1, { runner, logger, version: '0.1.0-test', metrics: { host: '127.0.0.1', port: 0 } });
  const o2 = await Observer.open(s2, { runner, logger, version: '0.1.0-test', metrics: { host: '127.0.0.1', port: 0 } });
  observers.push(o1, o2);
  expect(o2.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  await waitFor('web on serv1, both may run', () => where(s2.status(), 'web') === 'serv1' && s1.status().mayRun && s2.status().mayRun);

  // Before: web runs on serv1, serv1 coordinates, both nodes online, links up.
  let text = await waitFor('metrics show web started on serv1', async () => {
    const t = await scrape(o2);
    return sample(t, 'ha_cluster_pacemaker_resources', { id: 'web', node: 'serv1', role: 'started', status: 'active' }) === 1 ? t : undefined;
  });
  expect(sample(text, 'ha_cluster_pacemaker_nodes', { name: 'serv1', status: 'online', type: 'member' })).toBe(1);
  expect(sample(text, 'ha_cluster_pacemaker_nodes', { name: 'serv1', status: 'dc' })).toBe(1);
  expect(sample(text, 'ha_cluster_pacemaker_nodes', { name: 'serv2', status: 'online' })).toBe(1);
  expect(sample(text, 'ha_cluster_pacemaker_nodes_total')).toBe(2);
  expect(sample(text, 'ha_cluster_pacemaker_stonith_enabled')).toBe(0);
  expect(sample(text, 'ha_cluster_corosync_quorate')).toBe(1);
  expect(sample(text, 'ha_cluster_corosync_ring_errors')).toBe(0);
  expect(sample(text, 'paceline_link_up', { peer: 'serv1', link: 'lan' })).toBe(1);
  expect(sample(text, 'paceline_link_up', { peer: 'serv1', link: 'crossover' })).toBe(1);
  expect(sample(text, 'paceline_coordinator', { node: 'serv1' })).toBe(1);
  expect(sample(text, 'paceline_may_run')).toBe(1);
  expect(sample(text, 'paceline_node_quarantined', { node: 'serv1' })).toBe(0);
  expect(sample(text, 'paceline_heartbeats_sent_total')).toBeGreaterThan(0);
  expect(sample(text, 'paceline_heartbeats_received_total')).toBeGreaterThan(0);
  expect(sample(text, 'paceline_messages_sent_total')).toBeGreaterThan(0);
  expect(text).toContain('instance_node="serv2"');
  // serv1 ran web's start and its monitors; the coordinator (serv1) counted its transitions.
  const t1 = await waitFor('serv1 counted a monitor', async () => {
    const t = await scrape(o1);
    return (sample(t, 'paceline_monitor_results_total', { resource: 'web', result: 'ok' }) ?? 0) > 0 ? t : undefined;
  });
  expect(sample(t1, 'paceline_actions_total', { agent: 'paceline:dummy', action: 'start', result: 'ok' })).toBe(1);
  expect(sample(t1, 'paceline_action_duration_seconds_count', { agent: 'paceline:dummy', action: 'start' })).toBe(1);
  expect(sample(t1, 'paceline_transitions_total', { result: 'succeeded' })).toBeGreaterThanOrEqual(1);
  expect(sample(t1, 'paceline_transition_duration_seconds_count')).toBeGreaterThanOrEqual(1);
  expect(sample(text, 'paceline_actions_total', { agent: 'paceline:dummy', action: 'start', result: 'ok' })).toBeUndefined();

  // serv1 dies without a word: serv2 fences it and takes web over; its metrics say so.
  await s1.abandon();
  await waitFor('web on serv2', () => where(s2.status(), 'web') === 'serv2');
  text = await waitFor('metrics show web started on serv2 and serv1 quarantined', async () => {
    const t = await scrape(o2);
    return sample(t, 'ha_cluster_pacemaker_resources', { id: 'web', node: 'serv2', role: 'started' }) === 1 &&
      sample(t, 'paceline_node_quarantined', { node: 'serv1' }) === 1 &&
      (sample(t, 'paceline_transitions_total', { result: 'succeeded' }) ?? 0) >= 1
      ? t
      : undefined;
  });
  expect(fenced).toEqual(['serv1']);
  expect(sample(text, 'ha_cluster_pacemaker_resources', { id: 'web', node: 'serv1' })).toBeUndefined();
  expect(sample(text, 'ha_cluster_pacemaker_nodes', { name: 'serv1', status: 'online' })).toBeUndefined();
  expect(sample(text, 'ha_cluster_pacemaker_nodes', { name: 'serv1', status: 'offline' })).toBe(1);
  expect(sample(text, 'ha_cluster_pacemaker_nodes', { name: 'serv2', status: 'dc' })).toBe(1);
  expect(sample(text, 'paceline_coordinator', { node: 'serv2' })).toBe(1);
  expect(sample(text, 'paceline_node_quarantined', { node: 'serv1' })).toBe(1);
  expect(sample(text, 'paceline_link_up', { peer: 'serv1', link: 'lan' })).toBe(0);
  expect(sample(text, 'ha_cluster_corosync_ring_errors')).toBe(2);
  expect(sample(text, 'paceline_fencing_total', { node: 'serv1', result: 'ok' })).toBe(1);
  expect(sample(text, 'paceline_node_events_total', { node: 'serv1', event: 'lost' })).toBe(1);
  expect(sample(text, 'paceline_link_events_total', { peer: 'serv1', link: 'lan', event: 'down' })).toBe(1);
  expect(sample(text, 'paceline_actions_total', { agent: 'paceline:dummy', action: 'start', result: 'ok' })).toBe(1);
  expect(sample(text, 'paceline_transitions_total', { result: 'succeeded' })).toBeGreaterThanOrEqual(1);
  expect(sample(text, 'paceline_config_epoch')).toBeGreaterThanOrEqual(1);

  // The alert agents wrote the story, in Pacemaker's sample's own words.
  await waitFor('alerts written', async () => {
    await o2.alerts.idle();
    const log = existsSync(recipient) ? readFileSync(recipient, 'utf8') : '';
    return log.includes("Resource operation 'start' for 'web' on 'serv2': ok") && log.includes('Fencing Operation reboot of serv1 by serv2: OK')
      ? log
      : undefined;
  });
  const log = readFileSync(recipient, 'utf8');
  expect(log).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}: Node 'serv1' is now 'member'$/m);
  expect(log).toMatch(/Node 'serv1' is now 'lost'$/m);
  expect(log).toMatch(/Unhandled link alert/); // the sample knows no link alerts: it dumps the variables
  expect(log).toContain('CRM_alert_task=down');
  expect(log).toContain('CRM_alert_version=0.1.0-test');
  // Recurring monitors that found what they expected raise no alert (as in Pacemaker).
  expect(log).not.toMatch(/'monitor \(1000\)' for 'web' on 'serv2': ok/);
  const metricsAfter = await scrape(o2);
  expect(sample(metricsAfter, 'paceline_alerts_total', { alert: 'file', result: 'ok' })).toBeGreaterThanOrEqual(4);
  // serv1's agent wrote its side until it died.
  expect(log).toContain("Resource operation 'start' for 'web' on 'serv1': ok");
});
