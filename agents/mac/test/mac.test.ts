/**
 * The mac agent for real, in network namespaces this test creates: a node with a primary NIC and
 * a spare NIC on a bridge shared with a client. The client sees the taken-over MAC; stop restores
 * the spare NIC's own MAC. Skipped (with the reason printed) when not root.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { exportOcf } from '@paceline/ocf';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatReport, testAgent, validateParams } from '@paceline/agent-api';
import { macAgent, originalMacFile } from '@paceline/agent-mac';
import { NetLab, act, netSkipReason, subnetOctet } from '../../../packages/ocf/test/helpers/netlab.js';

const skip = netSkipReason();
if (skip) console.log(`skipping mac agent namespace tests: ${skip}`);
const d = skip ? describe.skip : describe;

const net = `10.232.${subnetOctet}`;
const FAILED_NODE_MAC = '02:00:5e:10:00:01';
const VIRTUAL_MAC = '02:00:5e:10:00:02';

describe('mac parameters', () => {
  it.each([
    [{ mode: 'spare-nic', mac: '03:00:00:00:00:01', interface: 'eth1' }, 'mac', 'unicast'],
    [{ mode: 'spare-nic', mac: '02:00:00:00:01', interface: 'eth1' }, 'mac', 'MAC address'],
    [{ mode: 'macvlan', mac: VIRTUAL_MAC, interface: 'mv0' }, 'parent', 'required in macvlan mode'],
    [{ mode: 'bonding', mac: VIRTUAL_MAC, interface: 'mv0' }, 'mode', ''],
  ])('rejects %j naming %s', (raw, param, text) => {
    const r = validateParams(macAgent, raw, 'mac1');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toContain(`parameter "${param}"`);
      expect(r.message).toContain(text);
    }
  });
  it('normalises the MAC to lower case', () => {
    const r = validateParams(macAgent, { mode: 'spare-nic', mac: '02:AB:00:00:00:01', interface: 'eth1' });
    expect(r.ok && r.params.mac).toBe('02:ab:00:00:00:01');
  });
});

d('mac agent in network namespaces', () => {
  const lab = new NetLab('pm');
  let node: string, client: string, stateDir: string, spareOwnMac: string;

  beforeAll(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'paceline-mac-'));
    node = lab.ns('n');
    client = lab.ns('c');
    lab.bridge(
      client,
      [
        { ns: node, ifname: 'eth0', port: 'p0', address: `${net}.1/24` },
        { ns: node, ifname: 'eth1', port: 'p1', address: `${net}.11/24` },
      ],
      `${net}.254/24`,
    );
    // Each NIC answers ARP only for its own addresses, so the client sees which MAC owns which.
    // and ARP requests carry the address of the NIC they leave from (no "ARP flux").
    lab.exec(node, 'sysctl', ['-q', '-w', 'net.ipv4.conf.all.arp_ignore=1']);
    lab.exec(node, 'sysctl', ['-q', '-w', 'net.ipv4.conf.all.arp_announce=2']);
    spareOwnMac = lab.mac(node, 'eth1');
  });
  afterAll(() => {
    lab.cleanup();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const spare = { mode: 'spare-nic', mac: FAILED_NODE_MAC, interface: 'eth1' };

  it('spare-nic: takes over the MAC, remembering the original', async () => {
    const run = lab.runner(node);
    expect((await act(macAgent, 'monitor', spare, run, { stateDir })).outcome).toBe('not-running');
    expect(await act(macAgent, 'start', spare, run, { stateDir })).toMatchObject({ execution: 'done', outcome: 'ok' });
    expect(lab.mac(node, 'eth1')).toBe(FAILED_NODE_MAC);
    expect(readFileSync(originalMacFile(stateDir, 'eth1'), 'utf8').trim()).toBe(spareOwnMac);
    expect((await act(macAgent, 'monitor', spare, run, { stateDir })).outcome).toBe('ok');
    expect(lab.ping(client, `${net}.11`)).toBe(true);
    expect(lab.neighbour(client, `${net}.11`, 'br0')).toBe(FAILED_NODE_MAC);
    // The client's switch (the bridge) learned the MAC on the spare NIC's port.
    expect(lab.exec(client, 'bridge', ['fdb', 'show', 'br', 'br0'])).toMatch(new RegExp(`^${FAILED_NODE_MAC} dev p1 `, 'm'));
    // A second start keeps the remembered original.
    expect((await act(macAgent, 'start', spare, run, { stateDir })).outcome).toBe('ok');
    expect(readFileSync(originalMacFile(stateDir, 'eth1'), 'utf8').trim()).toBe(spareOwnMac);
  });

  it('spare-nic: stop restores the original MAC, and is idempotent', async () => {
    const run = lab.runner(node);
    expect((await act(macAgent, 'stop', spare, run, { stateDir })).outcome).toBe('ok');
    expect(lab.mac(node, 'eth1')).toBe(spareOwnMac);
    expect(existsSync(originalMacFile(stateDir, 'eth1'))).toBe(false);
    expect((await act(macAgent, 'stop', spare, run, { stateDir })).outcome).toBe('ok');
    expect((await act(macAgent, 'monitor', spare, run, { stateDir })).outcome).toBe('not-running');
    lab.exec(client, 'ip', ['neigh', 'flush', 'dev', 'br0']);
    expect(lab.ping(client, `${net}.11`)).toBe(true);
    expect(lab.neighbour(client, `${net}.11`, 'br0')).toBe(spareOwnMac);
  });

  const mv = { mode: 'macvlan', mac: VIRTUAL_MAC, interface: 'mv0', parent: 'eth0' };

  it('macvlan: creates an interface with the virtual MAC that the client reaches', async () => {
    const run = lab.runner(node);
    expect((await act(macAgent, 'monitor', mv, run, { stateDir })).outcome).toBe('not-running');
    expect((await act(macAgent, 'start', mv, run, { stateDir })).outcome).toBe('ok');
    expect((await act(macAgent, 'start', mv, run, { stateDir })).outcome).toBe('ok');
    expect(lab.exec(node, 'ip', ['-d', 'link', 'show', 'dev', 'mv0'])).toContain('macvlan mode bridge');
    expect(lab.mac(node, 'mv0')).toBe(VIRTUAL_MAC);
    lab.exec(node, 'ip', ['addr', 'add', `${net}.21/24`, 'dev', 'mv0']);
    expect(lab.ping(client, `${net}.21`)).toBe(true);
    expect(lab.neighbour(client, `${net}.21`, 'br0')).toBe(VIRTUAL_MAC);
    expect((await act(macAgent, 'monitor', mv, run, { stateDir })).outcome).toBe('ok');
  });

  it('macvlan: stop deletes the interface, and is idempotent', async () => {
    const run = lab.runner(node);
    expect((await act(macAgent, 'stop', mv, run, { stateDir })).outcome).toBe('ok');
    expect(lab.tryExec(node, 'ip', ['link', 'show', 'dev', 'mv0']).status).not.toBe(0);
    expect((await act(macAgent, 'stop', mv, run, { stateDir })).outcome).toBe('ok');
    expect((await act(macAgent, 'monitor', mv, run, { stateDir })).outcome).toBe('not-running');
  });

  it('fails to start on a missing NIC or parent', async () => {
    const run = lab.runner(node);
    expect((await act(macAgent, 'start', { ...spare, interface: 'nosuch1' }, run, { stateDir })).outcome).toBe('misconfigured');
    expect((await act(macAgent, 'start', { ...mv, parent: 'nosuch1' }, run, { stateDir })).outcome).toBe('misconfigured');
  });

  const repo = fileURLToPath(new URL('../../..', import.meta.url));
  const built = existsSync(join(repo, 'agents/mac/dist/index.js')) && existsSync(join(repo, 'packages/ocf/dist/index.js'));
  (built && existsSync('/usr/sbin/ocf-tester') ? it : it.skip)('passes ocf-tester as an exported OCF agent (spare-nic) inside the namespace', async () => {
    const out = mkdtempSync(join(tmpdir(), 'paceline-mac-ocf-'));
    chmodSync(out, 0o755);
    try {
      const { shimPath } = await exportOcf({ module: 'mac', outDir: out, resolveFrom: repo });
      const r = spawnSync(
        'ip',
        ['netns', 'exec', node, 'ocf-tester', '-n', 'mac1', '-o', 'mode=spare-nic', '-o', `mac=${FAILED_NODE_MAC}`, '-o', 'interface=eth1', shimPath],
        {
          encoding: 'utf8',
          env: { ...process.env, HA_RSCTMP: out },
          timeout: 120_000,
        },
      );
      if (r.status !== 0) console.log(r.stdout, r.stderr);
      expect(r.stdout).toContain('passed all tests');
      expect(lab.mac(node, 'eth1')).toBe(spareOwnMac);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it.each([
    ['spare-nic', spare],
    ['macvlan', mv],
  ])('passes the agent test kit in %s mode', async (_mode, params) => {
    const report = await testAgent(macAgent, params, { runner: lab.runner(node), instance: 'mac1' });
    if (!report.passed) console.log(formatReport(report));
    expect(report.passed).toBe(true);
    expect(lab.mac(node, 'eth1')).toBe(spareOwnMac);
  });
});
